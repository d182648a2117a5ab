// The browser tests' page side: `test.html?case=NAME` runs one case and
// leaves its measurements in `window.__result` (the driver,
// tests/browser.py, decides pass or fail). Cases:
//   codec&codec=VP8|H264[&legacy=1]  one sender, four receivers: the right
//                           key, a wrong key, no key, no transform at all
//   rotation                a ratchet step, then a new generation, with a
//                           receiver kept current and one kept stale
//   bench                   per-frame cost at 720p, and Opus (BENCHMARKS.md)

import { E2ee } from './e2ee.js';
import {
  connect, LocalHistory, sampleMatch, median, inbound, until, sleep,
} from './calls.js';

const params = new URLSearchParams(location.search);
const cases = { codec: codecCase, rotation, bench };

function key() {
  return crypto.getRandomValues(new Uint8Array(16));
}

async function camera(width = 320, height = 240, audio = false) {
  const stream = await navigator.mediaDevices.getUserMedia({
    video: { width, height, frameRate: 15 }, audio,
  });
  const local = document.createElement('video');
  local.muted = true;
  local.autoplay = true;
  local.srcObject = stream;
  local.dataset.label = 'local';
  document.body.append(local);
  await until(() => local.videoWidth > 0, 5000);
  return { stream, track: stream.getVideoTracks()[0], local };
}

function framesOf(e2ee, tag) {
  return e2ee.stats?.transforms?.[tag]?.frames ?? 0;
}

/** Test 1 and 2: the right key shows the camera; no key, a wrong key or no transform do not. */
async function codecCase() {
  const codec = params.get('codec') ?? 'VP8';
  const legacy = params.get('legacy') === '1';
  const e2ee = await E2ee.start();
  const { stream, track, local } = await camera();
  const history = new LocalHistory(local);
  const k = key();
  await e2ee.call('sender', { name: 'alice', key: k });
  await e2ee.call('receiver', { name: 'right' });
  await e2ee.call('installKey', { name: 'right', key: k });
  await e2ee.call('receiver', { name: 'wrong' });
  await e2ee.call('installKey', { name: 'wrong', key: key() });
  await e2ee.call('receiver', { name: 'nokey' });
  const calls = {};
  for (const name of ['right', 'wrong', 'nokey', 'raw']) {
    // All four senders share one Sender (one counter): the same key never
    // seals two frames under one counter value.
    calls[name] = await connect({
      e2ee, track, stream, codec, legacy, label: name,
      send: { sender: 'alice', tag: `send-${name}` },
      receive: name === 'raw' ? undefined : { receiver: name, tag: name },
    });
    document.body.append(calls[name].video);
  }
  // Decoded pictures, not just restored frames, before looking at them.
  const flowing = await until(() => framesOf(e2ee, 'right') > 15, 15000)
    && await until(async () => (await inbound(calls.right.receiver)).framesDecoded > 30, 15000);
  await sleep(500);
  const heapBefore = e2ee.stats.heapAllocations;
  const framesBefore = framesOf(e2ee, 'right') + framesOf(e2ee, 'send-right');
  const out = { codec, legacy, flowing, calls: {} };
  for (const [name, call] of Object.entries(calls)) {
    out.calls[name] = {
      psnr: await sampleMatch(history, call.video, 8, 120),
      width: call.video.videoWidth,
      inbound: await inbound(call.receiver),
    };
    out.calls[name].median = median(out.calls[name].psnr);
  }
  await sleep(600); // a fresh stats message
  out.heapDelta = e2ee.stats.heapAllocations - heapBefore;
  out.framesDuringHeapCheck = framesOf(e2ee, 'right') + framesOf(e2ee, 'send-right') - framesBefore;
  out.stats = e2ee.stats;
  history.stop();
  return out;
}

/** Test 3: ratchet, then a new generation; the stale receiver stops at the new generation. */
async function rotation() {
  const e2ee = await E2ee.start();
  const { stream, track, local } = await camera();
  const history = new LocalHistory(local);
  const k0 = key();
  await e2ee.call('sender', { name: 'alice', key: k0 });
  for (const name of ['current', 'stale']) {
    await e2ee.call('receiver', { name });
    await e2ee.call('installKey', { name, key: k0 });
  }
  const calls = {};
  for (const name of ['current', 'stale']) {
    calls[name] = await connect({
      e2ee, track, stream, codec: 'VP8', label: name,
      send: { sender: 'alice', tag: `send-${name}` },
      receive: { receiver: name, tag: name },
    });
    document.body.append(calls[name].video);
  }
  await until(() => framesOf(e2ee, 'current') > 15 && framesOf(e2ee, 'stale') > 15, 15000);
  await sleep(1000);
  const phase = async (label) => {
    const p = { label, receivers: {}, sender: e2ee.stats.senders.alice };
    for (const name of ['current', 'stale']) {
      const before = framesOf(e2ee, name);
      const decodedBefore = (await inbound(calls[name].receiver)).framesDecoded;
      const psnr = await sampleMatch(history, calls[name].video, 6, 150);
      await sleep(600);
      p.receivers[name] = {
        psnr,
        median: median(psnr),
        framesInPhase: framesOf(e2ee, name) - before,
        decodedInPhase: (await inbound(calls[name].receiver)).framesDecoded - decodedBefore,
        stats: e2ee.stats.receivers[name],
        drops: e2ee.stats.transforms[name].drops,
        dropLog: e2ee.stats.transforms[name].dropLog,
      };
    }
    return p;
  };
  const phases = [await phase('generation 0, step 0')];
  await e2ee.call('ratchet', { name: 'alice' });
  await sleep(1500);
  phases.push(await phase('after ratchet: step 1'));
  // A new generation: only the current receiver gets the key, before the
  // sender switches, so no frame is lost there.
  const k1 = key();
  await e2ee.call('installKey', { name: 'current', generation: 1, step: 0, key: k1 });
  await e2ee.call('rekey', { name: 'alice', key: k1 });
  await sleep(1500);
  phases.push(await phase('after rekey: generation 1'));
  history.stop();
  return { phases, stats: e2ee.stats };
}

/**
 * A 1280x720 source with camera-like detail: a fixed textured picture with
 * a moving square, so keyframes are large and delta frames small, as with
 * a real camera (Chromium's fake camera is a flat green picture that
 * compresses to almost nothing).
 */
function texturedSource() {
  const canvas = document.createElement('canvas');
  canvas.width = 1280;
  canvas.height = 720;
  const ctx = canvas.getContext('2d');
  const texture = ctx.createImageData(1280, 720);
  let seed = 12345;
  const rand = () => { seed = (seed * 1103515245 + 12345) & 0x7fffffff; return seed / 0x7fffffff; };
  for (let y = 0; y < 720; y++) {
    for (let x = 0; x < 1280; x++) {
      const i = 4 * (y * 1280 + x);
      const base = ((x >> 5) + (y >> 5)) & 1 ? 170 : 80; // 32-pixel checks
      texture.data[i] = base + 60 * rand();
      texture.data[i + 1] = base * 0.8 + 60 * rand();
      texture.data[i + 2] = 255 - base + 40 * rand();
      texture.data[i + 3] = 255;
    }
  }
  let t = 0;
  setInterval(() => {
    ctx.putImageData(texture, 0, 0);
    ctx.fillStyle = '#f33';
    ctx.fillRect(100 + ((t * 8) % 1000), 300, 120, 120);
    t++;
  }, 33);
  return canvas.captureStream(30);
}

/** The numbers of BENCHMARKS.md: 720p VP8 keyframe and delta frame, Opus. */
async function bench() {
  const e2ee = await E2ee.start();
  const videoStream = texturedSource();
  const audioStream = await navigator.mediaDevices.getUserMedia({ audio: true });
  const [video] = videoStream.getVideoTracks();
  video.contentHint = 'detail';
  const [audio] = audioStream.getAudioTracks();
  const k = key();
  await e2ee.call('sender', { name: 'bench', key: k });
  await e2ee.call('receiver', { name: 'bench' });
  await e2ee.call('installKey', { name: 'bench', key: k });
  const v = await connect({
    e2ee, track: video, stream: videoStream, codec: 'VP8',
    send: { sender: 'bench', tag: 'send-video', capture: true },
    receive: { receiver: 'bench', tag: 'video' },
    minKbps: Number(params.get('kbps') ?? 2500),
  });
  // 720p at a video-call bitrate, never scaled down for CPU.
  const kbps = Number(params.get('kbps') ?? 2500);
  const encoding = v.sender.getParameters();
  encoding.degradationPreference = 'maintain-resolution';
  encoding.encodings[0].maxBitrate = kbps * 1000;
  await v.sender.setParameters(encoding);
  await connect({
    e2ee, track: audio, stream: audioStream,
    send: { sender: 'bench', tag: 'send-audio', capture: true },
    receive: { receiver: 'bench', tag: 'audio' },
  });
  await until(() => framesOf(e2ee, 'video') > 90 && framesOf(e2ee, 'audio') > 50, 30000);
  // A keyframe at the bitrate reached by now, not the first one: a change
  // of resolution and back makes the encoder start over with one.
  for (const scale of [2, 1]) {
    const p = v.sender.getParameters();
    p.encodings[0].scaleResolutionDownBy = scale;
    await v.sender.setParameters(p);
    await sleep(1000);
  }
  const captured = await e2ee.call('captured');
  const results = await e2ee.call('bench', { iterations: Number(params.get('iterations') ?? 300) });
  return { captured, results, userAgent: navigator.userAgent, cores: navigator.hardwareConcurrency };
}

const name = params.get('case');
const run = cases[name];
window.__result = null;
(run ? run() : Promise.reject(new Error(`unknown case ${name}`)))
  .then((r) => { window.__result = { ok: true, ...r }; })
  .catch((e) => {
    console.error(e?.stack ?? String(e));
    window.__result = { ok: false, error: String(e?.stack ?? e) };
  });
