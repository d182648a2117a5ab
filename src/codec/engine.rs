//! The generic engine of codec-aware protection: gather a frame's
//! encrypted regions, seal or open them with one AEAD call, scatter them
//! back between the clear bytes. It knows codecs only through [`Format`].
//!
//! # The paths, and what each costs
//!
//! The encrypted pieces read in order must be one standard SFrame
//! ciphertext (`header || ciphertext || tag`, see the module above), and
//! both backends take one contiguous buffer per AEAD call. So:
//!
//! - **One unit** (Opus, VP8, VP9): the frame is its clear prefix and one
//!   piece; sealed and opened straight between input and output (the one
//!   copy a slice API needs, fused into the AEAD) with the clear bytes
//!   copied around it, or where it is (in place: the piece shifts by the
//!   SFrame header's length, the move its insertion or removal forces).
//! - **One encrypted piece among several units** (AV1 delta frames, H.26x
//!   with one slice and no SEI): the same, with the clear units copied or
//!   moved along.
//! - **Several pieces** (H.26x with several slices, or SEI; AV1 with a
//!   sequence header): the pieces are copied next to the largest one,
//!   placed where it ends up, sealed or opened there in one call, and the
//!   smaller pieces moved into place: one copy of the frame more than a
//!   plain SFrame frame, plus moves of the small pieces. In place, the
//!   sender saves the clear bytes at the buffer's end and moves the pieces
//!   together (the largest moves by the header's length); the receiver
//!   gathers into the buffer's spare half, so that the protected frame is
//!   untouched until the frame authenticates, and copies the plaintext
//!   back: two copies.
//! - **H.26x escaping**: a sender counts what each sealed piece needs with
//!   one search for `00 00` ([`escape::count`]) and, in the common case,
//!   changes nothing; the header's own escapes (a KID or counter with two
//!   zero bytes in a row) are left room for before sealing. A piece whose
//!   ciphertext needs emulation prevention bytes (one in 4 MB of
//!   ciphertext: a 30 KB frame in 140) moves once more. A receiver reads a piece as it is unless
//!   its unit's walk saw an emulation prevention byte in it; then it is
//!   gathered (one copy), the search stopping after the last one.
//! - **More than [`MAX_UNITS`] units** (say, a keyframe of hundreds of
//!   slices): the units are walked again for each step instead of being
//!   kept, and the frame is gathered at the output's end and laid out from
//!   its start: two copies more than a plain frame.
//!
//! # Nothing fails after authentication
//!
//! A receiver commits its state (replay window, ratchet step, statistics)
//! when a frame authenticates, and cannot take it back. So every check
//! that can fail runs before the frame is opened: the structure, the
//! escaping, the buffer sizes, the header inside the first piece. What
//! runs after it cannot fail: pieces shorter than the tag (only a key
//! holder can make such a frame authenticate) are laid out by clipping
//! each piece's plaintext to the ciphertext's, and every write is within
//! bounds checked before.

use core::ops::Range;

use super::binding::{self, Binding};
use super::escape::{self, Escaping};
use super::format::{Format, Unit, Units};
use super::leb128;
use crate::bytes::copy_short;
use crate::error::Error;
use crate::frame::{Layout, Opened, Sealed};
use crate::header::Header;
use crate::roles::{Open, Seal};
use crate::sender::Sender;

/// Units kept from one walk; frames with more are walked again per step.
pub(crate) const MAX_UNITS: usize = 16;

/// The emulation prevention byte, appended as a trailer.
const EPB: u8 = 0x03;

/// The header the sealer's next frame will carry, and its tag length.
pub(crate) fn next_frame(sealer: &mut impl Seal) -> Result<(Header, usize), Error> {
    let sender = sealer.current_sender()?;
    Ok((Sender::next_header(sender)?, sender.suite().tag_len()))
}

/// Units kept for most frames (up to 4: AV1 with a sequence header, H.26x
/// keyframes with parameter sets) without making the larger store.
const FEW_UNITS: usize = 4;

/// Where a frame's units are kept: `few` on the stack, `many` made only
/// for frames with more.
struct Kept {
    few: [Unit; FEW_UNITS],
    many: Option<[Unit; MAX_UNITS]>,
}

impl Kept {
    const fn new() -> Self {
        Self {
            few: [Unit::pass_through(0, 0); FEW_UNITS],
            many: None,
        }
    }
}

/// Walks `frame` once and keeps its units in `kept`. `None` if the frame
/// has more than [`MAX_UNITS`] units.
fn walk<'s, F: Format>(
    format: F,
    frame: &[u8],
    kept: &'s mut Kept,
) -> Result<Option<&'s [Unit]>, Error> {
    let mut n = 0;
    let mut units = Units::new(format, frame);
    for unit in units.by_ref() {
        kept.few[n] = unit?;
        n += 1;
        if n == FEW_UNITS {
            break;
        }
    }
    if n < FEW_UNITS {
        return Ok(Some(&kept.few[..n]));
    }
    let Some(unit) = units.next().transpose()? else {
        return Ok(Some(&kept.few[..n]));
    };
    let many = kept.many.insert([Unit::pass_through(0, 0); MAX_UNITS]);
    many[..FEW_UNITS].copy_from_slice(&kept.few);
    many[n] = unit;
    n += 1;
    for unit in units {
        let unit = unit?;
        if n == MAX_UNITS {
            return Ok(None);
        }
        many[n] = unit;
        n += 1;
    }
    Ok(Some(&many[..n]))
}

/// The escaping context of a unit: the zeros its clear bytes end with,
/// and their last byte.
fn context(frame: &[u8], unit: &Unit) -> (u8, Option<u8>) {
    let clear = &frame[unit.start..unit.clear_end];
    (escape::trailing_zeros(clear), clear.last().copied())
}

/// Where the clear bytes come from while a frame is laid out.
#[derive(Clone, Copy)]
enum ClearSrc<'a> {
    /// The frame itself, a separate slice (slice doors).
    Frame(&'a [u8]),
    /// Saved in the output buffer from this offset, each unit's
    /// `start..clear_end` after the previous one's (in-place doors).
    Packed(usize),
}

/// Writes unit `unit`'s clear bytes to `buf[dst..]`, its size field
/// rewritten as `size` (value, width) if given; advances `packed` past the
/// unit's saved bytes. Returns the bytes written.
fn put_clear(
    buf: &mut [u8],
    src: ClearSrc<'_>,
    packed: &mut usize,
    unit: &Unit,
    size: Option<(u64, usize)>,
    dst: usize,
) -> usize {
    let copy = unit.copy_end() - unit.start;
    match src {
        ClearSrc::Frame(frame) => {
            buf[dst..dst + copy].copy_from_slice(&frame[unit.start..unit.copy_end()]);
        }
        ClearSrc::Packed(_) => {
            buf.copy_within(*packed..*packed + copy, dst);
            *packed += unit.clear_end - unit.start;
        }
    }
    match size {
        Some((value, width)) => {
            leb128::put(value, &mut buf[dst + copy..dst + copy + width]);
            copy + width
        }
        None => copy,
    }
}

/// Moves `len[i]` bytes from `from[i]` to `to[i]` inside `buf`, for pieces
/// that are in order and disjoint at both ends: those going left first to
/// last, then those going right last to first, so that no piece is
/// overwritten before it moved.
fn move_pieces(buf: &mut [u8], from: &[usize], to: &[usize], len: &[usize]) {
    for i in 0..len.len() {
        if to[i] < from[i] && len[i] > 0 {
            buf.copy_within(from[i]..from[i] + len[i], to[i]);
        }
    }
    for i in (0..len.len()).rev() {
        if to[i] > from[i] && len[i] > 0 {
            buf.copy_within(from[i]..from[i] + len[i], to[i]);
        }
    }
}

/// Runs `step` with the `len`-byte input in front of `buf` moved to its
/// tail, writing from the front. On error the input is moved back, so the
/// caller's buffer is as it was.
fn via_tail<T>(
    buf: &mut [u8],
    len: usize,
    step: impl FnOnce(&[u8], &mut [u8]) -> Result<T, Error>,
) -> Result<T, Error> {
    let split = buf.len() - len;
    buf.copy_within(..len, split);
    let (out, src) = buf.split_at_mut(split);
    let result = step(src, out);
    if result.is_err() {
        buf.copy_within(split.., 0);
    }
    result
}

// ---------------------------------------------------------------------------
// Sealing

/// Where the encrypted pieces of a frame to seal are.
struct SealPlan {
    /// Index of the first and last unit with an encrypted region.
    first: usize,
    last: usize,
    /// Bytes of the encrypted regions (original frame).
    data_len: usize,
    header_len: usize,
    tag_len: usize,
}

impl SealPlan {
    /// [`Self::new`] for kept units, with their binding.
    #[inline]
    fn of(
        units: &[Unit],
        frame: &[u8],
        binding: &mut Binding,
        header_len: usize,
        tag_len: usize,
    ) -> Result<Self, Error> {
        let plan = Self::new(units.iter().copied().map(Ok), header_len, tag_len)?;
        for (i, unit) in units.iter().enumerate() {
            if let Some(clear) = unit.bound_bytes(frame) {
                binding.unit(clear, plan.piece(i, unit));
            }
        }
        Ok(plan)
    }

    /// A size field that grows must restore to its exact width.
    #[inline]
    fn check_size(&self, i: usize, unit: &Unit) -> Result<(), Error> {
        if let (true, Some((_, width))) = (unit.protected, unit.size_field) {
            let old = unit.region_len() as u64;
            let new = self.piece(i, unit) as u64;
            if new > leb128::MAX_VALUE
                || leb128::restored_width(leb128::grown_width(width, new), new, old) != width
            {
                return Err(Error::MalformedFrame);
            }
        }
        Ok(())
    }

    /// Walks `units` (twice for AV1 size fields): where the pieces are, and
    /// whether the frame can be protected at all.
    fn new<I>(units: I, header_len: usize, tag_len: usize) -> Result<Self, Error>
    where
        I: Iterator<Item = Result<Unit, Error>> + Clone,
    {
        let mut first = None;
        let mut last = 0;
        let mut data_len = 0usize;
        for (i, unit) in units.clone().enumerate() {
            let unit = unit?;
            if unit.protected {
                first.get_or_insert(i);
                last = i;
                data_len += unit.region_len();
            }
        }
        let plan = Self {
            first: first.ok_or(Error::MalformedFrame)?,
            last,
            data_len,
            header_len,
            tag_len,
        };
        for (i, unit) in units.enumerate() {
            plan.check_size(i, &unit?)?;
        }
        Ok(plan)
    }

    /// The length of unit `i`'s piece: its region, plus the SFrame header
    /// in the first piece and the tag in the last.
    const fn piece(&self, i: usize, unit: &Unit) -> usize {
        if !unit.protected {
            return 0;
        }
        let mut len = unit.region_len();
        if i == self.first {
            len += self.header_len;
        }
        if i == self.last {
            len += self.tag_len;
        }
        len
    }

    /// Unit `i`'s size field for its piece: value and width.
    fn size(&self, i: usize, unit: &Unit) -> Option<(u64, usize)> {
        match (unit.protected, unit.size_field) {
            (true, Some((_, width))) => {
                let piece = self.piece(i, unit) as u64;
                Some((piece, leb128::grown_width(width, piece)))
            }
            _ => None,
        }
    }

    /// Unit `i`'s clear bytes in the protected frame.
    fn clear_out(&self, i: usize, unit: &Unit) -> usize {
        unit.copy_end() - unit.start + self.size(i, unit).map_or(0, |(_, width)| width)
    }

    /// Describes the frame's clear structure into `binding`.
    fn bind<I>(&self, binding: &mut Binding, units: I, frame: &[u8]) -> Result<(), Error>
    where
        I: Iterator<Item = Result<Unit, Error>>,
    {
        for (i, unit) in units.enumerate() {
            let unit = unit?;
            if let Some(clear) = unit.bound_bytes(frame) {
                binding.unit(clear, self.piece(i, &unit));
            }
        }
        Ok(())
    }

    /// The whole SFrame ciphertext.
    const fn total(&self) -> usize {
        self.header_len + self.data_len + self.tag_len
    }
}

/// Protects `frame` into `out`, which is at least `max_protected_len`
/// long.
///
/// The one-piece cases (a one-unit codec, or a lone unit: see
/// `Format::lone_unit`) are inlined into the caller: for a 100-byte frame
/// the calls between here and the cipher, each returning its result
/// through memory, were a measurable part of the cost.
#[inline(always)]
pub(crate) fn protect<F: Format>(
    format: F,
    sender: &mut impl Seal,
    frame: &[u8],
    out: &mut [u8],
    (header, tag_len): (Header, usize),
) -> Result<Sealed, Error> {
    if let Some(clear) = format.single_clear(frame) {
        return seal_single(
            format.id(),
            sender,
            frame,
            clear?,
            out,
            header.encoded_len() + tag_len,
        );
    }
    if let Some(unit) = format.lone_unit(frame)
        && let Some(clear) = unit.bound_bytes(frame)
        && clear.len() <= binding::SINGLE_CLEAR_MAX
    {
        // One piece, found without a walk; bound as the walk binds it.
        let plan = SealPlan {
            first: 0,
            last: 0,
            data_len: unit.region_len(),
            header_len: header.encoded_len(),
            tag_len,
        };
        plan.check_size(0, &unit)?;
        let mut buf = [0u8; binding::SINGLE_LEN];
        let metadata = binding::single(format.id(), clear, plan.piece(0, &unit), &mut buf);
        let header_escapes = header_escapes(&header, &unit, context(frame, &unit));
        return seal_one(sender, metadata, frame, out, &unit, &plan, header_escapes);
    }
    protect_units(format, sender, frame, out, (header, tag_len))
}

/// [`protect`] of a frame that has to be walked.
#[inline(never)]
fn protect_units<F: Format>(
    format: F,
    sender: &mut impl Seal,
    frame: &[u8],
    out: &mut [u8],
    (header, tag_len): (Header, usize),
) -> Result<Sealed, Error> {
    let header_len = header.encoded_len();
    let mut kept = Kept::new();
    let Some(units) = walk(format, frame, &mut kept)? else {
        return protect_walking(format, sender, frame, out, header_len, tag_len);
    };
    let mut binding = Binding::new(format.id());
    let plan = SealPlan::of(units, frame, &mut binding, header_len, tag_len)?;
    let metadata = binding.finish();
    let first = context(frame, &units[plan.first]);
    let header_escapes = header_escapes(&header, &units[plan.first], first);
    if plan.first == plan.last {
        let unit = &units[plan.first];
        return seal_one(sender, metadata, frame, out, unit, &plan, header_escapes);
    }

    // Several pieces: gather them next to the largest, which is placed
    // where it ends up. The last is sealed straight from the frame (with
    // AWS-LC's GCM: no copy of it), the others are copied before it.
    let mut pos = Positions::new(units, &plan, header_escapes);
    let block = pos.block();
    for (i, unit) in units.iter().enumerate() {
        if unit.protected && i != plan.last {
            let at = pos.cur[i] + if i == plan.first { header_len } else { 0 };
            out.get_mut(at..at + unit.region_len())
                .ok_or(Error::BufferTooSmall)?
                .copy_from_slice(&frame[unit.region()]);
        }
    }
    let tail = &frame[units[plan.last].region()];
    let sealed = sender.seal_in_place_with_tail(
        metadata,
        out,
        block + header_len..block + plan.total() - tag_len - tail.len(),
        tail,
    )?;
    let free = out.len();
    scatter(
        out,
        ClearSrc::Frame(frame),
        |i| context(frame, &units[i]),
        units,
        &plan,
        &mut pos,
        free,
    )
    .map(|end| Sealed::new(sealed.header(), 0..end, Layout::CodecAware))
}

/// A frame of one unit (Opus, VP8, VP9), its first `clear` bytes clear:
/// sealed straight from the frame into its place, as a plain frame is.
#[inline(always)]
fn seal_single(
    id: u8,
    sender: &mut impl Seal,
    frame: &[u8],
    clear: usize,
    out: &mut [u8],
    overhead: usize,
) -> Result<Sealed, Error> {
    let mut buf = [0u8; binding::SINGLE_LEN];
    let piece = frame.len() - clear + overhead;
    let metadata = binding::single(id, &frame[..clear], piece, &mut buf);
    let sealed = sender.seal(metadata, &frame[clear..], &mut out[clear..])?;
    copy_short(&mut out[..clear], &frame[..clear]);
    Ok(Sealed::new(
        sealed.header(),
        0..clear + sealed.len(),
        Layout::CodecAware,
    ))
}

/// [`seal_single`] in place: the encrypted part moves right by the header.
fn seal_single_in_place(
    id: u8,
    sender: &mut impl Seal,
    buf: &mut [u8],
    len: usize,
    clear: usize,
    (header_len, tag_len): (usize, usize),
) -> Result<Sealed, Error> {
    let mut meta = [0u8; binding::SINGLE_LEN];
    let piece = len - clear + header_len + tag_len;
    let metadata = binding::single(id, &buf[..clear], piece, &mut meta);
    buf.copy_within(clear..len, clear + header_len);
    match sender.seal_in_place(metadata, buf, clear + header_len..len + header_len) {
        Ok(sealed) => Ok(Sealed::new(
            sealed.header(),
            0..sealed.frame().end,
            Layout::CodecAware,
        )),
        Err(e) => {
            buf.copy_within(clear + header_len..len + header_len, clear);
            Err(e)
        }
    }
}

/// The emulation prevention bytes the SFrame header itself needs at the
/// start of the first piece (0 unless it holds a `00 00`, as a counter
/// or KID with two zero bytes in a row does): the piece is sealed that far
/// to the right, so that escaping it moves only the header.
fn header_escapes(header: &Header, unit: &Unit, (zeros, last): (u8, Option<u8>)) -> usize {
    if !unit.escaped {
        return 0;
    }
    escape::count(header.encode().as_bytes(), zeros, last).inner
}

/// Escapes the sealed piece at `buf[from..from + len]` to `buf[to..]`, for
/// `escaping` as counted: moved right first if fewer than its inner
/// escapes lie between (never needed when `from - to` is the header's own
/// escapes and the ciphertext needs none), trailer written. The bytes up to
/// `to + len + escaping.added()` are free. Returns the escaped length.
fn escape_sealed(
    buf: &mut [u8],
    from: usize,
    len: usize,
    to: usize,
    escaping: Escaping,
    zeros: u8,
) -> Result<usize, Error> {
    let read = to + escaping.inner;
    if read != from {
        buf.copy_within(from..from + len, read);
    }
    if escaping.inner > 0 {
        escape::escape_inner(buf, read, len, to, zeros)?;
    }
    if escaping.trailer {
        buf[to + len + escaping.inner] = EPB;
    }
    Ok(len + escaping.added())
}

/// One piece, into a separate output: sealed straight from the frame into
/// its place, the clear bytes copied around it.
fn seal_one(
    sender: &mut impl Seal,
    metadata: &[u8],
    frame: &[u8],
    out: &mut [u8],
    unit: &Unit,
    plan: &SealPlan,
    header_escapes: usize,
) -> Result<Sealed, Error> {
    let i = plan.first;
    let piece = plan.piece(i, unit);
    let pre = unit.copy_end();
    let size = plan.size(i, unit);
    let at = pre + size.map_or(0, |(_, width)| width);
    let sealed_at = at + header_escapes;
    let sealed = sender.seal(
        metadata,
        &frame[unit.region()],
        out.get_mut(sealed_at..).ok_or(Error::BufferTooSmall)?,
    )?;
    copy_short(&mut out[..pre], &frame[..pre]);
    if let Some((value, width)) = size {
        leb128::put(value, &mut out[pre..pre + width]);
    }
    let len = if unit.escaped {
        let (zeros, last) = context(frame, unit);
        let escaping = escape::count(&out[sealed_at..sealed_at + piece], zeros, last);
        if at + piece + escaping.added() > out.len() {
            return Err(Error::BufferTooSmall);
        }
        escape_sealed(out, sealed_at, piece, at, escaping, zeros)?
    } else {
        piece
    };
    let rest = &frame[unit.end..];
    let end = at + len;
    out.get_mut(end..end + rest.len())
        .ok_or(Error::BufferTooSmall)?
        .copy_from_slice(rest);
    Ok(Sealed::new(
        sealed.header(),
        0..end + rest.len(),
        Layout::CodecAware,
    ))
}

/// Where the pieces of a frame with several are, per unit: `piece` their
/// lengths, `cur` where they are (gathered, next to the largest piece,
/// which is where it ends up), `fin` where they end up.
struct Positions {
    piece: [usize; MAX_UNITS],
    cur: [usize; MAX_UNITS],
    fin: [usize; MAX_UNITS],
}

impl Positions {
    /// `header_escapes` bytes are left before the first piece for the
    /// header's own emulation prevention.
    fn new(units: &[Unit], plan: &SealPlan, header_escapes: usize) -> Self {
        let mut pos = Self {
            piece: [0; MAX_UNITS],
            cur: [0; MAX_UNITS],
            fin: [0; MAX_UNITS],
        };
        let mut w = 0;
        let mut largest = plan.first;
        for (i, unit) in units.iter().enumerate() {
            pos.piece[i] = plan.piece(i, unit);
            w += plan.clear_out(i, unit);
            if i == plan.first {
                w += header_escapes;
            }
            pos.fin[i] = w;
            w += pos.piece[i];
            if pos.piece[i] > pos.piece[largest] {
                largest = i;
            }
        }
        let mut at = pos.fin[largest] - pos.piece[..largest].iter().sum::<usize>();
        for i in 0..units.len() {
            pos.cur[i] = at;
            at += pos.piece[i];
        }
        pos
    }

    /// Where the gathered ciphertext starts.
    const fn block(&self) -> usize {
        self.cur[0]
    }
}

/// Lays a sealed frame out: the pieces at `pos.cur` (one SFrame
/// ciphertext) escaped where needed and moved between the clear bytes.
/// `buf[..free]` may be used. Returns the protected frame's length.
///
/// Pieces that end up no later than where they are, with room for their
/// escapes, are escaped or moved first to last; the others last to first,
/// each first moved to where its escapes leave it. Either way a piece is
/// only written over its own bytes or bytes already moved.
fn scatter(
    buf: &mut [u8],
    src: ClearSrc<'_>,
    context: impl Fn(usize) -> (u8, Option<u8>),
    units: &[Unit],
    plan: &SealPlan,
    pos: &mut Positions,
    free: usize,
) -> Result<usize, Error> {
    let mut escaping = [Escaping {
        inner: 0,
        trailer: false,
    }; MAX_UNITS];
    let mut w = 0;
    for (i, unit) in units.iter().enumerate() {
        if unit.protected && unit.escaped {
            let (zeros, last) = context(i);
            escaping[i] = escape::count(&buf[pos.cur[i]..pos.cur[i] + pos.piece[i]], zeros, last);
        }
        w += plan.clear_out(i, unit);
        pos.fin[i] = w;
        w += pos.piece[i] + escaping[i].added();
    }
    if w > free {
        return Err(Error::BufferTooSmall);
    }
    let mut placed = [false; MAX_UNITS];
    for (i, unit) in units.iter().enumerate() {
        if pos.cur[i] >= pos.fin[i] + escaping[i].inner {
            let zeros = if unit.escaped { context(i).0 } else { 0 };
            escape_sealed(
                buf,
                pos.cur[i],
                pos.piece[i],
                pos.fin[i],
                Escaping {
                    trailer: false,
                    ..escaping[i]
                },
                zeros,
            )?;
            placed[i] = true;
        }
    }
    for (i, unit) in units.iter().enumerate().rev() {
        if !placed[i] {
            let zeros = if unit.escaped { context(i).0 } else { 0 };
            escape_sealed(
                buf,
                pos.cur[i],
                pos.piece[i],
                pos.fin[i],
                Escaping {
                    trailer: false,
                    ..escaping[i]
                },
                zeros,
            )?;
        }
    }
    let mut packed = match src {
        ClearSrc::Packed(at) => at,
        ClearSrc::Frame(_) => 0,
    };
    for (i, unit) in units.iter().enumerate() {
        if escaping[i].trailer {
            buf[pos.fin[i] + pos.piece[i] + escaping[i].inner] = EPB;
        }
        let at = pos.fin[i] - plan.clear_out(i, unit);
        put_clear(buf, src, &mut packed, unit, plan.size(i, unit), at);
    }
    Ok(w)
}

/// Lays a sealed frame out from the start, the ciphertext being at
/// `buf[block..]` (ahead of every write), escaping as it goes.
fn lay_out_sealed(
    buf: &mut [u8],
    src: ClearSrc<'_>,
    context: impl Fn(usize, &Unit) -> (u8, Option<u8>),
    units: impl Iterator<Item = Result<Unit, Error>>,
    plan: &SealPlan,
    block: usize,
) -> Result<usize, Error> {
    let mut w = 0;
    let mut c = block;
    let mut packed = match src {
        ClearSrc::Packed(at) => at,
        ClearSrc::Frame(_) => 0,
    };
    for (i, unit) in units.enumerate() {
        let unit = unit?;
        if w + plan.clear_out(i, &unit) > c {
            return Err(Error::BufferTooSmall);
        }
        w += put_clear(buf, src, &mut packed, &unit, plan.size(i, &unit), w);
        if !unit.protected {
            continue;
        }
        let piece = plan.piece(i, &unit);
        if unit.escaped {
            let (zeros, last) = context(i, &unit);
            w += escape::escape_within(buf, c, piece, w, zeros, last)?;
        } else {
            if w > c {
                return Err(Error::BufferTooSmall);
            }
            buf.copy_within(c..c + piece, w);
            w += piece;
        }
        c += piece;
    }
    Ok(w)
}

/// Protects a frame of more than [`MAX_UNITS`] units, walking it once per
/// step: gathered at the output's end, sealed, laid out from the start.
fn protect_walking<F: Format>(
    format: F,
    sender: &mut impl Seal,
    frame: &[u8],
    out: &mut [u8],
    header_len: usize,
    tag_len: usize,
) -> Result<Sealed, Error> {
    let plan = SealPlan::new(Units::new(format, frame), header_len, tag_len)?;
    let mut binding = Binding::new(format.id());
    plan.bind(&mut binding, Units::new(format, frame), frame)?;
    let block = out
        .len()
        .checked_sub(plan.total())
        .ok_or(Error::BufferTooSmall)?;
    let mut at = block + header_len;
    for unit in Units::new(format, frame) {
        let unit = unit?;
        if unit.protected {
            out[at..at + unit.region_len()].copy_from_slice(&frame[unit.region()]);
            at += unit.region_len();
        }
    }
    let end = out.len() - tag_len;
    let sealed = sender.seal_in_place(binding.finish(), out, block + header_len..end)?;
    lay_out_sealed(
        out,
        ClearSrc::Frame(frame),
        |_, unit| context(frame, unit),
        Units::new(format, frame),
        &plan,
        block,
    )
    .map(|end| Sealed::new(sealed.header(), 0..end, Layout::CodecAware))
}

/// Protects the frame in `buf[..len]` in place; `buf` is at least
/// `max_in_place_len` long. On error the frame is as it was.
pub(crate) fn protect_in_place<F: Format>(
    format: F,
    sender: &mut impl Seal,
    buf: &mut [u8],
    len: usize,
    (header, tag_len): (Header, usize),
) -> Result<Sealed, Error> {
    let header_len = header.encoded_len();
    if let Some(clear) = format.single_clear(&buf[..len]) {
        return seal_single_in_place(format.id(), sender, buf, len, clear?, (header_len, tag_len));
    }
    let mut kept = Kept::new();
    let Some(units) = walk(format, &buf[..len], &mut kept)? else {
        return via_tail(buf, len, |frame, out| {
            protect_walking(format, sender, frame, out, header_len, tag_len)
        });
    };
    let mut binding = Binding::new(format.id());
    let plan = SealPlan::of(units, &buf[..len], &mut binding, header_len, tag_len)?;
    let metadata = binding.finish();
    let mut contexts = [(0u8, None); MAX_UNITS];
    for (i, unit) in units.iter().enumerate() {
        contexts[i] = context(&buf[..len], unit);
    }
    let header_escapes = header_escapes(&header, &units[plan.first], contexts[plan.first]);
    if plan.first == plan.last {
        return seal_one_in_place(
            sender,
            metadata,
            buf,
            len,
            units,
            &plan,
            (contexts[plan.first], header_escapes),
        );
    }

    // Save every unit's clear bytes at the buffer's end, move the pieces
    // together around the largest, seal, lay out.
    let packed_len: usize = units.iter().map(|u| u.clear_end - u.start).sum();
    let packed = buf.len() - packed_len;
    let mut pos = Positions::new(units, &plan, header_escapes);
    let block = pos.block();
    if block + plan.total() > packed || packed < len {
        return Err(Error::BufferTooSmall);
    }
    let mut at = packed;
    for unit in units {
        buf.copy_within(unit.start..unit.clear_end, at);
        at += unit.clear_end - unit.start;
    }
    let n = units.len();
    let mut from = [0usize; MAX_UNITS];
    let mut to = [0usize; MAX_UNITS];
    let mut data = [0usize; MAX_UNITS];
    for (i, unit) in units.iter().enumerate() {
        from[i] = unit.clear_end;
        to[i] = pos.cur[i] + if i == plan.first { header_len } else { 0 };
        data[i] = if unit.protected { unit.region_len() } else { 0 };
    }
    move_pieces(buf, &from[..n], &to[..n], &data[..n]);
    let sealed = match sender.seal_in_place(
        metadata,
        buf,
        block + header_len..block + plan.total() - tag_len,
    ) {
        Ok(sealed) => sealed,
        Err(e) => {
            // Put the frame back as it was.
            move_pieces(buf, &to[..n], &from[..n], &data[..n]);
            let mut at = packed;
            for unit in units {
                buf.copy_within(at..at + unit.clear_end - unit.start, unit.start);
                at += unit.clear_end - unit.start;
            }
            return Err(e);
        }
    };
    scatter(
        buf,
        ClearSrc::Packed(packed),
        |i| contexts[i],
        units,
        &plan,
        &mut pos,
        packed,
    )
    .map(|end| Sealed::new(sealed.header(), 0..end, Layout::CodecAware))
}

/// One piece, in place: the units after it and the piece move right by
/// the header (and a grown size field), the piece is sealed where it is.
fn seal_one_in_place(
    sender: &mut impl Seal,
    metadata: &[u8],
    buf: &mut [u8],
    len: usize,
    units: &[Unit],
    plan: &SealPlan,
    ((zeros, clear_last), header_escapes): ((u8, Option<u8>), usize),
) -> Result<Sealed, Error> {
    let i = plan.first;
    let unit = &units[i];
    let piece = plan.piece(i, unit);
    let data = unit.region_len();
    let pre = unit.copy_end();
    let size = plan.size(i, unit);
    let at = pre + size.map_or(0, |(_, width)| width);
    let sealed_at = at + header_escapes;
    let tail = len - unit.end;
    if sealed_at + piece + tail > buf.len() {
        return Err(Error::BufferTooSmall);
    }
    let body = sealed_at + plan.header_len;
    buf.copy_within(unit.end..len, sealed_at + piece);
    buf.copy_within(unit.clear_end..unit.end, body);
    let sealed = match sender.seal_in_place(metadata, buf, body..body + data) {
        Ok(sealed) => sealed,
        Err(e) => {
            // Put the frame back as it was.
            buf.copy_within(body..body + data, unit.clear_end);
            buf.copy_within(sealed_at + piece..sealed_at + piece + tail, unit.end);
            return Err(e);
        }
    };
    if let Some((value, width)) = size {
        leb128::put(value, &mut buf[pre..pre + width]);
    }
    let escaped = if unit.escaped {
        let escaping = escape::count(&buf[sealed_at..sealed_at + piece], zeros, clear_last);
        let end = at + piece + escaping.added();
        if end + tail > buf.len() {
            return Err(Error::BufferTooSmall);
        }
        // The units after the piece go where its escaped end leaves them.
        if end != sealed_at + piece {
            buf.copy_within(sealed_at + piece..sealed_at + piece + tail, end);
        }
        escape_sealed(buf, sealed_at, piece, at, escaping, zeros)?
    } else {
        piece
    };
    Ok(Sealed::new(
        sealed.header(),
        0..at + escaped + tail,
        Layout::CodecAware,
    ))
}

// ---------------------------------------------------------------------------
// Opening

/// What a receiver knows of a protected frame before it is opened.
struct OpenPlan {
    first: usize,
    last: usize,
    /// Each unit's piece, unescaped (0 for clear units).
    piece: [usize; MAX_UNITS],
    /// The SFrame header's length, read from the first piece.
    header_len: usize,
    /// The SFrame ciphertext's length: the pieces together.
    total: usize,
}

/// The unescaped length of a protected unit's region.
fn piece_len(frame: &[u8], unit: &Unit) -> Result<usize, Error> {
    let region = &frame[unit.region()];
    if !unit.escaped {
        return Ok(region.len());
    }
    let (zeros, last) = context(frame, unit);
    if piece_is_verbatim(unit) {
        escape::verbatim_len(region, last)
    } else {
        escape::unescape(region, zeros, last, escape_scan(unit), |_| {})
    }
}

/// Whether a piece is its region's first bytes as they are (no emulation
/// prevention byte inside), so it can be opened where it is.
const fn piece_is_verbatim(unit: &Unit) -> bool {
    !unit.escaped || unit.escape_end <= unit.clear_end
}

/// How far into a unit's region emulation prevention bytes can be: the
/// rest is copied as it is.
const fn escape_scan(unit: &Unit) -> usize {
    unit.escape_end.saturating_sub(unit.clear_end)
}

/// Copies (unescaping) unit `unit`'s piece to `out`, which is exactly as
/// long.
fn read_piece(frame: &[u8], unit: &Unit, out: &mut [u8]) -> Result<(), Error> {
    if piece_is_verbatim(unit) {
        out.copy_from_slice(&frame[unit.clear_end..unit.clear_end + out.len()]);
        return Ok(());
    }
    let (zeros, last) = context(frame, unit);
    escape::unescape_into(&frame[unit.region()], zeros, last, escape_scan(unit), out).map(|_| ())
}

/// The SFrame header's length, from the first piece (which must hold the
/// whole header).
fn header_len_in(frame: &[u8], unit: &Unit, piece: usize) -> Result<usize, Error> {
    let mut head = [0u8; Header::MAX_LEN];
    let n = piece.min(Header::MAX_LEN);
    if piece_is_verbatim(unit) {
        head[..n].copy_from_slice(&frame[unit.clear_end..unit.clear_end + n]);
    } else {
        let (zeros, _) = context(frame, unit);
        escape::unescape_head(&frame[unit.region()], zeros, &mut head[..n]);
    }
    Ok(Header::parse(&head[..n])?.len())
}

impl OpenPlan {
    /// Walks the kept units: pieces, binding, header.
    fn new(binding: &mut Binding, frame: &[u8], units: &[Unit]) -> Result<Self, Error> {
        let mut piece = [0usize; MAX_UNITS];
        let mut first = None;
        let mut last = 0;
        let mut total = 0;
        for (i, unit) in units.iter().enumerate() {
            if unit.protected {
                piece[i] = piece_len(frame, unit)?;
                first.get_or_insert(i);
                last = i;
                total += piece[i];
            }
            if let Some(clear) = unit.bound_bytes(frame) {
                binding.unit(clear, piece[i]);
            }
        }
        let first = first.ok_or(Error::MalformedFrame)?;
        let header_len = header_len_in(frame, &units[first], piece[first])?;
        Ok(Self {
            first,
            last,
            piece,
            header_len,
            total,
        })
    }
}

/// The plaintext of each piece, clipped to the ciphertext's plaintext
/// `plain` (an authenticated frame is laid out whatever its pieces'
/// lengths): `(offset in the ciphertext, length)` per unit.
fn clip(
    units: &[Unit],
    piece: &[usize],
    plain: &Range<usize>,
) -> ([usize; MAX_UNITS], [usize; MAX_UNITS]) {
    let mut start = [0usize; MAX_UNITS];
    let mut len = [0usize; MAX_UNITS];
    let mut off = 0;
    for i in 0..units.len() {
        let s = off.clamp(plain.start, plain.end);
        let e = (off + piece[i]).clamp(plain.start, plain.end);
        start[i] = s;
        len[i] = e - s;
        off += piece[i];
    }
    (start, len)
}

/// A unit's size field as restored for `data` plaintext bytes: value and
/// width.
fn restored_size(unit: &Unit, piece: usize, data: usize) -> Option<(u64, usize)> {
    match (unit.protected, unit.size_field) {
        (true, Some((_, width))) => Some((
            data as u64,
            leb128::restored_width(width, piece as u64, data as u64),
        )),
        _ => None,
    }
}

/// Restores the frame protected as `protected` into `out` (at least as
/// long). The one-piece cases are inlined into the caller, as in [`protect`].
#[inline(always)]
pub(crate) fn unprotect<F: Format>(
    format: F,
    receiver: &mut impl Open,
    protected: &[u8],
    out: &mut [u8],
) -> Result<Opened, Error> {
    if let Some(clear) = format.single_clear(protected) {
        // One unit: opened straight from the frame into its place.
        let clear = clear?;
        let mut buf = [0u8; binding::SINGLE_LEN];
        let piece = protected.len() - clear;
        let metadata = binding::single(format.id(), &protected[..clear], piece, &mut buf);
        let opened = receiver.open(metadata, &protected[clear..], &mut out[clear..])?;
        copy_short(&mut out[..clear], &protected[..clear]);
        return Ok(Opened::new(
            opened.header(),
            0..clear + opened.len(),
            Layout::CodecAware,
        ));
    }
    if let Some(unit) = format.lone_unit(protected)
        && piece_is_verbatim(&unit)
        && let Some(clear) = unit.bound_bytes(protected)
        && clear.len() <= binding::SINGLE_CLEAR_MAX
    {
        // One piece, found without a walk; bound as the walk binds it.
        let piece = piece_len(protected, &unit)?;
        header_len_in(protected, &unit, piece)?;
        let mut buf = [0u8; binding::SINGLE_LEN];
        let metadata = binding::single(format.id(), clear, piece, &mut buf);
        return open_one(receiver, metadata, protected, out, &unit, piece);
    }
    unprotect_units(format, receiver, protected, out)
}

/// [`unprotect`] of a frame that has to be walked.
#[inline(never)]
fn unprotect_units<F: Format>(
    format: F,
    receiver: &mut impl Open,
    protected: &[u8],
    out: &mut [u8],
) -> Result<Opened, Error> {
    let mut kept = Kept::new();
    let Some(units) = walk(format, protected, &mut kept)? else {
        return unprotect_walking(format, receiver, protected, out);
    };
    let mut binding = Binding::new(format.id());
    let plan = OpenPlan::new(&mut binding, protected, units)?;
    let metadata = binding.finish();

    if plan.first == plan.last && piece_is_verbatim(&units[plan.first]) {
        let unit = &units[plan.first];
        return open_one(
            receiver,
            metadata,
            protected,
            out,
            unit,
            plan.piece[plan.first],
        );
    }

    // Several pieces: gathered so that the largest piece's plaintext is
    // where it ends up (if the size fields keep their width).
    let mut largest = plan.first;
    for i in 0..units.len() {
        if plan.piece[i] > plan.piece[largest] {
            largest = i;
        }
    }
    let clear_before: usize = units[..=largest]
        .iter()
        .map(|u| u.clear_end - u.start)
        .sum();
    let block = clear_before.saturating_sub(plan.header_len);
    let end = block + plan.total;
    if end > out.len() {
        return Err(Error::BufferTooSmall);
    }
    let mut at = block;
    for (i, unit) in units.iter().enumerate() {
        if unit.protected {
            read_piece(protected, unit, &mut out[at..at + plan.piece[i]])?;
            at += plan.piece[i];
        }
    }
    let opened = receiver.open_in_place(metadata, &mut out[block..end])?;
    // Authenticated: from here on nothing fails.
    let (start, data) = clip(units, &plan.piece, &opened.plaintext());
    let n = units.len();
    let mut from = [0usize; MAX_UNITS];
    let mut to = [0usize; MAX_UNITS];
    let mut w = 0;
    for (i, unit) in units.iter().enumerate() {
        w += unit.copy_end() - unit.start
            + restored_size(unit, plan.piece[i], data[i]).map_or(0, |(_, width)| width);
        from[i] = block + start[i];
        to[i] = w;
        w += data[i];
    }
    move_pieces(out, &from[..n], &to[..n], &data[..n]);
    let mut packed = 0;
    for (i, unit) in units.iter().enumerate() {
        let size = restored_size(unit, plan.piece[i], data[i]);
        let clear = unit.copy_end() - unit.start + size.map_or(0, |(_, width)| width);
        put_clear(
            out,
            ClearSrc::Frame(protected),
            &mut packed,
            unit,
            size,
            to[i] - clear,
        );
    }
    Ok(Opened::new(opened.header(), 0..w, Layout::CodecAware))
}

/// The one piece `piece` of `unit`, read where it is: opened straight from
/// the frame into its place, the clear bytes copied around it.
fn open_one(
    receiver: &mut impl Open,
    metadata: &[u8],
    protected: &[u8],
    out: &mut [u8],
    unit: &Unit,
    piece: usize,
) -> Result<Opened, Error> {
    let pre = unit.copy_end();
    let at = unit.clear_end;
    let body = &protected[at..at + piece];
    let opened = receiver.open(metadata, body, &mut out[at..])?;
    // Authenticated: from here on nothing fails.
    let data = opened.len();
    let mut end = pre;
    copy_short(&mut out[..pre], &protected[..pre]);
    if let Some((value, width)) = restored_size(unit, piece, data) {
        leb128::put(value, &mut out[pre..pre + width]);
        end += width;
    }
    if end != at {
        out.copy_within(at..at + data, end);
    }
    end += data;
    let rest = &protected[unit.end..];
    copy_short(&mut out[end..end + rest.len()], rest);
    Ok(Opened::new(
        opened.header(),
        0..end + rest.len(),
        Layout::CodecAware,
    ))
}

/// Restores a frame of more than [`MAX_UNITS`] units, walking it once per
/// step: gathered at the output's end, opened, laid out from the start.
fn unprotect_walking<F: Format>(
    format: F,
    receiver: &mut impl Open,
    protected: &[u8],
    out: &mut [u8],
) -> Result<Opened, Error> {
    let mut first = None;
    let mut total = 0usize;
    let mut binding = Binding::new(format.id());
    for unit in Units::new(format, protected) {
        let unit = unit?;
        let piece = if unit.protected {
            let piece = piece_len(protected, &unit)?;
            if first.is_none() {
                first = Some((unit, piece));
            }
            total += piece;
            piece
        } else {
            0
        };
        if let Some(clear) = unit.bound_bytes(protected) {
            binding.unit(clear, piece);
        }
    }
    let (first, first_piece) = first.ok_or(Error::MalformedFrame)?;
    header_len_in(protected, &first, first_piece)?;
    let block = out.len().checked_sub(total).ok_or(Error::BufferTooSmall)?;
    let mut at = block;
    for unit in Units::new(format, protected) {
        let unit = unit?;
        if unit.protected {
            let piece = piece_len(protected, &unit)?;
            read_piece(protected, &unit, &mut out[at..at + piece])?;
            at += piece;
        }
    }
    let opened = receiver.open_in_place(binding.finish(), &mut out[block..])?;
    // Authenticated: from here on nothing fails. The walk below reads the
    // same bytes as the walks above, which succeeded.
    let plain = opened.plaintext();
    let mut w = 0;
    let mut off = 0;
    let mut packed = 0;
    for unit in Units::new(format, protected) {
        let Ok(unit) = unit else {
            out.fill(0);
            return Err(Error::MalformedFrame);
        };
        let piece = if unit.protected {
            piece_len(protected, &unit).unwrap_or(0)
        } else {
            0
        };
        let s = off.clamp(plain.start, plain.end);
        let e = (off + piece).clamp(plain.start, plain.end);
        off += piece;
        let size = restored_size(&unit, piece, e - s);
        w += put_clear(out, ClearSrc::Frame(protected), &mut packed, &unit, size, w);
        if unit.protected {
            out.copy_within(block + s..block + e, w);
            w += e - s;
        }
    }
    Ok(Opened::new(opened.header(), 0..w, Layout::CodecAware))
}

/// Restores the frame in `buf[..len]` in place. With `keep_input` (the
/// whole-frame fallback may read it again) the protected frame is left as
/// it was on every error; otherwise a single piece is opened where it is,
/// and a frame that fails to open is zeroed there as [`Open::open_in_place`]
/// zeroes it.
pub(crate) fn unprotect_in_place<F: Format>(
    format: F,
    receiver: &mut impl Open,
    buf: &mut [u8],
    len: usize,
    keep_input: bool,
) -> Result<Opened, Error> {
    if let (false, Some(clear)) = (keep_input, format.single_clear(&buf[..len])) {
        // One unit: opened where it is, then moved over the header.
        let clear = clear?;
        let mut meta = [0u8; binding::SINGLE_LEN];
        let metadata = binding::single(format.id(), &buf[..clear], len - clear, &mut meta);
        let opened = receiver.open_in_place(metadata, &mut buf[clear..len])?;
        let plain = opened.plaintext();
        buf.copy_within(clear + plain.start..clear + plain.end, clear);
        return Ok(Opened::new(
            opened.header(),
            0..clear + plain.len(),
            Layout::CodecAware,
        ));
    }
    let mut kept = Kept::new();
    let Some(units) = walk(format, &buf[..len], &mut kept)? else {
        if buf.len() < 2 * len {
            return Err(Error::BufferTooSmall);
        }
        return via_tail(buf, len, |protected, out| {
            unprotect_walking(format, receiver, protected, out)
        });
    };
    let mut binding = Binding::new(format.id());
    let plan = OpenPlan::new(&mut binding, &buf[..len], units)?;
    let metadata = binding.finish();

    if !keep_input && plan.first == plan.last && piece_is_verbatim(&units[plan.first]) {
        // One piece: opened where it is, then moved over the header.
        let unit = &units[plan.first];
        let piece = plan.piece[plan.first];
        let pre = unit.copy_end();
        let at = unit.clear_end;
        let opened = receiver.open_in_place(metadata, &mut buf[at..at + piece])?;
        // Authenticated: from here on nothing fails.
        let plain = opened.plaintext();
        let mut end = pre;
        if let Some((value, width)) = restored_size(unit, piece, plain.len()) {
            leb128::put(value, &mut buf[pre..pre + width]);
            end += width;
        }
        buf.copy_within(at + plain.start..at + plain.end, end);
        end += plain.len();
        buf.copy_within(unit.end..len, end);
        return Ok(Opened::new(
            opened.header(),
            0..end + len - unit.end,
            Layout::CodecAware,
        ));
    }

    if buf.len() < len + plan.total {
        return Err(Error::BufferTooSmall);
    }
    if !keep_input
        && units.iter().all(piece_is_verbatim)
        && let Some(result) = open_pieces_where_they_are(receiver, metadata, buf, units, &plan)
    {
        return result;
    }

    // Gathered into the spare half and opened there; the protected frame
    // stays as it was until the frame authenticates.
    let (front, spare) = buf.split_at_mut(len);
    let mut at = 0;
    for (i, unit) in units.iter().enumerate() {
        if unit.protected {
            read_piece(front, unit, &mut spare[at..at + plan.piece[i]])?;
            at += plan.piece[i];
        }
    }
    let opened = receiver.open_in_place(metadata, &mut spare[..plan.total])?;
    // Authenticated: from here on nothing fails.
    let plain = opened.plaintext();
    let w = lay_out_opened(
        front,
        Plaintext::Gathered(spare),
        units,
        &plan.piece,
        &plain,
    );
    Ok(Opened::new(opened.header(), 0..w, Layout::CodecAware))
}

/// Where [`lay_out_opened`] reads the opened pieces.
enum Plaintext<'a> {
    /// Gathered, in order, into a buffer of their own.
    Gathered(&'a [u8]),
    /// Each piece where it was received (its ciphertext opened in place).
    WhereReceived,
}

/// Lays an authenticated frame out from the start of `front`: each unit's
/// clear bytes, its restored size field, its plaintext (`plain` is the
/// opened range of the pieces' concatenation). Every unit is restored no
/// later in the frame than it was received, so writing from the start never
/// overtakes a byte not yet read. Returns the restored frame's length.
fn lay_out_opened(
    front: &mut [u8],
    plaintext: Plaintext<'_>,
    units: &[Unit],
    piece: &[usize],
    plain: &Range<usize>,
) -> usize {
    let (start, data) = clip(units, piece, plain);
    let mut w = 0;
    // Where the unit's piece starts in the pieces' concatenation.
    let mut off = 0;
    for (i, unit) in units.iter().enumerate() {
        front.copy_within(unit.start..unit.copy_end(), w);
        w += unit.copy_end() - unit.start;
        if let Some((value, width)) = restored_size(unit, piece[i], data[i]) {
            leb128::put(value, &mut front[w..w + width]);
            w += width;
        }
        if data[i] > 0 {
            match plaintext {
                Plaintext::Gathered(spare) => {
                    front[w..w + data[i]].copy_from_slice(&spare[start[i]..start[i] + data[i]])
                }
                Plaintext::WhereReceived => {
                    let from = unit.clear_end + (start[i] - off);
                    front.copy_within(from..from + data[i], w);
                }
            }
            w += data[i];
        }
        off += piece[i];
    }
    w
}

/// Opens a frame of several pieces, each as it is in the frame (no
/// emulation prevention byte inside), without copying them out:
///
/// 1. the pieces before the last are rotated right, each past the clear
///    bytes between it and the pieces after it, until the ciphertext is one
///    run that ends where the last piece ends (the clear bytes, in order,
///    before it);
/// 2. the run is opened in place;
/// 3. the rotations are undone, so every byte is back where it was
///    received, plaintext in place of ciphertext (or zeros, if the frame
///    failed: then the frame is as it was, its pieces zeroed);
/// 4. the frame is laid out from the start, as the gathering path does.
///
/// The largest piece is moved once, by step 4 (the move the SFrame header
/// forces), instead of being gathered and copied back. `None` if the
/// rotations would move more bytes than half the ciphertext (clear units
/// between large pieces): the caller gathers instead.
fn open_pieces_where_they_are(
    receiver: &mut impl Open,
    metadata: &[u8],
    buf: &mut [u8],
    units: &[Unit],
    plan: &OpenPlan,
) -> Option<Result<Opened, Error>> {
    // Each rotated range: from a piece to the run of the pieces after it.
    let mut range = [(0usize, 0usize); MAX_UNITS];
    let mut run = units[plan.last].clear_end;
    let mut moved = 0usize;
    for i in (plan.first..plan.last).rev() {
        if units[i].protected {
            let at = units[i].clear_end;
            range[i] = (at, run);
            moved += run - at;
            run -= plan.piece[i];
        }
    }
    if moved.saturating_mul(2) > plan.total {
        return None;
    }
    for i in (plan.first..plan.last).rev() {
        if units[i].protected {
            buf[range[i].0..range[i].1].rotate_left(plan.piece[i]);
        }
    }
    let result = receiver.open_in_place(metadata, &mut buf[run..run + plan.total]);
    for i in plan.first..plan.last {
        if units[i].protected {
            buf[range[i].0..range[i].1].rotate_right(plan.piece[i]);
        }
    }
    let opened = match result {
        Ok(opened) => opened,
        Err(e) => return Some(Err(e)),
    };
    // Authenticated: from here on nothing fails.
    let plain = opened.plaintext();
    let w = lay_out_opened(buf, Plaintext::WhereReceived, units, &plan.piece, &plain);
    Some(Ok(Opened::new(opened.header(), 0..w, Layout::CodecAware)))
}

// ---------------------------------------------------------------------------
// For the SFU's view

/// The unescaped length of a protected unit's piece (for [`crate::sfu`]).
///
/// # Errors
/// [`Error::MalformedFrame`] if its escaping is not canonical.
pub(crate) fn piece_length(frame: &[u8], unit: &Unit) -> Result<usize, Error> {
    piece_len(frame, unit)
}

/// The first unescaped bytes of a protected unit's piece, up to
/// `head.len()`; the unit's `end` may run past its real end (see
/// `Format::unit_head`). Returns how many were written.
pub(crate) fn piece_head(frame: &[u8], unit: &Unit, head: &mut [u8]) -> usize {
    let region = &frame[unit.region()];
    if piece_is_verbatim(unit) {
        let n = region.len().min(head.len());
        head[..n].copy_from_slice(&region[..n]);
        return n;
    }
    let (zeros, _) = context(frame, unit);
    escape::unescape_head(region, zeros, head)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::cast_possible_truncation)]
mod tests {
    extern crate alloc;
    use alloc::vec;
    use alloc::vec::Vec;

    use super::super::av1::Av1;
    use super::super::format::Hints;
    use super::*;
    use crate::{BaseKey, CipherSuite, Counter, FixedKeyStore, KeyId, Receiver};

    /// `F` read only by walking: without its `lone_unit`.
    #[derive(Clone, Copy)]
    struct Walked<F>(F);

    impl<F: Format> Format for Walked<F> {
        fn id(self) -> u8 {
            self.0.id()
        }
        fn next_unit(self, frame: &[u8], pos: usize) -> Result<Option<Unit>, Error> {
            self.0.next_unit(frame, pos)
        }
        fn single_clear(self, frame: &[u8]) -> Option<Result<usize, Error>> {
            self.0.single_clear(frame)
        }
        fn hints(self, frame: &[u8], unit: &Unit, hints: &mut Hints) {
            self.0.hints(frame, unit, hints);
        }
    }

    fn leb(mut value: usize, width: usize) -> Vec<u8> {
        let mut out = Vec::new();
        for i in 0..width {
            let more = if i + 1 < width { 0x80 } else { 0 };
            out.push((value & 0x7f) as u8 | more);
            value >>= 7;
        }
        out
    }

    /// AV1 frames of the lone shape (an optional temporal delimiter, one
    /// OBU to the end) and of others, with size fields of every width that
    /// holds their payload, padded ones included.
    fn av1_frames() -> Vec<Vec<u8>> {
        let mut frames = Vec::new();
        for td in [&[][..], &[0x12, 0x00], &[0x12, 0x01, 0xaa]] {
            for (header, ext) in [
                (0x32u8, None),
                (0x36, Some(0x48u8)),
                (0x1a, None),
                (0x0a, None),
            ] {
                for payload in [
                    0usize, 1, 90, 100, 105, 110, 120, 127, 16_340, 16_370, 16_383,
                ] {
                    for width in 1..=3 {
                        if payload >= 1 << (7 * width) {
                            continue;
                        }
                        let mut f = td.to_vec();
                        f.push(header);
                        f.extend(ext);
                        f.extend(leb(payload, width));
                        f.extend((0..payload).map(|i| (i * 7 + 1) as u8));
                        frames.push(f.clone());
                        // Another unit after it: not lone.
                        f.extend([0x7a, 0x00]);
                        frames.push(f);
                    }
                }
                // Without a size field: the OBU runs to the end.
                let mut f = td.to_vec();
                f.extend([0x30, 1, 2, 3]);
                frames.push(f);
            }
        }
        frames
    }

    #[test]
    fn a_lone_unit_is_protected_and_restored_as_the_walk_does() {
        let key = || BaseKey::new(b"lone unit, or walked").unwrap();
        let suite = CipherSuite::Aes128GcmSha256_128;
        let mut lone_cases = 0;
        for (n, frame) in av1_frames().iter().enumerate() {
            lone_cases += usize::from(Av1.lone_unit(frame).is_some());
            let mut a = Sender::resume(suite, KeyId(3), key(), Counter(n as u64));
            let mut b = Sender::resume(suite, KeyId(3), key(), Counter(n as u64));
            let mut out_a = vec![0u8; frame.len() + 64];
            let mut out_b = vec![0u8; frame.len() + 64];
            let sizes = next_frame(&mut a).unwrap();
            let fast = protect(Av1, &mut a, frame, &mut out_a, sizes);
            let walked = protect(Walked(Av1), &mut b, frame, &mut out_b, sizes);
            assert_eq!(fast, walked, "frame {n}");
            if fast.is_err() {
                continue;
            }
            let len = fast.unwrap().len();
            assert_eq!(out_a[..len], out_b[..len], "frame {n}");
            let protected = &out_a[..len];
            let mut r = Receiver::<FixedKeyStore<1>>::new();
            r.add_key(suite, KeyId(3), key()).unwrap();
            let mut s = Receiver::<FixedKeyStore<1>>::new();
            s.add_key(suite, KeyId(3), key()).unwrap();
            let mut back_a = vec![0u8; len];
            let mut back_b = vec![0u8; len];
            let fast = unprotect(Av1, &mut r, protected, &mut back_a).unwrap();
            let walked = unprotect(Walked(Av1), &mut s, protected, &mut back_b).unwrap();
            assert_eq!(fast, walked, "frame {n}");
            assert_eq!(&back_a[..fast.len()], &frame[..], "frame {n}");
            // A changed bound byte fails both ways.
            let mut forged = protected.to_vec();
            let at = usize::from(forged[0] == 0x12) * 2;
            forged[at] ^= 0x20;
            assert_eq!(
                unprotect(Av1, &mut r, &forged, &mut back_a).map(|o| o.len()),
                unprotect(Walked(Av1), &mut s, &forged, &mut back_b).map(|o| o.len()),
                "frame {n}"
            );
        }
        assert!(lone_cases > 50, "{lone_cases} frames took the lone path");
    }
}
