//! The `ffi` target: the C entry points of `framecrypt-ffi`, called as C
//! would call them, with NULLs, arbitrary lengths, output buffers that
//! overlap their inputs, values of the wrong enum, and handles that are
//! NULL, freed, or of the other type (a sender passed as a receiver).
//!
//! The oracle is differential. Every C object has a mirror built through
//! the safe Rust API with the same arguments. A call whose arguments keep
//! the C contract must return exactly what the mirror returns (result code
//! from `framecrypt::Error`, output bytes, lengths, headers, the length
//! needed after `FRAMECRYPT_ERR_BUFFER_TOO_SMALL`); a bad handle must be
//! refused with its own code (after the checks of the other arguments) and
//! change nothing. A call that breaks the contract (a NULL with a length, a
//! NULL out-pointer, a length above `isize::MAX`, overlapping buffers) must
//! be refused and change nothing: the mirror is not run, so any state the C
//! side changed anyway (a counter used, a key installed) shows up as a
//! mismatch later. No call may return `FRAMECRYPT_ERR_INTERNAL`, and a
//! failed call writes no out-pointer but the needed length. Non-NULL
//! buffer pointers always point into live buffers of at least the length
//! passed, except for the "huge" lengths, which the C side must refuse
//! before touching memory; the sanitizer checks the rest. Handles are
//! never dereferenced unless live (the C side checks them against its
//! table), so a freed handle is safe to pass.

use core::ptr::{null, null_mut};
use std::collections::BTreeMap;

use arbitrary::Arbitrary;
use framecrypt::codec::{self, Codec, Fallback, Protection};
use framecrypt::prelude::*;
use framecrypt::{
    BaseKey, CipherSuite, Counter, Error, Header, KeyId, RatchetBits, RatchetingReceiver,
    RatchetingSender, Receiver, Sender, VecKeyStore, sfu,
};
use framecrypt_ffi::*;

use crate::{seed_enum, seed_struct};

/// Calls per input at most.
pub const MAX_CALLS: usize = 64;

/// A sequence of C calls.
#[derive(Arbitrary, Clone, Debug, PartialEq, Eq)]
pub struct FfiInput {
    /// The calls, in order.
    pub calls: Vec<Call>,
}
seed_struct!(FfiInput { calls });

/// A readable buffer as C passes it.
#[derive(Arbitrary, Clone, Debug, PartialEq, Eq)]
pub enum In {
    /// These bytes, with their length.
    Bytes {
        /// The bytes.
        bytes: Vec<u8>,
    },
    /// NULL with this length (0 is an empty buffer).
    Null {
        /// The length passed.
        len: u64,
    },
    /// These bytes with a length above `isize::MAX`, which the C side must
    /// refuse before reading.
    Huge {
        /// The bytes the pointer points to.
        bytes: Vec<u8>,
        /// How far above `isize::MAX` (modulo 1024).
        extra: u16,
    },
    /// A frame an earlier call produced (`index` modulo the pool), with
    /// bit `flip` (modulo its bits) flipped.
    Frame {
        /// Which frame.
        index: u8,
        /// Which bit to flip, if any.
        flip: Option<u16>,
    },
}
seed_enum!(In[Bytes { bytes }, Null { len }, Huge { bytes, extra }, Frame { index, flip }]);

/// A writable buffer as C passes it.
#[derive(Arbitrary, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Out {
    /// A buffer of `len % 4096` bytes.
    Bytes {
        /// The capacity (modulo 4096).
        len: u16,
    },
    /// As many bytes as the call needs, minus `short % 4`.
    Needed {
        /// How many bytes short (modulo 4).
        short: u8,
    },
    /// NULL with this capacity.
    Null {
        /// The capacity passed.
        len: u64,
    },
    /// The output inside the input's bytes, `at` bytes (modulo the input
    /// length) in, as long as the call needs: an overlap whenever both
    /// are non-empty.
    Overlapping {
        /// Where the output starts in the input.
        at: u16,
    },
}
seed_enum!(Out[Bytes { len }, Needed { short }, Null { len }, Overlapping { at }]);

/// One C call. `tx` and `rx` name a handle: `None` passes NULL; otherwise
/// the index is taken modulo the live objects of the type, then the freed
/// ones, then the live objects of the other type (passed through a cast),
/// in that order (NULL if there is none). `*_null` flags pass NULL for an
/// out-pointer. Suites, codecs and fallbacks are the raw 32-bit values C
/// passes.
#[allow(missing_docs)]
#[derive(Arbitrary, Clone, Debug, PartialEq, Eq)]
pub enum Call {
    /// `framecrypt_sender_new`.
    SenderNew {
        suite: u16,
        kid: u64,
        key: In,
        out_null: bool,
    },
    /// `framecrypt_sender_new_ratcheting`.
    SenderNewRatcheting {
        suite: u16,
        bits: u32,
        generation: u64,
        key: In,
        out_null: bool,
    },
    /// `framecrypt_receiver_new`.
    ReceiverNew { out_null: bool },
    /// `framecrypt_receiver_new_ratcheting`.
    ReceiverNewRatcheting {
        suite: u16,
        bits: u32,
        out_null: bool,
    },
    /// `framecrypt_sender_free` (a live sender becomes a freed one).
    SenderFree { tx: Option<u8> },
    /// `framecrypt_receiver_free`.
    ReceiverFree { rx: Option<u8> },
    /// `framecrypt_receiver_add_key`.
    AddKey {
        rx: Option<u8>,
        suite: u16,
        kid: u64,
        key: In,
    },
    /// `framecrypt_receiver_remove_key`.
    RemoveKey {
        rx: Option<u8>,
        kid: u64,
        out_null: bool,
    },
    /// `framecrypt_receiver_install_key`.
    InstallKey {
        rx: Option<u8>,
        now_ms: u64,
        generation: u64,
        step: u64,
        key: In,
    },
    /// `framecrypt_sender_ratchet`.
    Ratchet { tx: Option<u8> },
    /// `framecrypt_sender_rekey`.
    Rekey { tx: Option<u8>, key: In },
    /// `framecrypt_sender_kid` and `framecrypt_sender_encrypted_len`.
    Query {
        tx: Option<u8>,
        plaintext_len: u64,
        kid_null: bool,
        len_null: bool,
    },
    /// `framecrypt_sender_encrypt`.
    Encrypt {
        tx: Option<u8>,
        metadata: In,
        plaintext: In,
        out: Out,
        len_null: bool,
    },
    /// `framecrypt_receiver_decrypt`.
    Decrypt {
        rx: Option<u8>,
        now_ms: u64,
        metadata: In,
        frame: In,
        out: Out,
        len_null: bool,
        header_null: bool,
    },
    /// `framecrypt_sender_protect`.
    Protect {
        tx: Option<u8>,
        codec: u32,
        fallback: u32,
        frame: In,
        out: Out,
        len_null: bool,
    },
    /// `framecrypt_receiver_unprotect`.
    Unprotect {
        rx: Option<u8>,
        now_ms: u64,
        codec: u32,
        fallback: u32,
        frame: In,
        out: Out,
        len_null: bool,
    },
    /// `framecrypt_sender_resume`.
    Resume {
        suite: u16,
        kid: u64,
        key: In,
        next_ctr: u64,
        out_null: bool,
    },
    /// `framecrypt_sender_resume_ratcheting`.
    ResumeRatcheting {
        suite: u16,
        bits: u32,
        generation: u64,
        step: u64,
        key: In,
        next_ctr: u64,
        out_null: bool,
    },
    /// `framecrypt_sender_next_counter`.
    NextCounter { tx: Option<u8>, out_null: bool },
    /// `framecrypt_sender_current_key`.
    CurrentKey {
        tx: Option<u8>,
        out: Out,
        len_null: bool,
        generation_null: bool,
        step_null: bool,
    },
    /// `framecrypt_sfu_inspect`, with `view.struct_size` one byte short
    /// when `short_struct`.
    Inspect {
        codec: u32,
        payload: In,
        out_null: bool,
        short_struct: bool,
    },
    /// `framecrypt_header_parse`.
    ParseHeader {
        frame: In,
        header_null: bool,
        len_null: bool,
    },
    /// `framecrypt_sender_max_protected_len` and
    /// `framecrypt_result_message`.
    Sizes {
        tx: Option<u8>,
        codec: u32,
        frame_len: u64,
        out_null: bool,
        code: u32,
    },
    /// `framecrypt_receiver_decrypt_in_place`.
    DecryptInPlace {
        rx: Option<u8>,
        now_ms: u64,
        metadata: In,
        frame: In,
        len_null: bool,
    },
    /// `framecrypt_receiver_unprotect_in_place`.
    UnprotectInPlace {
        rx: Option<u8>,
        now_ms: u64,
        codec: u32,
        fallback: u32,
        frame: In,
        len_null: bool,
    },
}
seed_enum!(Call[
    SenderNew { suite, kid, key, out_null },
    SenderNewRatcheting { suite, bits, generation, key, out_null },
    ReceiverNew { out_null },
    ReceiverNewRatcheting { suite, bits, out_null },
    SenderFree { tx },
    ReceiverFree { rx },
    AddKey { rx, suite, kid, key },
    RemoveKey { rx, kid, out_null },
    InstallKey { rx, now_ms, generation, step, key },
    Ratchet { tx },
    Rekey { tx, key },
    Query { tx, plaintext_len, kid_null, len_null },
    Encrypt { tx, metadata, plaintext, out, len_null },
    Decrypt { rx, now_ms, metadata, frame, out, len_null, header_null },
    Protect { tx, codec, fallback, frame, out, len_null },
    Unprotect { rx, now_ms, codec, fallback, frame, out, len_null },
    Resume { suite, kid, key, next_ctr, out_null },
    ResumeRatcheting { suite, bits, generation, step, key, next_ctr, out_null },
    NextCounter { tx, out_null },
    CurrentKey { tx, out, len_null, generation_null, step_null },
    Inspect { codec, payload, out_null, short_struct },
    ParseHeader { frame, header_null, len_null },
    Sizes { tx, codec, frame_len, out_null, code },
    DecryptInPlace { rx, now_ms, metadata, frame, len_null },
    UnprotectInPlace { rx, now_ms, codec, fallback, frame, len_null },
]);

/// The codecs by their C values (`framecrypt_codec`), written out here
/// rather than taken from the C API, which is under test.
const CODECS: [(u32, Codec); 8] = [
    (0x100, Codec::Unknown),
    (0x101, Codec::OPUS),
    (0x102, Codec::Opus { clear_toc: false }),
    (0x103, Codec::Vp8),
    (0x104, Codec::Vp9),
    (0x105, Codec::H264),
    (0x106, Codec::H265),
    (0x107, Codec::Av1),
];

/// `FRAMECRYPT_FALLBACK_REJECT`.
pub const REJECT: u32 = 0x200;
/// `FRAMECRYPT_FALLBACK_WHOLE_FRAME`.
pub const WHOLE_FRAME: u32 = 0x201;

/// The C value of `codec` (`FRAMECRYPT_CODEC_*`).
#[must_use]
pub fn codec_number(codec: Codec) -> u32 {
    CODECS
        .iter()
        .find(|(_, c)| *c == codec)
        .map(|(n, _)| *n)
        .expect("every codec has a number")
}

fn codec_of(id: u32) -> Option<Codec> {
    CODECS.iter().find(|(n, _)| *n == id).map(|(_, c)| *c)
}

fn protection_of(codec: u32, fallback: u32) -> Option<Protection> {
    let fallback = match fallback {
        REJECT => Fallback::Reject,
        WHOLE_FRAME => Fallback::WholeFrame,
        _ => return None,
    };
    Some(Protection::new(codec_of(codec)?, fallback))
}

/// The suite `id` names, as the C API must read it (a `u16` registry
/// value passed as a 32-bit enum).
fn suite_of(id: u16) -> Result<CipherSuite, Error> {
    CipherSuite::from_id(id)
}

enum TxMirror {
    Plain(Sender),
    Ratcheting(RatchetingSender),
}

impl Seal for TxMirror {
    fn current_sender(&mut self) -> Result<&mut Sender, Error> {
        match self {
            Self::Plain(s) => s.current_sender(),
            Self::Ratcheting(s) => s.current_sender(),
        }
    }
}

enum RxMirror {
    /// The receiver, and the suite of each KID it holds.
    Plain(Receiver<VecKeyStore>, BTreeMap<u64, CipherSuite>),
    Ratcheting(Box<RatchetingReceiver>),
}

impl RxMirror {
    /// The plaintext length of the plain SFrame frame `frame` under the
    /// key its KID names (what a C call reports for a buffer too small).
    fn plaintext_len(&self, frame: &[u8]) -> usize {
        let Ok(parsed) = Header::parse(frame) else {
            return frame.len();
        };
        let tag = match self {
            Self::Plain(_, suites) => suites.get(&parsed.header().kid().0).map(|s| s.tag_len()),
            Self::Ratcheting(r) => Some(r.suite().tag_len()),
        };
        tag.and_then(|t| frame.len().checked_sub(parsed.len() + t))
            .unwrap_or(frame.len())
    }

    /// Opens `frame` (in a buffer or in place) at `now_ms`.
    fn open(
        &mut self,
        now_ms: u64,
        metadata: &[u8],
        frame: &[u8],
        out: &mut [u8],
    ) -> Result<framecrypt::Opened, Error> {
        match self {
            Self::Plain(r, _) => r.open(metadata, frame, out),
            Self::Ratcheting(r) => r.at(now_ms).open(metadata, frame, out),
        }
    }

    fn open_in_place(
        &mut self,
        now_ms: u64,
        metadata: &[u8],
        buf: &mut [u8],
    ) -> Result<framecrypt::Opened, Error> {
        match self {
            Self::Plain(r, _) => r.open_in_place(metadata, buf),
            Self::Ratcheting(r) => r.at(now_ms).open_in_place(metadata, buf),
        }
    }
}

struct State {
    senders: Vec<(*mut framecrypt_sender, TxMirror)>,
    receivers: Vec<(*mut framecrypt_receiver, RxMirror)>,
    /// Handles freed in this run (never reused: a new object at one of
    /// these addresses takes it off the list).
    freed_senders: Vec<*mut framecrypt_sender>,
    freed_receivers: Vec<*mut framecrypt_receiver>,
    /// Frames the calls produced, for `In::Frame`.
    frames: Vec<Vec<u8>>,
}

/// A handle a call passes, and what the C side must make of it.
struct Target<T> {
    ptr: *mut T,
    /// The live object's index, if it is one.
    live: Option<usize>,
    /// The code a handle that is not live must be refused with.
    refusal: framecrypt_result,
}

impl<T> Target<T> {
    fn null() -> Self {
        Self {
            ptr: null_mut(),
            live: None,
            refusal: framecrypt_result::FRAMECRYPT_ERR_NULL_POINTER,
        }
    }
}

/// Resolves a handle index over (live objects, freed handles, objects of
/// the other type).
fn target<T, U, M, N>(
    index: Option<u8>,
    live: &[(*mut T, M)],
    freed: &[*mut T],
    others: &[(*mut U, N)],
) -> Target<T> {
    let Some(i) = index else {
        return Target::null();
    };
    let pool = live.len() + freed.len() + others.len();
    if pool == 0 {
        return Target::null();
    }
    let k = usize::from(i) % pool;
    if k < live.len() {
        Target {
            ptr: live[k].0,
            live: Some(k),
            refusal: framecrypt_result::FRAMECRYPT_OK,
        }
    } else if k < live.len() + freed.len() {
        Target {
            ptr: freed[k - live.len()],
            live: None,
            refusal: framecrypt_result::FRAMECRYPT_ERR_INVALID_HANDLE,
        }
    } else {
        Target {
            ptr: others[k - live.len() - freed.len()].0.cast(),
            live: None,
            refusal: framecrypt_result::FRAMECRYPT_ERR_WRONG_OBJECT,
        }
    }
}

/// An input buffer made concrete: where its bytes live and what is passed.
struct Input {
    bytes: Vec<u8>,
    len: usize,
    null: bool,
}

impl Input {
    fn new(spec: &In, frames: &[Vec<u8>]) -> Self {
        match spec {
            In::Bytes { bytes } => Self {
                len: bytes.len(),
                bytes: bytes.clone(),
                null: false,
            },
            In::Null { len } => Self {
                bytes: Vec::new(),
                len: usize_of(*len),
                null: true,
            },
            In::Huge { bytes, extra } => Self {
                bytes: bytes.clone(),
                len: isize::MAX.unsigned_abs() + 1 + usize::from(*extra % 1024),
                null: false,
            },
            In::Frame { index, flip } => {
                let mut bytes = if frames.is_empty() {
                    Vec::new()
                } else {
                    frames[usize::from(*index) % frames.len()].clone()
                };
                if let Some(flip) = flip
                    && !bytes.is_empty()
                {
                    let bit = usize::from(*flip) % (bytes.len() * 8);
                    bytes[bit / 8] ^= 1 << (bit % 8);
                }
                Self {
                    len: bytes.len(),
                    bytes,
                    null: false,
                }
            }
        }
    }

    /// Whether the call keeps the C contract for this buffer.
    fn valid(&self) -> bool {
        !(self.null && self.len > 0) && isize::try_from(self.len).is_ok()
    }

    /// The bytes the mirror sees (only for a valid buffer).
    fn slice(&self) -> &[u8] {
        if self.null {
            &[]
        } else {
            &self.bytes[..self.len]
        }
    }
}

fn usize_of(n: u64) -> usize {
    usize::try_from(n).unwrap_or(usize::MAX)
}

thread_local! {
    /// The result of every checked call of the current input, in order.
    static RESULTS: core::cell::RefCell<Vec<framecrypt_result>> =
        const { core::cell::RefCell::new(Vec::new()) };
}

/// Checks a call's result: never a panic or an unmapped error; a refusal
/// for a broken contract; otherwise exactly the mirror's result.
fn check(got: framecrypt_result, contract_kept: bool, mirror: impl FnOnce() -> framecrypt_result) {
    RESULTS.with_borrow_mut(|results| results.push(got));
    assert_ne!(got, framecrypt_result::FRAMECRYPT_ERR_INTERNAL);
    if contract_kept {
        assert_eq!(got, mirror(), "C and Rust disagree");
    } else {
        assert_ne!(
            got,
            framecrypt_result::FRAMECRYPT_OK,
            "a broken contract was accepted"
        );
    }
}

/// An output buffer made concrete. It shares an arena with the call's main
/// input, which starts the arena, so that `Out::Overlapping` can place it
/// inside the input.
struct Output {
    arena: Vec<u8>,
    /// Where the output starts in the arena.
    out_at: usize,
    cap: usize,
    null: bool,
}

impl Output {
    fn new(spec: Out, input: &Input, needed: usize) -> Self {
        let stored = if input.null { 0 } else { input.bytes.len() };
        let (cap, null, out_at) = match spec {
            Out::Bytes { len } => (usize::from(len) % 4096, false, stored),
            Out::Needed { short } => (needed.saturating_sub(usize::from(short % 4)), false, stored),
            Out::Null { len } => (usize_of(len), true, stored),
            Out::Overlapping { at } => (needed, false, usize::from(at) % stored.max(1)),
        };
        let mut arena = vec![0xA5; out_at.max(stored) + if null { 0 } else { cap }];
        if !input.null {
            arena[..stored].copy_from_slice(&input.bytes);
        }
        Self {
            arena,
            out_at,
            cap,
            null,
        }
    }

    fn overlaps(&self, input: &Input) -> bool {
        !self.null
            && !input.null
            && self.cap > 0
            && input.len > 0
            && self.out_at < input.len.min(input.bytes.len())
    }

    fn valid(&self) -> bool {
        !(self.null && self.cap > 0) && isize::try_from(self.cap).is_ok()
    }

    /// Whether a call writing here and reading `input` keeps the C
    /// contract for both, with its length out-pointer NULL or not.
    fn kept(&self, input: &Input, len_null: bool) -> bool {
        input.valid() && self.valid() && !self.overlaps(input) && !len_null
    }

    fn input_ptr(&self, input: &Input) -> *const u8 {
        if input.null {
            null()
        } else {
            self.arena.as_ptr()
        }
    }

    fn ptr(&mut self) -> *mut u8 {
        if self.null {
            null_mut()
        } else {
            self.arena[self.out_at..].as_mut_ptr()
        }
    }

    /// The output bytes as written.
    fn bytes(&self) -> &[u8] {
        if self.null {
            &[]
        } else {
            &self.arena[self.out_at..self.out_at + self.cap]
        }
    }
}

impl State {
    fn tx(&self, index: Option<u8>) -> Target<framecrypt_sender> {
        target(index, &self.senders, &self.freed_senders, &self.receivers)
    }

    fn rx(&self, index: Option<u8>) -> Target<framecrypt_receiver> {
        target(index, &self.receivers, &self.freed_receivers, &self.senders)
    }

    fn input(&self, spec: &In) -> Input {
        Input::new(spec, &self.frames)
    }

    fn keep_frame(&mut self, frame: &[u8]) {
        if self.frames.len() < 16 {
            self.frames.push(frame.to_vec());
        }
    }

    /// A new object lives at `addr`: a freed handle with that address now
    /// names it (and is no longer a freed handle).
    fn reused(&mut self, addr: usize) {
        self.freed_senders.retain(|p| *p as usize != addr);
        self.freed_receivers.retain(|p| *p as usize != addr);
    }
}

impl Input {
    fn ptr(&self) -> *const u8 {
        if self.null {
            null()
        } else {
            self.bytes.as_ptr()
        }
    }
}

fn key_of(input: &Input) -> Result<BaseKey, Error> {
    BaseKey::new(input.slice())
}

fn code<T>(r: Result<T, Error>) -> framecrypt_result {
    r.map_or_else(framecrypt_result::from, |_| {
        framecrypt_result::FRAMECRYPT_OK
    })
}

/// The pointer an optional out-parameter passes.
fn out_ptr<T>(null: bool, value: &mut T) -> *mut T {
    if null { null_mut() } else { value }
}

const SENTINEL: usize = 0x5EA1_5EA1;

/// A receiver mirror at a time, as an [`Open`].
struct At<'a>(&'a mut RxMirror, u64);

impl Open for At<'_> {
    fn open_frame(
        &mut self,
        metadata: &[u8],
        frame: framecrypt::Ciphertext<'_>,
    ) -> Result<framecrypt::Opened, Error> {
        match self.0 {
            RxMirror::Plain(r, _) => r.open_frame(metadata, frame),
            RxMirror::Ratcheting(r) => r.at(self.1).open_frame(metadata, frame),
        }
    }
}

/// `framecrypt_sender_new` (no `next_ctr`) or `framecrypt_sender_resume`.
///
/// # Safety
/// As in [`run`].
unsafe fn plain_sender(
    state: &mut State,
    suite: u16,
    kid: u64,
    key: &In,
    next_ctr: Option<u64>,
    out_null: bool,
) {
    let key = state.input(key);
    let mut ptr = null_mut();
    let out = out_ptr(out_null, &mut ptr);
    let id = SuiteId(u32::from(suite));
    let got = unsafe {
        match next_ctr {
            None => framecrypt_sender_new(id, kid, key.ptr(), key.len, out),
            Some(ctr) => framecrypt_sender_resume(id, kid, key.ptr(), key.len, ctr, out),
        }
    };
    let made = (key.valid() && !out_null).then(|| {
        let suite = suite_of(suite)?;
        let ctr = Counter(next_ctr.unwrap_or(0));
        Ok(TxMirror::Plain(Sender::resume(
            suite,
            KeyId(kid),
            key_of(&key)?,
            ctr,
        )))
    });
    if let Some(mirror) = constructed(got, made, ptr) {
        state.reused(ptr as usize);
        state.senders.push((ptr, mirror));
    }
}

/// `framecrypt_sender_new_ratcheting` at `generation` (no step and
/// counter) or `framecrypt_sender_resume_ratcheting` at
/// `(generation, Some((step, next_ctr)))`.
///
/// # Safety
/// As in [`run`].
unsafe fn ratcheting_sender(
    state: &mut State,
    suite: u16,
    bits: u32,
    (generation, resume): (u64, Option<(u64, u64)>),
    key: &In,
    out_null: bool,
) {
    let key = state.input(key);
    let mut ptr = null_mut();
    let out = out_ptr(out_null, &mut ptr);
    let (k, n) = (key.ptr(), key.len);
    let id = SuiteId(u32::from(suite));
    let got = unsafe {
        match resume {
            None => framecrypt_sender_new_ratcheting(id, bits, generation, k, n, out),
            Some((step, ctr)) => {
                framecrypt_sender_resume_ratcheting(id, bits, generation, step, k, n, ctr, out)
            }
        }
    };
    let made = (key.valid() && !out_null).then(|| {
        let suite = suite_of(suite)?;
        let bits = RatchetBits::new(bits)?;
        let (step, ctr) = resume.unwrap_or((0, 0));
        let sender =
            RatchetingSender::resume(suite, bits, generation, step, key_of(&key)?, Counter(ctr))?;
        Ok(TxMirror::Ratcheting(sender))
    });
    if let Some(mirror) = constructed(got, made, ptr) {
        state.reused(ptr as usize);
        state.senders.push((ptr, mirror));
    }
}

/// Checks a constructor against its mirror (`made` is `None` when the
/// call broke its contract); returns the mirror of the object it made.
fn constructed<T, M>(
    got: framecrypt_result,
    made: Option<Result<M, Error>>,
    ptr: *mut T,
) -> Option<M> {
    check(got, made.is_some(), || {
        made.as_ref().map_or(framecrypt_result::FRAMECRYPT_OK, |m| {
            code(m.as_ref().map_err(|e| *e))
        })
    });
    match made {
        Some(Ok(mirror)) if got == framecrypt_result::FRAMECRYPT_OK => {
            assert!(!ptr.is_null(), "success without an object");
            Some(mirror)
        }
        _ => {
            assert!(ptr.is_null(), "a refused call handed out an object");
            None
        }
    }
}

/// What the mirror says a call that writes an output does.
enum Outcome {
    /// Success, with this length.
    Done(usize),
    /// `FRAMECRYPT_ERR_BUFFER_TOO_SMALL`, with this length needed.
    Needed(usize),
    /// This failure, with nothing written.
    Failed(framecrypt_result),
}

impl From<Error> for Outcome {
    fn from(e: Error) -> Self {
        Self::Failed(e.into())
    }
}

/// Checks a call that writes into `output` and stores a length: the mirror
/// writes into a buffer of the same size and fill and must agree on the
/// result, the length (the needed one after a buffer too small) and every
/// byte (on failure too: what a failed decrypt leaves behind is compared
/// as well). Returns the bytes written when the call succeeded.
fn check_output(
    got: framecrypt_result,
    kept: bool,
    output: &Output,
    len: usize,
    mirror: impl FnOnce(&mut [u8]) -> Outcome,
) -> Option<Vec<u8>> {
    let mut mirror_out = vec![0xA5; if kept { output.cap } else { 0 }];
    let mut expected_len = SENTINEL;
    check(got, kept, || match mirror(&mut mirror_out) {
        Outcome::Done(n) => {
            expected_len = n;
            framecrypt_result::FRAMECRYPT_OK
        }
        Outcome::Needed(n) => {
            expected_len = n;
            framecrypt_result::FRAMECRYPT_ERR_BUFFER_TOO_SMALL
        }
        Outcome::Failed(code) => code,
    });
    assert_eq!(len, expected_len, "lengths disagree");
    if kept {
        assert!(
            output.bytes() == mirror_out.as_slice(),
            "output bytes disagree"
        );
    }
    (kept && got == framecrypt_result::FRAMECRYPT_OK).then(|| mirror_out[..len].to_vec())
}

/// Runs the calls; returns the result code of every checked call, in
/// order (the two queries of [`Call::Query`] count as two; frees are not
/// checked), for the seed tests.
pub fn run(input: &FfiInput) -> Vec<framecrypt_result> {
    RESULTS.with_borrow_mut(Vec::clear);
    let mut state = State {
        senders: Vec::new(),
        receivers: Vec::new(),
        freed_senders: Vec::new(),
        freed_receivers: Vec::new(),
        frames: Vec::new(),
    };
    for call in input.calls.iter().take(MAX_CALLS) {
        // SAFETY: every buffer pointer passed is NULL or points into a live
        // buffer at least as long as the length passed, except for
        // `In::Huge` lengths, which the C side refuses before making a
        // slice; handles are checked by the C side before any use.
        unsafe { step(&mut state, call) };
    }
    for (tx, _) in state.senders {
        framecrypt_sender_free(tx);
    }
    for (rx, _) in state.receivers {
        framecrypt_receiver_free(rx);
    }
    RESULTS.with_borrow_mut(core::mem::take)
}

/// A buffer for an in-place call: the input's bytes, mutable.
fn in_place_buffer(input: &Input) -> (Vec<u8>, *mut u8) {
    let mut buf = input.bytes.clone();
    let ptr = if input.null {
        null_mut()
    } else {
        buf.as_mut_ptr()
    };
    (buf, ptr)
}

/// One call and its check.
///
/// # Safety
/// As in [`run`].
#[allow(clippy::too_many_lines)]
unsafe fn step(state: &mut State, call: &Call) {
    use framecrypt_result::{FRAMECRYPT_ERR_WRONG_KIND as WRONG_KIND, FRAMECRYPT_OK as OK};
    match call {
        Call::SenderNew {
            suite,
            kid,
            key,
            out_null,
        } => unsafe { plain_sender(state, *suite, *kid, key, None, *out_null) },
        Call::SenderNewRatcheting {
            suite,
            bits,
            generation,
            key,
            out_null,
        } => {
            let at = (*generation, None);
            unsafe { ratcheting_sender(state, *suite, *bits, at, key, *out_null) }
        }
        Call::ReceiverNew { out_null } => {
            let mut ptr = null_mut();
            let got = unsafe { framecrypt_receiver_new(out_ptr(*out_null, &mut ptr)) };
            let made = (!*out_null).then(|| Ok(RxMirror::Plain(Receiver::new(), BTreeMap::new())));
            if let Some(mirror) = constructed(got, made, ptr) {
                state.reused(ptr as usize);
                state.receivers.push((ptr, mirror));
            }
        }
        Call::ReceiverNewRatcheting {
            suite,
            bits,
            out_null,
        } => {
            let mut ptr = null_mut();
            let got = unsafe {
                framecrypt_receiver_new_ratcheting(
                    SuiteId(u32::from(*suite)),
                    *bits,
                    out_ptr(*out_null, &mut ptr),
                )
            };
            let made = (!*out_null).then(|| -> Result<_, Error> {
                let rx = RatchetingReceiver::new(suite_of(*suite)?, RatchetBits::new(*bits)?);
                Ok(RxMirror::Ratcheting(Box::new(rx)))
            });
            if let Some(mirror) = constructed(got, made, ptr) {
                state.reused(ptr as usize);
                state.receivers.push((ptr, mirror));
            }
        }
        Call::SenderFree { tx } => {
            let t = state.tx(*tx);
            framecrypt_sender_free(t.ptr);
            if let Some(i) = t.live {
                let (ptr, _) = state.senders.swap_remove(i);
                state.freed_senders.push(ptr);
            }
        }
        Call::ReceiverFree { rx } => {
            let t = state.rx(*rx);
            framecrypt_receiver_free(t.ptr);
            if let Some(i) = t.live {
                let (ptr, _) = state.receivers.swap_remove(i);
                state.freed_receivers.push(ptr);
            }
        }
        Call::AddKey {
            rx,
            suite,
            kid,
            key,
        } => {
            let key = state.input(key);
            let t = state.rx(*rx);
            let id = SuiteId(u32::from(*suite));
            let got = unsafe { framecrypt_receiver_add_key(t.ptr, id, *kid, key.ptr(), key.len) };
            check(got, key.valid(), || {
                let Some(i) = t.live else { return t.refusal };
                match &mut state.receivers[i].1 {
                    RxMirror::Plain(r, suites) => {
                        let added = (|| {
                            let suite = suite_of(*suite)?;
                            r.add_key(suite, KeyId(*kid), key_of(&key)?)?;
                            Ok(suite)
                        })();
                        if let Ok(suite) = added {
                            suites.insert(*kid, suite);
                        }
                        code(added)
                    }
                    RxMirror::Ratcheting(_) => WRONG_KIND,
                }
            });
        }
        Call::RemoveKey { rx, kid, out_null } => {
            let t = state.rx(*rx);
            let mut removed = false;
            let got = unsafe {
                framecrypt_receiver_remove_key(t.ptr, *kid, out_ptr(*out_null, &mut removed))
            };
            check(got, true, || {
                let Some(i) = t.live else { return t.refusal };
                match &mut state.receivers[i].1 {
                    RxMirror::Plain(r, suites) => {
                        suites.remove(kid);
                        let expected = r.remove_key(KeyId(*kid));
                        assert!(*out_null || removed == expected, "remove_key disagrees");
                        OK
                    }
                    RxMirror::Ratcheting(_) => WRONG_KIND,
                }
            });
        }
        Call::InstallKey {
            rx,
            now_ms,
            generation,
            step,
            key,
        } => {
            let key = state.input(key);
            let t = state.rx(*rx);
            let got = unsafe {
                framecrypt_receiver_install_key(
                    t.ptr,
                    *now_ms,
                    *generation,
                    *step,
                    key.ptr(),
                    key.len,
                )
            };
            check(got, key.valid(), || {
                let Some(i) = t.live else { return t.refusal };
                match &mut state.receivers[i].1 {
                    RxMirror::Ratcheting(r) => code((|| {
                        r.install_key(*generation, *step, key_of(&key)?, *now_ms)
                    })()),
                    RxMirror::Plain(..) => WRONG_KIND,
                }
            });
        }
        Call::Ratchet { tx } => {
            let t = state.tx(*tx);
            let got = framecrypt_sender_ratchet(t.ptr);
            check(got, true, || {
                let Some(i) = t.live else { return t.refusal };
                match &mut state.senders[i].1 {
                    TxMirror::Ratcheting(s) => {
                        s.ratchet();
                        OK
                    }
                    TxMirror::Plain(_) => WRONG_KIND,
                }
            });
        }
        Call::Rekey { tx, key } => {
            let key = state.input(key);
            let t = state.tx(*tx);
            let got = unsafe { framecrypt_sender_rekey(t.ptr, key.ptr(), key.len) };
            check(got, key.valid(), || {
                let Some(i) = t.live else { return t.refusal };
                match &mut state.senders[i].1 {
                    TxMirror::Ratcheting(s) => code((|| s.rekey(key_of(&key)?))()),
                    TxMirror::Plain(_) => WRONG_KIND,
                }
            });
        }
        Call::Query {
            tx,
            plaintext_len,
            kid_null,
            len_null,
        } => {
            let t = state.tx(*tx);
            let mut kid = u64::MAX - 3;
            let got = unsafe { framecrypt_sender_kid(t.ptr, out_ptr(*kid_null, &mut kid)) };
            check(got, !*kid_null, || {
                let Some(i) = t.live else { return t.refusal };
                let expected = state.senders[i].1.current_sender().map(|s| s.kid());
                if let Ok(expected) = expected {
                    assert_eq!(kid, expected.0, "kid disagrees");
                }
                code(expected)
            });
            if got != OK {
                assert_eq!(kid, u64::MAX - 3, "a failed call wrote its KID");
            }
            let plaintext_len = usize_of(*plaintext_len);
            let mut len = SENTINEL;
            let got = unsafe {
                framecrypt_sender_encrypted_len(t.ptr, plaintext_len, out_ptr(*len_null, &mut len))
            };
            check(got, !*len_null, || {
                let Some(i) = t.live else { return t.refusal };
                let expected = state.senders[i].1.next_frame_len(plaintext_len);
                if let Ok(expected) = expected {
                    assert_eq!(len, expected, "length disagrees");
                }
                code(expected)
            });
            if got != OK {
                assert_eq!(len, SENTINEL, "a failed call wrote its length");
            }
        }
        Call::Encrypt {
            tx,
            metadata,
            plaintext,
            out,
            len_null,
        } => {
            let metadata = state.input(metadata);
            let plaintext = state.input(plaintext);
            let t = state.tx(*tx);
            let needed = t
                .live
                .and_then(|i| {
                    state.senders[i]
                        .1
                        .next_frame_len(plaintext.len.min(1 << 16))
                        .ok()
                })
                .unwrap_or(64);
            let mut output = Output::new(*out, &plaintext, needed);
            let mut len = SENTINEL;
            let got = unsafe {
                framecrypt_sender_encrypt(
                    t.ptr,
                    metadata.ptr(),
                    metadata.len,
                    output.input_ptr(&plaintext),
                    plaintext.len,
                    output.ptr(),
                    output.cap,
                    out_ptr(*len_null, &mut len),
                )
            };
            let kept = metadata.valid() && output.kept(&plaintext, *len_null);
            let frame = check_output(got, kept, &output, len, |out| {
                let Some(i) = t.live else {
                    return Outcome::Failed(t.refusal);
                };
                let s = &mut state.senders[i].1;
                match s.seal(metadata.slice(), plaintext.slice(), out) {
                    Ok(sealed) => Outcome::Done(sealed.len()),
                    Err(Error::BufferTooSmall) => match s.next_frame_len(plaintext.len) {
                        Ok(n) => Outcome::Needed(n),
                        Err(e) => e.into(),
                    },
                    Err(e) => e.into(),
                }
            });
            if let Some(frame) = frame {
                state.keep_frame(&frame);
            }
        }
        Call::Decrypt {
            rx,
            now_ms,
            metadata,
            frame,
            out,
            len_null,
            header_null,
        } => {
            let metadata = state.input(metadata);
            let frame = state.input(frame);
            let t = state.rx(*rx);
            let mut output = Output::new(*out, &frame, frame.len.min(1 << 16));
            let untouched = framecrypt_header { kid: 1, ctr: 2 };
            let (mut len, mut header) = (SENTINEL, untouched);
            let got = unsafe {
                framecrypt_receiver_decrypt(
                    t.ptr,
                    *now_ms,
                    metadata.ptr(),
                    metadata.len,
                    output.input_ptr(&frame),
                    frame.len,
                    output.ptr(),
                    output.cap,
                    out_ptr(*len_null, &mut len),
                    out_ptr(*header_null, &mut header),
                )
            };
            let kept = metadata.valid() && output.kept(&frame, *len_null);
            let mut expected = untouched;
            let done = check_output(got, kept, &output, len, |out| {
                let Some(i) = t.live else {
                    return Outcome::Failed(t.refusal);
                };
                let rx = &mut state.receivers[i].1;
                match rx.open(*now_ms, metadata.slice(), frame.slice(), out) {
                    Ok(opened) => {
                        expected = opened.header().into();
                        Outcome::Done(opened.plaintext().end)
                    }
                    Err(Error::BufferTooSmall) => Outcome::Needed(rx.plaintext_len(frame.slice())),
                    Err(e) => e.into(),
                }
            });
            if done.is_none() || *header_null {
                expected = untouched;
            }
            assert_eq!(header, expected, "headers disagree");
        }
        Call::Protect {
            tx,
            codec,
            fallback,
            frame,
            out,
            len_null,
        } => {
            let frame = state.input(frame);
            let t = state.tx(*tx);
            let protection = protection_of(*codec, *fallback);
            let suite = t
                .live
                .and_then(|i| state.senders[i].1.current_sender().ok().map(|s| s.suite()));
            let needed = match (protection, suite) {
                (Some(p), Some(suite)) => {
                    codec::max_protected_len(p.codec(), suite, frame.len.min(1 << 16))
                }
                _ => 64,
            };
            let mut output = Output::new(*out, &frame, needed);
            let mut len = SENTINEL;
            let got = unsafe {
                framecrypt_sender_protect(
                    t.ptr,
                    CodecId(*codec),
                    FallbackId(*fallback),
                    output.input_ptr(&frame),
                    frame.len,
                    output.ptr(),
                    output.cap,
                    out_ptr(*len_null, &mut len),
                    null_mut(),
                )
            };
            let kept = output.kept(&frame, *len_null);
            let protected = check_output(got, kept, &output, len, |out| {
                let Some(p) = protection else {
                    return Outcome::Failed(framecrypt_result::FRAMECRYPT_ERR_INVALID_PARAMETER);
                };
                let Some(i) = t.live else {
                    return Outcome::Failed(t.refusal);
                };
                protect(&mut state.senders[i].1, p, frame.slice(), out)
            });
            if let Some(protected) = protected {
                state.keep_frame(&protected);
            }
        }
        Call::Unprotect {
            rx,
            now_ms,
            codec,
            fallback,
            frame,
            out,
            len_null,
        } => {
            let frame = state.input(frame);
            let t = state.rx(*rx);
            let protection = protection_of(*codec, *fallback);
            let mut output = Output::new(*out, &frame, frame.len.min(1 << 16));
            let mut len = SENTINEL;
            let got = unsafe {
                framecrypt_receiver_unprotect(
                    t.ptr,
                    *now_ms,
                    CodecId(*codec),
                    FallbackId(*fallback),
                    output.input_ptr(&frame),
                    frame.len,
                    output.ptr(),
                    output.cap,
                    out_ptr(*len_null, &mut len),
                    null_mut(),
                )
            };
            let kept = output.kept(&frame, *len_null);
            check_output(got, kept, &output, len, |out| {
                let Some(p) = protection else {
                    return Outcome::Failed(framecrypt_result::FRAMECRYPT_ERR_INVALID_PARAMETER);
                };
                let Some(i) = t.live else {
                    return Outcome::Failed(t.refusal);
                };
                if out.len() < frame.len {
                    return Outcome::Needed(frame.len);
                }
                let rx = &mut At(&mut state.receivers[i].1, *now_ms);
                match p.unprotect(rx, frame.slice(), out) {
                    Ok(done) => Outcome::Done(done.len()),
                    Err(e) => e.into(),
                }
            });
        }
        Call::Resume {
            suite,
            kid,
            key,
            next_ctr,
            out_null,
        } => unsafe { plain_sender(state, *suite, *kid, key, Some(*next_ctr), *out_null) },
        Call::ResumeRatcheting {
            suite,
            bits,
            generation,
            step,
            key,
            next_ctr,
            out_null,
        } => {
            let at = (*generation, Some((*step, *next_ctr)));
            unsafe { ratcheting_sender(state, *suite, *bits, at, key, *out_null) }
        }
        Call::NextCounter { tx, out_null } => {
            let t = state.tx(*tx);
            let mut ctr = u64::MAX - 1;
            let got =
                unsafe { framecrypt_sender_next_counter(t.ptr, out_ptr(*out_null, &mut ctr)) };
            check(got, !*out_null, || {
                let Some(i) = t.live else { return t.refusal };
                let next = match &state.senders[i].1 {
                    TxMirror::Plain(s) => s.next_counter(),
                    TxMirror::Ratcheting(s) => s.next_counter(),
                };
                match next {
                    Some(next) => {
                        assert_eq!(ctr, next.0, "next counter disagrees");
                        OK
                    }
                    None => framecrypt_result::FRAMECRYPT_ERR_COUNTER_EXHAUSTED,
                }
            });
            if got != OK {
                assert_eq!(ctr, u64::MAX - 1, "a failed call wrote its counter");
            }
        }
        Call::CurrentKey {
            tx,
            out,
            len_null,
            generation_null,
            step_null,
        } => {
            let t = state.tx(*tx);
            let none = Input {
                bytes: Vec::new(),
                len: 0,
                null: false,
            };
            let mut output = Output::new(*out, &none, 128);
            let (mut len, mut generation, mut step) = (SENTINEL, 7, 7);
            let got = unsafe {
                framecrypt_sender_current_key(
                    t.ptr,
                    output.ptr(),
                    output.cap,
                    out_ptr(*len_null, &mut len),
                    out_ptr(*generation_null, &mut generation),
                    out_ptr(*step_null, &mut step),
                )
            };
            let kept = output.valid() && !*len_null && !*generation_null && !*step_null;
            let mut expected_len = SENTINEL;
            check(got, kept, || {
                let Some(i) = t.live else { return t.refusal };
                match &state.senders[i].1 {
                    TxMirror::Plain(_) => WRONG_KIND,
                    TxMirror::Ratcheting(s) => {
                        let share = s.share();
                        let key = share.expose_secret();
                        expected_len = key.len();
                        if output.cap < key.len() {
                            return framecrypt_result::FRAMECRYPT_ERR_BUFFER_TOO_SMALL;
                        }
                        assert!(output.bytes()[..key.len()] == *key, "key disagrees");
                        assert_eq!((generation, step), (s.generation(), s.step()));
                        OK
                    }
                }
            });
            assert_eq!(len, expected_len, "lengths disagree");
            if got != OK {
                assert_eq!((generation, step), (7, 7), "a failed call wrote");
                assert!(
                    output.bytes().iter().all(|&b| b == 0xA5),
                    "a failed call wrote the key"
                );
            }
        }
        Call::Inspect {
            codec,
            payload,
            out_null,
            short_struct,
        } => {
            let payload = state.input(payload);
            let mut view = framecrypt_sfu_view::default();
            if *short_struct {
                view.struct_size -= 1;
            }
            let before = view;
            let got = unsafe {
                framecrypt_sfu_inspect(
                    CodecId(*codec),
                    payload.ptr(),
                    payload.len,
                    out_ptr(*out_null, &mut view),
                )
            };
            let c = codec_of(*codec);
            check(got, payload.valid() && !*out_null, || {
                let Some(c) = c.filter(|_| !*short_struct) else {
                    return framecrypt_result::FRAMECRYPT_ERR_INVALID_PARAMETER;
                };
                let r = sfu::inspect_codec(c, payload.slice());
                if let Ok(v) = &r {
                    assert_eq!(view.struct_size, before.struct_size, "struct_size written");
                    assert_eq!(view.header.kid, v.header().kid().0, "kid disagrees");
                    assert_eq!(view.header.ctr, v.header().ctr().0, "ctr disagrees");
                    assert_eq!(
                        (
                            view.header_offset,
                            view.header_len,
                            view.clear_len,
                            view.sealed_len,
                            view.escape_len
                        ),
                        (
                            v.header_offset(),
                            v.header_len(),
                            v.clear_len(),
                            v.sealed_len(),
                            v.escape_len()
                        ),
                        "sizes disagree"
                    );
                    assert_eq!(
                        view.keyframe,
                        v.hints().keyframe.map_or(-1, i8::from),
                        "keyframe disagrees"
                    );
                }
                code(r)
            });
            if got != OK {
                assert_eq!(view, before, "a failed call wrote its view");
            }
        }
        Call::ParseHeader {
            frame,
            header_null,
            len_null,
        } => {
            let frame = state.input(frame);
            let mut header = framecrypt_header::default();
            let mut len = SENTINEL;
            let got = unsafe {
                framecrypt_header_parse(
                    frame.ptr(),
                    frame.len,
                    out_ptr(*header_null, &mut header),
                    out_ptr(*len_null, &mut len),
                )
            };
            check(got, frame.valid() && !*header_null && !*len_null, || {
                let r = Header::parse(frame.slice());
                if let Ok(h) = &r {
                    assert_eq!(
                        (header.kid, header.ctr, len),
                        (h.kid().0, h.ctr().0, h.len()),
                        "header disagrees"
                    );
                }
                code(r)
            });
            if got != OK {
                assert_eq!(len, SENTINEL, "a failed call wrote its length");
            }
        }
        Call::Sizes {
            tx,
            codec,
            frame_len,
            out_null,
            code: result_code,
        } => {
            let t = state.tx(*tx);
            let frame_len = usize_of(*frame_len);
            let mut len = SENTINEL;
            let got = unsafe {
                framecrypt_sender_max_protected_len(
                    t.ptr,
                    CodecId(*codec),
                    frame_len,
                    out_ptr(*out_null, &mut len),
                )
            };
            check(got, !*out_null, || {
                let Some(c) = codec_of(*codec) else {
                    return framecrypt_result::FRAMECRYPT_ERR_INVALID_PARAMETER;
                };
                let Some(i) = t.live else { return t.refusal };
                let suite = state.senders[i].1.current_sender().map(|s| s.suite());
                if let Ok(suite) = suite {
                    assert_eq!(
                        len,
                        codec::max_protected_len(c, suite, frame_len),
                        "bound disagrees"
                    );
                }
                code(suite)
            });
            if got != OK {
                assert_eq!(len, SENTINEL, "a failed call wrote its length");
            }
            // SAFETY: a static NUL-terminated string for every code.
            let message = unsafe {
                core::ffi::CStr::from_ptr(framecrypt_result_message(ResultCode(*result_code)))
            };
            assert!(!message.to_bytes().is_empty());
        }
        Call::DecryptInPlace {
            rx,
            now_ms,
            metadata,
            frame,
            len_null,
        } => {
            let metadata = state.input(metadata);
            let frame = state.input(frame);
            let t = state.rx(*rx);
            let (mut buf, ptr) = in_place_buffer(&frame);
            let mut len = SENTINEL;
            let got = unsafe {
                framecrypt_receiver_decrypt_in_place(
                    t.ptr,
                    *now_ms,
                    metadata.ptr(),
                    metadata.len,
                    ptr,
                    frame.len,
                    out_ptr(*len_null, &mut len),
                    null_mut(),
                )
            };
            let kept = metadata.valid() && frame.valid() && !*len_null;
            let mut expected = frame.bytes.clone();
            let mut expected_len = SENTINEL;
            check(got, kept, || {
                let Some(i) = t.live else { return t.refusal };
                let rx = &mut state.receivers[i].1;
                let opened = rx.open_in_place(*now_ms, metadata.slice(), &mut expected);
                if let Ok(opened) = &opened {
                    let plaintext = opened.plaintext();
                    expected.copy_within(plaintext.clone(), 0);
                    expected_len = plaintext.len();
                }
                code(opened)
            });
            assert_eq!(len, expected_len, "lengths disagree");
            if kept {
                assert!(buf == expected, "buffers disagree");
            }
            buf.clear();
        }
        Call::UnprotectInPlace {
            rx,
            now_ms,
            codec,
            fallback,
            frame,
            len_null,
        } => {
            let frame = state.input(frame);
            let t = state.rx(*rx);
            let protection = protection_of(*codec, *fallback);
            let (mut buf, ptr) = in_place_buffer(&frame);
            let mut len = SENTINEL;
            let got = unsafe {
                framecrypt_receiver_unprotect_in_place(
                    t.ptr,
                    *now_ms,
                    CodecId(*codec),
                    FallbackId(*fallback),
                    ptr,
                    frame.len,
                    out_ptr(*len_null, &mut len),
                    null_mut(),
                )
            };
            let kept = frame.valid() && !*len_null;
            let mut expected = frame.bytes.clone();
            let mut expected_len = SENTINEL;
            check(got, kept, || {
                let Some(p) = protection else {
                    return framecrypt_result::FRAMECRYPT_ERR_INVALID_PARAMETER;
                };
                let Some(i) = t.live else { return t.refusal };
                let rx = &mut At(&mut state.receivers[i].1, *now_ms);
                let n = expected.len();
                let done = if codec::max_unprotect_in_place_len(p.codec(), n) <= n {
                    p.unprotect_in_place(rx, &mut expected, n)
                } else {
                    let src = expected.clone();
                    p.unprotect(rx, &src, &mut expected)
                };
                if let Ok(done) = &done {
                    expected_len = done.len();
                }
                code(done)
            });
            assert_eq!(len, expected_len, "lengths disagree");
            if kept {
                assert!(buf == expected, "buffers disagree");
            }
            buf.clear();
        }
    }
}

/// What `framecrypt_sender_protect` does, through the safe API: protect
/// into `out` if it holds the worst case; refuse a buffer below the least
/// any frame needs; otherwise protect aside and copy the result if it
/// fits.
fn protect(sender: &mut TxMirror, p: Protection, frame: &[u8], out: &mut [u8]) -> Outcome {
    let least = match sender.next_frame_len(frame.len()) {
        Ok(n) => n,
        Err(e) => return e.into(),
    };
    let suite = match sender.current_sender() {
        Ok(s) => s.suite(),
        Err(e) => return e.into(),
    };
    let worst = codec::max_protected_len(p.codec(), suite, frame.len());
    if out.len() >= worst {
        return match p.protect(sender, frame, out) {
            Ok(sealed) => Outcome::Done(sealed.len()),
            Err(e) => e.into(),
        };
    }
    if out.len() < least {
        return Outcome::Needed(least);
    }
    let mut aside = vec![0; worst];
    match p.protect(sender, frame, &mut aside) {
        Ok(sealed) if sealed.len() <= out.len() => {
            out[..sealed.len()].copy_from_slice(&aside[..sealed.len()]);
            Outcome::Done(sealed.len())
        }
        Ok(sealed) => Outcome::Needed(sealed.len()),
        Err(e) => e.into(),
    }
}
