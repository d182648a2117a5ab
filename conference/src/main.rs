//! A real SFrame-encrypted call over WebRTC through an SFU that cannot
//! read it: participants are str0m endpoints on 127.0.0.1, media are the
//! committed samples (protected per frame with framecrypt's codec-aware
//! layout), keys change as members join and leave, and every frame's
//! fate is checked. See `conference/README.md`.

// A program, not a `no_std` library: std paths read better here.
#![allow(clippy::std_instead_of_core, clippy::std_instead_of_alloc)]

mod call;
mod e2ee;
mod janus;
mod media;
mod net;
mod participant;
mod report;
mod sfu;
mod signal;

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::{Arc, mpsc};
use std::thread;
use std::time::{Duration, Instant};

use clap::Parser;
use rand_chacha::ChaCha20Rng;
use rand_core::{Rng, SeedableRng};

use call::{Control, Live, Shared, Up};
use e2ee::{CallParams, Change, E2ee, MemberInfo, Outgoing, Peer};
use media::VideoCodec;
use participant::{ParticipantConfig, ParticipantReport};

/// Which SFU carries the call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SfuChoice {
    /// The in-process str0m SFU.
    Embedded,
    /// A Janus VideoRoom at this HTTP API URL.
    Janus(String),
}

fn parse_sfu(s: &str) -> Result<SfuChoice, String> {
    if s == "embedded" {
        return Ok(SfuChoice::Embedded);
    }
    match s.strip_prefix("janus=") {
        Some(url) if url.starts_with("http://") => {
            Ok(SfuChoice::Janus(url.trim_end_matches('/').to_owned()))
        }
        _ => Err("expected `embedded` or `janus=http://HOST:PORT/janus`".into()),
    }
}

/// A real SFrame-encrypted WebRTC call through an SFU that cannot read it.
#[derive(Parser, Debug)]
#[command(version, about, long_about = None)]
struct Args {
    /// Participants in the call, the late joiner included (at least 3).
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u16).range(3..=100))]
    participants: u16,
    /// Length of the call in seconds.
    #[arg(long, default_value_t = 10.0)]
    seconds: f64,
    /// Video codec (the sample in tests/data/media/).
    #[arg(long, value_enum, default_value_t = VideoCodec::Vp8)]
    codec: VideoCodec,
    /// SFrame cipher suite: 1..=8 or its name.
    #[arg(long, default_value = "4", value_parser = e2ee::parse_suite)]
    suite: u16,
    /// Keys from an openmls group instead of HPKE-sealed sender keys.
    #[arg(long)]
    mls: bool,
    /// `embedded` or `janus=http://127.0.0.1:8088/janus`.
    #[arg(long, default_value = "embedded", value_parser = parse_sfu)]
    sfu: SfuChoice,
    /// Percentage of RTP packets the SFU drops (and as many it reorders).
    #[arg(long, default_value_t = 0.0)]
    loss: f64,
    /// Seed of the schedule, the keys' randomness and the loss pattern.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Write each receiver's decrypted media and what the SFU forwarded
    /// into this folder (IVF / Annex B video, Ogg Opus audio).
    #[arg(long)]
    record: Option<PathBuf>,
    /// Accept browser participants: serve the signalling API (plain
    /// HTTP/1.1, JSON; see conference/README.md) on this address, e.g.
    /// 127.0.0.1:8480. Embedded SFU and HPKE keys only.
    #[arg(long)]
    signal: Option<String>,
    /// With --signal: serve the static files of this folder too.
    #[arg(long, requires = "signal")]
    www: Option<PathBuf>,
}

/// When things happen, ms into the call.
#[derive(Debug, Clone)]
struct Schedule {
    joiner: Peer,
    join_ms: u64,
    leaver: Peer,
    leave_ms: u64,
    forge_ms: u64,
    replay_ms: u64,
    victim: Peer,
}

impl Schedule {
    fn new(n: usize, seconds: f64, rng: &mut ChaCha20Rng) -> Self {
        let total = millis(seconds);
        let at = |rng: &mut ChaCha20Rng, lo: f64, hi: f64| {
            let f = lo + (hi - lo) * (f64::from(rng.next_u32()) / f64::from(u32::MAX));
            millis(total as f64 * f / 1000.0)
        };
        let joiner = n - 1;
        // Not 0: with --mls, member 0 commits.
        let leaver = 1 + (rng.next_u32() as usize) % (n - 2);
        let victim = if leaver == 1 {
            0
        } else {
            rng.next_u32() as usize % 2
        };
        Self {
            joiner,
            join_ms: at(rng, 0.25, 0.35),
            forge_ms: at(rng, 0.40, 0.47),
            replay_ms: at(rng, 0.48, 0.55),
            leaver,
            leave_ms: at(rng, 0.60, 0.70),
            victim,
        }
    }
}

/// Has the SFU inject (embedded), or, through Janus, which cannot be made
/// to, puts the injection in front of every receiver of `victim`.
fn inject(
    shared: &Shared,
    janus: &Option<(String, u64, janus::Client)>,
    up: &mpsc::Sender<Up>,
    present: &[Peer],
    victim: Peer,
    forged: bool,
) {
    if janus.is_none() {
        let _ = up.send(if forged {
            Up::InjectForged(victim)
        } else {
            Up::InjectReplay(victim)
        });
        return;
    }
    for &p in present.iter().filter(|&&p| p != victim) {
        shared.router.send(
            p,
            if forged {
                Control::InjectForged(victim)
            } else {
                Control::InjectReplay(victim)
            },
        );
    }
}

/// Whole milliseconds in `seconds` (the command line keeps it in range).
#[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
fn millis(seconds: f64) -> u64 {
    (seconds * 1000.0).round() as u64
}

fn main() -> ExitCode {
    let args = Args::parse();
    match run(&args) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}

fn names(n: usize) -> Vec<String> {
    const NAMES: [&str; 26] = [
        "alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy", "ken",
        "liam", "mia", "nick", "olivia", "peggy", "quinn", "rupert", "sybil", "trent", "ursula",
        "victor", "wendy", "xavier", "yara", "zoe",
    ];
    (0..n)
        .map(|i| {
            if i < NAMES.len() {
                NAMES[i].to_owned()
            } else {
                format!("p{i}")
            }
        })
        .collect()
}

fn run(args: &Args) -> Result<bool, String> {
    net::init_crypto();
    let n = usize::from(args.participants);
    let mut rng = ChaCha20Rng::seed_from_u64(args.seed);
    let schedule = Schedule::new(n, args.seconds, &mut rng);
    let names = names(n);
    let mut session_id = vec![0u8; 16];
    rng.fill_bytes(&mut session_id);
    let params = CallParams {
        suite: args.suite,
        video: args.codec,
        session_id,
        wall_epoch_ms: wall_clock_ms(),
    };
    let tracks = (
        Arc::new(media::load_video(args.codec).map_err(|e| e.to_string())?),
        Arc::new(media::load_audio().map_err(|e| e.to_string())?),
    );
    if let Some(dir) = &args.record {
        std::fs::create_dir_all(dir.join("sfu")).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    let ffmpeg = report::have_ffmpeg();
    // The SFU's copy is always recorded when ffmpeg can check it.
    let scratch = std::env::temp_dir().join(format!("conference-{}", std::process::id()));
    let sfu_dir = match &args.record {
        Some(d) => Some(d.join("sfu")),
        None if ffmpeg => {
            std::fs::create_dir_all(&scratch).map_err(|e| e.to_string())?;
            Some(scratch.clone())
        }
        None => None,
    };

    println!(
        "framecrypt conference: {n} participants, {} + Opus, SFrame suite {}, keys by {}, SFU: {}, {} s, seed {}{}",
        args.codec.name(),
        e2ee::suite_name(args.suite),
        if args.mls {
            "an openmls group (RFC 9605 §5.2)"
        } else {
            "HPKE-sealed sender keys (RFC 9605 §5.1 ratchet)"
        },
        match &args.sfu {
            SfuChoice::Embedded => "embedded (str0m, holds no key)".to_owned(),
            SfuChoice::Janus(u) => format!("Janus VideoRoom at {u}"),
        },
        args.seconds,
        args.seed,
        if args.loss > 0.0 {
            format!(", {}% loss", args.loss)
        } else {
            String::new()
        },
    );
    println!(
        "schedule: {} joins at {:.1} s; SFU forges a frame of {} at {:.1} s and replays one at {:.1} s; {} leaves at {:.1} s and keeps listening",
        names[schedule.joiner],
        schedule.join_ms as f64 / 1000.0,
        names[schedule.victim],
        schedule.forge_ms as f64 / 1000.0,
        schedule.replay_ms as f64 / 1000.0,
        names[schedule.leaver],
        schedule.leave_ms as f64 / 1000.0
    );

    if args.signal.is_some() && (args.mls || args.sfu != SfuChoice::Embedded) {
        return Err("--signal needs the embedded SFU and HPKE keys (not --mls)".into());
    }
    let shared = Shared::new(n, Vec::new());
    for (i, name) in names.iter().enumerate() {
        call::lock(&shared.browser_names).insert(i, name.clone());
    }
    let (up_tx, up_rx) = mpsc::channel::<Up>();
    let janus_room = match &args.sfu {
        SfuChoice::Janus(url) => {
            let room = 1 + args.seed % 1_000_000;
            Some((
                url.clone(),
                room,
                janus::create_room(url, args.codec, n, room)?,
            ))
        }
        SfuChoice::Embedded => None,
    };
    let sfu_thread = match &args.sfu {
        SfuChoice::Embedded => {
            let (addr_tx, addr_rx) = mpsc::channel();
            let config = sfu::SfuConfig {
                video: args.codec,
                loss: args.loss,
                seed: args.seed,
                record: sfu_dir.clone(),
                names: names.clone(),
                tracks: tracks.clone(),
            };
            let s = shared.clone();
            let handle = thread::Builder::new()
                .name("sfu".into())
                .spawn(move || sfu::run(config, s, up_rx, addr_tx))
                .map_err(|e| e.to_string())?;
            addr_rx
                .recv_timeout(Duration::from_secs(5))
                .map_err(|_| "the SFU did not start")?;
            Some(handle)
        }
        SfuChoice::Janus(_) => None,
    };
    let plaintext: Arc<std::collections::HashSet<[u8; 32]>> = Arc::new(
        tracks
            .0
            .frames
            .iter()
            .chain(&tracks.1.frames)
            .map(|f| call::hash(&f.data))
            .collect(),
    );
    // Through Janus the SFU's copy is what receivers get before opening:
    // the first receiver of each sender records it.
    let bridges = std::sync::Mutex::new(Vec::new());

    // Identities and keys of everyone, the joiner included: the
    // directory a real deployment's login service would provide.
    let mut identities = Vec::new();
    let mut directory = Vec::new();
    for (i, name) in names.iter().enumerate() {
        let (identity, public) = e2ee::new_identity(&mut rng);
        identities.push(Some(identity));
        directory.push(MemberInfo {
            peer: i,
            id: name.clone().into_bytes(),
            identity: public,
        });
    }
    let initial: Vec<Peer> = (0..n).filter(|&p| p != schedule.joiner).collect();
    shared.set_members(initial.iter().map(|&p| directory[p].clone()).collect());
    let initial_roster = shared.next_roster_version();
    if let Some(addr) = &args.signal {
        let server = Arc::new(signal::Signal::new(
            params.clone(),
            shared.clone(),
            up_tx.clone(),
            args.www.clone(),
        ));
        let bound = signal::serve(addr, server)?;
        println!(
            "signalling for browsers on http://{bound} (GET /session, POST /join, GET /poll, POST /announce, GET /report)"
        );
    }
    let mut members: Vec<Option<(E2ee, Vec<Outgoing>)>> = (0..n).map(|_| None).collect();
    let mut joiner_package = None;
    if args.mls {
        let mut all = Vec::new();
        for info in &directory {
            let (e, package) = E2ee::new_mls(&params, info, &directory)?;
            all.push((e, package));
        }
        let now = shared.now_ms();
        all[0].0.create_group(now)?;
        for &p in initial.iter().skip(1) {
            let package = all[p].1.clone();
            let out = all[0].0.on_key_msg(
                e2ee::KeyMsg::MlsKeyPackage {
                    joiner: p,
                    bytes: package,
                },
                now,
            )?;
            let mut queue = out;
            while let Some(o) = queue.pop() {
                let more = all[o.to].0.on_key_msg(o.msg, now)?;
                queue.extend(more);
            }
        }
        for (p, (e, package)) in all.into_iter().enumerate() {
            if p == schedule.joiner {
                joiner_package = Some(package);
            }
            members[p] = Some((e, Vec::new()));
        }
    } else {
        for &p in &initial {
            let others: Vec<MemberInfo> = initial
                .iter()
                .filter(|&&o| o != p)
                .map(|&o| directory[o].clone())
                .collect();
            let identity = identities[p].take().ok_or("identity")?;
            let (e, out) = E2ee::start_hpke(
                &params,
                &directory[p],
                identity,
                &others,
                &directory,
                Change {
                    roster_version: initial_roster,
                    now_ms: shared.now_ms(),
                },
                &mut rng,
            )
            .map_err(|e| e.to_string())?;
            members[p] = Some((e, out));
        }
    }

    let mut handles: Vec<(Peer, thread::JoinHandle<Result<ParticipantReport, String>>)> =
        Vec::new();
    let spawn = |p: Peer,
                 e2ee: E2ee,
                 initial_out: Vec<Outgoing>,
                 late: bool,
                 rng: ChaCha20Rng|
     -> Result<thread::JoinHandle<Result<ParticipantReport, String>>, String> {
        let (tx, rx) = mpsc::channel();
        shared.router.add(p, tx);
        let up = match &janus_room {
            None => up_tx.clone(),
            Some((url, room, _)) => {
                let (btx, brx) = mpsc::channel();
                let (url, room, names, s, tx2) = (
                    url.clone(),
                    *room,
                    names.clone(),
                    shared.clone(),
                    btx.clone(),
                );
                let h = thread::Builder::new()
                    .name(format!("janus-{}", names[p]))
                    .spawn(move || janus::bridge(&url, room, p, &names, &s, &tx2, &brx))
                    .map_err(|e| e.to_string())?;
                bridges.lock().map_err(|_| "lock")?.push((btx.clone(), h));
                btx
            }
        };
        let raw_record = match (&janus_room, &sfu_dir) {
            (Some(_), Some(dir)) => {
                let senders: Vec<Peer> = if p == 0 {
                    (1..n).collect()
                } else if p == 1 {
                    vec![0]
                } else {
                    Vec::new()
                };
                Some((dir.clone(), senders))
            }
            _ => None,
        };
        let cfg = ParticipantConfig {
            peer: p,
            names: names.clone(),
            video: args.codec,
            tracks: tracks.clone(),
            e2ee,
            initial: initial_out,
            up,
            rx,
            shared: shared.clone(),
            record: args.record.clone(),
            late,
            rng,
            keep_hashes: args.signal.is_some(),
            raw_record,
            plaintext: plaintext.clone(),
        };
        thread::Builder::new()
            .name(names[p].clone())
            .spawn(move || participant::run(cfg))
            .map_err(|e| e.to_string())
    };
    // Register every initial member's channel before any starts, so that
    // the first announcements find their recipients.
    let mut pending = Vec::new();
    for &p in &initial {
        let (e, out) = members[p].take().ok_or("member")?;
        pending.push((p, e, out));
    }
    for (p, e, out) in pending {
        let child = ChaCha20Rng::seed_from_u64(args.seed.wrapping_mul(1000).wrapping_add(p as u64));
        handles.push((p, spawn(p, e, out, false, child)?));
    }
    let mut joiner_e2ee = members[schedule.joiner].take();

    let total = Duration::from_secs_f64(args.seconds);
    let start = Instant::now();
    let mut present: Vec<Peer> = initial.clone();
    let (mut joined, mut forged, mut replayed, mut left) = (false, false, false, false);
    let mut next_progress = start + Duration::from_secs(1);
    let live = &shared.live;
    while start.elapsed() < total {
        let ms = u64::try_from(start.elapsed().as_millis()).unwrap_or(0);
        if !joined && ms >= schedule.join_ms {
            joined = true;
            let j = schedule.joiner;
            let info = directory[j].clone();
            let roster_version = shared.next_roster_version();
            let (tx_e2ee, out) = if args.mls {
                let (e, _) = joiner_e2ee.take().ok_or("joiner")?;
                (e, Vec::new())
            } else {
                // Everyone present, browsers included, is in its roster.
                let others: Vec<MemberInfo> = shared.members();
                let mut known = directory.clone();
                known.extend(
                    others
                        .iter()
                        .filter(|m| shared.is_external(m.peer))
                        .cloned(),
                );
                let identity = identities[j].take().ok_or("identity")?;
                E2ee::start_hpke(
                    &params,
                    &info,
                    identity,
                    &others,
                    &known,
                    Change {
                        roster_version,
                        now_ms: shared.now_ms(),
                    },
                    &mut rng,
                )
                .map_err(|e| e.to_string())?
            };
            let child =
                ChaCha20Rng::seed_from_u64(args.seed.wrapping_mul(1000).wrapping_add(j as u64));
            handles.push((j, spawn(j, tx_e2ee, out, true, child)?));
            for &p in &present {
                shared
                    .router
                    .send(p, Control::Join(info.clone(), roster_version));
            }
            if let Some(package) = joiner_package.take() {
                shared.router.send(
                    0,
                    Control::Key(e2ee::KeyMsg::MlsKeyPackage {
                        joiner: j,
                        bytes: package,
                    }),
                );
            }
            present.push(j);
            shared.add_member(info.clone());
            shared.event(format!("{} joins", names[j]));
        }
        if !forged && ms >= schedule.forge_ms {
            forged = true;
            inject(
                &shared,
                &janus_room,
                &up_tx,
                &present,
                schedule.victim,
                true,
            );
            shared.event(format!("SFU forges a frame of {}", names[schedule.victim]));
        }
        if !replayed && ms >= schedule.replay_ms {
            replayed = true;
            inject(
                &shared,
                &janus_room,
                &up_tx,
                &present,
                schedule.victim,
                false,
            );
            shared.event(format!("SFU replays a frame of {}", names[schedule.victim]));
        }
        if !left && ms >= schedule.leave_ms {
            left = true;
            let l = schedule.leaver;
            present.retain(|&p| p != l);
            shared.remove_member(l);
            let roster_version = shared.next_roster_version();
            for &p in &present {
                shared.router.send(
                    p,
                    Control::Leave {
                        peer: l,
                        committer: p == 0,
                        roster_version,
                    },
                );
            }
            shared.router.send(l, Control::Depart);
            shared.event(format!("{} leaves (and keeps listening)", names[l]));
        }
        if Instant::now() >= next_progress {
            next_progress += Duration::from_secs(1);
            let events = shared.take_events();
            println!(
                "[{:>4.1} s] {} members | sent {:>6} | opened {:>7} | rejected as required {:>4} | failed {} | leaked {} | {}{}",
                start.elapsed().as_secs_f64(),
                present.len(),
                Live::get(&live.sent),
                Live::get(&live.decrypted),
                Live::get(&live.rejected),
                Live::get(&live.failures),
                Live::get(&live.violations),
                if janus_room.is_some() {
                    "through Janus".to_owned()
                } else {
                    format!(
                        "SFU {:>7} pkts {:>6.1} MB",
                        Live::get(&live.sfu_packets),
                        Live::get(&live.sfu_bytes) as f64 / 1e6
                    )
                },
                if events.is_empty() {
                    String::new()
                } else {
                    format!(" | {}", events.join("; "))
                }
            );
        }
        thread::sleep(Duration::from_millis(2));
    }
    for p in shared.router.peers() {
        shared.router.send(p, Control::Stop);
    }
    let mut reports: Vec<Option<ParticipantReport>> = (0..n).map(|_| None).collect();
    for (p, h) in handles {
        let r = h.join().map_err(|_| format!("{} panicked", names[p]))??;
        reports[p] = Some(r);
    }
    let _ = up_tx.send(Up::Stop);
    let sfu_report = match sfu_thread {
        Some(t) => Some(
            t.join()
                .map_err(|_| "the SFU panicked")?
                .map_err(|e| e.to_string())?,
        ),
        None => None,
    };
    for (tx, h) in bridges.into_inner().map_err(|_| "lock")? {
        let _ = tx.send(Up::Stop);
        if let Ok(Err(e)) = h.join() {
            eprintln!("Janus signalling: {e}");
        }
    }
    if let Some((_, _, owner)) = &janus_room {
        owner.destroy();
    }
    let reports: Vec<ParticipantReport> = reports.into_iter().flatten().collect();
    if reports.len() != n {
        return Err("a participant did not report".into());
    }

    let (recordings, video_frames) = match &sfu_report {
        Some(r) => (r.recordings.clone(), r.video_in),
        None => (
            reports
                .iter()
                .flat_map(|r| r.raw_recordings.clone())
                .collect(),
            reports.iter().map(|r| r.raw_frames).sum(),
        ),
    };
    let decode = if ffmpeg {
        Some(report::sfu_decode(
            &media::sample_dir().join(args.codec.sample()),
            &recordings,
            usize::try_from(video_frames).unwrap_or(0),
        ))
    } else {
        None
    };
    if args.record.is_none() {
        let _ = std::fs::remove_dir_all(&scratch);
    }

    // Who must have opened something from whom: pairs present together
    // for at least two seconds.
    let span = |p: Peer| -> (u64, u64) {
        let end = millis(args.seconds);
        let from = if p == schedule.joiner {
            schedule.join_ms
        } else {
            0
        };
        let to = if p == schedule.leaver {
            schedule.leave_ms
        } else {
            end
        };
        (from, to)
    };
    let mut must_hear = Vec::new();
    for r in 0..n {
        for s in 0..n {
            let (a, b) = (span(r), span(s));
            if r != s && a.1.min(b.1).saturating_sub(a.0.max(b.0)) >= 2000 {
                must_hear.push((r, s));
            }
        }
    }
    let inj = &shared.injections;
    let summary = report::Summary {
        participants: &reports,
        sfu: sfu_report.as_ref(),
        decode,
        leaver: Some(schedule.leaver),
        joiner: Some(schedule.joiner),
        must_hear,
        injected: (
            Live::get(&inj.forged_count),
            Live::get(&inj.replayed_count),
            Live::get(&inj.history_count),
        ),
        lossy: args.loss > 0.0,
    };
    let (text, pass) = summary.render();
    print!("{text}");
    let cpu_participants: Duration = reports.iter().map(|r| r.cpu).sum();
    let sfu_cpu = sfu_report.as_ref().map_or(Duration::ZERO, |r| r.cpu);
    let cpu_total = cpu_participants + sfu_cpu;
    let all_latency: Vec<u64> = reports
        .iter()
        .flat_map(|r| r.latency_us.iter().copied())
        .collect();
    let latency99 = report::percentile(&all_latency, 99);
    let lag99 = reports
        .iter()
        .map(|r| report::percentile(&r.send_lag_us, 99))
        .max()
        .unwrap_or(0);
    println!(
        "CPU: {:.1} ms per participant per second of call ({:.1} ms in the participant, {:.1} ms in the SFU); total {:.2} s for {:.1} s of call; worst send lag p99 {:.1} ms; send-to-open latency p99 {:.1} ms",
        cpu_total.as_secs_f64() * 1000.0 / n as f64 / args.seconds,
        cpu_participants.as_secs_f64() * 1000.0 / n as f64 / args.seconds,
        sfu_cpu.as_secs_f64() * 1000.0 / n as f64 / args.seconds,
        cpu_total.as_secs_f64(),
        args.seconds,
        lag99 as f64 / 1000.0,
        latency99 as f64 / 1000.0
    );
    if let Some(dir) = &args.record {
        println!(
            "recorded into {} (play with ffplay; sfu/ holds what the SFU forwarded)",
            dir.display()
        );
    }
    Ok(pass)
}

/// Unix time in milliseconds: what the key announcements are dated by (a
/// browser member checks them against its `Date.now()`).
fn wall_clock_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}
