// A browser participant of the native conference demo (crate
// `conference`), over its HTTP signalling API:
//
//   GET  /session   -> {session_id, suite, ratchet_bits, codec, members: [{id, identity}],
//                       roster_version}
//   POST /join      {name, identity, offer}  -> {id, answer, roster_version}
//   GET  /poll?id=  -> {announcements: [{from, data}], members: [...], roster_version}
//                      (long-poll, <= 1 s; roster_version: the session's number for the
//                      member list, one more at each change, passed to addPeer/removePeer)
//   POST /announce  {from, announcements: [{to, data}]}
//   GET  /report    -> per native participant, per sender ID, the SHA-256 (hex)
//                      of every frame it decrypted from that sender
//
// The page joins with an X25519 identity made in the worker, exchanges
// HPKE key announcements with the members (framecrypt::distribute, the same
// bytes as native members), publishes the camera as VP8, shows every
// native participant's video, and finally compares the SHA-256 of the
// frames it sent with what /report says the native participants decrypted.
//
// The API does not say which receiving slot carries which participant;
// the worker tells by trying the members' keys on the first frame.
//
// Query: ?signal=URL (default: this origin), ?seconds=N (publishing time
// before the check, default 8), ?name=NAME. The outcome is left in
// window.__result for the browser tests.

import { E2ee } from './e2ee.js';
import { preferCodec, inbound, until, sleep } from './calls.js';

const params = new URLSearchParams(location.search);
const base = (params.get('signal') ?? '').replace(/\/$/, '');
const seconds = Number(params.get('seconds') ?? 8);
const $ = (id) => document.getElementById(id);
window.__result = null;

function status(text) {
  $('status').textContent = text;
  console.log(text);
}

async function api(method, path, body) {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: body ? { 'content-type': 'application/json' } : {},
    body: body ? JSON.stringify(body) : undefined,
  });
  if (!res.ok) throw new Error(`${method} ${path}: HTTP ${res.status} ${await res.text()}`);
  const text = await res.text();
  return text ? JSON.parse(text) : null;
}

/** Waits until ICE gathering is complete: the API has no trickle ICE. */
function gathered(pc) {
  if (pc.iceGatheringState === 'complete') return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => { if (pc.iceGatheringState === 'complete') resolve(); };
    pc.addEventListener('icegatheringstatechange', done);
    setTimeout(resolve, 3000);
  });
}

const e2ee = await E2ee.start();
const roster = new Map();    // member ID -> identity (hex), other members only
const opened = [];           // announcements opened: {from, generation, step}
const refused = [];          // announcements refused: {from, error}
let myId = null;
let polling = true;

async function announce(announcements) {
  if (announcements.length) await api('POST', '/announce', { from: myId, announcements });
}

/** Brings our roster in line with the server's member list. */
async function syncMembers(members, rosterVersion) {
  const current = new Set();
  for (const m of members) {
    if (m.id === myId) continue;
    current.add(m.id);
    if (!roster.has(m.id)) {
      roster.set(m.id, m.identity);
      // A receiver for its frames; our key sealed to it (a ratchet step).
      const r = await e2ee.call('addPeer', { id: m.id, publicKey: m.identity, rosterVersion });
      await announce(r.announcements);
      status(`member ${m.id} joined`);
    }
  }
  for (const id of [...roster.keys()]) {
    if (!current.has(id)) {
      roster.delete(id);
      // A new generation, sealed to the members that remain.
      await announce(await e2ee.call('removePeer', { id, rosterVersion }));
      status(`member ${id} left`);
    }
  }
}

async function pollLoop() {
  while (polling) {
    try {
      const p = await api('GET', `/poll?id=${myId}`);
      await syncMembers(p.members ?? [], p.roster_version);
      for (const a of p.announcements ?? []) {
        try {
          const r = await e2ee.call('open', { data: a.data });
          opened.push({ from: a.from, generation: r.generation, step: r.step });
        } catch (e) {
          refused.push({ from: a.from, error: String(e.message ?? e) });
          console.warn(`announcement from ${a.from} refused: ${e.message ?? e}`);
        }
      }
    } catch (e) {
      console.warn(`poll: ${e.message ?? e}`);
      await sleep(500);
    }
  }
}

/** The hashes a native participant reports for sender `id`, wherever the report nests them. */
function hashesFor(entry, id) {
  if (entry === null || typeof entry !== 'object') return null;
  if (Array.isArray(entry)) {
    for (const x of entry) {
      const found = hashesFor(x, id);
      if (found) return found;
    }
    return null;
  }
  if (Array.isArray(entry[id]) && entry[id].every((h) => typeof h === 'string')) return entry[id];
  for (const v of Object.values(entry)) {
    const found = hashesFor(v, id);
    if (found) return found;
  }
  return null;
}

/** Native participant ID -> its report entry: {id: entry}, or [{id, ...}]. */
function nativesOf(report) {
  if (Array.isArray(report)) return Object.fromEntries(report.map((r) => [r.id ?? r.participant ?? r.name, r]));
  return report ?? {};
}

async function run() {
  const session = await api('GET', '/session');
  status(`session ${session.session_id}: suite ${session.suite}, R = ${session.ratchet_bits}, `
    + `${session.members.length} members, codec ${session.codec}`);
  const { publicKey } = await e2ee.call('identity');
  const stream = await navigator.mediaDevices.getUserMedia({ video: { width: 320, height: 240, frameRate: 15 } });
  $('local').srcObject = stream;
  const [track] = stream.getVideoTracks();

  const pc = new RTCPeerConnection();
  const publish = pc.addTransceiver(track, { direction: 'sendonly', streams: [stream] });
  preferCodec(publish, 'VP8');
  e2ee.protect(publish.sender, { member: true, hash: true, tag: 'publish' });
  // One receiving slot per native participant present (the API has no
  // renegotiation), each with its transform from the start: the worker
  // finds the sender of each slot by the key its frames open with.
  const slots = Math.max(1, session.members.length);
  const remotes = [];
  for (let i = 0; i < slots; i++) {
    const t = pc.addTransceiver('video', { direction: 'recvonly' });
    preferCodec(t, 'VP8');
    const tag = `remote${i}`;
    e2ee.unprotect(t.receiver, { member: true, tag, hash: true });
    const video = document.createElement('video');
    video.muted = true;
    video.autoplay = true;
    video.playsInline = true;
    video.srcObject = new MediaStream([t.receiver.track]);
    const figure = document.createElement('figure');
    figure.innerHTML = `<figcaption>${tag}</figcaption>`;
    figure.append(video);
    $('remotes').append(figure);
    remotes.push({ tag, video, receiver: t.receiver });
  }
  await pc.setLocalDescription();
  await gathered(pc);
  const joined = await api('POST', '/join', {
    name: params.get('name') ?? 'browser', identity: publicKey, offer: pc.localDescription.sdp,
  });
  myId = joined.id;
  await e2ee.call('member', {
    sessionId: session.session_id, suite: session.suite, ratchetBits: session.ratchet_bits, ownId: myId,
  });
  for (const m of session.members) {
    if (m.id !== myId && !roster.has(m.id)) {
      roster.set(m.id, m.identity);
      await e2ee.call('addPeer', { id: m.id, publicKey: m.identity, rosterVersion: session.roster_version });
    }
  }
  // Our key, generation 0, sealed to every member present.
  // Our key, dated by the roster version of our own join.
  await announce(await e2ee.call('start', { rosterVersion: joined.roster_version }));
  await pc.setRemoteDescription({ type: 'answer', sdp: joined.answer });
  status(`joined as ${myId}`);
  pollLoop();

  const published = () => e2ee.stats?.transforms?.publish?.frames ?? 0;
  const received = () => Object.values(e2ee.stats?.transforms ?? {})
    .filter((t) => t.side === 'receive').reduce((n, t) => n + t.frames, 0);
  await until(() => published() > 10 && received() > 10, 20000);
  status(`publishing for ${seconds} s`);
  await sleep(seconds * 1000);

  // Byte-exact: every frame a native participant decrypted from us must be
  // one we sent.
  const { sent } = await e2ee.call('hashes');
  const sentSet = new Set(sent);
  const report = await api('GET', '/report');
  const natives = {};
  for (const [id, entry] of Object.entries(nativesOf(report))) {
    if (id === myId) continue;
    const got = hashesFor(entry, myId) ?? [];
    natives[id] = {
      decrypted: got.length,
      matched: got.filter((h) => sentSet.has(h)).length,
      unknown: got.filter((h) => !sentSet.has(h)).length,
    };
  }
  const receive = {};
  for (const r of remotes) {
    const t = e2ee.stats.transforms[r.tag] ?? {};
    receive[r.tag] = {
      peer: t.peer, frames: t.frames ?? 0, drops: t.drops ?? {},
      width: r.video.videoWidth, inbound: await inbound(r.receiver),
    };
    // The first drops by reason, with their KID/CTR (worker.js dropLog).
    if (t.dropLog?.length) receive[r.tag].dropLog = t.dropLog;
  }
  polling = false;
  status(`done: ${JSON.stringify(natives)}`);
  return {
    ok: true, id: myId, members: [...roster.keys()], opened, refused,
    sent: sent.length, published: published(), natives, receive, report, stats: e2ee.stats,
  };
}

run()
  .then((r) => { window.__result = r; })
  .catch((e) => {
    polling = false;
    console.error(e?.stack ?? String(e));
    window.__result = { ok: false, error: String(e?.stack ?? e) };
  });
