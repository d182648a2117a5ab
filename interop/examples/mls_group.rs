//! SFrame keyed by a real MLS group (RFC 9605 §5.2, with `openmls`).
//!
//! Alice, Bob and Carol form a group and exchange media frames; Dave joins
//! (a new epoch) and everyone still decrypts everyone; Carol is removed (a
//! new epoch) and cannot decrypt anything sent afterwards.
//!
//! Run with `cargo run -p framecrypt-interop --example mls_group`. Every
//! line says what happened and, for frames, which KID (context | sender
//! index | epoch bits) it carried, so the output can be checked by eye; the
//! example exits with an error if any outcome differs from what the RFC
//! requires.

#[path = "support/mls_member.rs"]
mod mls_member;

use std::process::ExitCode;

use framecrypt::{Header, MlsKidLayout};
use mls_member::{EPOCH_BITS, Member, SFRAME_SUITE};

/// Each of `members` sends one frame that every other member must decrypt
/// and `removed`, if given, must not; prints each outcome and returns how
/// many were wrong.
fn exchange(members: &mut [&mut Member], removed: Option<&mut Member>, now: u64) -> usize {
    let mut wrong = 0;
    let frames: Vec<(String, Vec<u8>)> = members
        .iter_mut()
        .map(|m| {
            let text = format!("hello from {} in epoch {}", m.name, m.epoch());
            (m.name.to_owned(), m.send(&text))
        })
        .collect();
    for (from, frame) in &frames {
        let kid = Header::parse(frame).map(|h| h.kid()).expect("header");
        for member in members.iter_mut().filter(|m| m.name != from) {
            let epoch = member.epoch();
            let layout = member.epochs.layout(epoch).expect("current epoch");
            let fields = layout.fields(kid);
            match member.receive(now, frame) {
                Ok(text) => println!(
                    "  {:>5} <- {from:<5} KID {kid} (index {}, epoch bits {}): {text:?}",
                    member.name, fields.sender_index, fields.epoch_bits
                ),
                Err(e) => {
                    println!(
                        "  {:>5} <- {from:<5} KID {kid}: UNEXPECTED {e}",
                        member.name
                    );
                    wrong += 1;
                }
            }
        }
    }
    if let Some(outsider) = removed {
        for (from, frame) in &frames {
            let kid = Header::parse(frame).map(|h| h.kid()).expect("header");
            match outsider.receive(now, frame) {
                Err(e) => println!(
                    "  {:>5} <- {from:<5} KID {kid}: rejected as required ({e})",
                    outsider.name
                ),
                Ok(text) => {
                    println!(
                        "  {:>5} <- {from:<5} KID {kid}: DECRYPTED {text:?} (must not)",
                        outsider.name
                    );
                    wrong += 1;
                }
            }
        }
    }
    wrong
}

fn main() -> ExitCode {
    println!(
        "SFrame suite {SFRAME_SUITE}, E = {EPOCH_BITS} epoch bits; \
         base_key = MLS-Exporter(\"SFrame 1.0 Base Key\", \"\", Nk = {})",
        SFRAME_SUITE.key_len()
    );
    let mut alice = Member::new("alice");
    let mut bob = Member::new("bob");
    let mut carol = Member::new("carol");
    let mut dave = Member::new("dave");
    let mut wrong = 0;

    alice.create_group(0);
    let (_, welcome) = alice.add(&[bob.key_package(), carol.key_package()], 100);
    bob.join(welcome.clone(), 100);
    carol.join(welcome, 100);
    let layout = alice
        .epochs
        .layout(alice.epoch())
        .map(MlsKidLayout::sender_bits);
    println!(
        "\nepoch {}: alice, bob, carol (indices {}, {}, {}; S = {:?})",
        alice.epoch(),
        alice.index(),
        bob.index(),
        carol.index(),
        layout.unwrap_or_default()
    );
    wrong += exchange(&mut [&mut alice, &mut bob, &mut carol], None, 200);

    let (commit, welcome) = alice.add(&[dave.key_package()], 300);
    bob.process(&commit, 300);
    carol.process(&commit, 300);
    dave.join(welcome, 300);
    println!(
        "\nepoch {}: dave joins at index {}; bob keeps epochs {:?}",
        alice.epoch(),
        dave.index(),
        (1..=alice.epoch())
            .filter(|e| bob.epochs.has_epoch(*e))
            .collect::<Vec<_>>()
    );
    wrong += exchange(
        &mut [&mut alice, &mut bob, &mut carol, &mut dave],
        None,
        400,
    );

    let commit = alice.remove(carol.index(), 500);
    bob.process(&commit, 500);
    dave.process(&commit, 500);
    let outcome = carol.process(&commit, 500);
    println!(
        "\nepoch {}: carol removed ({outcome:?}); carol's newest epoch stays {:?}, \
         her group can no longer export: {:?}",
        alice.epoch(),
        carol.epochs.newest_epoch().unwrap_or_default(),
        carol.enter_current_epoch(500).err()
    );
    wrong += exchange(
        &mut [&mut alice, &mut bob, &mut dave],
        Some(&mut carol),
        600,
    );

    println!();
    for member in [&alice, &bob, &dave] {
        let per_sender: Vec<String> = (0..4)
            .filter_map(|i| member.epochs.stats(i).map(|s| format!("#{i}: {} ok", s.ok)))
            .collect();
        println!("  {:>5} counters: {}", member.name, per_sender.join(", "));
    }
    let unattributed = carol.epochs.unattributed_stats();
    println!(
        "  carol counters: {} frames of unknown epochs",
        unattributed.unknown_key_id
    );
    if wrong == 0 {
        println!("\nall outcomes as RFC 9605 §5.2 requires");
        ExitCode::SUCCESS
    } else {
        println!("\n{wrong} outcomes differ from what RFC 9605 §5.2 requires");
        ExitCode::FAILURE
    }
}
