//! Encrypts a frame under every cipher suite, shows what goes on the wire,
//! decrypts it, and shows that a tampered frame is rejected.
//!
//! Run: `cargo run --release --example encrypt_decrypt`

use framecrypt::prelude::*;
use framecrypt::{
    BaseKey, CipherSuite, Counter, Error, Header, KeyId, Receiver, Sender, VecKeyStore,
};

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn main() -> Result<(), Error> {
    // In a real call the base key comes from MLS or a key exchange; this
    // one is the RFC 9605 Appendix C test key.
    let base_key_bytes = [
        0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e,
        0x0f,
    ];
    let kid = KeyId(0x123);
    let plaintext = b"an encoded video frame";
    let metadata = b"rtp-ssrc:1234"; // authenticated, not sent

    println!(
        "plaintext: {} bytes, metadata: {} bytes",
        plaintext.len(),
        metadata.len()
    );
    let mut failures = 0;
    for suite in CipherSuite::ALL {
        // The sender resumes at CTR 0x4567, as the RFC vectors do.
        // Sender and receiver each hold their copy of the key, as two
        // participants would.
        let mut sender =
            Sender::resume(suite, kid, BaseKey::new(&base_key_bytes)?, Counter(0x4567));
        let mut receiver = Receiver::<VecKeyStore>::new();
        receiver.add_key(suite, kid, BaseKey::new(&base_key_bytes)?)?;

        let frame = sender.seal_to_vec(metadata, plaintext)?;
        let header = Header::parse(&frame)?;

        // The tampered copy goes first: once the genuine frame is accepted,
        // its counter is spent and any copy of it reads as a replay.
        let mut tampered = frame.clone();
        let last = tampered.len() - 1;
        tampered[last] ^= 0x01;
        let tamper_rejected =
            receiver.open_to_vec(metadata, &tampered) == Err(Error::AuthenticationFailed);
        let (_, decrypted) = receiver.open_to_vec(metadata, &frame)?;
        let replay_rejected = receiver.open_to_vec(metadata, &frame) == Err(Error::Replayed);

        let ok = decrypted == plaintext && tamper_rejected && replay_rejected;
        failures += usize::from(!ok);
        println!();
        println!("{suite} (0x{:04x})", suite.id());
        println!(
            "  header     {} (KID {}, CTR {}, {} bytes)",
            hex(header.as_bytes()),
            header.kid(),
            header.ctr(),
            header.len()
        );
        println!(
            "  frame      {} bytes = header {} + payload {} + tag {}",
            frame.len(),
            header.len(),
            plaintext.len(),
            suite.tag_len()
        );
        println!("  ciphertext {}", hex(&frame));
        let verdict = |rejected| if rejected { "rejected" } else { "ACCEPTED" };
        println!(
            "  round trip {}, tampered frame {}, replayed frame {}",
            if decrypted == plaintext {
                "ok"
            } else {
                "MISMATCH"
            },
            verdict(tamper_rejected),
            verdict(replay_rejected)
        );
    }
    println!();
    if failures == 0 {
        println!(
            "all {} suites: round trip ok, tampering and replay detected",
            CipherSuite::ALL.len()
        );
        Ok(())
    } else {
        eprintln!("{failures} suite(s) failed");
        std::process::exit(1);
    }
}
