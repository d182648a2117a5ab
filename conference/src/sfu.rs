//! The embedded SFU: one str0m endpoint per participant on one UDP socket,
//! forwarding each participant's frames to every other. It holds no key:
//! of a frame it reads only what `sfu::inspect_codec` gives (KID, CTR,
//! the keyframe hint) — to start a newcomer on a keyframe, to answer
//! keyframe requests, and to count. With `--loss` it drops and reorders
//! RTP packets; on the schedule it injects a forged and a replayed frame,
//! and hands a joiner frames from before it joined.

use std::collections::{HashMap, HashSet, VecDeque};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, mpsc};
use std::time::{Duration, Instant};

use rand_chacha::ChaCha20Rng;
use rand_core::{Rng, SeedableRng};
use str0m::change::SdpPendingOffer;
use str0m::media::{Direction, KeyframeRequestKind, MediaData, MediaKind, MediaTime, Mid};
use str0m::{Event, IceConnectionState, Output, Rtc};

use crate::call::{Control, Injected, Live, Shared, Up, hash};
use crate::e2ee::{FrameId, Peer, sfu_view};
use crate::media::{Kind, Recorder, Track, VideoCodec};
use crate::net::{Socket, is_rtp, rtc_config};

/// What the SFU is told at start.
#[derive(Debug)]
pub struct SfuConfig {
    /// The call's video codec.
    pub video: VideoCodec,
    /// Percentage of RTP packets dropped, and as many reordered.
    pub loss: f64,
    /// Seed of the loss pattern.
    pub seed: u64,
    /// Where to record what it forwards (one file per publisher).
    pub record: Option<PathBuf>,
    /// Participant names, by place (file names).
    pub names: Vec<String>,
    /// The samples (recording headers; and the plaintext check).
    pub tracks: (Arc<Track>, Arc<Track>),
}

/// What the SFU did, for the final table.
#[derive(Debug, Default, Clone)]
pub struct SfuReport {
    /// Frames received from publishers.
    pub frames_in: u64,
    /// Of those, video frames.
    pub video_in: u64,
    /// Frames forwarded (one per subscriber).
    pub frames_out: u64,
    /// RTP packets sent.
    pub packets: u64,
    /// Bytes of RTP packets sent.
    pub bytes: u64,
    /// Packets dropped by `--loss`.
    pub dropped: u64,
    /// Packets sent out of order by `--loss`.
    pub reordered: u64,
    /// Keyframe requests sent to publishers.
    pub keyframe_requests: u64,
    /// Frames whose bytes equal a frame of the samples (plaintext): must
    /// be 0.
    pub plaintext_frames: u64,
    /// Frames `inspect_codec` could not read.
    pub unreadable: u64,
    /// Distinct KIDs seen.
    pub kids: usize,
    /// Recorded files (video), by publisher name.
    pub recordings: Vec<(String, PathBuf)>,
    /// CPU time of the SFU thread.
    pub cpu: Duration,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum OutState {
    ToOpen,
    Negotiating(Mid),
    Open(Mid),
}

#[derive(Debug)]
struct TrackOut {
    from: Peer,
    kind: Kind,
    state: OutState,
    /// Video: nothing is forwarded until a keyframe (a newcomer starts on
    /// one).
    waiting_keyframe: bool,
    /// Last RTP time written on this track.
    last_time: Option<MediaTime>,
    /// Recently forwarded frames, for the replay.
    recent: VecDeque<(Arc<[u8]>, FrameId)>,
    /// Inject a forged copy ahead of the next frame.
    forge_next: bool,
    /// History still to hand over (a late joiner).
    history_due: bool,
}

#[derive(Debug)]
struct Client {
    peer: Peer,
    rtc: Rtc,
    /// The participant's own media: mid and kind.
    tracks_in: Vec<(Mid, Kind)>,
    tracks_out: Vec<TrackOut>,
    pending: Option<SdpPendingOffer>,
    timeout: Instant,
    /// When this client's offer came: frames received before are history.
    joined_at: Instant,
    last_pli: HashMap<Mid, Instant>,
    connected: bool,
    /// A browser: it offered receiving m-lines itself, so it is never
    /// renegotiated; those m-lines are given native streams in order.
    external: bool,
    /// A browser's receiving m-lines not yet given a stream.
    spare: Vec<(Mid, Kind)>,
    /// A browser: the native members `/session` listed when it joined.
    order: Vec<Peer>,
}

struct Forward {
    from: Peer,
    kind: Kind,
    data: MediaData,
}

/// The SFU's own loss model: seeded, on RTP packets only.
struct Loss {
    rate: f64,
    rng: ChaCha20Rng,
    held: Option<(Vec<u8>, SocketAddr)>,
}

impl Loss {
    fn roll(&mut self) -> bool {
        self.rate > 0.0 && (self.rng.next_u32() as f64 / f64::from(u32::MAX)) * 100.0 < self.rate
    }
}

/// Runs the embedded SFU until [`Up::Stop`]. Returns its report.
///
/// # Errors
/// The socket cannot be bound.
pub fn run(
    config: SfuConfig,
    shared: Arc<Shared>,
    rx: mpsc::Receiver<Up>,
    addr_tx: mpsc::Sender<SocketAddr>,
) -> std::io::Result<SfuReport> {
    let mut socket = Socket::bind()?;
    let _ = addr_tx.send(socket.local());
    let mut sfu = Sfu {
        config,
        shared,
        clients: Vec::new(),
        report: SfuReport::default(),
        loss: None,
        history: HashMap::new(),
        recorders: HashMap::new(),
        kids: HashSet::new(),
        plaintext: HashSet::new(),
    };
    sfu.loss = Some(Loss {
        rate: sfu.config.loss,
        rng: ChaCha20Rng::seed_from_u64(sfu.config.seed ^ 0x5f0),
        held: None,
    });
    for f in sfu
        .config
        .tracks
        .0
        .frames
        .iter()
        .chain(&sfu.config.tracks.1.frames)
    {
        sfu.plaintext.insert(hash(&f.data));
    }
    let cpu0 = crate::report::thread_cpu();
    'run: loop {
        loop {
            match rx.try_recv() {
                Ok(Up::Stop) | Err(mpsc::TryRecvError::Disconnected) => break 'run,
                Ok(msg) => sfu.control(msg, &socket),
                Err(mpsc::TryRecvError::Empty) => break,
            }
        }
        let now = Instant::now();
        sfu.drive(now, &socket);
        let next = sfu
            .clients
            .iter()
            .map(|c| c.timeout)
            .min()
            .unwrap_or(now + Duration::from_millis(5));
        let wait = next
            .saturating_duration_since(Instant::now())
            .min(Duration::from_millis(5));
        let mut got = None;
        socket.recv(wait, |input| {
            if let Some(i) = sfu.clients.iter().position(|c| c.rtc.accepts(&input)) {
                if sfu.clients[i].rtc.handle_input(input).is_err() {
                    sfu.clients[i].rtc.disconnect();
                }
                got = Some(i);
            }
        });
        if let Some(i) = got {
            sfu.clients[i].timeout = Instant::now();
        }
    }
    for (_, r) in sfu.recorders.drain() {
        let _ = r.finish();
    }
    sfu.report.kids = sfu.kids.len();
    sfu.report.cpu = crate::report::thread_cpu().saturating_sub(cpu0);
    Ok(sfu.report)
}

struct Sfu {
    config: SfuConfig,
    shared: Arc<Shared>,
    clients: Vec<Client>,
    report: SfuReport,
    loss: Option<Loss>,
    /// Recent frames per publisher and kind, with arrival time.
    history: HashMap<(Peer, Kind), VecDeque<(Instant, MediaData)>>,
    recorders: HashMap<(Peer, Kind), Recorder>,
    kids: HashSet<(Peer, u64)>,
    plaintext: HashSet<[u8; 32]>,
}

impl Sfu {
    fn control(&mut self, msg: Up, socket: &Socket) {
        match msg {
            Up::Publish { peer, offer, late } => {
                let mut rtc = rtc_config(self.config.video).build(Instant::now());
                if let Ok(c) = socket.candidate() {
                    let _ = rtc.add_local_candidate(c);
                }
                match rtc.sdp_api().accept_offer(offer) {
                    Ok(answer) => {
                        self.shared
                            .router
                            .send(peer, Control::Answer { pc: 0, answer });
                    }
                    Err(e) => {
                        self.shared
                            .event(format!("SFU refused the offer of {peer}: {e}"));
                        return;
                    }
                }
                let mut client = Client {
                    peer,
                    rtc,
                    tracks_in: Vec::new(),
                    tracks_out: Vec::new(),
                    pending: None,
                    timeout: Instant::now(),
                    joined_at: Instant::now(),
                    last_pli: HashMap::new(),
                    connected: false,
                    external: self.shared.is_external(peer),
                    spare: Vec::new(),
                    order: self
                        .shared
                        .members()
                        .iter()
                        .map(|m| m.peer)
                        .filter(|&p| !self.shared.is_external(p))
                        .collect(),
                };
                // Subscribe the newcomer to every stream already published.
                for other in self.clients.iter().filter(|_| !client.external) {
                    for &(_, kind) in &other.tracks_in {
                        client
                            .tracks_out
                            .push(new_track_out(other.peer, kind, late));
                    }
                }
                self.clients.push(client);
            }
            Up::Answer {
                peer,
                pc: 0,
                answer,
            } => {
                if let Some(c) = self.clients.iter_mut().find(|c| c.peer == peer) {
                    if let Some(pending) = c.pending.take()
                        && c.rtc.sdp_api().accept_answer(pending, answer).is_ok()
                    {
                        for t in &mut c.tracks_out {
                            if let OutState::Negotiating(m) = t.state {
                                t.state = OutState::Open(m);
                            }
                        }
                    }
                    c.timeout = Instant::now();
                }
            }
            Up::Unpublish(peer) => {
                if let Some(c) = self.clients.iter_mut().find(|c| c.peer == peer) {
                    c.tracks_in.clear();
                }
            }
            Up::InjectForged(from) => {
                for c in &mut self.clients {
                    for t in &mut c.tracks_out {
                        if t.from == from
                            && t.kind == Kind::Video
                            && matches!(t.state, OutState::Open(_))
                        {
                            t.forge_next = true;
                        }
                    }
                }
            }
            Up::InjectReplay(from) => self.inject_replay(from),
            Up::Answer { .. } | Up::Janus(_) | Up::Stop => {}
        }
    }

    /// Sends every subscriber of `from`'s video a second copy of a frame
    /// it got three frames ago.
    fn inject_replay(&mut self, from: Peer) {
        let injections = &self.shared.injections;
        for c in &mut self.clients {
            let peer = c.peer;
            for t in &mut c.tracks_out {
                let OutState::Open(mid) = t.state else {
                    continue;
                };
                if t.from != from || t.kind != Kind::Video || t.recent.len() < 4 {
                    continue;
                }
                let (data, id) = t.recent[t.recent.len() - 4].clone();
                let Some(time) = t
                    .last_time
                    .map(|l| MediaTime::new(l.numer() + 1, l.frequency()))
                else {
                    continue;
                };
                let Some(writer) = c.rtc.writer(mid) else {
                    continue;
                };
                let Some(pt) = writer
                    .payload_params()
                    .find(|p| p.spec().codec == crate::net::str0m_codec(self.config.video))
                    .map(|p| p.pt())
                else {
                    continue;
                };
                injections.add(Injected::Replayed, peer, from, id);
                if writer.write(pt, Instant::now(), time, data).is_ok() {
                    t.last_time = Some(time);
                }
            }
            c.timeout = Instant::now();
        }
    }

    /// Polls every client that is due, forwards what they produced, until
    /// nothing is due.
    fn drive(&mut self, now: Instant, socket: &Socket) {
        for _ in 0..64 {
            let mut forwards = Vec::new();
            let mut requests = Vec::new();
            let mut externals = Vec::new();
            let mut any = false;
            for i in 0..self.clients.len() {
                if self.clients[i].timeout > now {
                    continue;
                }
                any = true;
                self.negotiate(i);
                let c = &mut self.clients[i];
                if c.rtc.handle_input(str0m::Input::Timeout(now)).is_err() {
                    c.rtc.disconnect();
                }
                loop {
                    if !c.rtc.is_alive() {
                        c.timeout = now + Duration::from_secs(3600);
                        break;
                    }
                    match c.rtc.poll_output() {
                        Ok(Output::Timeout(t)) => {
                            c.timeout = t;
                            break;
                        }
                        Ok(Output::Transmit(t)) => {
                            transmit(
                                &mut self.loss,
                                &mut self.report,
                                &self.shared.live,
                                socket,
                                &t.contents,
                                t.destination,
                            );
                        }
                        Ok(Output::Event(e)) => match e {
                            Event::IceConnectionStateChange(IceConnectionState::Disconnected) => {
                                c.rtc.disconnect()
                            }
                            Event::Connected => c.connected = true,
                            Event::MediaAdded(m)
                                if c.external && m.direction == Direction::SendOnly =>
                            {
                                // A browser's receiving m-line: carries
                                // the next native stream of its kind.
                                let kind = if m.kind == MediaKind::Audio {
                                    Kind::Audio
                                } else {
                                    Kind::Video
                                };
                                externals.push((i, m.mid, kind));
                            }
                            Event::MediaAdded(m)
                                if m.direction == Direction::RecvOnly
                                    || m.direction == Direction::SendRecv =>
                            {
                                let kind = if m.kind == MediaKind::Audio {
                                    Kind::Audio
                                } else {
                                    Kind::Video
                                };
                                c.tracks_in.push((m.mid, kind));
                                requests.push((c.peer, kind, None));
                            }
                            Event::MediaData(data) => {
                                let kind = c
                                    .tracks_in
                                    .iter()
                                    .find(|(m, _)| *m == data.mid)
                                    .map(|&(_, k)| k);
                                if let Some(kind) = kind {
                                    forwards.push(Forward {
                                        from: c.peer,
                                        kind,
                                        data,
                                    });
                                }
                            }
                            Event::KeyframeRequest(req) => {
                                if let Some(t) = c
                                    .tracks_out
                                    .iter()
                                    .find(|t| t.state == OutState::Open(req.mid))
                                {
                                    requests.push((t.from, Kind::Video, Some(req.kind)));
                                }
                            }
                            _ => {}
                        },
                        Err(_) => {
                            c.rtc.disconnect();
                        }
                    }
                }
            }
            for (publisher, kind, req) in requests {
                match req {
                    None => {
                        // A new stream: every other client subscribes (a
                        // browser through a spare m-line).
                        for c in &mut self.clients {
                            if c.peer != publisher && !c.external {
                                c.tracks_out.push(new_track_out(publisher, kind, false));
                                c.timeout = now;
                            }
                        }
                    }
                    Some(kind) => self.request_keyframe(publisher, kind),
                }
            }
            for (i, mid, kind) in externals {
                self.clients[i].spare.push((mid, kind));
            }
            self.assign_spares();
            for f in forwards {
                self.forward(f);
            }
            if !any {
                break;
            }
        }
    }

    /// Gives each browser's unused receiving m-lines the native streams
    /// it does not receive yet, in the order of places (the order of
    /// `/session`'s members; a later joiner fills a spare m-line).
    fn assign_spares(&mut self) {
        for i in 0..self.clients.len() {
            while let Some(&(mid, kind)) = self.clients[i].spare.first() {
                let me = self.clients[i].peer;
                let taken: Vec<Peer> = self.clients[i]
                    .tracks_out
                    .iter()
                    .filter(|t| t.kind == kind)
                    .map(|t| t.from)
                    .collect();
                let publishes = |p: Peer| {
                    self.clients
                        .iter()
                        .any(|c| c.peer == p && c.tracks_in.iter().any(|(_, k)| *k == kind))
                };
                // First the members listed when it joined, in that order
                // (waiting for one that has not published yet); then
                // later joiners.
                let next = match self.clients[i].order.iter().find(|p| !taken.contains(p)) {
                    Some(&p) => publishes(p).then_some(p),
                    None => self
                        .clients
                        .iter()
                        .filter(|c| c.peer != me && !c.external && !taken.contains(&c.peer))
                        .filter(|c| c.tracks_in.iter().any(|(_, k)| *k == kind))
                        .map(|c| c.peer)
                        .min(),
                };
                let Some(from) = next else { break };
                self.clients[i].spare.remove(0);
                let mut t = new_track_out(from, kind, false);
                t.state = OutState::Open(mid);
                self.clients[i].tracks_out.push(t);
                self.request_keyframe(from, KeyframeRequestKind::Pli);
            }
        }
    }

    /// Offers client `i` the streams it does not receive yet.
    fn negotiate(&mut self, i: usize) {
        let c = &mut self.clients[i];
        if c.pending.is_some()
            || c.external
            || !c.connected
            || !c.tracks_out.iter().any(|t| t.state == OutState::ToOpen)
        {
            return;
        }
        let mut api = c.rtc.sdp_api();
        let mut streams = Vec::new();
        for t in &mut c.tracks_out {
            if t.state == OutState::ToOpen {
                let kind = if t.kind == Kind::Audio {
                    MediaKind::Audio
                } else {
                    MediaKind::Video
                };
                let mid = api.add_media(
                    kind,
                    Direction::SendOnly,
                    Some(format!("p{}", t.from)),
                    None,
                    None,
                );
                t.state = OutState::Negotiating(mid);
                streams.push((mid, t.from, t.kind));
            }
        }
        if let Some((offer, pending)) = api.apply() {
            c.pending = Some(pending);
            self.shared.router.send(
                c.peer,
                Control::Offer {
                    pc: 0,
                    offer,
                    streams,
                },
            );
        }
    }

    fn request_keyframe(&mut self, publisher: Peer, kind: KeyframeRequestKind) {
        let now = Instant::now();
        let Some(c) = self.clients.iter_mut().find(|c| c.peer == publisher) else {
            return;
        };
        let Some(&(mid, _)) = c.tracks_in.iter().find(|(_, k)| *k == Kind::Video) else {
            return;
        };
        if c.last_pli
            .get(&mid)
            .is_some_and(|t| now.duration_since(*t) < Duration::from_millis(300))
        {
            return;
        }
        if let Some(mut writer) = c.rtc.writer(mid)
            && writer.request_keyframe(None, kind).is_ok()
        {
            c.last_pli.insert(mid, now);
            self.report.keyframe_requests += 1;
            c.timeout = now;
        }
    }

    fn forward(&mut self, f: Forward) {
        let Forward { from, kind, data } = f;
        self.report.frames_in += 1;
        if kind == Kind::Video {
            self.report.video_in += 1;
        }
        let view = sfu_view(self.config.video, kind, &data.data);
        if view.is_none() {
            self.report.unreadable += 1;
        }
        if let Some(v) = &view {
            self.kids.insert((from, v.id.kid));
        }
        if self.plaintext.contains(&hash(&data.data)) {
            self.report.plaintext_frames += 1;
        }
        self.record(from, kind, &data.data);
        // A codec whose clear bytes tell nothing (VP9: none stay clear)
        // gives no hint: its streams are forwarded from the start.
        let keyframe = view.is_some_and(|v| v.keyframe);
        let knows_keyframes = view.is_some_and(|v| v.keyframe_known);
        let id = view.map(|v| v.id);
        let codec = crate::net::str0m_codec(self.config.video);
        let mut want_keyframe = false;
        for c in &mut self.clients {
            if c.peer == from {
                continue;
            }
            let history_from = c.joined_at;
            let peer = c.peer;
            for t in &mut c.tracks_out {
                let OutState::Open(mid) = t.state else {
                    continue;
                };
                if t.from != from || t.kind != kind {
                    continue;
                }
                let Some(writer) = c.rtc.writer(mid) else {
                    continue;
                };
                let Some(pt) = writer.match_params(data.params).or_else(|| {
                    writer
                        .payload_params()
                        .find(|p| p.spec().codec == codec)
                        .map(|p| p.pt())
                }) else {
                    continue;
                };
                let mut writes: Vec<(Arc<[u8]>, MediaTime)> = Vec::new();
                if t.history_due && kind == Kind::Video {
                    // The demo's attack on a joiner: frames from before it
                    // joined. They must not open.
                    t.history_due = false;
                    if let Some(h) = self.history.get(&(from, kind)) {
                        let base = data.time.numer().saturating_sub(90_000 * 3);
                        for (k, (_, old)) in
                            h.iter().filter(|(at, _)| *at < history_from).enumerate()
                        {
                            let n = u64::try_from(k).unwrap_or(0);
                            writes.push((
                                old.data.clone(),
                                MediaTime::new(base + n * 10, data.time.frequency()),
                            ));
                            self.shared
                                .injections
                                .history_count
                                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        }
                    }
                }
                if kind == Kind::Video && t.waiting_keyframe {
                    if !keyframe && knows_keyframes {
                        want_keyframe = true;
                        if writes.is_empty() {
                            continue;
                        }
                    } else {
                        t.waiting_keyframe = false;
                    }
                }
                if t.forge_next
                    && !t.waiting_keyframe
                    && let Some(id) = id
                {
                    // A copy with its last byte (in the tag) flipped, sent
                    // just ahead of the genuine frame.
                    t.forge_next = false;
                    let mut forged = data.data.to_vec();
                    if let Some(last) = forged.last_mut() {
                        *last ^= 0x01;
                    }
                    let time =
                        MediaTime::new(data.time.numer().saturating_sub(1), data.time.frequency());
                    self.shared.injections.add(Injected::Forged, peer, from, id);
                    writes.push((forged.into(), time));
                }
                if !(kind == Kind::Video && t.waiting_keyframe) {
                    writes.push((data.data.clone(), data.time));
                    if let Some(id) = id {
                        t.recent.push_back((data.data.clone(), id));
                        if t.recent.len() > 8 {
                            t.recent.pop_front();
                        }
                    }
                }
                drop(writer);
                for (bytes, time) in writes {
                    let Some(w) = c.rtc.writer(mid) else { break };
                    if w.write(pt, data.network_time, time, bytes).is_ok() {
                        self.report.frames_out += 1;
                        t.last_time = Some(time);
                    }
                }
                c.timeout = Instant::now();
            }
        }
        let h = self.history.entry((from, kind)).or_default();
        h.push_back((Instant::now(), data));
        while h.len() > 20 {
            h.pop_front();
        }
        if want_keyframe {
            self.request_keyframe(from, KeyframeRequestKind::Pli);
        }
    }

    fn record(&mut self, from: Peer, kind: Kind, frame: &[u8]) {
        let Some(dir) = &self.config.record else {
            return;
        };
        if !self.recorders.contains_key(&(from, kind)) {
            let name = &self
                .config
                .names
                .get(from)
                .cloned()
                .unwrap_or_else(|| self.shared.name_of(from));
            let (path, r) = match kind {
                Kind::Video => {
                    let path = dir.join(format!("{name}.{}", self.config.video.extension()));
                    (
                        path.clone(),
                        Recorder::video(&path, self.config.video, &self.config.tracks.0),
                    )
                }
                Kind::Audio => {
                    let path = dir.join(format!("{name}.ogg"));
                    (path.clone(), Recorder::audio(&path, &self.config.tracks.1))
                }
            };
            let Ok(r) = r else { return };
            if kind == Kind::Video {
                self.report.recordings.push((name.clone(), path));
            }
            self.recorders.insert((from, kind), r);
        }
        if let Some(r) = self.recorders.get_mut(&(from, kind)) {
            let _ = r.write(frame);
        }
    }
}

fn new_track_out(from: Peer, kind: Kind, late: bool) -> TrackOut {
    TrackOut {
        from,
        kind,
        state: OutState::ToOpen,
        waiting_keyframe: kind == Kind::Video,
        last_time: None,
        recent: VecDeque::new(),
        forge_next: false,
        history_due: late,
    }
}

/// Sends a datagram, applying the loss model to RTP packets.
fn transmit(
    loss: &mut Option<Loss>,
    report: &mut SfuReport,
    live: &Live,
    socket: &Socket,
    data: &[u8],
    to: SocketAddr,
) {
    if !is_rtp(data) {
        socket.send(data, to);
        return;
    }
    if let Some(l) = loss.as_mut() {
        if l.roll() {
            report.dropped += 1;
            return;
        }
        if l.held.is_none() && l.roll() {
            l.held = Some((data.to_vec(), to));
            report.reordered += 1;
            return;
        }
    }
    count(report, live, data.len());
    socket.send(data, to);
    if let Some((held, to)) = loss.as_mut().and_then(|l| l.held.take()) {
        count(report, live, held.len());
        socket.send(&held, to);
    }
}

fn count(report: &mut SfuReport, live: &Live, len: usize) {
    report.packets += 1;
    report.bytes += len as u64;
    Live::bump(&live.sfu_packets);
    live.sfu_bytes
        .fetch_add(len as u64, std::sync::atomic::Ordering::Relaxed);
}
