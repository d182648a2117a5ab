// The stand-in "native participant" of mock_conference.py: a second
// Chromium page with the same WebAssembly module, so that the browser side
// of test 4 (conference.js) can run before the real native demo is merged.
// It registers as a member, answers each joiner's offer (acting as the
// SFU too), publishes its camera, restores what joiners send and reports
// the SHA-256 of every frame it restored at /mock/report.

import { E2ee } from '/e2ee.js';
import { sleep } from '/calls.js';

const $ = (id) => document.getElementById(id);
const api = async (method, path, body) => {
  const res = await fetch(path, {
    method, headers: body ? { 'content-type': 'application/json' } : {}, body: body ? JSON.stringify(body) : undefined,
  });
  return res.json();
};
const status = (t) => { $('status').textContent = t; console.log(t); };

const e2ee = await E2ee.start();
const session = await api('GET', '/session');
const { publicKey } = await e2ee.call('identity');
const { id } = await api('POST', '/mock/register', { identity: publicKey });
await e2ee.call('member', {
  sessionId: session.session_id, suite: session.suite, ratchetBits: session.ratchet_bits, ownId: id,
});
const stream = await navigator.mediaDevices.getUserMedia({ video: { width: 320, height: 240, frameRate: 15 } });
$('local').srcObject = stream;
const [track] = stream.getVideoTracks();
const known = new Set();
let started = false;
let rosterVersion = 0; // the server's, from every poll
window.__standin = id;
status(`registered as ${id}`);

async function addMember(m) {
  if (m.id === id || known.has(m.id)) return;
  known.add(m.id);
  const r = await e2ee.call('addPeer', { id: m.id, publicKey: m.identity, rosterVersion });
  let announcements = r.announcements;
  if (!started) {
    started = true;
    announcements = await e2ee.call('start', { rosterVersion });
  }
  if (announcements.length) await api('POST', '/announce', { from: id, announcements });
}

async function answer({ joiner, offer, roster_version: version }) {
  rosterVersion = Math.max(rosterVersion, version ?? 0);
  await addMember(joiner);
  const pc = new RTCPeerConnection();
  pc.ontrack = (event) => {
    e2ee.unprotect(event.receiver, { member: true, tag: `from-${joiner.id}`, hash: true });
  };
  await pc.setRemoteDescription({ type: 'offer', sdp: offer });
  for (const t of pc.getTransceivers()) {
    // The joiner's recvonly slots: publish our camera on the first.
    if (t.receiver.track.kind === 'video' && t.mid !== pc.getTransceivers()[0].mid && !t.sender.track) {
      e2ee.protect(t.sender, { member: true, tag: `to-${joiner.id}` });
      t.direction = 'sendonly';
      await t.sender.replaceTrack(track);
      break;
    }
  }
  for (const t of pc.getTransceivers()) if (t.direction !== 'sendonly') t.direction = 'recvonly';
  await pc.setLocalDescription();
  await new Promise((resolve) => {
    if (pc.iceGatheringState === 'complete') resolve();
    pc.onicegatheringstatechange = () => pc.iceGatheringState === 'complete' && resolve();
    setTimeout(resolve, 3000);
  });
  await api('POST', '/mock/answer', { joiner: joiner.id, answer: pc.localDescription.sdp });
  status(`answered ${joiner.id}`);
}

(async () => {
  for (;;) {
    const o = await api('GET', '/mock/offer');
    if (o.offer) await answer(o);
  }
})();

(async () => {
  for (;;) {
    const p = await api('GET', `/poll?id=${id}`);
    rosterVersion = Math.max(rosterVersion, p.roster_version ?? 0);
    for (const m of p.members ?? []) await addMember(m);
    for (const a of p.announcements ?? []) {
      try {
        await e2ee.call('open', { data: a.data });
      } catch (e) {
        console.warn(`announcement from ${a.from}: ${e.message}`);
      }
    }
  }
})();

for (;;) {
  await sleep(500);
  const { received } = await e2ee.call('hashes');
  await api('POST', '/mock/report', { id, received });
}
