//! A native stand-in for a browser participant, speaking exactly the
//! signalling contract of `conference/README.md` to a running demo
//! (`--signal`): it fetches `/session`, joins with its own identity and an
//! SDP offer (sending VP8, receiving every native member's video), opens
//! the native members' sealed keys from `/poll`, announces its own key
//! through `/announce`, publishes protected VP8 frames, opens what it
//! receives, and finally checks through `/report` that native members
//! opened its frames byte-exact.
//!
//! It opens sockets, so CI runs it inside a network namespace
//! (`scripts/ci-conference.sh`): `cargo test -p conference --release
//! --test browser_contract -- --ignored`.
#![allow(
    clippy::unwrap_used,
    clippy::std_instead_of_core,
    clippy::std_instead_of_alloc,
    missing_docs
)]

use std::collections::{HashMap, HashSet};
use std::io::{BufRead, BufReader};
use std::net::UdpSocket;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use framecrypt::codec::{Codec, Fallback, Protection, max_protected_len};
use framecrypt::distribute::{
    Freshness, Identity, IdentityPublicKey, KeyDistributor, Participant, Session,
};
use framecrypt::prelude::*;
use framecrypt::{CipherSuite, RatchetBits, RatchetingReceiver};
use rand_core::SeedableRng;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use str0m::change::SdpAnswer;
use str0m::media::{Direction, MediaKind, MediaTime, Mid};
use str0m::net::{Protocol, Receive};
use str0m::{Candidate, Event, Input, Output, RtcConfig};

fn sample_vp8() -> Vec<Vec<u8>> {
    let file = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../tests/data/media/vp8.ivf"
    ))
    .unwrap();
    let mut pos = 32;
    let mut frames = Vec::new();
    while pos + 12 <= file.len() {
        let len = u32::from_le_bytes(file[pos..pos + 4].try_into().unwrap()) as usize;
        frames.push(file[pos + 12..pos + 12 + len].to_vec());
        pos += 12 + len;
    }
    frames
}

fn get(url: &str) -> Value {
    ureq::get(url)
        .call()
        .unwrap()
        .body_mut()
        .read_json()
        .unwrap()
}

fn post(url: &str, body: &Value) -> Value {
    ureq::post(url)
        .send_json(body)
        .unwrap()
        .body_mut()
        .read_json()
        .unwrap()
}

fn hex32(s: &str) -> [u8; 32] {
    hex::decode(s).unwrap().try_into().unwrap()
}

#[test]
#[ignore = "opens sockets: run inside a network namespace (scripts/ci-conference.sh)"]
fn a_stand_in_browser_joins_publishes_and_reads_natives() {
    str0m::crypto::from_feature_flags().install_process_default();
    let mut child = Command::new(env!("CARGO_BIN_EXE_conference"))
        .args([
            "--participants",
            "3",
            "--seconds",
            "9",
            "--seed",
            "5",
            "--signal",
            "127.0.0.1:0",
        ])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let (line_tx, line_rx) = mpsc::channel();
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = line_tx.send(line);
        }
    });
    let mut output = Vec::new();
    let base = loop {
        let line = line_rx.recv_timeout(Duration::from_secs(10)).unwrap();
        output.push(line.clone());
        if let Some(rest) = line.split("signalling for browsers on ").nth(1) {
            break rest.split_whitespace().next().unwrap().to_owned();
        }
    };

    // GET /session: who is there, under which session parameters.
    let session_json = get(&format!("{base}/session"));
    let suite =
        CipherSuite::from_id(u16::try_from(session_json["suite"].as_u64().unwrap()).unwrap())
            .unwrap();
    let bits =
        RatchetBits::new(u32::try_from(session_json["ratchet_bits"].as_u64().unwrap()).unwrap())
            .unwrap();
    let session = Session::new(
        &hex::decode(session_json["session_id"].as_str().unwrap()).unwrap(),
        suite,
        bits,
    )
    .unwrap();
    assert_eq!(session_json["codec"], "vp8");
    let natives: Vec<(Vec<u8>, Participant)> = session_json["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            let id = hex::decode(m["id"].as_str().unwrap()).unwrap();
            let key =
                IdentityPublicKey::from_bytes(hex32(m["identity"].as_str().unwrap())).unwrap();
            (id.clone(), Participant::new(&id, key).unwrap())
        })
        .collect();
    assert!(natives.len() >= 2, "{session_json}");

    // An endpoint that sends VP8 and receives one video per native member.
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    let local = socket.local_addr().unwrap();
    let mut rtc = RtcConfig::new()
        .clear_codecs()
        .enable_vp8(true)
        .build(Instant::now());
    rtc.add_local_candidate(Candidate::host(local, "udp").unwrap());
    let mut api = rtc.sdp_api();
    let send_mid = api.add_media(MediaKind::Video, Direction::SendOnly, None, None, None);
    let recv_mids: Vec<Mid> = natives
        .iter()
        .map(|_| api.add_media(MediaKind::Video, Direction::RecvOnly, None, None, None))
        .collect();
    let (offer, pending) = api.apply().unwrap();

    // POST /join.
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(11);
    let identity = Identity::generate(&mut rng);
    let joined = post(
        &format!("{base}/join"),
        &json!({"name": "browser", "identity": hex::encode(identity.public_key().to_bytes()), "offer": offer.to_sdp_string()}),
    );
    let my_id = hex::decode(joined["id"].as_str().unwrap()).unwrap();
    let answer = SdpAnswer::from_sdp_string(joined["answer"].as_str().unwrap()).unwrap();
    rtc.sdp_api().accept_answer(pending, answer).unwrap();

    // Its own key, sealed to every native member, through /announce.
    let roster: Vec<Participant> = natives.iter().map(|(_, p)| p.clone()).collect();
    // Dated by the wall clock and the roster version of our join, as a
    // browser does (`Date.now()`, /join's roster_version).
    let roster_version = joined["roster_version"].as_u64().unwrap();
    let (mut dist, announcements) = KeyDistributor::start(
        session.clone(),
        &my_id,
        &identity,
        roster,
        roster_version,
        wall_ms(),
        &mut rng,
    )
    .unwrap();
    let list: Vec<Value> = announcements
        .iter()
        .map(|a| json!({"to": hex::encode(a.recipient_id()), "data": hex::encode(a.as_bytes())}))
        .collect();
    let delivered = post(
        &format!("{base}/announce"),
        &json!({"from": hex::encode(&my_id), "announcements": list}),
    );
    assert_eq!(delivered["delivered"].as_u64(), Some(natives.len() as u64));

    // Receivers for the natives, keyed by /poll's announcements (a
    // thread, since /poll waits up to a second).
    // Each announcement comes with its sender's identity from `members`.
    let (ann_tx, ann_rx) = mpsc::channel::<(Vec<u8>, Vec<u8>, [u8; 32])>();
    let poll_url = format!("{base}/poll?id={}", hex::encode(&my_id));
    std::thread::spawn(move || {
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(8) {
            let Ok(mut r) = ureq::get(&poll_url).call() else {
                return;
            };
            let v: Value = r.body_mut().read_json().unwrap();
            for a in v["announcements"].as_array().unwrap() {
                let from = a["from"].as_str().unwrap();
                let members = v["members"].as_array().unwrap();
                let Some(member) = members.iter().find(|m| m["id"] == from) else {
                    continue; // left since
                };
                let key = hex32(member["identity"].as_str().unwrap());
                let data = hex::decode(a["data"].as_str().unwrap()).unwrap();
                let _ = ann_tx.send((hex::decode(from).unwrap(), data, key));
            }
        }
    });
    let mut receivers: HashMap<Vec<u8>, RatchetingReceiver<4, 2>> = HashMap::new();

    let frames = sample_vp8();
    let plain: HashSet<[u8; 32]> = frames.iter().map(|f| Sha256::digest(f).into()).collect();
    let vp8 = Protection::new(Codec::Vp8, Fallback::Reject);
    let mut sent_hashes = HashSet::new();
    let mut opened = 0u64;
    let mut opened_wrong = 0u64;
    let mut connected = false;
    let mut next_frame = Instant::now();
    let mut k = 0usize;
    let start = Instant::now();
    let mut buf = vec![0u8; 2000];
    socket
        .set_read_timeout(Some(Duration::from_millis(5)))
        .unwrap();
    while start.elapsed() < Duration::from_secs(6) {
        while let Ok((from, bytes, key)) = ann_rx.try_recv() {
            let sender =
                Participant::new(&from, IdentityPublicKey::from_bytes(key).unwrap()).unwrap();
            let fresh = Freshness {
                now_ms: wall_ms(),
                min_roster_version: 0,
            };
            let key = session
                .open_announcement(&bytes, &my_id, &identity, &sender, fresh)
                .unwrap();
            let rx = receivers.entry(from).or_insert_with(|| session.receiver());
            key.install(rx, wall_ms()).unwrap();
        }
        let now = Instant::now();
        if connected && now >= next_frame {
            let frame = &frames[k % frames.len()];
            let mut out = vec![0; max_protected_len(Codec::Vp8, suite, frame.len())];
            let done = vp8
                .protect(&mut dist.at(wall_ms()), frame, &mut out)
                .unwrap();
            out.truncate(done.len());
            sent_hashes.insert(<[u8; 32]>::from(Sha256::digest(frame)));
            let writer = rtc.writer(send_mid).unwrap();
            let pt = writer.payload_params().next().unwrap().pt();
            writer
                .write(
                    pt,
                    now,
                    MediaTime::from_90khz(6000 * u64::try_from(k).unwrap()),
                    out,
                )
                .unwrap();
            k += 1;
            next_frame += Duration::from_millis(66);
        }
        rtc.handle_input(Input::Timeout(Instant::now())).unwrap();
        loop {
            match rtc.poll_output().unwrap() {
                Output::Timeout(_) => break,
                Output::Transmit(t) => {
                    socket.send_to(&t.contents, t.destination).unwrap();
                }
                Output::Event(Event::Connected) => {
                    connected = true;
                    next_frame = Instant::now();
                }
                Output::Event(Event::MediaData(d)) => {
                    let i = recv_mids.iter().position(|m| *m == d.mid).unwrap();
                    let Some(rx) = receivers.get_mut(&natives[i].0) else {
                        continue;
                    };
                    let mut out = vec![0; d.data.len()];
                    if let Ok(done) = vp8.unprotect(&mut rx.at(wall_ms()), &d.data, &mut out) {
                        let h: [u8; 32] = Sha256::digest(&out[..done.len()]).into();
                        if plain.contains(&h) {
                            opened += 1;
                        } else {
                            opened_wrong += 1;
                        }
                    }
                }
                Output::Event(_) => {}
            }
        }
        if let Ok((n, source)) = socket.recv_from(&mut buf)
            && let Ok(contents) = buf[..n].try_into()
        {
            let _ = rtc.handle_input(Input::Receive(
                Instant::now(),
                Receive {
                    proto: Protocol::Udp,
                    source,
                    destination: local,
                    contents,
                },
            ));
        }
    }

    // GET /report: native members opened this browser's frames, exactly.
    let report = get(&format!("{base}/report"));
    let mine = hex::encode(&my_id);
    let mut natives_opened = 0;
    for (_, by_sender) in report.as_object().unwrap() {
        for h in by_sender[&mine].as_array().into_iter().flatten() {
            assert!(
                sent_hashes.contains(&hex32(h.as_str().unwrap())),
                "a native opened bytes this browser never sent"
            );
            natives_opened += 1;
        }
    }
    let status = child.wait().unwrap();
    output.extend(line_rx.try_iter());
    let text = output.join("\n");
    assert!(k > 20, "sent only {k} frames\n{text}");
    assert!(
        natives_opened > 5,
        "natives opened {natives_opened} of the browser's frames\n{text}"
    );
    assert!(
        opened > 5,
        "the browser opened {opened} native frames\n{text}"
    );
    assert_eq!(opened_wrong, 0);
    assert!(status.success(), "the demo failed\n{text}");
}

/// Unix time in milliseconds, the clock announcements are dated by.
fn wall_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}
