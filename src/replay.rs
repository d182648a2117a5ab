//! A sliding anti-replay window over one key's counters (RFC 9605 §9.3,
//! adapting the RFC 4303 §3.4.3 / RFC 6479 bitmap to the SFrame CTR).
//!
//! The window remembers the highest counter accepted and which of the
//! `width` counters below it were accepted. Checking and recording are two
//! calls on purpose: a receiver checks before decrypting and records only
//! after the frame has authenticated, so a forged frame can neither slide
//! the window nor burn a counter.

use core::fmt;

use crate::error::Error;
use crate::ids::Counter;

/// Anti-replay state for one key: a bitmap of `64 × WORDS` bits, no
/// allocation.
///
/// The default (`WORDS = 2`) is a 128-frame window. A frame is accepted once
/// if its counter is above the highest seen so far, or within the window
/// below it and not yet seen; everything else is a replay.
///
/// ```
/// use framecrypt::{Counter, Error, ReplayWindow};
///
/// let mut window = ReplayWindow::<2>::new();
/// assert!(window.check(Counter(10)).is_ok());
/// window.record(Counter(10));
/// assert_eq!(window.check(Counter(10)), Err(Error::Replayed));
/// assert!(window.check(Counter(9)).is_ok()); // late, but not seen yet
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct ReplayWindow<const WORDS: usize = 2> {
    /// The highest counter recorded; meaningful only when `started`.
    highest: u64,
    started: bool,
    /// Bit `i` (word `i / 64`, bit `i % 64`) is set when counter
    /// `highest - i` has been recorded.
    seen: [u64; WORDS],
    /// How many counters, `highest` included, the window covers.
    width: u64,
}

impl<const WORDS: usize> ReplayWindow<WORDS> {
    /// The widest window this type can hold: `64 × WORDS` counters.
    pub const CAPACITY: usize = 64 * WORDS;

    /// An empty window of full width ([`Self::CAPACITY`]).
    #[must_use]
    pub const fn new() -> Self {
        const { assert!(WORDS > 0, "a replay window needs at least one word") };
        Self {
            highest: 0,
            started: false,
            seen: [0; WORDS],
            width: Self::CAPACITY as u64,
        }
    }

    /// An empty window covering `width` counters (the highest seen and the
    /// `width - 1` below it).
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] unless `1 <= width <= Self::CAPACITY`.
    pub const fn with_width(width: usize) -> Result<Self, Error> {
        if width == 0 || width > Self::CAPACITY {
            return Err(Error::InvalidParameter);
        }
        let mut window = Self::new();
        window.width = width as u64;
        Ok(window)
    }

    /// How many counters the window covers.
    #[must_use]
    pub const fn width(&self) -> usize {
        // `width <= CAPACITY`, which is a `usize`.
        #[allow(clippy::cast_possible_truncation)]
        let width = self.width as usize;
        width
    }

    /// The highest counter recorded, if any.
    #[must_use]
    pub const fn highest(&self) -> Option<Counter> {
        if self.started {
            Some(Counter(self.highest))
        } else {
            None
        }
    }

    /// Whether a frame with counter `ctr` may be accepted. Changes nothing.
    ///
    /// # Errors
    /// [`Error::Replayed`] if `ctr` was recorded already or is `width` or
    /// more below the highest counter recorded.
    pub fn check(&self, ctr: Counter) -> Result<(), Error> {
        if !self.started || ctr.0 > self.highest {
            return Ok(());
        }
        let age = self.highest - ctr.0;
        if age >= self.width || self.bit(age) {
            return Err(Error::Replayed);
        }
        Ok(())
    }

    /// Records `ctr` as accepted, sliding the window forward if it is the
    /// new highest. Call it only after the frame has authenticated. A
    /// counter that [`Self::check`] would reject is ignored.
    pub fn record(&mut self, ctr: Counter) {
        if !self.started {
            self.started = true;
            self.highest = ctr.0;
            self.seen = [0; WORDS];
            self.seen[0] = 1;
            return;
        }
        if ctr.0 > self.highest {
            self.slide(ctr.0 - self.highest);
            self.highest = ctr.0;
            self.seen[0] |= 1;
            return;
        }
        let age = self.highest - ctr.0;
        if age < self.width {
            self.seen[word(age)] |= 1 << (age % 64);
        }
    }

    fn bit(&self, age: u64) -> bool {
        self.seen[word(age)] & (1 << (age % 64)) != 0
    }

    /// Ages every recorded bit by `by` counters (a multi-word left shift);
    /// bits that fall off the end are forgotten.
    fn slide(&mut self, by: u64) {
        if by >= Self::CAPACITY as u64 {
            self.seen = [0; WORDS];
            return;
        }
        let words = word(by);
        let bits = by % 64;
        for i in (0..WORDS).rev() {
            let from = i.checked_sub(words);
            let high = from.map_or(0, |j| self.seen[j] << bits);
            let low = match from.and_then(|j| j.checked_sub(1)) {
                Some(k) if bits != 0 => self.seen[k] >> (64 - bits),
                _ => 0,
            };
            self.seen[i] = high | low;
        }
    }
}

/// The word that holds the bit of a counter `age` below the highest; only
/// called with `age < CAPACITY`, so the result fits.
#[allow(clippy::cast_possible_truncation)]
const fn word(age: u64) -> usize {
    (age / 64) as usize
}

impl<const WORDS: usize> Default for ReplayWindow<WORDS> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const WORDS: usize> fmt::Debug for ReplayWindow<WORDS> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReplayWindow")
            .field("highest", &self.highest())
            .field("width", &self.width)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accept<const W: usize>(window: &mut ReplayWindow<W>, ctr: u64) -> Result<(), Error> {
        window.check(Counter(ctr))?;
        window.record(Counter(ctr));
        Ok(())
    }

    #[test]
    fn first_frame_is_accepted_whatever_its_counter() {
        for first in [0, 1, 127, 128, u64::MAX] {
            let mut window = ReplayWindow::<2>::new();
            assert_eq!(window.highest(), None);
            assert_eq!(accept(&mut window, first), Ok(()));
            assert_eq!(window.highest(), Some(Counter(first)));
            assert_eq!(accept(&mut window, first), Err(Error::Replayed));
        }
    }

    #[test]
    fn duplicates_under_reordering_are_accepted_exactly_once() {
        let mut window = ReplayWindow::<2>::new();
        let order = [5, 3, 9, 4, 8, 6, 7, 0, 2, 1];
        for ctr in order {
            assert_eq!(accept(&mut window, ctr), Ok(()), "first copy of {ctr}");
        }
        for ctr in order {
            assert_eq!(
                accept(&mut window, ctr),
                Err(Error::Replayed),
                "copy of {ctr}"
            );
        }
    }

    #[test]
    fn window_edge_is_exactly_width_counters() {
        let mut window = ReplayWindow::<2>::new();
        accept(&mut window, 1000).expect("accepted");
        // 1000 - 127 is the oldest counter inside a 128-wide window.
        assert_eq!(window.check(Counter(1000 - 127)), Ok(()));
        assert_eq!(window.check(Counter(1000 - 128)), Err(Error::Replayed));
        assert_eq!(accept(&mut window, 1000 - 127), Ok(()));
        assert_eq!(accept(&mut window, 1000 - 127), Err(Error::Replayed));
    }

    #[test]
    fn configured_width_moves_the_edge() {
        let mut window = ReplayWindow::<2>::with_width(10).expect("accepted");
        assert_eq!(window.width(), 10);
        accept(&mut window, 50).expect("accepted");
        assert_eq!(window.check(Counter(41)), Ok(()));
        assert_eq!(window.check(Counter(40)), Err(Error::Replayed));
        assert_eq!(
            ReplayWindow::<2>::with_width(0).expect_err("rejected"),
            Error::InvalidParameter
        );
        assert_eq!(
            ReplayWindow::<2>::with_width(129).expect_err("rejected"),
            Error::InvalidParameter
        );
        assert!(ReplayWindow::<4>::with_width(256).is_ok());
    }

    #[test]
    fn a_jump_beyond_the_window_forgets_everything_older() {
        let mut window = ReplayWindow::<2>::new();
        for ctr in 0..10 {
            accept(&mut window, ctr).expect("accepted");
        }
        accept(&mut window, 10 + 500).expect("accepted");
        // Everything recorded before is now far below the window.
        assert_eq!(window.check(Counter(9)), Err(Error::Replayed));
        // Counters just below the new highest were never seen: accepted.
        for ctr in 510 - 127..510 {
            assert_eq!(accept(&mut window, ctr), Ok(()), "ctr {ctr}");
        }
        assert_eq!(accept(&mut window, 510), Err(Error::Replayed));
    }

    #[test]
    fn slides_across_word_boundaries_keep_every_bit() {
        // Record every even counter below 150, then slide by amounts on
        // and off word boundaries; each recorded counter still inside must
        // stay seen and every other one inside must stay unseen.
        for step in [1u64, 3, 63, 64, 65, 100] {
            let mut window = ReplayWindow::<3>::new();
            for ctr in (0..150).step_by(2) {
                accept(&mut window, ctr).expect("accepted");
            }
            let top = 148 + step;
            // Slide by `step`, recording `top` (even or odd).
            accept(&mut window, top).expect("accepted");
            for ctr in 0..top {
                let inside = top - ctr < 192;
                let recorded = ctr % 2 == 0 && ctr < 150;
                let expected = if !inside || recorded {
                    Err(Error::Replayed)
                } else {
                    Ok(())
                };
                assert_eq!(
                    window.check(Counter(ctr)),
                    expected,
                    "step {step} ctr {ctr}"
                );
            }
        }
    }

    #[test]
    fn record_of_a_rejected_counter_changes_nothing() {
        let mut window = ReplayWindow::<1>::new();
        accept(&mut window, 200).expect("accepted");
        let before = window.clone();
        window.record(Counter(10)); // far below the window
        assert_eq!(window, before);
    }
}
