//! A participant: a real WebRTC endpoint (str0m) on its own 127.0.0.1
//! socket. It publishes the sample's video and Opus audio, protected
//! before packetization, and opens every frame it receives after
//! depacketization; each outcome is judged against the ledger.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::PathBuf;
use std::sync::{Arc, mpsc};
use std::time::{Duration, Instant};

use rand_chacha::ChaCha20Rng;
use str0m::change::SdpPendingOffer;
use str0m::media::{Direction, MediaKind, MediaTime, Mid};
use str0m::{Event, IceConnectionState, Output, Rtc};

use crate::call::{Control, Live, Sent, Shared, Up, hash};
use crate::e2ee::{E2ee, FrameId, Outgoing, Peer, Reason, sfu_view};
use crate::media::{Kind, Recorder, Track, VideoCodec};
use crate::net::{Socket, rtc_config, str0m_codec};

/// Why a rejection was expected.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Cause {
    /// A tampered copy injected by the SFU.
    Forged,
    /// A second copy injected by the SFU.
    Replayed,
    /// Sent before this participant joined or after it left.
    NotEntitled,
    /// A second delivery of a frame it already opened (RTP
    /// retransmission or network duplication): the anti-replay window
    /// drops it, and the frame was not lost.
    Duplicate,
    /// Not the bytes that were sent: packets lost in transit made the
    /// depacketizer emit a partial frame (only with `--loss`).
    Damaged,
}

impl Cause {
    /// Name in the table.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Forged => "forged",
            Self::Replayed => "replayed",
            Self::NotEntitled => "not for it",
            Self::Duplicate => "duplicate",
            Self::Damaged => "damaged",
        }
    }
}

/// Everything a participant needs to run.
#[derive(Debug)]
pub struct ParticipantConfig {
    /// Place in the call.
    pub peer: Peer,
    /// Every participant's name, by place.
    pub names: Vec<String>,
    /// The call's video codec.
    pub video: VideoCodec,
    /// Video and audio samples.
    pub tracks: (Arc<Track>, Arc<Track>),
    /// Its keys.
    pub e2ee: E2ee,
    /// Key messages to send as it starts.
    pub initial: Vec<Outgoing>,
    /// To the SFU (or its Janus signalling).
    pub up: mpsc::Sender<Up>,
    /// Its control channel.
    pub rx: mpsc::Receiver<Control>,
    /// Shared state.
    pub shared: Arc<Shared>,
    /// Where to record what it decrypts.
    pub record: Option<PathBuf>,
    /// Whether it joins after the call started.
    pub late: bool,
    /// Its random numbers (HPKE).
    pub rng: ChaCha20Rng,
    /// Publish the SHA-256 of every decrypted frame (for `/report`).
    pub keep_hashes: bool,
    /// Record the protected video of these senders as received, into
    /// this folder (what Janus forwarded).
    pub raw_record: Option<(PathBuf, Vec<Peer>)>,
    /// SHA-256 of every frame of the samples: a received protected frame
    /// equal to one is plaintext.
    pub plaintext: Arc<HashSet<[u8; 32]>>,
}

/// What a participant saw, for the final table.
#[derive(Debug, Default)]
pub struct ParticipantReport {
    /// Name.
    pub name: String,
    /// Video frames sent.
    pub sent_video: u64,
    /// Audio frames sent.
    pub sent_audio: u64,
    /// Plaintext bytes sent.
    pub plain_bytes: u64,
    /// Protected bytes sent.
    pub protected_bytes: u64,
    /// Frames opened, by sender.
    pub decrypted: BTreeMap<Peer, u64>,
    /// Expected rejections, by cause and reason.
    pub rejected: BTreeMap<(Cause, Reason), u64>,
    /// Frames that should have opened and did not.
    pub failures: u64,
    /// Frames it read and must not have.
    pub violations: u64,
    /// What went wrong, the first few.
    pub problems: Vec<String>,
    /// Nanoseconds per protect.
    pub encrypt_ns: Vec<u64>,
    /// Nanoseconds per unprotect.
    pub decrypt_ns: Vec<u64>,
    /// Send-to-open latency, microseconds.
    pub latency_us: Vec<u64>,
    /// When it left (ms into the call), if it did.
    pub departed_ms: Option<u64>,
    /// Frames read before leaving.
    pub read_before_leaving: u64,
    /// Frames offered after leaving that were sent after its senders
    /// rotated, and how many it read.
    pub offered_after_leaving: u64,
    /// Of those, read (must be 0).
    pub read_after_leaving: u64,
    /// Frames from before it joined that it was handed, and read.
    pub history_offered: u64,
    /// Of those, read (must be 0).
    pub history_read: u64,
    /// CPU time of its thread.
    pub cpu: Duration,
    /// Recorded files: (sender name, video path, index path).
    pub recordings: Vec<(String, PathBuf, PathBuf)>,
    /// Send pacing: how late frames went out, microseconds.
    pub send_lag_us: Vec<u64>,
    /// Frames received (protected, as forwarded).
    pub received: u64,
    /// Of those, equal to a plaintext frame of the samples (must be 0).
    pub received_plaintext: u64,
    /// Raw recordings of what the SFU forwarded: (sender name, path).
    pub raw_recordings: Vec<(String, PathBuf)>,
    /// Frames in those recordings.
    pub raw_frames: u64,
    /// Frames from browser participants that did not open, by reason.
    pub from_browsers_rejected: BTreeMap<Reason, u64>,
}

impl ParticipantReport {
    fn problem(&mut self, text: String) {
        if self.problems.len() < 8 {
            self.problems.push(text);
        }
    }
}

/// The source frame index of each recorded frame, one per line.
type IndexFile = std::io::BufWriter<std::fs::File>;

struct Pc {
    rtc: Rtc,
    pending: Option<SdpPendingOffer>,
    streams: HashMap<Mid, (Peer, Kind)>,
    timeout: Instant,
    connected: bool,
}

struct Publisher {
    video_mid: Mid,
    audio_mid: Mid,
    started: Option<Instant>,
    next_video: Instant,
    next_audio: Instant,
    video_pos: usize,
    audio_pos: usize,
    video_rtp: u64,
    audio_rtp: u64,
    keyframe_wanted: bool,
}

struct Me {
    cfg: ParticipantConfig,
    report: ParticipantReport,
    seen: HashSet<(Peer, FrameId)>,
    audience: Vec<Peer>,
    departed: Option<Instant>,
    recorders: HashMap<(Peer, Kind), (Recorder, Option<IndexFile>)>,
    raw_recorders: HashMap<Peer, Recorder>,
    forge_next: HashSet<Peer>,
    broken: HashSet<Peer>,
    replay_next: HashSet<Peer>,
    recent: HashMap<Peer, std::collections::VecDeque<Vec<u8>>>,
    stop: bool,
    local: std::net::SocketAddr,
}

/// Runs a participant until [`Control::Stop`].
///
/// # Errors
/// Its socket cannot be bound, or its first offer cannot be made.
pub fn run(cfg: ParticipantConfig) -> Result<ParticipantReport, String> {
    let cpu0 = crate::report::thread_cpu();
    let mut socket = Socket::bind().map_err(|e| e.to_string())?;
    let mut rtc = rtc_config(cfg.video).build(Instant::now());
    rtc.add_local_candidate(socket.candidate().map_err(|e| e.to_string())?);
    let mut api = rtc.sdp_api();
    let stream = Some(cfg.names[cfg.peer].clone());
    let video_mid = api.add_media(
        MediaKind::Video,
        Direction::SendOnly,
        stream.clone(),
        None,
        None,
    );
    let audio_mid = api.add_media(MediaKind::Audio, Direction::SendOnly, stream, None, None);
    let (offer, pending) = api.apply().ok_or("no offer")?;
    cfg.up
        .send(Up::Publish {
            peer: cfg.peer,
            offer,
            late: cfg.late,
        })
        .map_err(|_| "the SFU is gone")?;
    let now = Instant::now();
    let mut pcs = vec![Pc {
        rtc,
        pending: Some(pending),
        streams: HashMap::new(),
        timeout: now,
        connected: false,
    }];
    let mut publisher = Some(Publisher {
        video_mid,
        audio_mid,
        started: None,
        next_video: now,
        next_audio: now,
        video_pos: 0,
        audio_pos: 0,
        video_rtp: 0,
        audio_rtp: 0,
        keyframe_wanted: false,
    });
    let mut me = Me {
        report: ParticipantReport {
            name: cfg.names[cfg.peer].clone(),
            ..ParticipantReport::default()
        },
        audience: cfg.e2ee.audience(),
        cfg,
        seen: HashSet::new(),
        departed: None,
        recorders: HashMap::new(),
        raw_recorders: HashMap::new(),
        forge_next: HashSet::new(),
        broken: HashSet::new(),
        replay_next: HashSet::new(),
        recent: HashMap::new(),
        stop: false,
        local: socket.local(),
    };
    let initial = std::mem::take(&mut me.cfg.initial);
    me.route(initial);

    while !me.stop {
        me.drain(&mut pcs, &mut publisher);
        if me.stop {
            break;
        }
        let now = Instant::now();
        if let Some(p) = publisher.as_mut()
            && pcs[0].connected
        {
            me.send_due(p, &mut pcs[0].rtc, now);
            pcs[0].timeout = now;
        }
        for i in 0..pcs.len() {
            me.poll_pc(&mut pcs, i, &mut publisher, &socket, now);
        }
        let mut next = pcs
            .iter()
            .map(|p| p.timeout)
            .min()
            .unwrap_or(now + Duration::from_millis(5));
        if let Some(p) = &publisher
            && p.started.is_some()
        {
            next = next.min(p.next_video).min(p.next_audio);
        }
        let wait = next
            .saturating_duration_since(Instant::now())
            .min(Duration::from_millis(5));
        let mut got = None;
        socket.recv(wait, |input| {
            if let Some(i) = pcs.iter().position(|p| p.rtc.accepts(&input)) {
                if pcs[i].rtc.handle_input(input).is_err() {
                    pcs[i].rtc.disconnect();
                }
                got = Some(i);
            }
        });
        if let Some(i) = got {
            pcs[i].timeout = Instant::now();
        }
    }
    for (_, r) in me.raw_recorders.drain() {
        let _ = r.finish();
    }
    for (_, (r, idx)) in me.recorders.drain() {
        let _ = r.finish();
        if let Some(mut idx) = idx {
            let _ = std::io::Write::flush(&mut idx);
        }
    }
    me.report.cpu = crate::report::thread_cpu().saturating_sub(cpu0);
    Ok(me.report)
}

impl Me {
    /// A participant's name (a browser's from signalling).
    fn name(&self, p: Peer) -> String {
        self.cfg
            .names
            .get(p)
            .cloned()
            .unwrap_or_else(|| self.cfg.shared.name_of(p))
    }

    fn now_ms(&self) -> u64 {
        self.cfg.shared.now_ms()
    }

    fn route(&mut self, out: Vec<Outgoing>) {
        for o in out {
            self.cfg.shared.router.send(o.to, Control::Key(o.msg));
        }
    }

    /// Handles every control message waiting: key messages first of all,
    /// before any frame is opened, so that a key announced before a frame
    /// was sent is installed before that frame is read.
    fn drain(&mut self, pcs: &mut Vec<Pc>, publisher: &mut Option<Publisher>) {
        while let Ok(msg) = self.cfg.rx.try_recv() {
            let now_ms = self.now_ms();
            match msg {
                Control::Stop => self.stop = true,
                Control::Key(k) => match self.cfg.e2ee.on_key_msg(k, now_ms) {
                    Ok(out) => self.route(out),
                    Err(e) => {
                        self.report.failures += 1;
                        Live::bump(&self.cfg.shared.live.failures);
                        self.report.problem(format!("key message refused: {e}"));
                    }
                },
                Control::Join(info, roster_version) => {
                    if self.departed.is_none() {
                        // The call's roster, kept apart from the key
                        // state: who may read is what the call says, and
                        // the keys must agree.
                        if !self.audience.contains(&info.peer) {
                            self.audience.push(info.peer);
                        }
                        match self.cfg.e2ee.on_join(
                            &info,
                            roster_version,
                            now_ms,
                            &mut self.cfg.rng,
                        ) {
                            Ok(out) => self.route(out),
                            Err(e) => self.report.problem(format!("join: {e}")),
                        }
                    }
                }
                Control::Leave {
                    peer,
                    committer,
                    roster_version,
                } => {
                    if self.departed.is_none() {
                        self.audience.retain(|&p| p != peer);
                        match self.cfg.e2ee.on_leave(
                            peer,
                            committer,
                            roster_version,
                            now_ms,
                            &mut self.cfg.rng,
                        ) {
                            Ok(out) => self.route(out),
                            Err(e) => self.report.problem(format!("leave: {e}")),
                        }
                    }
                }
                Control::InjectForged(from) => {
                    self.forge_next.insert(from);
                }
                Control::InjectReplay(from) => {
                    self.replay_next.insert(from);
                }
                Control::Depart => {
                    self.departed = Some(Instant::now());
                    self.report.departed_ms = Some(now_ms);
                    *publisher = None;
                    let _ = self.cfg.up.send(Up::Unpublish(self.cfg.peer));
                }
                Control::Answer { pc, answer } => {
                    if let Some(p) = pcs.get_mut(pc) {
                        if let Some(pending) = p.pending.take()
                            && let Err(e) = p.rtc.sdp_api().accept_answer(pending, answer)
                        {
                            self.report.problem(format!("answer refused: {e}"));
                        }
                        p.timeout = Instant::now();
                    }
                }
                Control::Offer { pc, offer, streams } => {
                    if pc >= pcs.len() {
                        let mut rtc = rtc_config(self.cfg.video).build(Instant::now());
                        // Janus: one more connection, on the same socket
                        // (str0m tells connections apart by their ICE).
                        if let Some(c) = self.local_candidate() {
                            rtc.add_local_candidate(c);
                        }
                        pcs.push(Pc {
                            rtc,
                            pending: None,
                            streams: HashMap::new(),
                            timeout: Instant::now(),
                            connected: false,
                        });
                    }
                    let Some(p) = pcs.get_mut(pc) else { continue };
                    match p.rtc.sdp_api().accept_offer(offer) {
                        Ok(answer) => {
                            for (mid, from, kind) in streams {
                                p.streams.insert(mid, (from, kind));
                            }
                            let _ = self.cfg.up.send(Up::Answer {
                                peer: self.cfg.peer,
                                pc,
                                answer,
                            });
                        }
                        Err(e) => self.report.problem(format!("offer refused: {e}")),
                    }
                    p.timeout = Instant::now();
                }
            }
            if self.cfg.e2ee.is_mls() {
                // MLS: membership is the group's state itself.
                self.audience = self.cfg.e2ee.audience();
            }
        }
    }

    fn local_candidate(&self) -> Option<str0m::Candidate> {
        str0m::Candidate::host(self.local, "udp").ok()
    }

    fn poll_pc(
        &mut self,
        pcs: &mut [Pc],
        i: usize,
        publisher: &mut Option<Publisher>,
        socket: &Socket,
        now: Instant,
    ) {
        if pcs[i].timeout > now {
            return;
        }
        if pcs[i].rtc.handle_input(str0m::Input::Timeout(now)).is_err() {
            pcs[i].rtc.disconnect();
        }
        loop {
            if !pcs[i].rtc.is_alive() {
                pcs[i].timeout = now + Duration::from_secs(3600);
                return;
            }
            match pcs[i].rtc.poll_output() {
                Ok(Output::Timeout(t)) => {
                    pcs[i].timeout = t;
                    return;
                }
                Ok(Output::Transmit(t)) => socket.send(&t.contents, t.destination),
                Ok(Output::Event(e)) => match e {
                    Event::Connected => pcs[i].connected = true,
                    Event::IceConnectionStateChange(IceConnectionState::Disconnected) => {
                        pcs[i].rtc.disconnect()
                    }
                    Event::MediaData(data) => {
                        let stream = pcs[i].streams.get(&data.mid).copied();
                        if let Some((from, kind)) = stream {
                            if !data.contiguous && kind == Kind::Video {
                                // Packets were lost for good: the
                                // recording waits for the next keyframe,
                                // as a decoder would.
                                self.broken.insert(from);
                            }
                            self.arrive(from, kind, &data.data);
                        }
                    }
                    Event::KeyframeRequest(_) => {
                        if let Some(p) = publisher.as_mut() {
                            p.keyframe_wanted = true;
                        }
                    }
                    _ => {}
                },
                Err(_) => pcs[i].rtc.disconnect(),
            }
        }
    }

    /// Sends every frame whose time has come.
    fn send_due(&mut self, p: &mut Publisher, rtc: &mut Rtc, now: Instant) {
        if !self.cfg.e2ee.ready() {
            return;
        }
        if p.started.is_none() {
            p.started = Some(now);
            p.next_video = now;
            p.next_audio = now;
        }
        let tracks = (self.cfg.tracks.0.clone(), self.cfg.tracks.1.clone());
        let codec = str0m_codec(self.cfg.video);
        while now >= p.next_video {
            if p.keyframe_wanted {
                p.keyframe_wanted = false;
                p.video_pos = tracks.0.next_keyframe(p.video_pos);
            }
            let pos = p.video_pos;
            let lag = now.saturating_duration_since(p.next_video);
            self.send_frame(
                rtc,
                p.video_mid,
                codec,
                Kind::Video,
                &tracks.0,
                pos,
                MediaTime::from_90khz(p.video_rtp),
                lag,
            );
            self.report.sent_video += 1;
            p.video_rtp += u64::from(tracks.0.frames[pos].ticks);
            p.next_video += tracks.0.duration(pos);
            p.video_pos = (pos + 1) % tracks.0.frames.len();
        }
        while now >= p.next_audio {
            let pos = p.audio_pos;
            let lag = now.saturating_duration_since(p.next_audio);
            let time = MediaTime::new(p.audio_rtp, str0m::media::Frequency::FORTY_EIGHT_KHZ);
            self.send_frame(
                rtc,
                p.audio_mid,
                str0m::format::Codec::Opus,
                Kind::Audio,
                &tracks.1,
                pos,
                time,
                lag,
            );
            self.report.sent_audio += 1;
            p.audio_rtp += u64::from(tracks.1.frames[pos].ticks);
            p.next_audio += tracks.1.duration(pos);
            p.audio_pos = (pos + 1) % tracks.1.frames.len();
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn send_frame(
        &mut self,
        rtc: &mut Rtc,
        mid: Mid,
        codec: str0m::format::Codec,
        kind: Kind,
        track: &Track,
        pos: usize,
        time: MediaTime,
        lag: Duration,
    ) {
        let frame = &track.frames[pos].data;
        let now_ms = self.now_ms();
        let t0 = Instant::now();
        let sealed = match self.cfg.e2ee.protect(kind, frame, now_ms) {
            Ok(s) => s,
            Err(e) => {
                self.report.problem(format!("protect: {e}"));
                return;
            }
        };
        self.report.encrypt_ns.push(elapsed_ns(t0));
        self.report
            .send_lag_us
            .push(u64::try_from(lag.as_micros()).unwrap_or(u64::MAX));
        self.report.plain_bytes += frame.len() as u64;
        self.report.protected_bytes += sealed.frame.len() as u64;
        self.cfg.shared.ledger.record(
            self.cfg.peer,
            sealed.id,
            Sent {
                source: pos,
                hash: frame_hash(self.cfg.video, kind, frame),
                wire: frame_hash(self.cfg.video, kind, &sealed.frame),
                at: Instant::now(),
                audience: self.audience.clone(),
            },
        );
        Live::bump(&self.cfg.shared.live.sent);
        let Some(writer) = rtc.writer(mid) else {
            return;
        };
        let Some(pt) = writer
            .payload_params()
            .find(|p| p.spec().codec == codec)
            .map(|p| p.pt())
        else {
            return;
        };
        if let Err(e) = writer.write(pt, Instant::now(), time, sealed.frame) {
            self.report.problem(format!("write: {e}"));
        }
    }

    /// A frame arrived from the SFU: counted, checked for plaintext,
    /// recorded as forwarded; with an injection pending (through Janus),
    /// the injected copy goes first; then it is opened.
    fn arrive(&mut self, from: Peer, kind: Kind, data: &[u8]) {
        self.report.received += 1;
        if self.cfg.plaintext.contains(&hash(data)) {
            self.report.received_plaintext += 1;
        }
        if kind == Kind::Video {
            self.record_raw(from, data);
            let id = sfu_view(self.cfg.video, kind, data).map(|v| v.id);
            if let Some(id) = id
                && self.forge_next.remove(&from)
            {
                let mut forged = data.to_vec();
                if let Some(last) = forged.last_mut() {
                    *last ^= 0x01;
                }
                self.cfg.shared.injections.add(
                    crate::call::Injected::Forged,
                    self.cfg.peer,
                    from,
                    id,
                );
                self.receive(from, kind, &forged);
            }
            let recent = self.recent.entry(from).or_default();
            recent.push_back(data.to_vec());
            if recent.len() > 4 {
                recent.pop_front();
            }
        }
        self.receive(from, kind, data);
        if kind == Kind::Video
            && let Some(old) = self
                .recent
                .get(&from)
                .and_then(|r| (r.len() == 4).then(|| r[0].clone()))
            && let Some(id) = sfu_view(self.cfg.video, kind, &old).map(|v| v.id)
            && self.replay_next.remove(&from)
        {
            self.cfg.shared.injections.add(
                crate::call::Injected::Replayed,
                self.cfg.peer,
                from,
                id,
            );
            self.receive(from, kind, &old);
        }
    }

    fn record_raw(&mut self, from: Peer, data: &[u8]) {
        let Some((dir, senders)) = &self.cfg.raw_record else {
            return;
        };
        if !senders.contains(&from) {
            return;
        }
        if !self.raw_recorders.contains_key(&from) {
            let name = self.name(from);
            let path = dir.join(format!("{name}.{}", self.cfg.video.extension()));
            let Ok(r) = Recorder::video(&path, self.cfg.video, &self.cfg.tracks.0) else {
                return;
            };
            self.report.raw_recordings.push((name, path));
            self.raw_recorders.insert(from, r);
        }
        if let Some(r) = self.raw_recorders.get_mut(&from)
            && r.write(data).is_ok()
        {
            self.report.raw_frames += 1;
        }
    }

    /// Opens a received frame and judges the outcome against the ledger.
    fn receive(&mut self, from: Peer, kind: Kind, data: &[u8]) {
        // Key messages sent before this frame was are in the channel now.
        let shared = self.cfg.shared.clone();
        let me = self.cfg.peer;
        let now_ms = self.now_ms();
        let t0 = Instant::now();
        let result = self.cfg.e2ee.unprotect(from, kind, data, now_ms);
        self.report.decrypt_ns.push(elapsed_ns(t0));
        let after_leaving = self.departed.is_some();
        if shared.is_external(from) {
            // A browser's frame: no ledger entry; its plaintext hash goes
            // to `/report` for the browser's test to compare.
            match result {
                Ok(opened) => {
                    *self.report.decrypted.entry(from).or_default() += 1;
                    Live::bump(&shared.live.decrypted);
                    shared.record_opened(me, from, hash(&opened.frame));
                }
                Err(reason) => {
                    *self
                        .report
                        .from_browsers_rejected
                        .entry(reason)
                        .or_default() += 1
                }
            }
            return;
        }
        match result {
            Ok(opened) => {
                let sent = shared.ledger.get(from, opened.id);
                let first = self.seen.insert((from, opened.id));
                let problem = match &sent {
                    None => Some("opened a frame nobody sent".to_owned()),
                    Some(s) if !s.audience.contains(&me) => Some(format!(
                        "read a {} frame of {} that was not protected for it (KID {} CTR {})",
                        kind.name(),
                        self.name(from),
                        opened.id.kid,
                        opened.id.ctr
                    )),
                    Some(s) if s.hash != frame_hash(self.cfg.video, kind, &opened.frame) => {
                        Some("opened bytes differ from what was sent".to_owned())
                    }
                    Some(_) if !first => {
                        Some("accepted the same frame twice (a replay)".to_owned())
                    }
                    Some(_) => None,
                };
                if after_leaving && sent.as_ref().is_some_and(|s| !s.audience.contains(&me)) {
                    self.report.offered_after_leaving += 1;
                    self.report.read_after_leaving += 1;
                }
                if let Some(p) = problem {
                    self.report.violations += 1;
                    Live::bump(&shared.live.violations);
                    self.report.problem(p);
                    return;
                }
                let Some(s) = sent else { return };
                *self.report.decrypted.entry(from).or_default() += 1;
                if !after_leaving {
                    self.report.read_before_leaving += 1;
                }
                Live::bump(&shared.live.decrypted);
                self.report
                    .latency_us
                    .push(u64::try_from(s.at.elapsed().as_micros()).unwrap_or(u64::MAX));
                if self.cfg.keep_hashes {
                    shared.record_opened(me, from, hash(&opened.frame));
                }
                self.record(from, kind, &opened.frame, s.source);
            }
            Err(reason) => {
                let id = sfu_view(self.cfg.video, kind, data).map(|v| v.id);
                let sent = id.and_then(|id| shared.ledger.get(from, id));
                let seen = id.is_some_and(|id| self.seen.contains(&(from, id)));
                let replayed = id.is_some_and(|id| shared.injections.replayed(me, from, id));
                let forged = id.is_some_and(|id| shared.injections.forged(me, from, id));
                let entitled = sent.as_ref().is_some_and(|s| s.audience.contains(&me));
                // A second copy of a frame already opened is the replay
                // (even of a frame that was also forged once); a frame
                // that fails authentication with a forgery registered is
                // the forgery.
                let cause = if replayed && seen && reason == Reason::Replayed {
                    Some(Cause::Replayed)
                } else if forged {
                    Some(Cause::Forged)
                } else if sent.is_some() && !entitled {
                    Some(Cause::NotEntitled)
                } else if seen && reason == Reason::Replayed {
                    Some(Cause::Duplicate)
                } else if sent
                    .as_ref()
                    .is_none_or(|s| s.wire != frame_hash(self.cfg.video, kind, data))
                {
                    // Not a frame anyone sent, or not its bytes.
                    Some(Cause::Damaged)
                } else {
                    None
                };
                if cause == Some(Cause::NotEntitled) {
                    if after_leaving {
                        self.report.offered_after_leaving += 1;
                    } else if self.cfg.late {
                        self.report.history_offered += 1;
                    }
                }
                match cause {
                    Some(c) => {
                        *self.report.rejected.entry((c, reason)).or_default() += 1;
                        Live::bump(&shared.live.rejected);
                    }
                    None => {
                        self.report.failures += 1;
                        Live::bump(&shared.live.failures);
                        let what = id.map_or("unreadable".to_owned(), |id| {
                            format!("KID {} CTR {}", id.kid, id.ctr)
                        });
                        self.report.problem(format!(
                            "a {} frame of {} ({what}) did not open: {}",
                            kind.name(),
                            self.name(from),
                            reason.name()
                        ));
                    }
                }
            }
        }
    }

    fn record(&mut self, from: Peer, kind: Kind, frame: &[u8], source: usize) {
        let Some(dir) = self.cfg.record.clone() else {
            return;
        };
        if kind == Kind::Video && self.broken.contains(&from) {
            if !self.cfg.tracks.0.frames[source].keyframe {
                return;
            }
            self.broken.remove(&from);
        }
        if !self.recorders.contains_key(&(from, kind)) {
            let dir = dir.join(&self.cfg.names[self.cfg.peer]);
            if std::fs::create_dir_all(&dir).is_err() {
                return;
            }
            let sender = self.name(from);
            let entry = match kind {
                Kind::Video => {
                    let path = dir.join(format!("from-{sender}.{}", self.cfg.video.extension()));
                    let idx = dir.join(format!("from-{sender}.idx"));
                    let (Ok(r), Ok(f)) = (
                        Recorder::video(&path, self.cfg.video, &self.cfg.tracks.0),
                        std::fs::File::create(&idx),
                    ) else {
                        return;
                    };
                    self.report.recordings.push((sender, path, idx));
                    (r, Some(std::io::BufWriter::new(f)))
                }
                Kind::Audio => {
                    let Ok(r) = Recorder::audio(
                        &dir.join(format!("from-{sender}.ogg")),
                        &self.cfg.tracks.1,
                    ) else {
                        return;
                    };
                    (r, None)
                }
            };
            self.recorders.insert((from, kind), entry);
        }
        if let Some((r, idx)) = self.recorders.get_mut(&(from, kind)) {
            let _ = r.write(frame);
            if let Some(idx) = idx {
                let _ = std::io::Write::write_all(idx, format!("{source}\n").as_bytes());
            }
        }
    }
}

/// The hash a frame is compared by: its bytes, except what RTP does not
/// carry and depacketizers write their own way: an H.264 access unit's
/// start codes (taken as 4 bytes, RFC 6184), an AV1 temporal unit's
/// temporal delimiter and OBU size fields (the AV1 RTP payload format).
pub fn frame_hash(video: VideoCodec, kind: Kind, frame: &[u8]) -> [u8; 32] {
    match (kind, video) {
        (Kind::Video, VideoCodec::H264) => hash(&crate::media::four_byte_start_codes(frame)),
        (Kind::Video, VideoCodec::Av1) => hash(&crate::media::av1_obus(frame)),
        _ => hash(frame),
    }
}

fn elapsed_ns(t0: Instant) -> u64 {
    u64::try_from(t0.elapsed().as_nanos()).unwrap_or(u64::MAX)
}
