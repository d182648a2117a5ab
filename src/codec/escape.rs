//! Start-code emulation prevention for the encrypted part of an H.264 or
//! H.265 NAL unit (ITU-T H.264 §7.4.1, H.265 §7.4.2: `emulation_prevention_three_byte`).
//!
//! The protected region of a NAL unit follows its clear prefix and is
//! followed by the next start code (or the end of the frame). Escaping gives
//! it two properties:
//!
//! 1. No `00 00 00`, `00 00 01` or `00 00 02` appears in it, counting the
//!    zeros that end the clear prefix: after two zeros, a byte `<= 03` is
//!    preceded by an inserted `03`, exactly as the codecs' own rule.
//! 2. It never ends with `00`, so a following start code cannot absorb its
//!    last byte: if the escaped bytes end with `00 03…03` (any number of
//!    `03`, the `00` possibly being the last clear byte), one more `03` is
//!    appended; a receiver removes one `03` from such an ending.
//!
//! Decoding is strict: only the canonical encoding of some input is accepted,
//! so `escape(unescape(x)) == x` whenever `unescape(x)` succeeds.
//!
//! Both directions run at memory speed: they look for `00 00` pairs with
//! [`memmem`] (vectorised) and copy the runs between escapes in bulk. In
//! encrypted bytes a pair occurs about once in 64 KiB, so a piece is
//! usually one search and one copy (or none, see [`needs`]). The
//! byte-at-a-time definition is kept in the tests, which check that both
//! give the same bytes.

use memchr::memmem;

use crate::error::Error;

/// The emulation prevention byte.
const EPB: u8 = 0x03;

/// Below this length a plain loop finds a `00 00` sooner than anything
/// vectorised.
const SHORT: usize = 64;

/// From this length on [`memmem`] (AVX2 where the CPU has it) is worth
/// building its searcher; below, a search over 64-byte blocks that the
/// compiler vectorises, with nothing to build.
const LONG: usize = 8 * 1024;

/// `memchr`'s AVX2 pair search, used directly on x86-64: [`memmem`] runs
/// the same search, but building its searcher (once per frame) cost as
/// much as the search over a few kilobytes.
#[cfg(target_arch = "x86_64")]
type Avx2Pairs = memchr::arch::x86_64::avx2::packedpair::Finder;

/// Finds `00 00` pairs at memory speed: a plain loop in short inputs, a
/// block search in medium ones, `memchr`'s pair search (built once, when
/// first needed) in long ones.
pub(crate) struct Pairs {
    /// Built on the first long search; `None` inside without AVX2.
    #[cfg(target_arch = "x86_64")]
    avx2: Option<Option<Avx2Pairs>>,
    finder: Option<memmem::Finder<'static>>,
}

impl Pairs {
    pub(crate) const fn new() -> Self {
        Self {
            #[cfg(target_arch = "x86_64")]
            avx2: None,
            finder: None,
        }
    }

    /// The first `00 00` in `hay`.
    #[inline]
    pub(crate) fn find(&mut self, hay: &[u8]) -> Option<usize> {
        if hay.len() < SHORT {
            return hay.windows(2).position(|w| w == [0, 0]);
        }
        if hay.len() < LONG {
            return find_in_blocks(hay);
        }
        #[cfg(target_arch = "x86_64")]
        if let Some(avx2) = self.avx2.get_or_insert_with(|| Avx2Pairs::new(&[0, 0]))
            && hay.len() >= avx2.min_haystack_len()
        {
            return avx2.find(hay, &[0, 0]);
        }
        self.finder
            .get_or_insert_with(|| memmem::Finder::new(&[0, 0]))
            .find(hay)
    }
}

/// The first `00 00` in `hay`, testing 64 positions at a time: a byte and
/// its successor are both zero exactly when their OR is.
fn find_in_blocks(hay: &[u8]) -> Option<usize> {
    const BLOCK: usize = 64;
    let mut at = 0;
    while let (Some(a), Some(b)) = (hay.get(at..at + BLOCK), hay.get(at + 1..at + 1 + BLOCK)) {
        let mut hit = false;
        for (x, y) in a.iter().zip(b) {
            hit |= (x | y) == 0;
        }
        if hit {
            break;
        }
        at += BLOCK;
    }
    hay[at..]
        .windows(2)
        .position(|w| w == [0, 0])
        .map(|i| at + i)
}

/// Zeros at the end of `clear` that count towards the escaping state (0–2).
pub(crate) fn trailing_zeros(clear: &[u8]) -> u8 {
    match clear {
        [.., 0, 0] => 2,
        [.., 0] => 1,
        _ => 0,
    }
}

/// The most bytes escaping `len` bytes can produce, trailer included.
#[cfg(test)]
pub(crate) const fn max_escaped_len(len: usize) -> usize {
    len.saturating_add(len.div_ceil(2)).saturating_add(1)
}

/// What escaping a piece adds to it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Escaping {
    /// Emulation prevention bytes inserted inside the piece.
    pub(crate) inner: usize,
    /// Whether one `03` follows it (property 2).
    pub(crate) trailer: bool,
}

impl Escaping {
    /// The bytes escaping adds.
    pub(crate) const fn added(self) -> usize {
        self.inner + self.trailer as usize
    }
}

/// What escaping `piece` after a clear prefix with `zeros` trailing zeros
/// (see [`trailing_zeros`]) ending in `clear_last` adds. One search for
/// `00 00` through the piece; for ciphertext the answer is nearly always
/// nothing.
pub(crate) fn count(piece: &[u8], zeros: u8, clear_last: Option<u8>) -> Escaping {
    let mut pairs = Pairs::new();
    let mut inner = 0;
    let mut r = 0;
    let mut z = zeros;
    loop {
        while z > 0 && r < piece.len() {
            let b = piece[r];
            if z >= 2 && b <= EPB {
                inner += 1;
                z = 0;
            }
            z = if b == 0 { z + 1 } else { 0 };
            r += 1;
        }
        if r >= piece.len() {
            break;
        }
        match pairs.find(&piece[r..]) {
            Some(i) if r + i + 2 < piece.len() => {
                r += i + 2;
                z = 2;
            }
            _ => break,
        }
    }
    // An inserted `03` never changes whether the escaped bytes end with
    // `00 03…03`: it follows two zeros, inside such an ending or not at all.
    Escaping {
        inner,
        trailer: needs_trailer(piece, clear_last),
    }
}

/// Escapes `buf[read..read + len]` to `buf[write..]`, where `write <= read`
/// (writes never overtake unread input as long as the caller sized `buf`
/// for the worst case; this is checked). `zeros` is
/// [`trailing_zeros`] of the clear prefix and `clear_last` its last byte.
/// Returns the number of bytes written, trailer included.
///
/// # Errors
/// [`Error::BufferTooSmall`] if the range is outside `buf` or a write would
/// overtake unread input.
pub(crate) fn escape_within(
    buf: &mut [u8],
    read: usize,
    len: usize,
    write: usize,
    zeros: u8,
    clear_last: Option<u8>,
) -> Result<usize, Error> {
    let mut w = write + escape_inner(buf, read, len, write, zeros)?;
    if needs_trailer(&buf[write..w], clear_last) {
        // The trailer may land on the byte after the input: nothing unread.
        *buf.get_mut(w).ok_or(Error::BufferTooSmall)? = EPB;
        w += 1;
    }
    Ok(w - write)
}

/// [`escape_within`] without the trailer: the emulation prevention bytes
/// inside the piece only. Once as many bytes as it inserts lie between
/// `write` and `read`, the rest of the piece is where it belongs and is
/// not touched. Returns the number of bytes written.
///
/// # Errors
/// As [`escape_within`].
pub(crate) fn escape_inner(
    buf: &mut [u8],
    read: usize,
    len: usize,
    write: usize,
    zeros: u8,
) -> Result<usize, Error> {
    let end = read.checked_add(len).ok_or(Error::BufferTooSmall)?;
    if end > buf.len() || write > read {
        return Err(Error::BufferTooSmall);
    }
    let mut pairs = Pairs::new();
    let mut out = Writer {
        w: write,
        run: read,
    };
    let mut r = read;
    let mut z = zeros;
    loop {
        // Step byte by byte while a zero run is open (from the clear
        // prefix, after a search hit, or after an inserted `03`).
        while z > 0 && r < end {
            let b = buf[r];
            if z >= 2 && b <= EPB {
                out.flush(buf, r);
                // The `03` must not land on the unread byte `r`.
                if out.w >= r {
                    return Err(Error::BufferTooSmall);
                }
                buf[out.w] = EPB;
                out.w += 1;
                z = 0;
            }
            z = if b == 0 { z + 1 } else { 0 };
            r += 1;
        }
        if r >= end {
            break;
        }
        // The byte before `r` is not zero: the next pair starts a run.
        match pairs.find(&buf[r..end]) {
            Some(i) if r + i + 2 < end => {
                r += i + 2;
                z = 2;
            }
            _ => break,
        }
    }
    out.flush(buf, end);
    Ok(out.w - write)
}

/// The write side of [`escape_within`]: input bytes from `run` on are not
/// yet copied to `w`.
struct Writer {
    w: usize,
    run: usize,
}

impl Writer {
    /// Copies the input `run..upto` to the write position.
    fn flush(&mut self, buf: &mut [u8], upto: usize) {
        if self.w != self.run {
            buf.copy_within(self.run..upto, self.w);
        }
        self.w += upto - self.run;
        self.run = upto;
    }
}

/// Whether escaped bytes `esc` (after a clear prefix ending in `clear_last`)
/// end with `00 03…03` (zero or more `03`) and so need one more `03`.
fn needs_trailer(esc: &[u8], clear_last: Option<u8>) -> bool {
    if esc.is_empty() {
        return false;
    }
    let run = esc.iter().rev().take_while(|&&b| b == EPB).count();
    let before = if run < esc.len() {
        Some(esc[esc.len() - run - 1])
    } else {
        clear_last
    };
    before == Some(0)
}

/// The bytes of `region` (a protected region as received) before its
/// trailer `03`, if it ends with one.
///
/// # Errors
/// [`Error::MalformedFrame`] if `region` ends in a zero, or is a trailer
/// alone.
fn body(region: &[u8], clear_last: Option<u8>) -> Result<&[u8], Error> {
    if region.last() == Some(&0) {
        return Err(Error::MalformedFrame);
    }
    // Property 2: drop the trailer `03` if the ending is `00 03…03`.
    if needs_trailer(region, clear_last) && region.last() == Some(&EPB) {
        // The trailer follows escaped bytes, never stands alone.
        if region.len() == 1 {
            return Err(Error::MalformedFrame);
        }
        return Ok(&region[..region.len() - 1]);
    }
    Ok(region)
}

/// The unescaped length of a region known to hold no `00 00 0x` with
/// `x <= 3`, counting the clear prefix's zeros (see `Unit::escape_end`):
/// the region less its trailer, checked as [`unescape`] would.
///
/// # Errors
/// As [`unescape`].
pub(crate) fn verbatim_len(region: &[u8], clear_last: Option<u8>) -> Result<usize, Error> {
    body(region, clear_last).map(<[u8]>::len)
}

/// Removes the escaping of `region` (a protected region as received),
/// calling `emit` with each run of unescaped bytes in order. Returns the
/// unescaped length.
///
/// `scan` bounds the search: past `region[scan..]` the caller knows that
/// no `00 00` is followed by a byte `<= 03` (its walk found the unit's end
/// with the same search), so those bytes are one run. `region.len()`
/// checks everything.
///
/// # Errors
/// [`Error::MalformedFrame`] if `region` is not the canonical escaping of
/// any input.
pub(crate) fn unescape(
    region: &[u8],
    zeros: u8,
    clear_last: Option<u8>,
    scan: usize,
    mut emit: impl FnMut(&[u8]),
) -> Result<usize, Error> {
    let body = body(region, clear_last)?;
    let scan = scan.min(body.len());
    let mut pairs = Pairs::new();
    let mut count = 0;
    let mut run = 0;
    let mut r = 0;
    let mut z = zeros;
    loop {
        while z > 0 && r < body.len() {
            let b = body[r];
            if z >= 2 {
                match b {
                    EPB => {
                        emit(&body[run..r]);
                        count += r - run;
                        run = r + 1;
                        // An inserted `03` is always followed by a byte
                        // `<= 03`, which is data.
                        match body.get(r + 1) {
                            Some(&next) if next <= EPB => {
                                z = u8::from(next == 0);
                                r += 2;
                                continue;
                            }
                            _ => return Err(Error::MalformedFrame),
                        }
                    }
                    0..=2 => return Err(Error::MalformedFrame),
                    _ => {}
                }
            }
            z = if b == 0 { z + 1 } else { 0 };
            r += 1;
        }
        if r >= scan {
            break;
        }
        match pairs.find(&body[r..scan]) {
            Some(i) if r + i + 2 < body.len() => {
                r += i + 2;
                z = 2;
            }
            _ => break,
        }
    }
    emit(&body[run..]);
    Ok(count + body.len() - run)
}

/// [`unescape`] into the start of `out`.
///
/// # Errors
/// As [`unescape`]; [`Error::BufferTooSmall`] if `out` is shorter than the
/// unescaped bytes.
pub(crate) fn unescape_into(
    region: &[u8],
    zeros: u8,
    clear_last: Option<u8>,
    scan: usize,
    out: &mut [u8],
) -> Result<usize, Error> {
    let mut at = 0;
    let mut short = false;
    let len = unescape(region, zeros, clear_last, scan, |run| {
        match out.get_mut(at..at + run.len()) {
            Some(dst) => dst.copy_from_slice(run),
            None => short = true,
        }
        at += run.len();
    })?;
    if short {
        return Err(Error::BufferTooSmall);
    }
    Ok(len)
}

/// The first unescaped bytes of a region that starts at `region[0]` and
/// may run on past `region`'s end (the SFU reads a header without looking
/// for the region's end): up to `head.len()` bytes go to `head`; stops
/// early at a start code. Returns how many were written. Not a check of
/// the region: [`unescape`] is.
pub(crate) fn unescape_head(region: &[u8], zeros: u8, head: &mut [u8]) -> usize {
    let mut z = zeros;
    let mut n = 0;
    let mut r = 0;
    while n < head.len() {
        let Some(&b) = region.get(r) else {
            break;
        };
        r += 1;
        if z >= 2 {
            match b {
                EPB => {
                    z = 0;
                    continue;
                }
                0..=2 => break,
                _ => {}
            }
        }
        head[n] = b;
        n += 1;
        z = if b == 0 { z.saturating_add(1) } else { 0 };
    }
    n
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    extern crate alloc;
    use alloc::vec;
    use alloc::vec::Vec;

    use super::*;
    use proptest::prelude::*;

    /// The definition, one byte at a time: the reference the fast
    /// escaping must match byte for byte.
    fn reference_escape(data: &[u8], clear: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        let mut z = trailing_zeros(clear);
        for &b in data {
            if z >= 2 && b <= EPB {
                out.push(EPB);
                z = 0;
            }
            out.push(b);
            z = if b == 0 { z + 1 } else { 0 };
        }
        if needs_trailer(&out, clear.last().copied()) {
            out.push(EPB);
        }
        out
    }

    /// The definition of unescaping, one byte at a time.
    fn reference_unescape(region: &[u8], clear: &[u8]) -> Result<Vec<u8>, Error> {
        if region.last() == Some(&0) {
            return Err(Error::MalformedFrame);
        }
        let run = region.iter().rev().take_while(|&&b| b == EPB).count();
        let before = if run < region.len() {
            Some(region[region.len() - run - 1])
        } else {
            clear.last().copied()
        };
        let body = if run > 0 && before == Some(0) {
            if region.len() == 1 {
                return Err(Error::MalformedFrame);
            }
            &region[..region.len() - 1]
        } else {
            region
        };
        let mut out = Vec::new();
        let mut z = trailing_zeros(clear);
        let mut after_epb = false;
        for &b in body {
            if after_epb {
                if b > EPB {
                    return Err(Error::MalformedFrame);
                }
                after_epb = false;
            } else if z >= 2 {
                match b {
                    EPB => {
                        z = 0;
                        after_epb = true;
                        continue;
                    }
                    0..=2 => return Err(Error::MalformedFrame),
                    _ => {}
                }
            }
            out.push(b);
            z = if b == 0 { z.saturating_add(1) } else { 0 };
        }
        if after_epb {
            return Err(Error::MalformedFrame);
        }
        Ok(out)
    }

    /// The fast escaping, within one buffer as the engine uses it: the
    /// input at the buffer's end, the output from its start.
    fn escape(data: &[u8], clear: &[u8]) -> Vec<u8> {
        let n = data.len();
        let cap = max_escaped_len(n) + n;
        let mut buf = vec![0u8; cap];
        buf[cap - n..].copy_from_slice(data);
        let w = escape_within(
            &mut buf,
            cap - n,
            n,
            0,
            trailing_zeros(clear),
            clear.last().copied(),
        )
        .unwrap();
        buf.truncate(w);
        buf
    }

    fn unescaped(region: &[u8], clear: &[u8]) -> Result<Vec<u8>, Error> {
        let mut out = vec![0u8; region.len()];
        let n = unescape_into(
            region,
            trailing_zeros(clear),
            clear.last().copied(),
            region.len(),
            &mut out,
        )?;
        out.truncate(n);
        Ok(out)
    }

    fn has_start_code_emulation(clear: &[u8], esc: &[u8]) -> bool {
        let mut all = clear.to_vec();
        all.extend_from_slice(esc);
        // The next start code follows: the region must not end in a zero.
        esc.last() == Some(&0)
            || all
                .windows(3)
                .skip(clear.len().saturating_sub(2))
                .any(|w| w[0] == 0 && w[1] == 0 && w[2] <= 2)
    }

    #[test]
    fn zeros_after_clear_zeros_are_escaped() {
        assert_eq!(escape(&[0, 1], &[0x65, 0, 0]), [3, 0, 1]);
        assert_eq!(escape(&[0, 0, 0], &[0x65]), [0, 0, 3, 0, 3]);
        assert_eq!(escape(&[0, 0, 0, 0, 0], &[0x65]), [0, 0, 3, 0, 0, 3, 0, 3]);
    }

    #[test]
    fn trailing_zero_gets_a_trailer() {
        assert_eq!(escape(&[7, 0], &[0x65]), [7, 0, 3]);
        assert_eq!(unescaped(&[7, 0, 3], &[0x65]).unwrap(), [7, 0]);
        // Data that itself ends in `00 03` keeps an extra trailer.
        assert_eq!(escape(&[7, 0, 3], &[0x65]), [7, 0, 3, 3]);
        assert_eq!(unescaped(&[7, 0, 3, 3], &[0x65]).unwrap(), [7, 0, 3]);
        // The zero may be the last clear byte.
        assert_eq!(escape(&[3], &[0x65, 0]), [3, 3]);
        assert_eq!(unescaped(&[3, 3], &[0x65, 0]).unwrap(), [3]);
    }

    #[test]
    fn non_canonical_escaping_is_rejected() {
        // `03` inserted where nothing needed escaping.
        assert!(unescaped(&[0, 0, 3, 9], &[0x65]).is_err());
        // A raw `00 00 02`.
        assert!(unescaped(&[0, 0, 2], &[0x65]).is_err());
        // A region ending in zero.
        assert!(unescaped(&[5, 0], &[0x65]).is_err());
    }

    #[test]
    fn worst_case_growth_is_within_the_bound() {
        for n in 0..64 {
            let data = vec![0u8; n];
            let esc = escape(&data, &[0, 0]);
            assert!(esc.len() <= max_escaped_len(n), "n = {n}");
        }
    }

    #[test]
    fn an_exact_fit_escapes_in_place() {
        // Output and input in one buffer with not one byte to spare: the
        // escaped bytes end exactly where the input ends.
        let data = [0u8, 0, 5, 9];
        let mut buf = [0u8; 4];
        buf.copy_from_slice(&data);
        assert_eq!(escape_within(&mut buf, 0, 4, 0, 0, None).unwrap(), 4);
        assert_eq!(buf, data);
        // One byte short for an inserted `03`: refused, never overtaking.
        let mut buf = [0u8, 0, 1, 9];
        assert_eq!(
            escape_within(&mut buf, 0, 4, 0, 0, None),
            Err(Error::BufferTooSmall)
        );
    }

    #[test]
    fn the_header_of_a_region_is_read_without_its_end() {
        let mut head = [0u8; 4];
        // `00 00 03 01` unescapes to `00 00 01`; a start code then stops.
        assert_eq!(unescape_head(&[0, 0, 3, 1, 7, 0, 0, 1], 0, &mut head), 4);
        assert_eq!(head, [0, 0, 1, 7]);
        assert_eq!(unescape_head(&[9, 0, 0, 1, 5], 0, &mut head), 3);
    }

    #[test]
    fn a_bounded_scan_reads_the_rest_as_it_is() {
        // `00 00 03 01` needs the search; past byte 4 it is skipped.
        let region = [0, 0, 3, 1, 9, 9, 7];
        let mut out = [0u8; 7];
        let n = unescape_into(&region, 0, None, 4, &mut out).unwrap();
        assert_eq!(&out[..n], [0, 0, 1, 9, 9, 7]);
        // Bounded before the escape, the `03` is taken as data.
        let n = unescape_into(&region, 0, None, 0, &mut out).unwrap();
        assert_eq!(&out[..n], region);
    }

    #[test]
    fn every_pair_search_finds_the_first_pair() {
        // Lengths around the search's thresholds and block edges, a pair
        // (or none) at many places, lone zeros elsewhere.
        let mut lens: Vec<usize> =
            vec![0, 1, 2, 3, 63, 64, 65, 66, 127, 128, 129, 8191, 8192, 8193];
        lens.extend((0..40).map(|i| 1 + i * 577));
        for len in lens {
            let hay: Vec<u8> = (0..len)
                .map(|i| if i % 7 == 3 { 0 } else { 0x5a })
                .collect();
            let mut places = vec![None];
            places.extend((0..len.saturating_sub(1)).step_by(61).map(Some));
            places.extend([len.checked_sub(2), len.checked_sub(3)]);
            for place in places {
                let mut hay = hay.clone();
                if let Some(p) = place {
                    hay[p] = 0;
                    hay[p + 1] = 0;
                }
                let first = hay.windows(2).position(|w| w == [0, 0]);
                assert_eq!(Pairs::new().find(&hay), first, "len {len} pair {place:?}");
                assert_eq!(find_in_blocks(&hay), first, "len {len} pair {place:?}");
            }
        }
    }

    #[test]
    fn every_short_region_unescapes_as_the_reference_does() {
        // Exhaustive over regions of up to 5 bytes from the bytes that
        // matter (zero, the escape byte, values just below and above it)
        // after every clear ending: the edge cases a sampled property test
        // can miss (a body ending in zero once its trailer is dropped).
        const BYTES: [u8; 4] = [0, 2, EPB, 0x11];
        for clear in [&[0x11][..], &[0], &[0, 0]] {
            for len in 0..=5u32 {
                for n in 0..BYTES.len().pow(len) {
                    let region: Vec<u8> = (0..len)
                        .map(|i| BYTES[n / BYTES.len().pow(i) % BYTES.len()])
                        .collect();
                    assert_eq!(
                        unescaped(&region, clear),
                        reference_unescape(&region, clear),
                        "region {region:02x?} after {clear:02x?}"
                    );
                }
            }
        }
    }

    #[test]
    fn the_in_place_escaper_refuses_ranges_outside_its_buffer() {
        let mut buf = [0x11_u8; 8];
        // Input running past the end, with the write position fine.
        assert_eq!(
            escape_inner(&mut buf, 4, 5, 0, 0),
            Err(Error::BufferTooSmall)
        );
        // Writes starting after the input, with the input in the buffer.
        assert_eq!(
            escape_inner(&mut buf, 2, 2, 3, 0),
            Err(Error::BufferTooSmall)
        );
        // Both in order: the input moves down unchanged.
        assert_eq!(escape_inner(&mut buf, 2, 2, 0, 0), Ok(2));
    }

    #[test]
    fn the_block_search_finds_a_pair_at_every_place() {
        // Every place in lengths around one and two blocks, so that a pair
        // straddling a block edge is among them.
        for len in [64, 65, 127, 128, 129, 130, 200] {
            for place in 0..len - 1 {
                let mut hay = vec![0x5a_u8; len];
                hay[place] = 0;
                hay[place + 1] = 0;
                assert_eq!(
                    find_in_blocks(&hay),
                    Some(place),
                    "len {len} pair at {place}"
                );
            }
        }
    }

    /// Bytes that hit every escaping case often: zeros, `01`–`03`.
    fn edgy(max: usize) -> impl Strategy<Value = Vec<u8>> {
        proptest::collection::vec(
            prop_oneof![Just(0u8), Just(1u8), Just(2u8), Just(3u8), any::<u8>()],
            0..max,
        )
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        #[test]
        fn fast_escaping_is_byte_identical_to_the_reference(
            data in edgy(300),
            clear in proptest::collection::vec(prop_oneof![Just(0u8), any::<u8>()], 1..4),
        ) {
            let fast = escape(&data, &clear);
            let reference = reference_escape(&data, &clear);
            prop_assert_eq!(&fast, &reference);
            // The count agrees: inner bytes, and a trailer exactly when the
            // reference appended one.
            let counted = count(&data, trailing_zeros(&clear), clear.last().copied());
            prop_assert_eq!(counted.added(), reference.len() - data.len());
            let mut without_trailer = reference.clone();
            if counted.trailer {
                prop_assert_eq!(without_trailer.pop(), Some(EPB));
            }
            prop_assert_eq!(needs_trailer(&without_trailer, clear.last().copied()), counted.trailer);

            // With exactly the room the inner bytes need before it, the
            // piece escapes in place and nothing after its last inserted
            // byte is written.
            let n = data.len();
            let mut buf = vec![0xeeu8; counted.inner + n];
            buf[counted.inner..].copy_from_slice(&data);
            let inner = escape_inner(&mut buf, counted.inner, n, 0, trailing_zeros(&clear)).unwrap();
            prop_assert_eq!(inner, counted.inner + n);
            prop_assert_eq!(&buf[..], &without_trailer[..]);
        }

        #[test]
        fn fast_unescaping_is_byte_identical_to_the_reference(
            region in edgy(300),
            clear in proptest::collection::vec(prop_oneof![Just(0u8), any::<u8>()], 1..4),
        ) {
            let fast = unescaped(&region, &clear);
            prop_assert_eq!(&fast, &reference_unescape(&region, &clear));
            let mut all = vec![0u8; usize::from(trailing_zeros(&clear))];
            all.extend_from_slice(&region);
            if !all.windows(3).any(|w| w[0] == 0 && w[1] == 0 && w[2] <= 3) {
                prop_assert_eq!(
                    verbatim_len(&region, clear.last().copied()).ok(),
                    fast.as_ref().ok().map(Vec::len)
                );
            }
            if let Ok(data) = &fast {
                let mut head = [0u8; 17];
                let n = unescape_head(&region, trailing_zeros(&clear), &mut head);
                // It may read on into the trailer, never less than the data.
                let k = n.min(data.len());
                prop_assert_eq!(&head[..k], &data[..k]);
                prop_assert!(n >= data.len().min(17));
            }
        }

        #[test]
        fn escaping_round_trips_and_hides_start_codes(
            data in edgy(200),
            clear in proptest::collection::vec(prop_oneof![Just(0u8), any::<u8>()], 1..4),
        ) {
            let esc = escape(&data, &clear);
            prop_assert!(esc.len() <= max_escaped_len(data.len()));
            prop_assert!(!has_start_code_emulation(&clear, &esc));
            prop_assert_eq!(unescaped(&esc, &clear).unwrap(), data);
        }

        #[test]
        fn accepted_encodings_are_canonical(
            region in edgy(64),
            clear in proptest::collection::vec(prop_oneof![Just(0u8), any::<u8>()], 1..3),
        ) {
            if let Ok(data) = unescaped(&region, &clear) {
                prop_assert_eq!(escape(&data, &clear), region);
            }
        }
    }
}
