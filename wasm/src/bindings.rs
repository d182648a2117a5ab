//! The JavaScript API: thin `#[wasm_bindgen]` classes over [`crate::engine`],
//! with every argument converted by [`crate::boundary`].
//!
//! Frame calls (`protect`, `unprotect`, `identify`) take and return
//! numbers only and never throw: the result is the output length, or a
//! negated error number that [`error_name`] names. Key and roster calls
//! throw a JavaScript `Error` with framecrypt's message.

use framecrypt::Error;
use getrandom::SysRng;
use js_sys::{Array, Object};
use rand_core::UnwrapErr;
use wasm_bindgen::prelude::{JsError, wasm_bindgen};

use crate::boundary::{self, codec, integer, len, now};
use crate::engine;

/// Randomness for identities and fresh keys: the platform's CSPRNG
/// (`crypto.getRandomValues` in a browser).
fn rng() -> UnwrapErr<SysRng> {
    UnwrapErr(SysRng)
}

/// Runs a frame call: an unknown codec number is refused like any other
/// error, as a negative number.
fn frame(
    codec_id: u8,
    keyframe: &mut Option<bool>,
    f: impl FnOnce(framecrypt::codec::Codec) -> Result<engine::Done, Error>,
) -> i32 {
    let result = codec(codec_id).and_then(f);
    *keyframe = result.as_ref().ok().and_then(|d| d.keyframe);
    boundary::outcome(result)
}

/// The buffer in WebAssembly memory that frames are processed in, reused
/// for every frame. Write a frame at `ptr` (a `Uint8Array` over the
/// module's `memory.buffer`), call a frame method, read the result back
/// from `ptr`.
#[wasm_bindgen]
#[derive(Debug, Default)]
pub struct FrameBuffer(engine::FrameBuffer);

#[wasm_bindgen]
impl FrameBuffer {
    /// An empty buffer; call `reserve` before the first frame.
    #[wasm_bindgen(constructor)]
    #[must_use]
    pub fn new() -> Self {
        Self(engine::FrameBuffer::new())
    }

    /// Makes room for a frame of `frameLen` bytes in any codec. Allocates
    /// only when the frame is larger than any before; then `ptr` changes
    /// and `memory.buffer` may be replaced, so take a new view.
    pub fn reserve(&mut self, frame_len: u32) {
        self.0.reserve(len(frame_len));
    }

    /// Where the buffer starts in the module's memory.
    #[wasm_bindgen(getter)]
    #[must_use]
    pub fn ptr(&self) -> usize {
        self.0.bytes().as_ptr() as usize
    }

    /// The buffer's size in bytes.
    #[wasm_bindgen(getter)]
    #[must_use]
    pub fn capacity(&self) -> usize {
        self.0.bytes().len()
    }
}

/// A sender whose keys the application manages (RFC 9605 §5.1): one
/// ratchet step with `ratchet()`, a new generation with `rekey(key)`.
#[wasm_bindgen]
#[derive(Debug)]
pub struct Sender {
    inner: engine::FrameSender,
    keyframe: Option<bool>,
}

#[wasm_bindgen]
impl Sender {
    /// A sender at `generation`, step 0, with that generation's base key,
    /// under cipher suite `suite` with `ratchetBits` step bits in the KID.
    ///
    /// # Errors
    /// Unknown suite, bad key length, `ratchetBits` not in 1..=63, a
    /// generation that does not fit the KID.
    #[wasm_bindgen(constructor)]
    pub fn new(
        suite: u16,
        ratchet_bits: u32,
        generation: f64,
        key: &[u8],
    ) -> Result<Self, JsError> {
        let inner = engine::FrameSender::new(
            boundary::suite(suite)?,
            boundary::bits(ratchet_bits)?,
            integer(generation)?,
            boundary::key(key)?,
        )?;
        Ok(Self {
            inner,
            keyframe: None,
        })
    }

    /// One ratchet step: receivers follow by themselves.
    pub fn ratchet(&mut self) {
        self.inner.ratchet();
    }

    /// The next generation with a fresh base key (the receivers need it).
    ///
    /// # Errors
    /// Bad key length; no generation left.
    pub fn rekey(&mut self, key: &[u8]) -> Result<(), JsError> {
        Ok(self.inner.rekey(boundary::key(key)?)?)
    }

    /// Protects the `len`-byte frame at the start of `buf` in place.
    /// Returns the protected length, or a negated error number.
    pub fn protect(&mut self, buf: &mut FrameBuffer, codec_id: u8, frame_len: u32) -> i32 {
        let inner = &mut self.inner;
        frame(codec_id, &mut self.keyframe, |c| {
            inner.protect(&mut buf.0, c, len(frame_len))
        })
    }

    /// Whether the last protected frame is a keyframe as its clear bytes
    /// tell an RTP depacketizer or SFU (`undefined` where they do not).
    #[wasm_bindgen(getter, js_name = lastKeyframe)]
    #[must_use]
    pub fn last_keyframe(&self) -> Option<bool> {
        self.keyframe
    }

    /// Counters and the key in use: `{frames, keyframes, bytesIn,
    /// bytesOut, failures, generation, step, kid}`.
    #[must_use]
    pub fn stats(&self) -> Object {
        boundary::send_stats(self.inner.stats(), self.inner.key_id())
    }
}

/// One remote sender's keys: follows its ratchet steps by itself, takes
/// each new generation's key with `installKey`.
#[wasm_bindgen]
#[derive(Debug)]
pub struct Receiver {
    inner: engine::FrameReceiver,
    keyframe: Option<bool>,
}

#[wasm_bindgen]
impl Receiver {
    /// A receiver without keys.
    ///
    /// # Errors
    /// Unknown suite; `ratchetBits` not in 1..=63.
    #[wasm_bindgen(constructor)]
    pub fn new(suite: u16, ratchet_bits: u32) -> Result<Self, JsError> {
        Ok(Self {
            inner: engine::FrameReceiver::new(
                boundary::suite(suite)?,
                boundary::bits(ratchet_bits)?,
            ),
            keyframe: None,
        })
    }

    /// Installs the base key of `(generation, step)`; the key in use so far
    /// is kept for late frames for a while.
    ///
    /// # Errors
    /// Bad key length; a key not newer than the current one.
    #[wasm_bindgen(js_name = installKey)]
    pub fn install_key(
        &mut self,
        generation: f64,
        step: f64,
        key: &[u8],
        now_ms: f64,
    ) -> Result<(), JsError> {
        Ok(self.inner.install_key(
            integer(generation)?,
            integer(step)?,
            boundary::key(key)?,
            now(now_ms),
        )?)
    }

    /// Restores the protected `len`-byte frame at the start of `buf` in
    /// place. Returns the frame's length, or a negated error number: then
    /// drop the frame.
    pub fn unprotect(
        &mut self,
        buf: &mut FrameBuffer,
        codec_id: u8,
        frame_len: u32,
        now_ms: f64,
    ) -> i32 {
        let inner = &mut self.inner;
        frame(codec_id, &mut self.keyframe, |c| {
            inner.unprotect(&mut buf.0, c, len(frame_len), now(now_ms))
        })
    }

    /// Whether the last restored frame was a keyframe by its clear bytes.
    #[wasm_bindgen(getter, js_name = lastKeyframe)]
    #[must_use]
    pub fn last_keyframe(&self) -> Option<bool> {
        self.keyframe
    }

    /// Counters by reason: `{ok, unknownKeyId, tooFarAhead, keyExpired,
    /// replayed, authenticationFailed, malformed, malformedFrame,
    /// failures, generation, step}`.
    #[must_use]
    pub fn stats(&self) -> Object {
        boundary::receive_stats(self.inner.stats())
    }
}

/// A participant's X25519 key pair, made before joining: signalling
/// usually hands out the participant ID in exchange for the public key.
/// `new Member(..., identity)` takes it over (the object is then spent).
#[wasm_bindgen]
#[derive(Debug)]
pub struct Identity(engine::MemberIdentity);

#[wasm_bindgen]
impl Identity {
    /// A fresh key pair from the platform's CSPRNG.
    #[wasm_bindgen(constructor)]
    #[must_use]
    pub fn new() -> Self {
        Self(engine::MemberIdentity::generate(&mut rng()))
    }

    /// The public key (32 bytes).
    #[wasm_bindgen(getter, js_name = publicKey)]
    #[must_use]
    pub fn public_key(&self) -> Vec<u8> {
        self.0.public_key().to_vec()
    }
}

impl Default for Identity {
    fn default() -> Self {
        Self::new()
    }
}

/// A participant in a roster keyed with HPKE announcements, as native
/// framecrypt members (`framecrypt::distribute`): its identity and every
/// key stay inside WebAssembly.
#[wasm_bindgen]
#[derive(Debug)]
pub struct Member {
    inner: engine::Member,
    keyframe: Option<bool>,
    peer: Option<usize>,
}

#[wasm_bindgen]
impl Member {
    /// Participant `ownId` in session `sessionId` with `identity`, which
    /// the member takes over.
    ///
    /// # Errors
    /// Unknown suite, bad `ratchetBits`, empty or over-long IDs.
    #[wasm_bindgen(constructor)]
    pub fn new(
        session_id: &[u8],
        suite: u16,
        ratchet_bits: u32,
        own_id: &[u8],
        identity: Identity,
    ) -> Result<Self, JsError> {
        let inner = engine::Member::new(
            session_id,
            boundary::suite(suite)?,
            boundary::bits(ratchet_bits)?,
            own_id,
            identity.0,
        )?;
        Ok(Self {
            inner,
            keyframe: None,
            peer: None,
        })
    }

    /// Our X25519 public key (32 bytes), for the other members.
    #[wasm_bindgen(getter, js_name = publicKey)]
    #[must_use]
    pub fn public_key(&self) -> Vec<u8> {
        self.inner.public_key().to_vec()
    }

    /// Adds member `id` with its 32-byte public key. Returns `{peer,
    /// announcements}`: the peer's handle for `unprotect`, and (once we
    /// send) our key sealed to it, `{to, data}[]`, to deliver.
    ///
    /// `rosterVersion` is the session's number for the roster with `id`
    /// in it (from the signalling, the same at every member); `nowMs` is
    /// `Date.now()`, which dates the announcements.
    ///
    /// # Errors
    /// Our own or a known ID; a bad public key; a roster version not above
    /// the last one.
    #[wasm_bindgen(js_name = addPeer)]
    pub fn add_peer(
        &mut self,
        id: &[u8],
        public_key: &[u8],
        roster_version: f64,
        now_ms: f64,
    ) -> Result<Object, JsError> {
        let key = boundary::public_key(public_key)?;
        let (peer, list) =
            self.inner
                .add_peer(id, key, integer(roster_version)?, now(now_ms), &mut rng())?;
        Ok(boundary::added(peer, &list))
    }

    /// Removes a peer; once we send, returns the new generation sealed to
    /// the remaining members, `{to, data}[]`.
    ///
    /// `rosterVersion` and `nowMs` as for `addPeer`.
    ///
    /// # Errors
    /// An unknown handle; a roster version not above the last one.
    #[wasm_bindgen(js_name = removePeer)]
    pub fn remove_peer(
        &mut self,
        peer: usize,
        roster_version: f64,
        now_ms: f64,
    ) -> Result<Array, JsError> {
        let list =
            self.inner
                .remove_peer(peer, integer(roster_version)?, now(now_ms), &mut rng())?;
        Ok(boundary::announcements(&list))
    }

    /// Starts sending: a fresh key sealed to every peer, `{to, data}[]`.
    /// `rosterVersion` and `nowMs` as for `addPeer`.
    ///
    /// # Errors
    /// Started already.
    pub fn start(&mut self, roster_version: f64, now_ms: f64) -> Result<Array, JsError> {
        Ok(boundary::announcements(&self.inner.start(
            integer(roster_version)?,
            now(now_ms),
            &mut rng(),
        )?))
    }

    /// Opens an announcement addressed to us and installs its key for the
    /// peer that sealed it. Returns `{peer, generation, step}`.
    ///
    /// # Errors
    /// Malformed, misaddressed, forged, replayed or stale announcements,
    /// or one from no known peer.
    pub fn open(&mut self, announcement: &[u8], now_ms: f64) -> Result<Object, JsError> {
        Ok(boundary::installed(
            self.inner.open(announcement, now(now_ms))?,
        ))
    }

    /// The handle of the peer with ID `id`, if known.
    #[wasm_bindgen(js_name = peerIndex)]
    #[must_use]
    pub fn peer_index(&self, id: &[u8]) -> Option<usize> {
        self.inner.peer_index(id)
    }

    /// Protects our frame in place (see `Sender.protect`).
    pub fn protect(
        &mut self,
        buf: &mut FrameBuffer,
        codec_id: u8,
        frame_len: u32,
        now_ms: f64,
    ) -> i32 {
        let inner = &mut self.inner;
        frame(codec_id, &mut self.keyframe, |c| {
            inner.protect(&mut buf.0, c, len(frame_len), now(now_ms))
        })
    }

    /// Restores a frame of peer `peer` in place (see `Receiver.unprotect`).
    pub fn unprotect(
        &mut self,
        peer: usize,
        buf: &mut FrameBuffer,
        codec_id: u8,
        frame_len: u32,
        now_ms: f64,
    ) -> i32 {
        let inner = &mut self.inner;
        frame(codec_id, &mut self.keyframe, |c| {
            inner.unprotect(peer, &mut buf.0, c, len(frame_len), now(now_ms))
        })
    }

    /// Restores a frame whose sender is unknown by trying each peer's
    /// keys; on success `lastPeer` is the sender's handle. A frame no key
    /// opens counts as `authenticationFailed` only if every peer's key
    /// failed on it: one whose sender's key has not come yet (peers share
    /// KIDs) is `unknownKeyId`.
    pub fn identify(
        &mut self,
        buf: &mut FrameBuffer,
        codec_id: u8,
        frame_len: u32,
        now_ms: f64,
    ) -> i32 {
        let inner = &mut self.inner;
        let mut peer = None;
        let outcome = frame(codec_id, &mut self.keyframe, |c| {
            let (p, done) = inner.identify(&mut buf.0, c, len(frame_len), now(now_ms))?;
            peer = Some(p);
            Ok(done)
        });
        self.peer = peer;
        outcome
    }

    /// The peer `identify` last found.
    #[wasm_bindgen(getter, js_name = lastPeer)]
    #[must_use]
    pub fn last_peer(&self) -> Option<usize> {
        self.peer
    }

    /// Whether the last frame was a keyframe by its clear bytes.
    #[wasm_bindgen(getter, js_name = lastKeyframe)]
    #[must_use]
    pub fn last_keyframe(&self) -> Option<bool> {
        self.keyframe
    }

    /// Our sending counters (`Sender.stats`), `undefined` before `start`.
    #[wasm_bindgen(js_name = sendStats)]
    #[must_use]
    pub fn send_stats(&self) -> Option<Object> {
        self.inner
            .send_stats()
            .map(|(stats, key)| boundary::send_stats(stats, key))
    }

    /// The counters of peer `peer` (`Receiver.stats`).
    ///
    /// # Errors
    /// An unknown handle.
    #[wasm_bindgen(js_name = peerStats)]
    pub fn peer_stats(&self, peer: usize) -> Result<Object, JsError> {
        Ok(boundary::receive_stats(self.inner.peer_stats(peer)?))
    }
}

/// The codec number for an encoded frame's `getMetadata().mimeType`; call
/// it once per MIME type and pass the number with each frame.
#[wasm_bindgen(js_name = codecForMime)]
#[must_use]
pub fn codec_for_mime(mime: &str) -> u8 {
    boundary::codec_for_mime(mime)
}

/// The reason name (`authenticationFailed`, `unknownKeyId`, ...) of a
/// negative frame result.
#[wasm_bindgen(js_name = errorName)]
#[must_use]
pub fn error_name(code: i32) -> String {
    boundary::error_name(code).to_owned()
}

/// What an SFU can read of the protected `len`-byte frame in `buf`,
/// without a key: `{kid, ctr, headerOffset, clearLen, sealedLen, keyframe,
/// width, height}`.
///
/// # Errors
/// The frame does not parse as its codec or has no SFrame header.
#[wasm_bindgen]
pub fn inspect(buf: &FrameBuffer, codec_id: u8, frame_len: u32) -> Result<Object, JsError> {
    let view = engine::inspect(&buf.0, codec(codec_id)?, len(frame_len))?;
    Ok(boundary::wire_view(view))
}

/// How many times the module's heap has allocated or reallocated since it
/// started: the frame path must leave it unchanged.
#[wasm_bindgen(js_name = heapAllocations)]
#[must_use]
pub fn heap_allocations() -> f64 {
    crate::heap_allocations()
}
