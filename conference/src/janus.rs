//! `--sfu janus=URL`: the same participants join a Janus VideoRoom
//! through Janus's HTTP API instead of the embedded SFU. One signalling
//! thread per participant speaks the API (create a session, attach
//! `janus.plugin.videoroom`, join and publish with an offer, subscribe to
//! each feed and answer Janus's offer, long-poll for events) and turns it
//! into the same [`Control`] messages the embedded SFU sends. Janus
//! forwards RTP payloads unchanged and never holds a key.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, mpsc};
use std::thread;
use std::time::Duration;

use serde_json::{Value, json};
use str0m::change::{SdpAnswer, SdpOffer};
use str0m::media::Mid;

use crate::call::{Control, Shared, Up};
use crate::e2ee::Peer;
use crate::media::{Kind, VideoCodec};

/// A client of one Janus session.
#[derive(Debug, Clone)]
pub struct Client {
    agent: ureq::Agent,
    url: String,
    session: u64,
}

fn transaction() -> String {
    use std::sync::atomic::AtomicU64;
    static NEXT: AtomicU64 = AtomicU64::new(1);
    format!("t{}", NEXT.fetch_add(1, Ordering::Relaxed))
}

fn post(agent: &ureq::Agent, url: &str, mut body: Value) -> Result<Value, String> {
    body["transaction"] = json!(transaction());
    let reply: Value = agent
        .post(url)
        .send_json(&body)
        .map_err(|e| format!("POST {url}: {e}"))?
        .body_mut()
        .read_json()
        .map_err(|e| format!("POST {url}: {e}"))?;
    if reply["janus"] == "error" {
        return Err(format!("Janus: {}", reply["error"]));
    }
    Ok(reply)
}

impl Client {
    /// Creates a session at `url` (e.g. `http://127.0.0.1:8088/janus`).
    ///
    /// # Errors
    /// Janus cannot be reached or refuses.
    pub fn connect(url: &str) -> Result<Self, String> {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .timeout_global(Some(Duration::from_secs(40)))
            .build()
            .into();
        let reply = post(&agent, url, json!({"janus": "create"}))?;
        let session = reply["data"]["id"].as_u64().ok_or("no session id")?;
        Ok(Self {
            agent,
            url: url.to_owned(),
            session,
        })
    }

    fn session_url(&self) -> String {
        format!("{}/{}", self.url, self.session)
    }

    /// Attaches a VideoRoom handle.
    ///
    /// # Errors
    /// Janus refuses.
    pub fn attach(&self) -> Result<u64, String> {
        let reply = post(
            &self.agent,
            &self.session_url(),
            json!({"janus": "attach", "plugin": "janus.plugin.videoroom"}),
        )?;
        reply["data"]["id"]
            .as_u64()
            .ok_or_else(|| "no handle id".to_owned())
    }

    /// Sends a plugin message (and a JSEP) on `handle`; returns Janus's
    /// immediate reply (synchronous requests answer here, the others
    /// with an event).
    ///
    /// # Errors
    /// Janus refuses.
    pub fn message(&self, handle: u64, body: Value, jsep: Option<Value>) -> Result<Value, String> {
        let mut msg = json!({"janus": "message", "body": body});
        if let Some(jsep) = jsep {
            msg["jsep"] = jsep;
        }
        post(
            &self.agent,
            &format!("{}/{handle}", self.session_url()),
            msg,
        )
    }

    /// Long-polls for events (up to 30 s, Janus's limit).
    ///
    /// # Errors
    /// The request fails.
    pub fn poll(&self) -> Result<Vec<Value>, String> {
        let url = format!("{}?maxev=10", self.session_url());
        let reply: Value = self
            .agent
            .get(&url)
            .call()
            .map_err(|e| format!("GET {url}: {e}"))?
            .body_mut()
            .read_json()
            .map_err(|e| format!("GET {url}: {e}"))?;
        Ok(match reply {
            Value::Array(events) => events,
            event => vec![event],
        })
    }

    /// Destroys the session.
    pub fn destroy(&self) {
        let _ = post(
            &self.agent,
            &self.session_url(),
            json!({"janus": "destroy"}),
        );
    }
}

/// Creates the call's room (no room is configured in advance) and returns
/// its number and the session that owns it.
///
/// # Errors
/// Janus refuses.
pub fn create_room(
    url: &str,
    video: VideoCodec,
    publishers: usize,
    room: u64,
) -> Result<Client, String> {
    let client = Client::connect(url)?;
    let handle = client.attach()?;
    let reply = client.message(
        handle,
        json!({
            "request": "create",
            "room": room,
            "publishers": publishers,
            "videocodec": video.name(),
            "audiocodec": "opus",
            "bitrate": 0,
            "fir_freq": 0,
        }),
        None,
    )?;
    let data = &reply["plugindata"]["data"];
    if data["videoroom"] != "created" {
        return Err(format!("room not created: {data}"));
    }
    Ok(client)
}

/// Runs one participant's signalling with Janus until [`Up::Stop`].
/// `rx` carries the participant's messages and, from the poller, Janus's
/// events (as [`Up::Janus`]).
///
/// # Errors
/// Janus cannot be reached.
pub fn bridge(
    url: &str,
    room: u64,
    peer: Peer,
    names: &[String],
    shared: &Arc<Shared>,
    tx: &mpsc::Sender<Up>,
    rx: &mpsc::Receiver<Up>,
) -> Result<(), String> {
    let client = Client::connect(url)?;
    let publisher = client.attach()?;
    let stop = Arc::new(AtomicBool::new(false));
    let poller = {
        let (client, tx, stop) = (client.clone(), tx.clone(), stop.clone());
        thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                match client.poll() {
                    Ok(events) => {
                        for e in events {
                            if tx.send(Up::Janus(e)).is_err() {
                                return;
                            }
                        }
                    }
                    Err(_) => thread::sleep(Duration::from_millis(100)),
                }
            }
        })
    };
    client.message(
        publisher,
        json!({"request": "join", "ptype": "publisher", "room": room, "display": names[peer]}),
        None,
    )?;
    let mut offer: Option<SdpOffer> = None;
    let mut joined = false;
    let mut subscribed: HashSet<u64> = HashSet::new();
    // Subscriber handle -> the participant's connection index.
    let mut pcs: HashMap<u64, usize> = HashMap::new();
    let peer_of = |display: &str| names.iter().position(|n| n == display);
    let result = loop {
        let Ok(msg) = rx.recv() else { break Ok(()) };
        match msg {
            Up::Stop => break Ok(()),
            Up::Publish { offer: o, .. } => offer = Some(o),
            Up::Answer { pc, answer, .. } => {
                if let Some((&handle, _)) = pcs.iter().find(|&(_, &p)| p == pc) {
                    let jsep =
                        json!({"type": "answer", "sdp": answer.to_sdp_string(), "trickle": false});
                    if let Err(e) = client.message(handle, json!({"request": "start"}), Some(jsep))
                    {
                        shared.event(format!("Janus refused {}'s answer: {e}", names[peer]));
                    }
                }
            }
            Up::Unpublish(_) => {
                let _ = client.message(publisher, json!({"request": "unpublish"}), None);
            }
            Up::Janus(event) => {
                let sender = event["sender"].as_u64().unwrap_or(0);
                let data = &event["plugindata"]["data"];
                if sender == publisher {
                    if data["videoroom"] == "joined" {
                        joined = true;
                    }
                    if let Some(jsep) = event.get("jsep")
                        && jsep["type"] == "answer"
                        && let Some(answer) = jsep["sdp"]
                            .as_str()
                            .and_then(|s| SdpAnswer::from_sdp_string(s).ok())
                    {
                        shared.router.send(peer, Control::Answer { pc: 0, answer });
                    }
                    for p in data["publishers"].as_array().into_iter().flatten() {
                        let Some(feed) = p["id"].as_u64() else {
                            continue;
                        };
                        if subscribed.insert(feed) {
                            let handle = client.attach()?;
                            pcs.insert(handle, pcs.len() + 1);
                            client.message(
                                handle,
                                json!({"request": "join", "ptype": "subscriber", "room": room, "streams": [{"feed": feed}]}),
                                None,
                            )?;
                        }
                    }
                } else if let Some(&pc) = pcs.get(&sender)
                    && let Some(jsep) = event.get("jsep")
                    && jsep["type"] == "offer"
                    && let Some(offer) = jsep["sdp"]
                        .as_str()
                        .and_then(|s| SdpOffer::from_sdp_string(s).ok())
                {
                    let streams = data["streams"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(|s| {
                            let from = peer_of(s["feed_display"].as_str()?)?;
                            let kind = if s["type"] == "audio" {
                                Kind::Audio
                            } else {
                                Kind::Video
                            };
                            Some((Mid::from(s["mid"].as_str()?), from, kind))
                        })
                        .collect();
                    shared
                        .router
                        .send(peer, Control::Offer { pc, offer, streams });
                }
            }
            _ => {}
        }
        if joined && let Some(o) = offer.take() {
            let jsep = json!({"type": "offer", "sdp": o.to_sdp_string(), "trickle": false});
            client.message(
                publisher,
                json!({"request": "publish", "audio": true, "video": true}),
                Some(jsep),
            )?;
        }
    };
    stop.store(true, Ordering::Relaxed);
    client.destroy();
    drop(poller);
    result
}
