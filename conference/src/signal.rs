//! `--signal ADDR`: browsers (or any WebRTC client) join the call of the
//! embedded SFU over plain HTTP/1.1 and JSON, and `--www DIR` serves the
//! page that does so. The contract is in `conference/README.md`:
//! `GET /session`, `POST /join`, `GET /poll`, `POST /announce`,
//! `GET /report`. Every request is checked here, at the boundary: a
//! malformed one gets a 400 with the reason and changes nothing.

use std::collections::HashMap;
use std::io::Read as _;
use std::path::{Component, Path, PathBuf};
use std::sync::{Arc, Mutex, mpsc};
use std::thread;
use std::time::{Duration, Instant};

use serde::Deserialize;
use serde_json::{Value, json};
use str0m::change::SdpOffer;
use tiny_http::{Header, Method, Request, Response, Server};

use crate::call::{Control, Shared, Up, lock};
use crate::e2ee::{self, CallParams, KeyMsg, MemberInfo, Peer};

/// What the signalling server needs.
#[derive(Debug)]
pub struct Signal {
    /// The call's parameters.
    pub params: CallParams,
    /// Shared state.
    pub shared: Arc<Shared>,
    /// To the embedded SFU.
    pub up: mpsc::Sender<Up>,
    /// Static files, if any.
    pub www: Option<PathBuf>,
    /// Browsers' queues of key messages, by place.
    queues: Mutex<HashMap<Peer, Arc<Mutex<mpsc::Receiver<Control>>>>>,
    next: Mutex<Peer>,
}

impl Signal {
    /// A server for a call of `natives` native participants.
    pub fn new(
        params: CallParams,
        shared: Arc<Shared>,
        up: mpsc::Sender<Up>,
        www: Option<PathBuf>,
    ) -> Self {
        let next = shared.natives;
        Self {
            params,
            shared,
            up,
            www,
            queues: Mutex::new(HashMap::new()),
            next: Mutex::new(next),
        }
    }
}

/// Starts serving on `addr` (a thread per request, so that long polls do
/// not block); returns the bound address.
///
/// # Errors
/// The address cannot be bound.
pub fn serve(addr: &str, signal: Arc<Signal>) -> Result<std::net::SocketAddr, String> {
    let server = Server::http(addr).map_err(|e| format!("--signal {addr}: {e}"))?;
    let bound = server
        .server_addr()
        .to_ip()
        .ok_or_else(|| format!("--signal {addr}: not an IP address"))?;
    thread::Builder::new()
        .name("signal".into())
        .spawn(move || {
            for request in server.incoming_requests() {
                let signal = signal.clone();
                let _ = thread::Builder::new().spawn(move || handle(&signal, request));
            }
        })
        .map_err(|e| e.to_string())?;
    Ok(bound)
}

fn json_response(status: u16, body: &Value) -> Response<std::io::Cursor<Vec<u8>>> {
    let mut r = Response::from_string(body.to_string()).with_status_code(status);
    if let Ok(h) = Header::from_bytes("Content-Type", "application/json") {
        r.add_header(h);
    }
    r
}

fn handle(signal: &Signal, mut request: Request) {
    let url = request.url().to_owned();
    let (path, query) = url.split_once('?').unwrap_or((&url, ""));
    let mut body = String::new();
    if *request.method() == Method::Post
        && request
            .as_reader()
            .take(1 << 20)
            .read_to_string(&mut body)
            .is_err()
    {
        let _ = request.respond(json_response(400, &json!({"error": "unreadable body"})));
        return;
    }
    let result = match (request.method(), path) {
        (Method::Get, "/session") => Ok(session(signal)),
        (Method::Post, "/join") => join(signal, &body),
        (Method::Get, "/poll") => poll(signal, query),
        (Method::Post, "/announce") => announce(signal, &body),
        (Method::Get, "/report") => Ok(report(signal)),
        (Method::Get, _) => {
            let _ = match static_file(signal.www.as_deref(), path) {
                Some((bytes, mime)) => {
                    let mut r = Response::from_data(bytes);
                    if let Ok(h) = Header::from_bytes("Content-Type", mime) {
                        r.add_header(h);
                    }
                    request.respond(r)
                }
                None => request.respond(json_response(404, &json!({"error": "not found"}))),
            };
            return;
        }
        _ => Err((404, "no such endpoint".to_owned())),
    };
    let response = match result {
        Ok(v) => json_response(200, &v),
        Err((status, e)) => json_response(status, &json!({"error": e})),
    };
    let _ = request.respond(response);
}

/// A file under `www`, never outside it, with its MIME type.
fn static_file(www: Option<&Path>, path: &str) -> Option<(Vec<u8>, &'static str)> {
    let www = www?;
    let rel = Path::new(path.trim_start_matches('/'));
    if rel.components().any(|c| !matches!(c, Component::Normal(_))) {
        return None;
    }
    let mut file = www.join(rel);
    if path == "/" || file.is_dir() {
        file = file.join("index.html");
    }
    let mime = match file.extension().and_then(|e| e.to_str()) {
        Some("html") => "text/html; charset=utf-8",
        Some("js" | "mjs") => "text/javascript",
        Some("wasm") => "application/wasm",
        Some("css") => "text/css",
        Some("json") => "application/json",
        Some("png") => "image/png",
        _ => "application/octet-stream",
    };
    std::fs::read(file).ok().map(|b| (b, mime))
}

fn members_json(members: &[MemberInfo]) -> Value {
    Value::Array(
        members
            .iter()
            .map(|m| json!({"id": hex::encode(&m.id), "identity": hex::encode(m.identity)}))
            .collect(),
    )
}

fn session(signal: &Signal) -> Value {
    json!({
        "session_id": hex::encode(&signal.params.session_id),
        "suite": signal.params.suite,
        "ratchet_bits": e2ee::RATCHET_BITS,
        "codec": signal.params.video.name(),
        "members": members_json(&signal.shared.members()),
        "roster_version": signal.shared.roster_version(),
    })
}

type Failure = (u16, String);

fn bad(e: impl std::fmt::Display) -> Failure {
    (400, e.to_string())
}

#[derive(Deserialize)]
struct JoinRequest {
    name: String,
    identity: String,
    offer: String,
}

fn identity_bytes(hex_str: &str) -> Result<[u8; 32], Failure> {
    let bytes: [u8; 32] = hex::decode(hex_str)
        .map_err(|e| bad(format!("identity: {e}")))?
        .try_into()
        .map_err(|_| bad("identity: expected 32 bytes"))?;
    e2ee::check_identity(bytes).map_err(|e| bad(format!("identity: {e}")))?;
    Ok(bytes)
}

fn join(signal: &Signal, body: &str) -> Result<Value, Failure> {
    let req: JoinRequest = serde_json::from_str(body).map_err(bad)?;
    let identity = identity_bytes(&req.identity)?;
    if req.name.is_empty() || req.name.len() > 64 {
        return Err(bad("name: 1 to 64 bytes"));
    }
    let offer = SdpOffer::from_sdp_string(&req.offer).map_err(|e| bad(format!("offer: {e}")))?;
    let members = signal.shared.members();
    let mut id = req.name.clone().into_bytes();
    if members.iter().any(|m| m.id == id) {
        id.extend_from_slice(b"-browser");
    }
    let peer = {
        let mut next = lock(&signal.next);
        let p = *next;
        *next += 1;
        p
    };
    let (tx, rx) = mpsc::channel();
    signal.shared.router.add(peer, tx);
    lock(&signal.shared.browser_names).insert(peer, String::from_utf8_lossy(&id).into_owned());
    let rx = Arc::new(Mutex::new(rx));
    lock(&signal.queues).insert(peer, rx.clone());
    signal
        .up
        .send(Up::Publish {
            peer,
            offer,
            late: false,
        })
        .map_err(|_| (503, "the SFU is gone".to_owned()))?;
    // The SFU's answer comes on the browser's queue; key messages that
    // arrive meanwhile stay for /poll.
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut held = Vec::new();
    let answer = loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match lock(&rx).recv_timeout(left) {
            Ok(Control::Answer { answer, .. }) => break answer,
            Ok(other) => held.push(other),
            Err(_) => return Err((504, "the SFU did not answer".into())),
        }
    };
    let info = MemberInfo {
        peer,
        id: id.clone(),
        identity,
    };
    // The native members add the browser to their rosters (a ratchet
    // step each) and seal it their keys: they arrive through /poll.
    let roster_version = signal.shared.next_roster_version();
    for m in &members {
        if !signal.shared.is_external(m.peer) {
            signal
                .shared
                .router
                .send(m.peer, Control::Join(info.clone(), roster_version));
        }
    }
    let mut now = members;
    now.push(info);
    signal.shared.set_members(now);
    signal.shared.event(format!("browser {} joins", req.name));
    drop(held);
    Ok(json!({
        "id": hex::encode(&id),
        "answer": answer.to_sdp_string(),
        "roster_version": roster_version,
    }))
}

fn peer_by_id(signal: &Signal, id_hex: &str) -> Result<Peer, Failure> {
    let id = hex::decode(id_hex).map_err(|e| bad(format!("id: {e}")))?;
    signal
        .shared
        .members()
        .iter()
        .find(|m| m.id == id)
        .map(|m| m.peer)
        .ok_or_else(|| (404, "no such member".to_owned()))
}

fn poll(signal: &Signal, query: &str) -> Result<Value, Failure> {
    let id = query
        .split('&')
        .find_map(|kv| kv.strip_prefix("id="))
        .ok_or_else(|| bad("id missing"))?;
    let peer = peer_by_id(signal, id)?;
    let rx = lock(&signal.queues)
        .get(&peer)
        .cloned()
        .ok_or_else(|| (404, "not a browser".to_owned()))?;
    let mut announcements = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(1);
    let rx = lock(&rx);
    loop {
        let wait = if announcements.is_empty() {
            deadline.saturating_duration_since(Instant::now())
        } else {
            Duration::ZERO
        };
        match rx.recv_timeout(wait) {
            Ok(Control::Key(KeyMsg::Announcement { from, bytes })) => {
                let from_id = signal
                    .shared
                    .members()
                    .into_iter()
                    .find(|m| m.peer == from)
                    .map(|m| m.id);
                if let Some(from_id) = from_id {
                    announcements
                        .push(json!({"from": hex::encode(from_id), "data": hex::encode(bytes)}));
                }
            }
            Ok(_) => {}
            Err(_) => break,
        }
    }
    Ok(json!({
        "announcements": announcements,
        "members": members_json(&signal.shared.members()),
        "roster_version": signal.shared.roster_version(),
    }))
}

#[derive(Deserialize)]
struct AnnounceRequest {
    from: String,
    announcements: Vec<Addressed>,
}

#[derive(Deserialize)]
struct Addressed {
    to: String,
    data: String,
}

fn announce(signal: &Signal, body: &str) -> Result<Value, Failure> {
    let req: AnnounceRequest = serde_json::from_str(body).map_err(bad)?;
    let from = peer_by_id(signal, &req.from)?;
    if !signal.shared.is_external(from) {
        return Err((403, "only browsers announce through signalling".into()));
    }
    let mut delivered = 0;
    for a in req.announcements {
        let to = peer_by_id(signal, &a.to)?;
        let bytes = hex::decode(&a.data).map_err(|e| bad(format!("data: {e}")))?;
        // The clear header must name the sender it comes from; the
        // recipient checks everything else (HPKE).
        if e2ee::announcement_sender(&bytes).as_deref() != hex::decode(&req.from).ok().as_deref() {
            return Err(bad("an announcement names another sender"));
        }
        if signal
            .shared
            .router
            .send(to, Control::Key(KeyMsg::Announcement { from, bytes }))
        {
            delivered += 1;
        }
    }
    Ok(json!({"delivered": delivered}))
}

fn report(signal: &Signal) -> Value {
    let members = signal.shared.members();
    let id_of = |p: Peer| -> String {
        members
            .iter()
            .find(|m| m.peer == p)
            .map(|m| hex::encode(&m.id))
            .unwrap_or_else(|| hex::encode(signal.shared.name_of(p)))
    };
    let mut out = serde_json::Map::new();
    for ((receiver, from), hashes) in lock(&signal.shared.opened).iter() {
        if signal.shared.is_external(*receiver) {
            continue;
        }
        let entry = out
            .entry(id_of(*receiver))
            .or_insert_with(|| Value::Object(serde_json::Map::new()));
        if let Value::Object(m) = entry {
            m.insert(
                id_of(*from),
                Value::Array(
                    hashes
                        .iter()
                        .map(|h| Value::String(hex::encode(h)))
                        .collect(),
                ),
            );
        }
    }
    Value::Object(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn static_files_stay_inside_www_and_wasm_is_served_as_wasm() {
        let www = std::env::temp_dir().join(format!("conference-www-{}", std::process::id()));
        std::fs::create_dir_all(www.join("pkg")).expect("dir");
        std::fs::write(www.join("index.html"), "<p>hi</p>").expect("write");
        std::fs::write(www.join("pkg/m.wasm"), b"\0asm").expect("write");
        let get = |p: &str| static_file(Some(&www), p);
        assert_eq!(get("/").map(|f| f.1), Some("text/html; charset=utf-8"));
        assert_eq!(
            get("/pkg/m.wasm"),
            Some((b"\0asm".to_vec(), "application/wasm"))
        );
        assert_eq!(get("/../Cargo.toml"), None);
        assert_eq!(get("/pkg/../../etc/passwd"), None);
        assert_eq!(get("/missing.js"), None);
        assert_eq!(static_file(None, "/"), None);
        std::fs::remove_dir_all(&www).ok();
    }

    #[test]
    fn identities_must_be_32_byte_x25519_keys() {
        assert!(identity_bytes("00").is_err());
        assert!(identity_bytes("zz").is_err());
        let key = hex::encode([9u8; 32]);
        assert!(identity_bytes(&key).is_ok());
    }
}
