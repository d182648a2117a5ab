//! Reference models the oracles compare the library against, written from
//! the documented rules rather than from the code: RFC 9605 §4.3 header
//! parsing, the §9.3 replay window as a plain set of accepted counters, and
//! the decision rules of `RatchetingReceiver` (RFC 9605 §5.1) as its
//! documentation states them.

use std::cell::Cell;
use std::collections::BTreeSet;

use framecrypt::{DecryptStats, Error, KeyId, Retention};

/// RFC 9605 §4.3, parsed independently of `framecrypt::Header`: the KID,
/// the CTR and the header length, or `None` if the config byte announces
/// more bytes than there are.
#[must_use]
pub fn parse_header(frame: &[u8]) -> Option<(u64, u64, usize)> {
    let config = *frame.first()?;
    let mut at = 1;
    let mut field = |bits: u8| -> Option<u64> {
        if bits & 0x8 == 0 {
            return Some(u64::from(bits & 0x7));
        }
        let len = usize::from(bits & 0x7) + 1;
        let bytes = frame.get(at..at + len)?;
        at += len;
        Some(bytes.iter().fold(0, |v, &b| (v << 8) | u64::from(b)))
    };
    let kid = field(config >> 4)?;
    let ctr = field(config & 0xf)?;
    Some((kid, ctr, at))
}

/// The replay rule of RFC 9605 §9.3 as `ReplayWindow` documents it: a
/// counter is accepted once if it is above the highest accepted so far, or
/// less than `width` below it and not accepted before.
#[derive(Clone, Debug)]
pub struct WindowModel {
    width: u64,
    accepted: BTreeSet<u64>,
}

impl WindowModel {
    /// An empty window of `width` counters.
    #[must_use]
    pub fn new(width: u64) -> Self {
        Self {
            width,
            accepted: BTreeSet::new(),
        }
    }

    /// Whether `ctr` may be accepted.
    ///
    /// # Errors
    /// [`Error::Replayed`] if it may not.
    pub fn check(&self, ctr: u64) -> Result<(), Error> {
        match self.accepted.last() {
            Some(&highest) if ctr <= highest => {
                if highest - ctr >= self.width || self.accepted.contains(&ctr) {
                    Err(Error::Replayed)
                } else {
                    Ok(())
                }
            }
            _ => Ok(()),
        }
    }

    /// Records an authenticated counter.
    pub fn record(&mut self, ctr: u64) {
        self.accepted.insert(ctr);
    }
}

/// Counts one outcome the way `DecryptStats` documents: each failure under
/// exactly one kind, the caller's own errors not at all.
pub fn count(stats: &mut DecryptStats, result: &Result<(u64, u64), Error>) {
    let counter = match result {
        Ok(_) => &mut stats.ok,
        Err(Error::UnknownKeyId(_) | Error::NoEpoch) => &mut stats.unknown_key_id,
        Err(Error::TooFarAhead) => &mut stats.too_far_ahead,
        Err(Error::KeyExpired) => &mut stats.key_expired,
        Err(Error::Replayed) => &mut stats.replayed,
        Err(Error::AuthenticationFailed) => &mut stats.authentication_failed,
        Err(Error::MalformedHeader | Error::FrameTooShort) => &mut stats.malformed,
        Err(_) => return,
    };
    *counter += 1;
}

/// A key the receiver holds, named by the sender's (generation, full
/// ratchet step), with its replay window.
#[derive(Clone, Debug)]
struct KeyModel {
    generation: u64,
    step: u64,
    window: WindowModel,
}

/// A superseded key and when it was superseded.
#[derive(Clone, Debug)]
struct Retired {
    key: KeyModel,
    at: u64,
}

/// What a delivered frame is, as far as the receiver's rules need to know.
#[derive(Clone, Copy, Debug)]
pub struct Delivery {
    /// The header, or the error that parsing and the length check give.
    pub header: Result<(u64, u64), Error>,
    /// Whether the output buffer holds the frame's payload (copy path).
    pub room: bool,
}

/// `RatchetingReceiver<N, W>` (RFC 9605 §5.1) as documented: the current
/// key, superseded keys within the retention bounds, forward ratcheting
/// up to `max_forward` steps committed only on an authentic frame, and a
/// replay window per key.
#[derive(Clone, Debug)]
pub struct RatchetModel {
    bits: u32,
    max_forward: u64,
    retention: Retention,
    capacity: usize,
    width: u64,
    current: Option<KeyModel>,
    previous: Vec<Retired>,
    /// Outcomes counted so far.
    pub stats: DecryptStats,
    /// Whether the last decrypt got as far as trying a key on the frame
    /// (then a failure zeroes the payload of an in-place frame).
    pub tried_a_key: bool,
}

impl RatchetModel {
    /// A receiver with no key, `R = bits`, holding at most `capacity`
    /// superseded keys, with windows of `width` counters.
    #[must_use]
    pub fn new(
        bits: u32,
        max_forward: u64,
        retention: Retention,
        capacity: usize,
        width: u64,
    ) -> Self {
        Self {
            bits,
            max_forward,
            retention,
            capacity,
            width,
            current: None,
            previous: Vec::new(),
            stats: DecryptStats::default(),
            tried_a_key: false,
        }
    }

    fn mask(&self) -> u64 {
        (1 << self.bits) - 1
    }

    /// The current (generation, step).
    #[must_use]
    pub fn current(&self) -> Option<(u64, u64)> {
        self.current.as_ref().map(|k| (k.generation, k.step))
    }

    /// How many superseded keys are retained.
    #[must_use]
    pub fn previous_count(&self) -> usize {
        self.previous.len()
    }

    /// `expire`: superseded keys whose time is up are erased.
    pub fn expire(&mut self, now: u64) {
        let retention = self.retention;
        self.previous
            .retain(|p| now.saturating_sub(p.at) < retention.max_age_ms);
    }

    /// `install_key(generation, step)` at `now`.
    ///
    /// # Errors
    /// [`Error::StaleKey`] if not newer than the current key.
    pub fn install(&mut self, generation: u64, step: u64, now: u64) -> Result<(), Error> {
        if self
            .current
            .as_ref()
            .is_some_and(|c| (generation, step) <= (c.generation, c.step))
        {
            return Err(Error::StaleKey);
        }
        self.expire(now);
        if let Some(old) = self.current.take() {
            self.retire(old, now);
        }
        self.drop_shadowed(generation, step);
        self.current = Some(KeyModel {
            generation,
            step,
            window: WindowModel::new(self.width),
        });
        Ok(())
    }

    /// Decrypts a frame at `now`; `genuine(generation, step)` says whether
    /// the frame authenticates under that key. Returns the key that
    /// accepted it.
    ///
    /// # Errors
    /// The error the receiver must return.
    pub fn decrypt(
        &mut self,
        now: u64,
        frame: Delivery,
        genuine: &dyn Fn(u64, u64) -> bool,
    ) -> Result<(u64, u64), Error> {
        let tried = Cell::new(false);
        let result = self.open(now, frame, genuine, &tried);
        self.tried_a_key = tried.get();
        count(&mut self.stats, &result);
        result
    }

    fn open(
        &mut self,
        now: u64,
        frame: Delivery,
        genuine: &dyn Fn(u64, u64) -> bool,
        tried: &Cell<bool>,
    ) -> Result<(u64, u64), Error> {
        self.expire(now);
        let (kid, ctr) = frame.header?;
        let generation = kid >> self.bits;
        let step_bits = kid & self.mask();
        let mask = self.mask();
        let try_key = |key: &mut KeyModel| -> Result<(u64, u64), Error> {
            key.window.check(ctr)?;
            if !frame.room {
                return Err(Error::BufferTooSmall);
            }
            tried.set(true);
            if !genuine(key.generation, key.step) {
                return Err(Error::AuthenticationFailed);
            }
            key.window.record(ctr);
            Ok((key.generation, key.step))
        };

        let current = self
            .current
            .as_mut()
            .ok_or(Error::UnknownKeyId(KeyId(kid)))?;
        if generation == current.generation && step_bits == current.step & mask {
            return try_key(current);
        }
        let (current_generation, current_step) = (current.generation, current.step);
        // How many steps ahead the KID's step bits are, modulo 2^R.
        let ahead = step_bits.wrapping_sub(current_step) & mask;
        let forward = generation == current_generation && ahead <= self.max_forward;
        if let Some(retired) = self
            .previous
            .iter_mut()
            .find(|p| p.key.generation == generation && p.key.step & mask == step_bits)
        {
            let result = try_key(&mut retired.key);
            if result.is_ok() || !forward {
                return result;
            }
            // A retained step and a step ahead share these KID bits: the
            // key the frame authenticates under decides; if neither, the
            // retained key's verdict stands.
            return self
                .ratchet_to(now, ahead, ctr, frame.room, genuine, tried)
                .or(result);
        }
        if generation > current_generation {
            return Err(Error::UnknownKeyId(KeyId(kid)));
        }
        if generation < current_generation {
            return Err(Error::KeyExpired);
        }
        if !forward {
            // Not within reach ahead: an earlier step if one that far back
            // exists, otherwise a step too far ahead.
            let behind = mask - ahead + 1;
            return Err(if behind <= current_step {
                Error::KeyExpired
            } else {
                Error::TooFarAhead
            });
        }
        self.ratchet_to(now, ahead, ctr, frame.room, genuine, tried)
    }

    /// The key `ahead` steps on, tried; committed only if authentic, with
    /// the newest skipped steps retained.
    fn ratchet_to(
        &mut self,
        now: u64,
        ahead: u64,
        ctr: u64,
        room: bool,
        genuine: &dyn Fn(u64, u64) -> bool,
        tried: &Cell<bool>,
    ) -> Result<(u64, u64), Error> {
        // The caller found a current key.
        let Some(current) = self.current.take() else {
            unreachable!("ratchet_to without a current key")
        };
        let (generation, old_step) = (current.generation, current.step);
        let step = old_step.wrapping_add(ahead);
        tried.set(tried.get() || room);
        if !room || !genuine(generation, step) {
            self.current = Some(current);
            return Err(if room {
                Error::AuthenticationFailed
            } else {
                Error::BufferTooSmall
            });
        }
        self.retire(current, now);
        let skipped = ahead - 1;
        let keep = skipped.min(self.retention.max_previous as u64);
        for i in skipped - keep + 1..=skipped {
            let key = KeyModel {
                generation,
                step: old_step.wrapping_add(i),
                window: WindowModel::new(self.width),
            };
            self.retire(key, now);
        }
        self.drop_shadowed(generation, step);
        let mut window = WindowModel::new(self.width);
        window.record(ctr);
        self.current = Some(KeyModel {
            generation,
            step,
            window,
        });
        Ok((generation, step))
    }

    /// Keeps a superseded key if the retention count allows, evicting the
    /// oldest (generation, step) when full; a newcomer older than every
    /// retained key is the one not kept.
    fn retire(&mut self, key: KeyModel, now: u64) {
        let limit = self.retention.max_previous.min(self.capacity);
        if limit == 0 {
            return;
        }
        self.drop_shadowed(key.generation, key.step);
        if self.previous.len() >= limit {
            let oldest = self
                .previous
                .iter()
                .enumerate()
                .min_by_key(|(_, p)| (p.key.generation, p.key.step))
                .map(|(i, p)| (i, (p.key.generation, p.key.step)));
            match oldest {
                Some((i, id)) if id < (key.generation, key.step) => {
                    self.previous.remove(i);
                }
                _ => return,
            }
        }
        self.previous.push(Retired { key, at: now });
    }

    /// A retained key whose KID bits a newer key takes is unreachable and
    /// erased.
    fn drop_shadowed(&mut self, generation: u64, step: u64) {
        let mask = self.mask();
        self.previous
            .retain(|p| !(p.key.generation == generation && p.key.step & mask == step & mask));
    }
}
