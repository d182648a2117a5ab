//! The `ffi` target: the C entry points of `framecrypt-ffi`, called as C
//! would call them, with NULLs, arbitrary lengths, output buffers that
//! overlap their inputs, and objects of the wrong kind.
//!
//! The oracle is differential. Every C object has a mirror built through
//! the safe Rust API with the same arguments. A call whose arguments keep
//! the C contract must return exactly what the mirror returns (result code
//! from `framecrypt::Error`, output bytes, lengths, headers). A call that
//! breaks it (a NULL with a length, a NULL out-pointer, a length above
//! `isize::MAX`, overlapping buffers) must be refused with a boundary code
//! and change nothing: the mirror is not run, so any state the C side
//! changed anyway (a counter used, a key installed) shows up as a mismatch
//! later. No call may return `FRAMECRYPT_ERR_PANIC` or
//! `FRAMECRYPT_ERR_OTHER`, and a failed call must not write its
//! out-pointers. Non-NULL pointers always point into live buffers of at
//! least the length passed, except for the "huge" lengths, which the C side
//! must refuse before touching memory; the sanitizer checks the rest.

use core::ptr::{null, null_mut};

use arbitrary::Arbitrary;
use framecrypt::codec::{Codec, Fallback, Protection};
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

/// One C call. Object indices are taken modulo the live objects; `None`
/// (or no live object) passes NULL. `*_null` flags pass NULL for an
/// out-pointer.
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
    /// `framecrypt_sender_free` (the sender leaves the pool).
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
    /// `framecrypt_sender_kid` and `framecrypt_sender_ciphertext_len`.
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
    /// `framecrypt_protect`.
    Protect {
        tx: Option<u8>,
        codec: u32,
        fallback: u32,
        frame: In,
        out: Out,
        len_null: bool,
    },
    /// `framecrypt_unprotect`.
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
    /// `framecrypt_sfu_inspect`.
    Inspect {
        codec: u32,
        payload: In,
        out_null: bool,
    },
    /// `framecrypt_header_parse`.
    ParseHeader {
        frame: In,
        header_null: bool,
        len_null: bool,
    },
    /// `framecrypt_max_protected_len`, `framecrypt_max_overhead` and
    /// `framecrypt_result_message`.
    Sizes {
        codec: u32,
        suite: u16,
        frame_len: u64,
        out_null: bool,
        code: u32,
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
    Inspect { codec, payload, out_null },
    ParseHeader { frame, header_null, len_null },
    Sizes { codec, suite, frame_len, out_null, code },
]);

/// The number `framecrypt-ffi` gives `codec` (`FRAMECRYPT_CODEC_*`).
#[must_use]
pub fn codec_number(codec: Codec) -> u32 {
    (0..8)
        .find(|&n| codec_of(n) == Some(codec))
        .expect("every codec has a number")
}

enum TxMirror {
    Plain(Sender),
    Ratcheting(RatchetingSender),
}

enum RxMirror {
    Plain(Receiver<VecKeyStore>),
    Ratcheting(Box<RatchetingReceiver>),
}

struct State {
    senders: Vec<(*mut framecrypt_sender, TxMirror)>,
    receivers: Vec<(*mut framecrypt_receiver, RxMirror)>,
    /// Frames the calls produced, for `In::Frame`.
    frames: Vec<Vec<u8>>,
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
    assert_ne!(got, framecrypt_result::FRAMECRYPT_ERR_PANIC);
    assert_ne!(got, framecrypt_result::FRAMECRYPT_ERR_OTHER);
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
    fn tx(&self, index: Option<u8>) -> Option<usize> {
        let i = usize::from(index?);
        (!self.senders.is_empty()).then(|| i % self.senders.len())
    }

    fn rx(&self, index: Option<u8>) -> Option<usize> {
        let i = usize::from(index?);
        (!self.receivers.is_empty()).then(|| i % self.receivers.len())
    }

    fn tx_ptr(&self, i: Option<usize>) -> *mut framecrypt_sender {
        i.map_or(null_mut(), |i| self.senders[i].0)
    }

    fn rx_ptr(&self, i: Option<usize>) -> *mut framecrypt_receiver {
        i.map_or(null_mut(), |i| self.receivers[i].0)
    }

    fn input(&self, spec: &In) -> Input {
        Input::new(spec, &self.frames)
    }

    fn keep_frame(&mut self, frame: &[u8]) {
        if self.frames.len() < 16 {
            self.frames.push(frame.to_vec());
        }
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

fn codec_of(id: u32) -> Option<Codec> {
    Some(match id {
        0 => Codec::Unknown,
        1 => Codec::OPUS,
        2 => Codec::Opus { clear_toc: false },
        3 => Codec::Vp8,
        4 => Codec::Vp9,
        5 => Codec::H264,
        6 => Codec::H265,
        7 => Codec::Av1,
        _ => return None,
    })
}

fn protection_of(codec: u32, fallback: u32) -> Option<Protection> {
    let fallback = match fallback {
        0 => Fallback::Reject,
        1 => Fallback::WholeFrame,
        _ => return None,
    };
    Some(Protection::new(codec_of(codec)?, fallback))
}

/// The pointer an optional out-parameter passes.
fn out_ptr<T>(null: bool, value: &mut T) -> *mut T {
    if null { null_mut() } else { value }
}

const SENTINEL: usize = 0x5EA1_5EA1;

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
    let got = unsafe {
        match next_ctr {
            None => framecrypt_sender_new(suite, kid, key.ptr(), key.len, out),
            Some(ctr) => framecrypt_sender_resume(suite, kid, key.ptr(), key.len, ctr, out),
        }
    };
    let made = (key.valid() && !out_null).then(|| {
        let suite = CipherSuite::from_id(suite)?;
        let ctr = Counter(next_ctr.unwrap_or(0));
        Ok(TxMirror::Plain(Sender::resume(
            suite,
            KeyId(kid),
            key_of(&key)?,
            ctr,
        )))
    });
    constructed(got, made, ptr, &mut state.senders);
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
    let got = unsafe {
        match resume {
            None => framecrypt_sender_new_ratcheting(suite, bits, generation, k, n, out),
            Some((step, ctr)) => {
                framecrypt_sender_resume_ratcheting(suite, bits, generation, step, k, n, ctr, out)
            }
        }
    };
    let made = (key.valid() && !out_null).then(|| {
        let suite = CipherSuite::from_id(suite)?;
        let bits = RatchetBits::new(bits)?;
        let (step, ctr) = resume.unwrap_or((0, 0));
        let sender =
            RatchetingSender::resume(suite, bits, generation, step, key_of(&key)?, Counter(ctr))?;
        Ok(TxMirror::Ratcheting(sender))
    });
    constructed(got, made, ptr, &mut state.senders);
}

/// Checks a constructor against its mirror (`made` is `None` when the
/// call broke its contract) and keeps the object it made with its mirror.
fn constructed<T, M>(
    got: framecrypt_result,
    made: Option<Result<M, Error>>,
    ptr: *mut T,
    objects: &mut Vec<(*mut T, M)>,
) {
    check(got, made.is_some(), || {
        made.as_ref().map_or(framecrypt_result::FRAMECRYPT_OK, |m| {
            code(m.as_ref().map_err(|e| *e))
        })
    });
    match made {
        Some(Ok(mirror)) if got == framecrypt_result::FRAMECRYPT_OK => objects.push((ptr, mirror)),
        _ => assert!(ptr.is_null(), "a refused call handed out an object"),
    }
}

/// Checks a call that writes into `output` and stores a length: the mirror
/// writes into a buffer of the same size and fill and must agree on the
/// result, the length and every byte (on failure too: what a failed
/// decrypt leaves behind is compared as well). Returns the bytes written
/// when the call succeeded.
fn check_output(
    got: framecrypt_result,
    kept: bool,
    output: &Output,
    len: usize,
    mirror: impl FnOnce(&mut [u8]) -> Result<usize, Error>,
) -> Option<Vec<u8>> {
    let mut mirror_out = vec![0xA5; if kept { output.cap } else { 0 }];
    let mut mirror_len = SENTINEL;
    check(got, kept, || {
        let r = mirror(&mut mirror_out);
        if let Ok(n) = r {
            mirror_len = n;
        }
        code(r)
    });
    let ok = kept && got == framecrypt_result::FRAMECRYPT_OK;
    assert_eq!(
        len,
        if ok { mirror_len } else { SENTINEL },
        "lengths disagree"
    );
    if kept {
        assert!(
            output.bytes() == mirror_out.as_slice(),
            "output bytes disagree"
        );
    }
    ok.then(|| mirror_out[..len].to_vec())
}

/// Runs the calls; returns the result code of every checked call, in
/// order (the two queries of [`Call::Query`] count as two; frees are not
/// checked), for the seed tests.
pub fn run(input: &FfiInput) -> Vec<framecrypt_result> {
    RESULTS.with_borrow_mut(Vec::clear);
    let mut state = State {
        senders: Vec::new(),
        receivers: Vec::new(),
        frames: Vec::new(),
    };
    for call in input.calls.iter().take(MAX_CALLS) {
        // SAFETY: every pointer passed is NULL, a live object of `state`,
        // or points into a live buffer at least as long as the length
        // passed, except for `In::Huge` lengths, which the C side refuses
        // before making a slice.
        unsafe { step(&mut state, call) };
    }
    for (tx, _) in state.senders {
        // SAFETY: live and freed once.
        unsafe { framecrypt_sender_free(tx) };
    }
    for (rx, _) in state.receivers {
        // SAFETY: live and freed once.
        unsafe { framecrypt_receiver_free(rx) };
    }
    RESULTS.with_borrow_mut(core::mem::take)
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
            check(got, !*out_null, || OK);
            if got == OK {
                state
                    .receivers
                    .push((ptr, RxMirror::Plain(Receiver::new())));
            }
        }
        Call::ReceiverNewRatcheting {
            suite,
            bits,
            out_null,
        } => {
            let mut ptr = null_mut();
            let got = unsafe {
                framecrypt_receiver_new_ratcheting(*suite, *bits, out_ptr(*out_null, &mut ptr))
            };
            let made = (!*out_null).then(|| -> Result<_, Error> {
                let suite = CipherSuite::from_id(*suite)?;
                let rx = RatchetingReceiver::new(suite, RatchetBits::new(*bits)?);
                Ok(RxMirror::Ratcheting(Box::new(rx)))
            });
            constructed(got, made, ptr, &mut state.receivers);
        }
        Call::SenderFree { tx } => {
            let i = state.tx(*tx);
            unsafe { framecrypt_sender_free(state.tx_ptr(i)) };
            if let Some(i) = i {
                state.senders.swap_remove(i);
            }
        }
        Call::ReceiverFree { rx } => {
            let i = state.rx(*rx);
            unsafe { framecrypt_receiver_free(state.rx_ptr(i)) };
            if let Some(i) = i {
                state.receivers.swap_remove(i);
            }
        }
        Call::AddKey {
            rx,
            suite,
            kid,
            key,
        } => {
            let key = state.input(key);
            let i = state.rx(*rx);
            let got = unsafe {
                framecrypt_receiver_add_key(state.rx_ptr(i), *suite, *kid, key.ptr(), key.len)
            };
            check(got, i.is_some() && key.valid(), || {
                match &mut state.receivers[i.unwrap_or_default()].1 {
                    RxMirror::Plain(r) => code((|| {
                        r.add_key(CipherSuite::from_id(*suite)?, KeyId(*kid), key_of(&key)?)
                    })()),
                    RxMirror::Ratcheting(_) => WRONG_KIND,
                }
            });
        }
        Call::RemoveKey { rx, kid, out_null } => {
            let i = state.rx(*rx);
            let mut removed = false;
            let got = unsafe {
                framecrypt_receiver_remove_key(
                    state.rx_ptr(i),
                    *kid,
                    out_ptr(*out_null, &mut removed),
                )
            };
            check(got, i.is_some(), || {
                match &mut state.receivers[i.unwrap_or_default()].1 {
                    RxMirror::Plain(r) => {
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
            let i = state.rx(*rx);
            let got = unsafe {
                framecrypt_receiver_install_key(
                    state.rx_ptr(i),
                    *now_ms,
                    *generation,
                    *step,
                    key.ptr(),
                    key.len,
                )
            };
            check(got, i.is_some() && key.valid(), || {
                match &mut state.receivers[i.unwrap_or_default()].1 {
                    RxMirror::Ratcheting(r) => code((|| {
                        r.install_key(*generation, *step, key_of(&key)?, *now_ms)
                    })()),
                    RxMirror::Plain(_) => WRONG_KIND,
                }
            });
        }
        Call::Ratchet { tx } => {
            let i = state.tx(*tx);
            let got = unsafe { framecrypt_sender_ratchet(state.tx_ptr(i)) };
            check(got, i.is_some(), || {
                match &mut state.senders[i.unwrap_or_default()].1 {
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
            let i = state.tx(*tx);
            let got = unsafe { framecrypt_sender_rekey(state.tx_ptr(i), key.ptr(), key.len) };
            check(got, i.is_some() && key.valid(), || {
                match &mut state.senders[i.unwrap_or_default()].1 {
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
            let i = state.tx(*tx);
            let (mut kid, mut len) = (u64::MAX, SENTINEL);
            let plaintext_len = usize_of(*plaintext_len);
            let got_kid =
                unsafe { framecrypt_sender_kid(state.tx_ptr(i), out_ptr(*kid_null, &mut kid)) };
            let got_len = unsafe {
                framecrypt_sender_ciphertext_len(
                    state.tx_ptr(i),
                    plaintext_len,
                    out_ptr(*len_null, &mut len),
                )
            };
            let mirror = i.map(|i| match &state.senders[i].1 {
                TxMirror::Plain(s) => (s.kid(), s.next_ciphertext_len(plaintext_len)),
                TxMirror::Ratcheting(s) => (s.kid(), s.next_ciphertext_len(plaintext_len)),
            });
            check(got_kid, i.is_some() && !*kid_null, || OK);
            check(got_len, i.is_some() && !*len_null, || OK);
            if let Some((expected_kid, expected_len)) = mirror {
                assert!(got_kid != OK || kid == expected_kid.0, "kid disagrees");
                assert!(
                    got_len != OK || len == expected_len,
                    "ciphertext_len disagrees"
                );
            }
            assert!(
                got_len == OK || len == SENTINEL,
                "a failed call wrote its length"
            );
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
            let i = state.tx(*tx);
            let needed = i.map_or(64, |i| match &state.senders[i].1 {
                TxMirror::Plain(s) => s.next_ciphertext_len(plaintext.len.min(1 << 16)),
                TxMirror::Ratcheting(s) => s.next_ciphertext_len(plaintext.len.min(1 << 16)),
            });
            let mut output = Output::new(*out, &plaintext, needed);
            let mut len = SENTINEL;
            let got = unsafe {
                framecrypt_sender_encrypt(
                    state.tx_ptr(i),
                    metadata.ptr(),
                    metadata.len,
                    output.input_ptr(&plaintext),
                    plaintext.len,
                    output.ptr(),
                    output.cap,
                    out_ptr(*len_null, &mut len),
                )
            };
            let kept = i.is_some() && metadata.valid() && output.kept(&plaintext, *len_null);
            let frame = check_output(got, kept, &output, len, |out| {
                match &mut state.senders[i.unwrap_or_default()].1 {
                    TxMirror::Plain(s) => s.seal(metadata.slice(), plaintext.slice(), out),
                    TxMirror::Ratcheting(s) => s.seal(metadata.slice(), plaintext.slice(), out),
                }
                .map(|sealed| sealed.len())
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
            let i = state.rx(*rx);
            let mut output = Output::new(*out, &frame, frame.len.min(1 << 16));
            let untouched = framecrypt_header { kid: 1, ctr: 2 };
            let (mut len, mut header) = (SENTINEL, untouched);
            let got = unsafe {
                framecrypt_receiver_decrypt(
                    state.rx_ptr(i),
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
            let kept = i.is_some() && metadata.valid() && output.kept(&frame, *len_null);
            let mut expected = untouched;
            let done = check_output(got, kept, &output, len, |out| {
                let r = match &mut state.receivers[i.unwrap_or_default()].1 {
                    RxMirror::Plain(r) => r.open(metadata.slice(), frame.slice(), out),
                    RxMirror::Ratcheting(r) => {
                        r.at(*now_ms).open(metadata.slice(), frame.slice(), out)
                    }
                }?;
                expected = r.header().into();
                Ok(r.plaintext().end)
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
            let i = state.tx(*tx);
            let protection = protection_of(*codec, *fallback);
            let suite = i.map(|i| match &state.senders[i].1 {
                TxMirror::Plain(s) => s.suite(),
                TxMirror::Ratcheting(s) => s.suite(),
            });
            let needed = match (protection, suite) {
                (Some(p), Some(suite)) => {
                    framecrypt::codec::max_protected_len(p.codec(), suite, frame.len.min(1 << 16))
                }
                _ => 64,
            };
            let mut output = Output::new(*out, &frame, needed);
            let mut len = SENTINEL;
            let got = unsafe {
                framecrypt_protect(
                    state.tx_ptr(i),
                    *codec,
                    *fallback,
                    output.input_ptr(&frame),
                    frame.len,
                    output.ptr(),
                    output.cap,
                    out_ptr(*len_null, &mut len),
                    null_mut(),
                )
            };
            let kept = i.is_some() && protection.is_some() && output.kept(&frame, *len_null);
            let protected = check_output(got, kept, &output, len, |out| {
                let Some(p) = protection else {
                    unreachable!("kept")
                };
                let done = match &mut state.senders[i.unwrap_or_default()].1 {
                    TxMirror::Plain(s) => p.protect(s, frame.slice(), out),
                    TxMirror::Ratcheting(s) => p.protect(s, frame.slice(), out),
                }?;
                Ok(done.len())
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
            let i = state.rx(*rx);
            let protection = protection_of(*codec, *fallback);
            let mut output = Output::new(*out, &frame, frame.len.min(1 << 16));
            let mut len = SENTINEL;
            let got = unsafe {
                framecrypt_unprotect(
                    state.rx_ptr(i),
                    *now_ms,
                    *codec,
                    *fallback,
                    output.input_ptr(&frame),
                    frame.len,
                    output.ptr(),
                    output.cap,
                    out_ptr(*len_null, &mut len),
                    null_mut(),
                )
            };
            let kept = i.is_some() && protection.is_some() && output.kept(&frame, *len_null);
            check_output(got, kept, &output, len, |out| {
                let Some(p) = protection else {
                    unreachable!("kept")
                };
                let done = match &mut state.receivers[i.unwrap_or_default()].1 {
                    RxMirror::Plain(r) => p.unprotect(r, frame.slice(), out),
                    RxMirror::Ratcheting(r) => p.unprotect(&mut r.at(*now_ms), frame.slice(), out),
                }?;
                Ok(done.len())
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
            let i = state.tx(*tx);
            let mut ctr = u64::MAX - 1;
            let got = unsafe {
                framecrypt_sender_next_counter(state.tx_ptr(i), out_ptr(*out_null, &mut ctr))
            };
            check(got, i.is_some() && !*out_null, || {
                let next = match &state.senders[i.unwrap_or_default()].1 {
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
            let i = state.tx(*tx);
            let none = Input {
                bytes: Vec::new(),
                len: 0,
                null: false,
            };
            let mut output = Output::new(*out, &none, 128);
            let (mut len, mut generation, mut step) = (SENTINEL, 7, 7);
            let got = unsafe {
                framecrypt_sender_current_key(
                    state.tx_ptr(i),
                    output.ptr(),
                    output.cap,
                    out_ptr(*len_null, &mut len),
                    out_ptr(*generation_null, &mut generation),
                    out_ptr(*step_null, &mut step),
                )
            };
            let kept =
                i.is_some() && output.valid() && !*len_null && !*generation_null && !*step_null;
            check(got, kept, || {
                match &state.senders[i.unwrap_or_default()].1 {
                    TxMirror::Plain(_) => WRONG_KIND,
                    TxMirror::Ratcheting(s) => {
                        let share = s.share();
                        let key = share.expose_secret();
                        if output.cap < key.len() {
                            return framecrypt_result::FRAMECRYPT_ERR_BUFFER_TOO_SMALL;
                        }
                        assert!(output.bytes()[..key.len()] == *key, "key disagrees");
                        assert_eq!(
                            (len, generation, step),
                            (key.len(), s.generation(), s.step())
                        );
                        OK
                    }
                }
            });
            if got != OK {
                assert_eq!(
                    (len, generation, step),
                    (SENTINEL, 7, 7),
                    "a failed call wrote"
                );
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
        } => {
            let payload = state.input(payload);
            let mut view = framecrypt_sfu_view::default();
            let got = unsafe {
                framecrypt_sfu_inspect(
                    *codec,
                    payload.ptr(),
                    payload.len,
                    out_ptr(*out_null, &mut view),
                )
            };
            let c = codec_of(*codec);
            check(got, payload.valid() && !*out_null && c.is_some(), || {
                let r = sfu::inspect_codec(c.unwrap_or(Codec::Unknown), payload.slice());
                if let Ok(v) = &r {
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
                assert_eq!(
                    view,
                    framecrypt_sfu_view::default(),
                    "a failed call wrote its view"
                );
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
            codec,
            suite,
            frame_len,
            out_null,
            code: result_code,
        } => {
            let frame_len = usize_of(*frame_len);
            let mut len = SENTINEL;
            let got = unsafe {
                framecrypt_max_protected_len(
                    *codec,
                    *suite,
                    frame_len,
                    out_ptr(*out_null, &mut len),
                )
            };
            let s = CipherSuite::from_id(*suite);
            check(got, !*out_null, || match (codec_of(*codec), s) {
                (None, _) => framecrypt_result::FRAMECRYPT_ERR_INVALID_PARAMETER,
                (Some(_), Err(e)) => e.into(),
                (Some(c), Ok(s)) => {
                    assert_eq!(
                        len,
                        framecrypt::codec::max_protected_len(c, s, frame_len),
                        "bound disagrees"
                    );
                    OK
                }
            });
            assert_eq!(
                framecrypt_max_overhead(*suite),
                s.map_or(0, framecrypt::max_overhead)
            );
            // SAFETY: a static NUL-terminated string for every code.
            let message =
                unsafe { core::ffi::CStr::from_ptr(framecrypt_result_message(*result_code)) };
            assert!(!message.to_bytes().is_empty());
        }
    }
}
