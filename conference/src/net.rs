//! The boundary between str0m (sans-IO) and the UDP sockets: every
//! datagram read or written goes through here, on 127.0.0.1 only.

use std::io::ErrorKind;
use std::net::{SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

use str0m::net::{Protocol, Receive};
use str0m::{Candidate, Input, RtcConfig};

use crate::media::VideoCodec;

/// The address every endpoint binds: loopback, an ephemeral port.
pub const LOOPBACK: &str = "127.0.0.1:0";

/// Installs str0m's crypto provider (aws-lc-rs) once per process.
pub fn init_crypto() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| str0m::crypto::from_feature_flags().install_process_default());
}

/// The codecs of a call: its video codec and Opus, nothing else.
pub fn rtc_config(video: VideoCodec) -> RtcConfig {
    let config = RtcConfig::new().clear_codecs().enable_opus(true, false);
    match video {
        VideoCodec::Vp8 => config.enable_vp8(true),
        VideoCodec::Vp9 => config.enable_vp9(true),
        VideoCodec::H264 => config.enable_h264(true),
        VideoCodec::Av1 => config.enable_av1(true),
    }
}

/// The str0m codec of a call's video.
pub fn str0m_codec(video: VideoCodec) -> str0m::format::Codec {
    match video {
        VideoCodec::Vp8 => str0m::format::Codec::Vp8,
        VideoCodec::Vp9 => str0m::format::Codec::Vp9,
        VideoCodec::H264 => str0m::format::Codec::H264,
        VideoCodec::Av1 => str0m::format::Codec::Av1,
    }
}

/// A UDP socket on loopback.
#[derive(Debug)]
pub struct Socket {
    socket: UdpSocket,
    local: SocketAddr,
    buf: Vec<u8>,
}

impl Socket {
    /// Binds 127.0.0.1 on an ephemeral port.
    ///
    /// # Errors
    /// The socket cannot be bound.
    pub fn bind() -> std::io::Result<Self> {
        let socket = UdpSocket::bind(LOOPBACK)?;
        let local = socket.local_addr()?;
        Ok(Self {
            socket,
            local,
            buf: vec![0; 2000],
        })
    }

    /// The local address.
    pub const fn local(&self) -> SocketAddr {
        self.local
    }

    /// A host candidate for this socket.
    ///
    /// # Errors
    /// str0m refuses the address.
    pub fn candidate(&self) -> Result<Candidate, String> {
        Candidate::host(self.local, "udp").map_err(|e| e.to_string())
    }

    /// Sends a datagram; a full buffer or a vanished peer only loses it,
    /// as UDP may.
    pub fn send(&self, data: &[u8], to: SocketAddr) {
        let _ = self.socket.send_to(data, to);
    }

    /// Waits up to `timeout` for a datagram and hands it to `handle` as
    /// str0m input. Returns whether one came.
    ///
    /// # Panics
    /// Never: socket errors other than a timeout are reported as no input.
    pub fn recv(&mut self, timeout: Duration, handle: impl FnOnce(Input<'_>)) -> bool {
        // A socket timeout is rounded up to a scheduler tick (up to 4 ms):
        // when there is work due now, only look, without waiting.
        let wait = !timeout.is_zero();
        if self.socket.set_nonblocking(!wait).is_err()
            || (wait && self.socket.set_read_timeout(Some(timeout)).is_err())
        {
            return false;
        }
        match self.socket.recv_from(&mut self.buf) {
            Ok((n, source)) => {
                let Ok(contents) = self.buf[..n].try_into() else {
                    return true;
                };
                handle(Input::Receive(
                    Instant::now(),
                    Receive {
                        proto: Protocol::Udp,
                        source,
                        destination: self.local,
                        contents,
                    },
                ));
                true
            }
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => false,
            Err(_) => false,
        }
    }
}

/// Whether a datagram is RTP (not RTCP, STUN or DTLS): RFC 7983 and RFC
/// 5761 demultiplexing, readable on an SRTP packet without its keys.
pub fn is_rtp(datagram: &[u8]) -> bool {
    matches!(datagram.first(), Some(128..=191))
        && datagram.get(1).is_some_and(|pt| !(192..=223).contains(pt))
}
