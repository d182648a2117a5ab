//! Key distribution without MLS (feature `distribute`): Alice sends to a
//! roster of five; Frank joins, Carol leaves, Dave leaves with a grace
//! period, and Bob reloads his page while the relay replays an old
//! announcement. Each step prints who could decrypt which frame, and a
//! table at the end.
//!
//! Run with `cargo run --example roster --features distribute`. The
//! example exits with an error if any outcome differs from what the scheme
//! promises (the joiner reads nothing from before it joined, a departed
//! member nothing from after it left, everyone else everything) and ends
//! with a one-line verdict.

use std::process::ExitCode;

use framecrypt::distribute::{
    Freshness, Identity, KeyAnnouncement, KeyDistributor, Participant, Session,
};
use framecrypt::prelude::*;
use framecrypt::{CipherSuite, Error, RatchetBits, RatchetingReceiver};
use getrandom::SysRng;
use rand_core::UnwrapErr;

const NAMES: [&str; 5] = ["bob", "carol", "dave", "erin", "frank"];

/// A participant receiving Alice's media.
struct Member {
    name: &'static str,
    identity: Identity,
    receiver: RatchetingReceiver,
    /// The highest roster version installed (a real client persists it
    /// with its identity).
    roster_version: u64,
}

impl Member {
    fn participant(&self) -> Participant {
        Participant::new(self.name.as_bytes(), self.identity.public_key()).expect("short ID")
    }
}

struct Demo {
    session: Session,
    alice: Participant,
    members: Vec<Member>,
    /// (frame label, member, decrypted?) for the table.
    outcomes: Vec<(&'static str, &'static str, bool)>,
    checks: usize,
    wrong: usize,
}

impl Demo {
    fn check(&mut self, ok: bool, line: &str) {
        self.checks += 1;
        if ok {
            println!("  {line}");
        } else {
            self.wrong += 1;
            println!("  {line}   <-- WRONG");
        }
    }

    /// Delivers each announcement to its recipient.
    fn deliver(&mut self, announcements: &[KeyAnnouncement], now: u64) {
        for announcement in announcements {
            let member = self
                .members
                .iter_mut()
                .find(|m| m.name.as_bytes() == announcement.recipient_id())
                .expect("a known member");
            let freshness = Freshness {
                now_ms: now,
                min_roster_version: member.roster_version,
            };
            let result = self
                .session
                .open_announcement(
                    announcement.as_bytes(),
                    member.name.as_bytes(),
                    &member.identity,
                    &self.alice,
                    freshness,
                )
                .and_then(|key| {
                    let version = key.roster_version();
                    key.install(&mut member.receiver, now)?;
                    member.roster_version = member.roster_version.max(version);
                    Ok(())
                });
            let name = member.name;
            let line = match result {
                Ok(()) => format!(
                    "{name:<5} installed generation {} step {} ({} bytes sealed)",
                    announcement.generation(),
                    announcement.step(),
                    announcement.as_bytes().len()
                ),
                Err(e) => format!("{name:<5} refused its announcement: {e}"),
            };
            self.check(result.is_ok(), &line);
        }
    }

    /// Offers `frame` to every member; `readers` must decrypt it and only
    /// they.
    fn offer(&mut self, label: &'static str, frame: &[u8], now: u64, readers: &[&str]) {
        let kid = framecrypt::Header::parse(frame).expect("header").kid();
        println!("frame {label} (KID {kid}):");
        for i in 0..self.members.len() {
            let member = &mut self.members[i];
            let name = member.name;
            let result = member.receiver.at(now).open_to_vec(b"", frame);
            let expected = readers.contains(&name);
            let line = match &result {
                Ok((_, text)) => format!("{name:<5} decrypted {:?}", String::from_utf8_lossy(text)),
                Err(e) => format!("{name:<5} could not decrypt: {e}"),
            };
            self.check(result.is_ok() == expected, &line);
            self.outcomes.push((label, name, result.is_ok()));
        }
    }

    /// `member` tries an announcement meant for someone else.
    fn intercept(&mut self, name: &str, announcement: &KeyAnnouncement) {
        let member = self
            .members
            .iter()
            .find(|m| m.name == name)
            .expect("member");
        let result = self.session.open_announcement(
            announcement.as_bytes(),
            name.as_bytes(),
            &member.identity,
            &self.alice,
            Freshness {
                now_ms: announcement.issued_at_ms(),
                min_roster_version: member.roster_version,
            },
        );
        let to = String::from_utf8_lossy(announcement.recipient_id());
        let line = match &result {
            Ok(_) => format!("{name:<5} opened the announcement for {to}"),
            Err(e) => format!("{name:<5} cannot open the announcement for {to}: {e}"),
        };
        self.check(result.is_err(), &line);
    }

    /// `name` retries an old frame it must not be able to read.
    fn retry(&mut self, name: &str, label: &str, frame: &[u8], now: u64) {
        let member = self
            .members
            .iter_mut()
            .find(|m| m.name == name)
            .expect("member");
        let result = member.receiver.at(now).open_to_vec(b"", frame);
        let line = match &result {
            Ok(_) => format!("{name:<5} decrypted {label}, sent before it joined"),
            Err(e) => format!("{name:<5} cannot decrypt {label}, sent before it joined: {e}"),
        };
        self.check(result.is_err(), &line);
    }
}

fn send(alice: &mut KeyDistributor, now: u64, text: &str) -> Vec<u8> {
    alice
        .at(now)
        .seal_to_vec(b"", text.as_bytes())
        .expect("encrypt")
}

fn main() -> Result<ExitCode, Error> {
    let mut rng = UnwrapErr(SysRng);
    let suite = CipherSuite::Aes128GcmSha256_128;
    let session = Session::new(b"weekly-sync", suite, RatchetBits::new(8)?)?;

    let alice_identity = Identity::generate(&mut rng);
    let alice = Participant::new(b"alice", alice_identity.public_key())?;
    let members: Vec<Member> = NAMES
        .iter()
        .map(|&name| Member {
            name,
            identity: Identity::generate(&mut rng),
            receiver: session.receiver(),
            roster_version: 0,
        })
        .collect();
    let mut demo = Demo {
        session: session.clone(),
        alice,
        members,
        outcomes: Vec::new(),
        checks: 0,
        wrong: 0,
    };

    println!("== start: alice, bob, carol, dave, erin (frank is not here yet)");
    let roster = demo.members[..4].iter().map(Member::participant).collect();
    // Times are milliseconds on a shared wall clock; roster versions number
    // the roster changes (the start is 1).
    let (mut sender, announcements) =
        KeyDistributor::start(session, b"alice", &alice_identity, roster, 1, 0, &mut rng)?;
    demo.deliver(&announcements, 0);
    // What the relay could replay later: Bob's first announcement.
    let bobs_first = announcements[0].clone();
    let f1 = send(&mut sender, 100, "f1: welcome");
    demo.offer("f1", &f1, 100, &["bob", "carol", "dave", "erin"]);

    println!("== frank joins: alice ratchets one step and seals it to frank only");
    let frank = demo.members[4].participant();
    let announcement = sender.join(&alice_identity, frank, 2, 200, &mut rng)?;
    demo.deliver(&[announcement], 200);
    demo.retry("frank", "f1", &f1, 200);
    let f2 = send(&mut sender, 300, "f2: hello frank");
    demo.offer("f2", &f2, 300, &["bob", "carol", "dave", "erin", "frank"]);

    println!("== carol leaves: a fresh key, generation 1, sealed to the others only");
    let announcements = sender.leave(&alice_identity, b"carol", 3, 400, &mut rng)?;
    for announcement in &announcements {
        demo.intercept("carol", announcement);
    }
    demo.deliver(&announcements, 400);
    let f3 = send(&mut sender, 500, "f3: carol has left");
    demo.offer("f3", &f3, 500, &["bob", "dave", "erin", "frank"]);

    println!("== dave leaves, with a 300 ms grace period before the switch");
    sender.set_activation_delay(300);
    let announcements = sender.leave(&alice_identity, b"dave", 4, 600, &mut rng)?;
    for announcement in &announcements {
        demo.intercept("dave", announcement);
    }
    demo.deliver(&announcements, 600);
    let f4 = send(&mut sender, 700, "f4: still the old key");
    println!(
        "  (generation {} in use, generation {} from {} ms)",
        sender.generation(),
        sender.announced_key_id().0,
        sender.pending_activation().unwrap_or_default()
    );
    // The price of the grace period (RFC 9605 §7.3): dave still reads f4.
    demo.offer("f4", &f4, 700, &["bob", "dave", "erin", "frank"]);
    let switched = sender.poll(900);
    demo.check(
        switched,
        &format!(
            "alice switched to generation {} at 900 ms: send a key frame",
            sender.generation()
        ),
    );
    let f5 = send(&mut sender, 950, "f5: dave has left");
    demo.offer("f5", &f5, 950, &["bob", "erin", "frank"]);

    println!("== bob reloads his page; the relay replays his first announcement");
    let bob = &mut demo.members[0];
    bob.receiver = demo.session.receiver(); // lost; his roster version was persisted
    let freshness = Freshness {
        now_ms: 1_000,
        min_roster_version: bob.roster_version,
    };
    let replayed = demo.session.open_announcement(
        bobs_first.as_bytes(),
        b"bob",
        &bob.identity,
        &demo.alice,
        freshness,
    );
    let line = match &replayed {
        Ok(_) => "bob   accepted the replayed generation-0 key (carol and dave hold it)".to_owned(),
        Err(e) => format!("bob   refused the replayed announcement: {e}"),
    };
    demo.check(replayed.is_err(), &line);
    let again = sender.reannounce(&alice_identity, b"bob", 1_000, &mut rng)?;
    demo.deliver(&again, 1_000);
    let f6 = send(&mut sender, 1_050, "f6: welcome back, bob");
    demo.offer("f6", &f6, 1_050, &["bob", "erin", "frank"]);

    println!();
    println!("who decrypted what:");
    let frames = ["f1", "f2", "f3", "f4", "f5", "f6"];
    println!("  {:<6}{}", "", frames.join("  "));
    for name in NAMES {
        let row: Vec<&str> = frames
            .iter()
            .map(|frame| {
                let ok = demo
                    .outcomes
                    .iter()
                    .any(|&(f, n, ok)| f == *frame && n == name && ok);
                if ok { "yes" } else { " - " }
            })
            .collect();
        println!("  {name:<6}{}", row.join(" ").trim_end());
    }
    println!();
    if demo.wrong == 0 {
        println!("verdict: all {} outcomes as expected", demo.checks);
        Ok(ExitCode::SUCCESS)
    } else {
        println!("verdict: {} of {} outcomes WRONG", demo.wrong, demo.checks);
        Ok(ExitCode::FAILURE)
    }
}
