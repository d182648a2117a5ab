// The demo: a camera, a receiver that decrypts, and what the wire carries,
// with key rotation buttons and the worker's stats. `?auto=1` rotates keys
// by itself and reports measurements for the browser tests
// (`window.__result`); `?codec=H264` switches codec.

import { E2ee } from './e2ee.js';
import { connect, LocalHistory, sampleMatch, median, until, sleep } from './calls.js';

const params = new URLSearchParams(location.search);
const codec = params.get('codec') ?? 'VP8';
const $ = (id) => document.getElementById(id);

const e2ee = await E2ee.start();
const stream = await navigator.mediaDevices.getUserMedia({ video: { width: 640, height: 480, frameRate: 15 } });
const [track] = stream.getVideoTracks();
$('local').srcObject = stream;

const newKey = () => crypto.getRandomValues(new Uint8Array(16));
let generation = 0;
const k0 = newKey();
await e2ee.call('sender', { name: 'me', key: k0 });
await e2ee.call('receiver', { name: 'peer' });
await e2ee.call('installKey', { name: 'peer', key: k0 });

// Decrypted: protected and restored. Wire: protected and never restored,
// as an SFU forwards it; its sender's transform also reports what an SFU
// can read without a key (inspect).
const decrypted = await connect({
  e2ee, track, stream, codec,
  send: { sender: 'me', tag: 'sent' },
  receive: { receiver: 'peer', tag: 'decrypted' },
});
$('decrypted').srcObject = decrypted.video.srcObject;
const wire = await connect({
  e2ee, track, stream, codec, send: { sender: 'me', tag: 'wire', inspect: true },
});
$('wire').srcObject = wire.video.srcObject;

async function ratchet() {
  const s = await e2ee.call('ratchet', { name: 'me' });
  $('status').textContent = `ratcheted: generation ${s.generation}, step ${s.step} (the receiver follows by itself)`;
}

async function rekey() {
  const k = newKey();
  generation += 1;
  // The receiver gets the new key first, so no frame is lost.
  await e2ee.call('installKey', { name: 'peer', generation, step: 0, key: k });
  const s = await e2ee.call('rekey', { name: 'me', key: k });
  $('status').textContent = `new generation ${s.generation} (its key was given to the receiver first)`;
}

$('ratchet').onclick = ratchet;
$('rekey').onclick = rekey;

function row(cells, head = false) {
  const tag = head ? 'th' : 'td';
  return `<tr>${cells.map((c) => `<${tag}>${c}</${tag}>`).join('')}</tr>`;
}

e2ee.onstats = (s) => {
  const me = s.senders.me;
  const peer = s.receivers.peer;
  const dec = s.transforms.decrypted ?? {};
  const drops = Object.entries(dec.drops ?? {}).map(([k, v]) => `${k} ${v}`).join(', ') || 'none';
  $('stats').innerHTML = [
    row(['worker stats', ''], true),
    row(['frames protected', me.frames]),
    row(['keyframes', me.keyframes]),
    row(['bytes in → out', `${me.bytesIn} → ${me.bytesOut}`]),
    row(['sender key (gen, step, KID)', `${me.generation}, ${me.step}, ${me.kid}`]),
    row(['frames authenticated', peer.ok]),
    row(['dropped at the receiver', drops]),
    row(['receiver key (gen, step)', `${peer.generation ?? '–'}, ${peer.step ?? '–'}`]),
    row(['frame type mismatches', Object.values(s.transforms).reduce((n, t) => n + t.typeMismatch, 0)]),
    row(['WebAssembly heap allocations', s.heapAllocations]),
  ].join('');
  const w = s.transforms.wire?.wire;
  const k = s.transforms.wire?.wireKey;
  $('sfu').innerHTML = [
    row(['SFU view (no key)', ''], true),
    ...(w && !w.error ? [
      row(['KID', w.kid]), row(['CTR', w.ctr]),
      row(['frame type', w.type]), row(['keyframe by clear bytes', String(w.keyframe ?? '–')]),
      row(['picture size (last keyframe)', k?.width ? `${k.width}×${k.height}` : '–']),
      row(['clear bytes', w.clearLen]), row(['SFrame header at', w.headerOffset]),
      row(['sealed bytes', w.sealedLen]), row(['frame bytes', w.bytes]),
    ] : [row(['', w?.error ?? 'waiting'])]),
  ].join('');
};

if (params.get('auto') === '1') {
  window.__result = null;
  try {
    const history = new LocalHistory($('local'));
    await until(() => $('decrypted').videoWidth > 0 && (e2ee.stats?.receivers?.peer?.ok ?? 0) > 20, 20000);
    await sleep(1000);
    const match = median(await sampleMatch(history, $('decrypted')));
    const wireDb = median(await sampleMatch(history, $('wire')));
    await ratchet();
    await sleep(1000);
    await rekey();
    await sleep(1500);
    const afterRotation = median(await sampleMatch(history, $('decrypted')));
    // For the screenshot: a keyframe in the SFU view (it shows the size),
    // and the wire's garbage decoded, if the decoder accepts any of it.
    await until(() => e2ee.stats?.transforms?.wire?.wireKey && $('wire').videoWidth > 0, 5000);
    window.__result = { ok: afterRotation >= 30, match, wire: wireDb, afterRotation, stats: e2ee.stats };
  } catch (e) {
    window.__result = { ok: false, error: String(e?.stack ?? e) };
  }
}
