// Helpers shared by the demo and the browser tests: a call between two
// peer connections in one page, codec choice, and pixel comparison of a
// remote <video> with the local camera.

/** Restricts a transceiver to one video codec ('VP8', 'H264', ...). */
export function preferCodec(transceiver, codec) {
  const all = RTCRtpReceiver.getCapabilities('video').codecs;
  const chosen = all.filter((c) => c.mimeType.toLowerCase() === `video/${codec}`.toLowerCase()
    && (codec.toUpperCase() !== 'H264' || /packetization-mode=1/.test(c.sdpFmtpLine ?? '')));
  if (chosen.length === 0) throw new Error(`codec ${codec} not offered by this browser`);
  transceiver.setCodecPreferences(chosen);
}

/**
 * Connects two peer connections in this page: `track` goes from the first
 * to the second. `send` and `receive` are worker options for the sender's
 * and receiver's transforms (none when undefined). Resolves with {video,
 * pcs, receiver} once the remote track has arrived.
 */
export async function connect({
  e2ee, track, stream, codec, send, receive, legacy = false, label, minKbps,
}) {
  const config = legacy ? { encodedInsertableStreams: true } : {};
  const a = new RTCPeerConnection(config);
  const b = new RTCPeerConnection(config);
  a.onicecandidate = (e) => e.candidate && b.addIceCandidate(e.candidate);
  b.onicecandidate = (e) => e.candidate && a.addIceCandidate(e.candidate);
  const tx = a.addTransceiver(track, { direction: 'sendonly', streams: [stream] });
  if (codec && track.kind === 'video') preferCodec(tx, codec);
  if (send) e2ee.protect(tx.sender, send, { legacy });
  const video = document.createElement('video');
  video.muted = true;
  video.autoplay = true;
  video.playsInline = true;
  if (label) video.dataset.label = label;
  const arrived = new Promise((resolve) => {
    b.ontrack = (event) => {
      if (receive) e2ee.unprotect(event.receiver, receive, { legacy });
      video.srcObject = new MediaStream([event.track]);
      resolve(event.receiver);
    };
  });
  await a.setLocalDescription();
  await b.setRemoteDescription(a.localDescription);
  await b.setLocalDescription();
  let answer = b.localDescription.sdp;
  if (minKbps) answer = withBitrate(answer, minKbps);
  await a.setRemoteDescription({ type: 'answer', sdp: answer });
  const receiver = await arrived;
  return { video, pcs: [a, b], sender: tx.sender, receiver };
}

/**
 * Chromium's own SDP parameters that start and keep the video bitrate at
 * `kbps` from the first frame (instead of ramping up from 300 kbit/s).
 */
function withBitrate(sdp, kbps) {
  const params = `x-google-start-bitrate=${kbps};x-google-min-bitrate=${kbps};x-google-max-bitrate=${kbps}`;
  const lines = sdp.split('\r\n');
  const out = [];
  for (const line of lines) {
    out.push(line);
    const m = /^a=rtpmap:(\d+) (VP8|VP9|H264|AV1)\//.exec(line);
    if (m && !lines.some((l) => l.startsWith(`a=fmtp:${m[1]} `))) out.push(`a=fmtp:${m[1]} ${params}`);
  }
  return out.join('\r\n').replace(/^(a=fmtp:\d+ .*)$/gm, (l) => {
    const pt = /^a=fmtp:(\d+)/.exec(l)[1];
    const codecLine = lines.find((x) => x.startsWith(`a=rtpmap:${pt} `)) ?? '';
    return /(VP8|VP9|H264|AV1)\//.test(codecLine) && !l.includes('x-google') ? `${l};${params}` : l;
  });
}

export const SAMPLE_W = 160;
export const SAMPLE_H = 120;

/** The current picture of a <video>, scaled to SAMPLE_W x SAMPLE_H RGBA; null if it shows nothing. */
export function grab(video) {
  if (!video.videoWidth || !video.videoHeight) return null;
  const canvas = grab.canvas ?? (grab.canvas = new OffscreenCanvas(SAMPLE_W, SAMPLE_H));
  const ctx = grab.ctx ?? (grab.ctx = canvas.getContext('2d', { willReadFrequently: true }));
  ctx.drawImage(video, 0, 0, SAMPLE_W, SAMPLE_H);
  return ctx.getImageData(0, 0, SAMPLE_W, SAMPLE_H).data;
}

/**
 * PSNR in dB of picture `a` against the reference `b` over their RGB
 * channels, counting only the pixels of `b` that differ from its most
 * common colour: Chromium's fake camera is mostly a flat background, which
 * a picture of the background alone would otherwise match well.
 */
export function psnr(a, b) {
  const bg = dominant(b);
  let sum = 0;
  let n = 0;
  for (let i = 0; i < a.length; i += 4) {
    const detail = Math.abs(b[i] - bg[0]) + Math.abs(b[i + 1] - bg[1]) + Math.abs(b[i + 2] - bg[2]) > 48;
    if (!detail) continue;
    for (let k = 0; k < 3; k++) {
      const d = a[i + k] - b[i + k];
      sum += d * d;
      n++;
    }
  }
  if (n === 0) return 0; // nothing to compare against: no evidence of a match
  if (sum === 0) return 99;
  return 10 * Math.log10((255 * 255) / (sum / n));
}

/** The most common colour of an RGBA picture (quantised to 4 bits a channel). */
function dominant(p) {
  const counts = new Map();
  let best = 0;
  let bestKey = 0;
  for (let i = 0; i < p.length; i += 4) {
    const key = ((p[i] >> 4) << 8) | ((p[i + 1] >> 4) << 4) | (p[i + 2] >> 4);
    const c = (counts.get(key) ?? 0) + 1;
    counts.set(key, c);
    if (c > best) { best = c; bestKey = key; }
  }
  return [((bestKey >> 8) << 4) + 8, (((bestKey >> 4) & 15) << 4) + 8, ((bestKey & 15) << 4) + 8];
}

/**
 * The last second of the local camera, one picture every 33 ms, so that a
 * remote picture can be matched against what was sent a little earlier.
 */
export class LocalHistory {
  constructor(video, size = 45) {
    this.video = video;
    this.size = size;
    this.frames = [];
    this.timer = setInterval(() => {
      const f = grab(video);
      if (f) {
        this.frames.push(new Uint8ClampedArray(f));
        if (this.frames.length > size) this.frames.shift();
      }
    }, 33);
  }

  /** The best PSNR of the remote video's current picture against recent local ones (0: no picture). */
  match(remote) {
    const r = grab(remote);
    if (!r) return 0;
    let best = 0;
    for (const f of this.frames) best = Math.max(best, psnr(r, f));
    return best;
  }

  stop() { clearInterval(this.timer); }
}

/** Samples `match` `count` times, `every` ms apart; returns the list (dB). */
export async function sampleMatch(history, video, count = 8, every = 150) {
  const out = [];
  for (let i = 0; i < count; i++) {
    out.push(Math.round(history.match(video) * 10) / 10);
    await sleep(every);
  }
  return out;
}

export function median(xs) {
  const s = [...xs].sort((x, y) => x - y);
  return s.length ? s[Math.floor(s.length / 2)] : 0;
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** inbound-rtp video counters of a receiver: {framesDecoded, framesReceived, keyFramesDecoded}. */
export async function inbound(receiver) {
  const report = await receiver.getStats();
  for (const s of report.values()) {
    if (s.type === 'inbound-rtp') {
      return {
        framesDecoded: s.framesDecoded ?? 0,
        framesReceived: s.framesReceived ?? 0,
        keyFramesDecoded: s.keyFramesDecoded ?? 0,
        decoder: s.decoderImplementation,
      };
    }
  }
  return { framesDecoded: 0, framesReceived: 0, keyFramesDecoded: 0 };
}

/** Waits until `predicate()` holds, checking every 100 ms; false on timeout. */
export async function until(predicate, timeoutMs) {
  const end = performance.now() + timeoutMs;
  while (performance.now() < end) {
    if (await predicate()) return true;
    await sleep(100);
  }
  return false;
}
