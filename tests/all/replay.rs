//! `ReplayWindow` against a plain model: a counter is accepted exactly when
//! it was never accepted and is less than `width` below the highest one
//! accepted so far.

extern crate alloc;

use alloc::collections::BTreeSet;

use framecrypt::{Counter, Error, ReplayWindow};
use proptest::prelude::*;

fn model_accepts(seen: &BTreeSet<u64>, width: u64, ctr: u64) -> bool {
    match seen.last() {
        None => true,
        Some(&highest) => !seen.contains(&ctr) && (ctr > highest || highest - ctr < width),
    }
}

proptest! {
    #[test]
    fn window_matches_the_model(
        width in 1usize..=192,
        steps in proptest::collection::vec((0u64..400, any::<bool>()), 1..300),
    ) {
        let mut window = ReplayWindow::<3>::with_width(width).expect("width");
        let mut seen = BTreeSet::new();
        for (ctr, authentic) in steps {
            let expected = model_accepts(&seen, width as u64, ctr);
            let checked = window.check(Counter(ctr));
            prop_assert_eq!(checked.is_ok(), expected, "ctr {}", ctr);
            if !expected {
                prop_assert_eq!(checked, Err(Error::Replayed));
            }
            // Only authentic frames are recorded; a forged one changes
            // nothing.
            if expected && authentic {
                window.record(Counter(ctr));
                seen.insert(ctr);
            }
            prop_assert_eq!(window.highest().map(|c| c.0), seen.last().copied());
        }
    }
}
