// framecrypt's WebRTC encoded-transform worker: SFrame (RFC 9605) on every
// encoded frame, in WebAssembly.
//
// Pages attach it with `new RTCRtpScriptTransform(worker, options)` (or, on
// browsers without it, hand over `createEncodedStreams()` streams with an
// `{op: 'streams'}` message; see e2ee.js). Options:
//   {side: 'send', sender: NAME}       protect with the Sender NAME
//   {side: 'send', member: true}       protect with the roster Member's key
//   {side: 'receive', receiver: NAME}  restore with the Receiver NAME
//   {side: 'receive', member: true, peer: ID}  ... with that peer's keys
//   {side: 'receive', member: true}    ... finding the peer by its key
//   tag: NAME                          stats key (default: side + counter)
//   hash: true                         keep the SHA-256 of each plaintext
//                                      frame sent or restored (interop tests)
//   capture: true                      keep copies of a few frames (bench)
//   inspect: true                      keep the SFU view of every 10th
//                                      protected frame (demo)
//
// Every transform also keeps, in `dropLog`, the first few frames it dropped
// for each reason (DROP_LOG): error, length, type, RTP timestamp and SSRC,
// opened-frame count; on the receive side also the frame's SFrame KID and
// CTR as an SFU reads them, the key the receiver held then, and the KID
// and CTR of the last frame that opened before it.
//
// Keys never come from the frames' side: the page installs them with
// messages ({id, op, args} -> {id, ok, result | error}), see `ops` below.
// Every 500 ms the worker posts {type: 'stats', ...} to the page.

import init, {
  FrameBuffer, Sender, Receiver, Identity, Member,
  codecForMime, errorName, inspect, heapAllocations,
} from './pkg/framecrypt_wasm.js';

// Transforms can be attached before the module has loaded: register the
// handlers now, let them wait for `ready`.
let wasm = null;
const ready = init({ module_or_path: new URL('./pkg/framecrypt_wasm_bg.wasm', import.meta.url) })
  .then((exports) => { wasm = exports; });

const senders = new Map();    // name -> Sender
const receivers = new Map();  // name -> Receiver
let member = null;            // the roster Member, if any
const transforms = new Map(); // tag -> per-transform counters
const sentHashes = [];        // hex SHA-256 of frames sent with hash: true
const receivedHashes = {};    // sender (peer ID or tag) -> hex SHA-256 of frames restored
let identity = null;          // an Identity made before the Member
const captured = [];          // {kind, codec, type, bytes} with capture: true
let transformCount = 0;
const DROP_LOG = 4;           // drops kept in `dropLog` per transform and reason
const kidBits = new Map(); // receiver name ('' for the member) -> R, to read KIDs
const keyTimes = new Map();   // member peer handle -> Date.now() of its last key installed

// One frame buffer in WebAssembly memory for every transform of this
// worker: frames are processed one at a time, synchronously.
let buffer = null;
let reserved = -1;
let view = null;

/** A Uint8Array over the frame buffer, with room for a `len`-byte frame. */
function frameBytes(len) {
  if (len > reserved) {
    buffer.reserve(len); // grows only past the largest frame so far
    reserved = len;
    view = null;
  }
  // After memory growth the old ArrayBuffer is detached: take a new view.
  if (view === null || view.buffer !== wasm.memory.buffer) {
    view = new Uint8Array(wasm.memory.buffer, buffer.ptr, buffer.capacity);
  }
  return view;
}

/** The result bytes, as the new ArrayBuffer the frame must get. */
function output(len) {
  const ptr = buffer.ptr;
  return wasm.memory.buffer.slice(ptr, ptr + len);
}

const codecIds = new Map(); // mimeType -> codec number, asked once per type

function codecId(mime) {
  let id = codecIds.get(mime);
  if (id === undefined) {
    id = codecForMime(mime ?? '');
    codecIds.set(mime, id);
  }
  return id;
}

const reasonNames = new Map(); // error number -> name, asked once per number

function reasonName(result) {
  let name = reasonNames.get(result);
  if (name === undefined) {
    name = errorName(result); // a string out of WebAssembly: allocates
    reasonNames.set(result, name);
  }
  return name;
}

function counters(tag, side) {
  let c = transforms.get(tag);
  if (c === undefined) {
    c = {
      side, frames: 0, bytes: 0, keyframes: 0, empty: 0, dropped: 0,
      drops: {}, dropLog: [], typeMismatch: 0, codecs: {}, peer: undefined, lastError: undefined, wire: undefined,
    };
    transforms.set(tag, c);
  }
  return c;
}

function log(...args) {
  self.postMessage({ type: 'log', text: args.map(String).join(' ') });
}

/** The per-frame function of one transform. */
function transformer(options) {
  const side = options.side;
  const tag = options.tag ?? `${side}${++transformCount}`;
  const c = counters(tag, side);
  let codec = -1;     // codec number, re-read on keyframes and audio frames
  let peer = options.member && options.peer !== undefined ? null : undefined;
  let lastOpened = null; // the protected bytes of the last frame restored (an ArrayBuffer)

  function pickCodec(frame) {
    // A codec change starts with a keyframe, so video re-reads the MIME
    // type only then (getMetadata() builds an object); audio has no
    // keyframes and reads it every frame.
    const isVideo = frame.type !== undefined;
    if (codec < 0 || !isVideo || frame.type === 'key') {
      const mime = frame.getMetadata().mimeType;
      codec = codecId(mime);
      c.codecs[mime] = codec;
    }
  }

  function drop(result, frame, data) {
    const reason = reasonName(result);
    c.dropped++;
    c.drops[reason] = (c.drops[reason] ?? 0) + 1;
    c.lastError = reason;
    if (c.drops[reason] <= DROP_LOG) logDrop(reason, frame, data);
  }

  /** "generation.step" of a KID under R ratchet bits. */
  function keyOf(kid, bits) {
    if (bits === undefined || typeof kid !== 'number') return undefined;
    const step = 2 ** bits;
    return `${Math.floor(kid / step)}.${kid % step}`;
  }

  /** The SFrame KID and CTR of protected bytes, as an SFU reads them. */
  function wireIds(bytes) {
    const len = bytes.byteLength;
    if (len === 0) return { wire: 'detached' };
    frameBytes(len).set(new Uint8Array(bytes));
    try {
      const v = inspect(buffer, codec, len);
      return { kid: v.kid, ctr: v.ctr };
    } catch (e) {
      return { wire: String(e?.message ?? e) };
    }
  }

  // Diagnosis only (a few per transform): never changes what is dropped.
  // The buffer is overwritten, which a dropped frame no longer needs.
  function logDrop(reason, frame, data) {
    const m = frame.getMetadata();
    const entry = {
      err: reason, n: c.frames, len: data.byteLength, type: frame.type ?? 'audio',
      ts: m.rtpTimestamp ?? frame.timestamp, ssrc: m.synchronizationSource,
    };
    if (side === 'receive') {
      const bits = kidBits.get(options.member ? '' : options.receiver);
      Object.assign(entry, wireIds(data));
      entry.key = keyOf(entry.kid, bits);
      const keyIn = (stats) => (stats.generation === undefined ? '-' : `${stats.generation}.${stats.step}`);
      if (!options.member) {
        entry.held = keyIn(receivers.get(options.receiver).stats());
      } else if (typeof peer === 'number') {
        entry.held = keyIn(member.peerStats(peer));
      } else {
        // Not identified yet: every peer's key was tried; what each held.
        entry.held = {};
        for (const [id, p] of peerIds) entry.held[id] = keyIn(member.peerStats(p));
      }
      if (options.member && typeof peer === 'number' && keyTimes.has(peer)) {
        entry.keyAgeMs = Date.now() - keyTimes.get(peer);
      }
      if (lastOpened !== null) {
        const p = wireIds(lastOpened);
        entry.prev = p.wire ?? `${p.kid}/${p.ctr}`;
      }
    }
    c.dropLog.push(entry);
  }

  // The key-less SFU view of every 10th protected frame, for display
  // (builds an object: only with the `inspect` option).
  function look(frame, len) {
    const key = frame.type === 'key';
    if (!key && (c.frames + c.dropped) % 10 !== 0) return;
    try {
      c.wire = { ...inspect(buffer, codec, len), type: frame.type, bytes: len };
      if (key) c.wireKey = c.wire; // the last keyframe's view (picture size)
    } catch (e) {
      c.wire = { error: String(e) };
    }
  }

  function checkType(frame, keyframe) {
    // The frame type the browser reports must agree with what the clear
    // bytes say (what depacketizers and SFUs see).
    if (frame.type === 'key' || frame.type === 'delta') {
      if (keyframe !== undefined && keyframe !== (frame.type === 'key')) c.typeMismatch++;
      if (frame.type === 'key') c.keyframes++;
    }
  }

  function send(frame, controller) {
    const data = frame.data;
    const len = data.byteLength;
    if (len === 0) { c.empty++; controller.enqueue(frame); return; }
    pickCodec(frame);
    frameBytes(len).set(new Uint8Array(data));
    let result;
    let keyframe;
    if (options.member) {
      result = member.protect(buffer, codec, len, Date.now());
      keyframe = member.lastKeyframe;
    } else {
      const s = senders.get(options.sender);
      result = s.protect(buffer, codec, len);
      keyframe = s.lastKeyframe;
    }
    if (result < 0) { drop(result, frame, data); return; }
    if (options.inspect) look(frame, result);
    if (options.hash) {
      // `data` is the frame's original buffer, untouched by protection.
      crypto.subtle.digest('SHA-256', data).then((d) => sentHashes.push(hex(new Uint8Array(d))));
    }
    if (options.capture) capture(frame, data);
    checkType(frame, keyframe);
    frame.data = output(result);
    c.frames++;
    c.bytes += result;
    controller.enqueue(frame);
  }

  function receive(frame, controller) {
    const data = frame.data;
    const len = data.byteLength;
    if (len === 0) { c.empty++; controller.enqueue(frame); return; }
    pickCodec(frame);
    frameBytes(len).set(new Uint8Array(data));
    if (options.inspect) look(frame, len);
    const now = Date.now();
    let result;
    let keyframe;
    if (options.member) {
      if (peer === null) {
        peer = member.peerIndex(hexBytes(options.peer));
        c.peer = options.peer;
      }
      if (peer === undefined || peer === null) {
        result = member.identify(buffer, codec, len, now);
        if (result >= 0) {
          // The first authentic frame names the sender for good.
          peer = member.lastPeer;
          c.peer = peerNames.get(peer) ?? peer;
        }
      } else {
        result = member.unprotect(peer, buffer, codec, len, now);
      }
      keyframe = member.lastKeyframe;
    } else {
      const r = receivers.get(options.receiver);
      result = r.unprotect(buffer, codec, len, now);
      keyframe = r.lastKeyframe;
    }
    // Only authentic frames go on: anything else is dropped and counted.
    if (result < 0) { drop(result, frame, data); return; }
    lastOpened = data; // untouched: the frame was restored in WebAssembly memory
    checkType(frame, keyframe);
    const restored = output(result);
    if (options.hash) {
      const from = options.member ? (peerNames.get(peer) ?? `peer${peer}`) : tag;
      const list = (receivedHashes[from] ??= []);
      crypto.subtle.digest('SHA-256', restored).then((d) => list.push(hex(new Uint8Array(d))));
    }
    frame.data = restored;
    c.frames++;
    c.bytes += result;
    controller.enqueue(frame);
  }

  return side === 'send' ? send : receive;
}

/** Keeps a copy of the latest frame of each kind (key, delta, audio). */
function capture(frame, data) {
  const kind = frame.type ?? 'audio';
  if (kind === 'audio' && data.byteLength < 20) return; // DTX, not speech
  const codec = frame.getMetadata().mimeType;
  const i = captured.findIndex((f) => f.kind === kind);
  const { width, height } = frame.getMetadata();
  const entry = { kind, codec, width, height, bytes: new Uint8Array(data.slice(0)) };
  if (i < 0) captured.push(entry); else captured[i] = entry;
}

async function attach(readable, writable, options) {
  await ready;
  if (buffer === null) buffer = new FrameBuffer();
  const fn = transformer(options);
  await readable
    .pipeThrough(new TransformStream({ transform: fn }))
    .pipeTo(writable)
    .catch((e) => log(`transform ${options.tag ?? options.side} ended: ${e}`));
}

const transformers = new Map(); // tag -> RTCRtpScriptTransformer

// RTCRtpScriptTransform.
self.onrtctransform = (event) => {
  const t = event.transformer;
  if (t.options?.tag) transformers.set(t.options.tag, t);
  attach(t.readable, t.writable, t.options ?? {});
};

function hex(bytes) {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

function hexBytes(s) {
  if (s instanceof Uint8Array) return s;
  const out = new Uint8Array(s.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(s.substr(2 * i, 2), 16);
  return out;
}

function stats() {
  const out = { transforms: {}, senders: {}, receivers: {}, heapAllocations: heapAllocations() };
  for (const [tag, c] of transforms) {
    out.transforms[tag] = { ...c, drops: { ...c.drops }, dropLog: c.dropLog.slice() };
  }
  for (const [name, s] of senders) out.senders[name] = s.stats();
  for (const [name, r] of receivers) out.receivers[name] = r.stats();
  if (member !== null) {
    out.member = { sending: member.sendStats(), peers: {} };
    for (const [id, p] of peerIds) out.member.peers[id] = member.peerStats(p);
  }
  return out;
}

const peerIds = new Map(); // hex ID -> peer handle
const peerNames = new Map(); // peer handle -> hex ID

const ops = {
  ping: () => "pong",
  sender: ({ name, suite = 4, ratchetBits = 8, generation = 0, key }) => {
    senders.get(name)?.free();
    senders.set(name, new Sender(suite, ratchetBits, generation, key));
  },
  ratchet: ({ name }) => { senders.get(name).ratchet(); return senders.get(name).stats(); },
  rekey: ({ name, key }) => { senders.get(name).rekey(key); return senders.get(name).stats(); },
  receiver: ({ name, suite = 4, ratchetBits = 8 }) => {
    receivers.get(name)?.free();
    receivers.set(name, new Receiver(suite, ratchetBits));
    kidBits.set(name, ratchetBits);
  },
  installKey: ({ name, generation = 0, step = 0, key }) => {
    receivers.get(name).installKey(generation, step, key, Date.now());
  },
  // A key pair before the participant ID is known; `member` takes it.
  identity: () => {
    identity?.free();
    identity = new Identity();
    return { publicKey: hex(identity.publicKey) };
  },
  member: ({ sessionId, suite, ratchetBits, ownId }) => {
    member?.free();
    peerIds.clear();
    peerNames.clear();
    member = new Member(hexBytes(sessionId), suite, ratchetBits, hexBytes(ownId), identity ?? new Identity());
    kidBits.set('', ratchetBits);
    keyTimes.clear();
    identity = null; // spent: the member owns it now
    return { publicKey: hex(member.publicKey) };
  },
  // Times are Date.now(): announcements carry the wall-clock time they were
  // issued, and the receiver checks it against its own. `rosterVersion` is
  // the session's number for the roster after the change (the signalling's).
  addPeer: ({ id, publicKey, rosterVersion }) => {
    const r = member.addPeer(hexBytes(id), hexBytes(publicKey), rosterVersion, Date.now());
    peerIds.set(id, r.peer);
    peerNames.set(r.peer, id);
    return { peer: r.peer, announcements: wire(r.announcements) };
  },
  removePeer: ({ id, rosterVersion }) => {
    const list = member.removePeer(peerIds.get(id), rosterVersion, Date.now());
    peerNames.delete(peerIds.get(id));
    peerIds.delete(id);
    return wire(list);
  },
  start: ({ rosterVersion }) => wire(member.start(rosterVersion, Date.now())),
  open: ({ data }) => {
    const r = member.open(hexBytes(data), Date.now());
    keyTimes.set(r.peer, Date.now());
    return r;
  },
  stats,
  hashes: () => ({ sent: sentHashes.slice(), received: structuredClone(receivedHashes) }),
  captured: () => captured.map((f) => ({
    kind: f.kind, codec: f.codec, width: f.width, height: f.height, len: f.bytes.length,
  })),
  // A new keyframe from the sender of transform `tag`: generateKeyFrame()
  // on a sender's transformer, sendKeyFrameRequest() on a receiver's.
  keyframe: async ({ tag }) => {
    const t = transformers.get(tag);
    if (t.generateKeyFrame) await t.generateKeyFrame();
    else if (t.sendKeyFrameRequest) await t.sendKeyFrameRequest();
    else throw new Error(`no keyframe request on this transformer: ${Object.getOwnPropertyNames(Object.getPrototypeOf(t))}`);
  },
  bench: (args) => bench(args),
};

/** Announcements as hex for JSON signalling: {to, data}[]. */
function wire(list) {
  return list.map((a) => ({ to: hex(a.to), data: hex(a.data) }));
}

self.onmessage = async (event) => {
  const msg = event.data;
  if (msg.op === 'streams') {
    // createEncodedStreams() fallback: the page transferred the streams.
    attach(msg.readable, msg.writable, msg.options ?? {});
    return;
  }
  try {
    await ready;
    if (buffer === null) buffer = new FrameBuffer();
    const result = await ops[msg.op](msg.args ?? {});
    self.postMessage({ id: msg.id, ok: true, result });
  } catch (e) {
    self.postMessage({ id: msg.id, ok: false, error: `${e?.message ?? e}` });
  }
};

setInterval(() => {
  if (wasm !== null) self.postMessage({ type: 'stats', stats: stats() });
}, 500);

// Speed: per-frame cost of the worker path (copy in, protect or restore in
// WebAssembly, copy out) against AES-GCM with WebCrypto, on frames the
// encoder made (`capture: true`). Each figure is the median of `batches`
// batches (the clock of a worker that is not cross-origin isolated ticks
// in 0.1 ms).
async function bench({ iterations = 300, batches = 7, suite = 4 }) {
  const secret = crypto.getRandomValues(new Uint8Array(16));
  const gcmKey = await crypto.subtle.importKey('raw', secret, 'AES-GCM', false, ['encrypt', 'decrypt']);
  const results = [];
  const samples = ['key', 'delta', 'audio'].map((kind) => captured.find((x) => x.kind === kind)).filter(Boolean);
  const key = samples.find((f) => f.kind === 'key');
  if (key) {
    // The same keyframe padded to 100 kB: a 720p keyframe at a higher
    // bitrate (only the first 10 bytes of a VP8 keyframe are read).
    const big = new Uint8Array(100_000);
    big.set(key.bytes);
    crypto.getRandomValues(big.subarray(key.bytes.length, key.bytes.length + 65536));
    samples.push({ ...key, kind: 'key padded to 100 kB', bytes: big });
  }
  for (const f of samples) {
    const codec = codecId(f.codec);
    // Enough frames that a batch lasts well over the clock's 0.1 ms tick.
    const n = Math.max(iterations, Math.min(20_000, Math.floor(4e6 / f.bytes.length)));
    const per = Math.ceil(n / batches);
    const tx = new Sender(suite, 8, 0, secret);
    const rx = new Receiver(suite, 8);
    rx.installKey(0, 0, secret, 0);
    frameBytes(f.bytes.length + 64); // room for the protected frame, before counting
    const heap0 = heapAllocations();
    const times = { protect: [], unprotect: [], encrypt: [], decrypt: [] };
    let intact = true;
    const aad = new Uint8Array([0x10, 0]); // a small header as AAD, as JS E2EE code does
    let counter = 0;
    const iv = () => {
      const v = new Uint8Array(12);
      new DataView(v.buffer).setUint32(8, counter++);
      return v;
    };
    for (let b = 0; b < batches; b++) {
      const frames = Array.from({ length: per }, () => f.bytes.buffer.slice(0));
      const out = new Array(per);
      let t0 = performance.now();
      for (let i = 0; i < per; i++) {
        const data = frames[i];
        frameBytes(data.byteLength).set(new Uint8Array(data));
        const len = tx.protect(buffer, codec, data.byteLength);
        if (len < 0) throw new Error(`protect: ${errorName(len)}`);
        out[i] = output(len);
      }
      times.protect.push((performance.now() - t0) / per);
      t0 = performance.now();
      for (let i = 0; i < per; i++) {
        const data = out[i];
        frameBytes(data.byteLength).set(new Uint8Array(data));
        const len = rx.unprotect(buffer, codec, data.byteLength, 0);
        if (len < 0) throw new Error(`unprotect: ${errorName(len)}`);
        out[i] = output(len);
      }
      times.unprotect.push((performance.now() - t0) / per);
      intact &&= out.every((x) => equal(x, f.bytes));
      // WebCrypto AES-128-GCM over the whole frame, one await per frame
      // as a transform must do it.
      const ivs = Array.from({ length: per }, iv);
      t0 = performance.now();
      for (let i = 0; i < per; i++) {
        out[i] = await crypto.subtle.encrypt({ name: 'AES-GCM', iv: ivs[i], additionalData: aad }, gcmKey, frames[i]);
      }
      times.encrypt.push((performance.now() - t0) / per);
      t0 = performance.now();
      for (let i = 0; i < per; i++) {
        out[i] = await crypto.subtle.decrypt({ name: 'AES-GCM', iv: ivs[i], additionalData: aad }, gcmKey, out[i]);
      }
      times.decrypt.push((performance.now() - t0) / per);
    }
    const heapDelta = heapAllocations() - heap0;
    tx.free();
    rx.free();
    const us = (xs) => Math.round(medianOf(xs) * 10000) / 10;
    results.push({
      kind: f.kind, codec: f.codec, width: f.width, height: f.height, bytes: f.bytes.length,
      iterations: per * batches,
      protectUs: us(times.protect), unprotectUs: us(times.unprotect),
      webcryptoEncryptUs: us(times.encrypt), webcryptoDecryptUs: us(times.decrypt),
      heapDelta, intact,
    });
  }
  return results;
}

function medianOf(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

function equal(a, b) {
  const x = new Uint8Array(a);
  if (x.length !== b.length) return false;
  for (let i = 0; i < x.length; i++) if (x[i] !== b[i]) return false;
  return true;
}
