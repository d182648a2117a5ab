//! The end of a call: the table per participant, the SFU's row, the
//! eavesdropper's row, the verdict; and the measurements behind them
//! (thread CPU time, percentiles, ffmpeg decoding what the SFU forwarded).

use std::collections::HashSet;
use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use crate::e2ee::Peer;
use crate::participant::{Cause, ParticipantReport};
use crate::sfu::SfuReport;

/// CPU time of the calling thread (`/proc/thread-self/schedstat`, first
/// field: nanoseconds on a CPU). Zero where the file is missing.
pub fn thread_cpu() -> Duration {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next().and_then(|n| n.parse().ok()))
        .map_or(Duration::ZERO, Duration::from_nanos)
}

/// The `p`-th percentile (0..=100) of `values`, nearest rank.
pub fn percentile(values: &[u64], p: u64) -> u64 {
    if values.is_empty() {
        return 0;
    }
    let mut v = values.to_vec();
    v.sort_unstable();
    let rank = (p * v.len() as u64).div_ceil(100).max(1);
    v[usize::try_from(rank - 1).unwrap_or(0).min(v.len() - 1)]
}

/// Whether `ffmpeg` runs.
pub fn have_ffmpeg() -> bool {
    Command::new("ffmpeg")
        .arg("-version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// The per-frame MD5s of the pictures ffmpeg decodes from `path` (an
/// empty list when nothing decodes).
pub fn framemd5(path: &Path) -> Vec<String> {
    let Ok(out) = Command::new("ffmpeg")
        .args(["-v", "quiet", "-i"])
        .arg(path)
        .args(["-f", "framemd5", "-"])
        .output()
    else {
        return Vec::new();
    };
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.rsplit(',').next().map(|h| h.trim().to_owned()))
        .filter(|h| h.len() == 32)
        .collect()
}

/// What the SFU could decode: pictures of its recordings equal to a
/// picture of the source, and pictures decoded at all.
#[derive(Debug, Clone, Copy, Default)]
pub struct SfuDecode {
    /// Pictures ffmpeg decoded from what the SFU forwarded.
    pub decoded: usize,
    /// Of those, equal to a source picture.
    pub correct: usize,
    /// Frames it forwarded (recorded).
    pub frames: usize,
}

/// Decodes the SFU's recordings and compares with the source's pictures.
pub fn sfu_decode(
    source: &Path,
    recordings: &[(String, std::path::PathBuf)],
    frames: usize,
) -> SfuDecode {
    let reference: HashSet<String> = framemd5(source).into_iter().collect();
    let mut result = SfuDecode {
        frames,
        ..SfuDecode::default()
    };
    for (_, path) in recordings {
        let hashes = framemd5(path);
        result.decoded += hashes.len();
        result.correct += hashes.iter().filter(|h| reference.contains(*h)).count();
    }
    result
}

/// Everything the end of a call prints and decides on.
#[derive(Debug)]
pub struct Summary<'a> {
    /// Participants, by place.
    pub participants: &'a [ParticipantReport],
    /// The embedded SFU's report; `None` through Janus, whose row is
    /// made of what the receivers got.
    pub sfu: Option<&'a SfuReport>,
    /// The SFU decoding check, if ffmpeg ran.
    pub decode: Option<SfuDecode>,
    /// Who left (the eavesdropper).
    pub leaver: Option<Peer>,
    /// Who joined late.
    pub joiner: Option<Peer>,
    /// Receivers that must have opened something from each sender.
    pub must_hear: Vec<(Peer, Peer)>,
    /// Forged and replayed frames injected, and history frames handed over.
    pub injected: (u64, u64, u64),
    /// Whether the SFU was told to lose packets (`--loss`): only then may
    /// frames arrive damaged.
    pub lossy: bool,
}

impl Summary<'_> {
    /// The table, the rows and the verdict; and whether the call passed.
    pub fn render(&self) -> (String, bool) {
        let mut s = String::new();
        let mut problems: Vec<String> = Vec::new();
        let _ = writeln!(
            s,
            "\n{:<8} {:>10} {:>7} {:>28} {:>5} {:>5} {:>8} {:>13} {:>13} {:>12}",
            "who",
            "sent v/a",
            "opened",
            "rejected as required",
            "fail",
            "leak",
            "overhead",
            "encrypt µs",
            "decrypt µs",
            "latency ms"
        );
        let _ = writeln!(
            s,
            "{:<8} {:>10} {:>7} {:>28} {:>5} {:>5} {:>8} {:>13} {:>13} {:>12}",
            "", "", "", "(cause: reason n)", "", "", "", "p50/p99", "p50/p99", "p50/p99"
        );
        for p in self.participants {
            let rejected = p
                .rejected
                .iter()
                .map(|((c, r), n)| format!("{}:{} {n}", short(*c), r.name()))
                .collect::<Vec<_>>()
                .join(", ");
            let overhead = if p.plain_bytes > 0 {
                format!(
                    "{:.2}%",
                    (p.protected_bytes - p.plain_bytes.min(p.protected_bytes)) as f64 * 100.0
                        / p.plain_bytes as f64
                )
            } else {
                "-".into()
            };
            let opened: u64 = p.decrypted.values().sum();
            let _ = writeln!(
                s,
                "{:<8} {:>10} {:>7} {:>28} {:>5} {:>5} {:>8} {:>13} {:>13} {:>12}",
                p.name,
                format!("{}/{}", p.sent_video, p.sent_audio),
                opened,
                if rejected.is_empty() {
                    "-".into()
                } else {
                    rejected
                },
                p.failures,
                p.violations,
                overhead,
                format!(
                    "{:.1}/{:.1}",
                    us(percentile(&p.encrypt_ns, 50)),
                    us(percentile(&p.encrypt_ns, 99))
                ),
                format!(
                    "{:.1}/{:.1}",
                    us(percentile(&p.decrypt_ns, 50)),
                    us(percentile(&p.decrypt_ns, 99))
                ),
                format!(
                    "{:.1}/{:.1}",
                    percentile(&p.latency_us, 50) as f64 / 1000.0,
                    percentile(&p.latency_us, 99) as f64 / 1000.0
                ),
            );
            if p.failures > 0 {
                problems.push(format!(
                    "{}: {} frame(s) that should have opened did not",
                    p.name, p.failures
                ));
            }
            if p.violations > 0 {
                problems.push(format!(
                    "{}: read {} frame(s) it must not",
                    p.name, p.violations
                ));
            }
            for text in &p.problems {
                let _ = writeln!(s, "         ! {text}");
            }
        }
        if self.sfu.is_none() {
            let forwarded: u64 = self.participants.iter().map(|p| p.received).sum();
            let plaintext: u64 = self.participants.iter().map(|p| p.received_plaintext).sum();
            let decode = self.decode.map_or_else(
                || "not checked (ffmpeg not found)".to_owned(),
                |d| {
                    format!(
                        "{} of {} video frames (ffmpeg decoded {} pictures from the copy the receivers got; {} equal to a source picture)",
                        d.correct, d.frames, d.decoded, d.correct
                    )
                },
            );
            let _ = writeln!(
                s,
                "Janus    forwarded {forwarded} frames (as the receivers got them);\n         \
                 frames it could decode: {decode}; plaintext frames among what it forwarded: {plaintext}"
            );
            if plaintext > 0 {
                problems.push(format!("Janus forwarded {plaintext} plaintext frame(s)"));
            }
            if let Some(d) = self.decode
                && d.correct > 0
            {
                problems.push(format!(
                    "Janus's copy decodes to {} source picture(s)",
                    d.correct
                ));
            }
        }
        if let Some(sfu) = self.sfu {
            let decode = self.decode.map_or_else(
                || "not checked (ffmpeg not found)".to_owned(),
                |d| {
                    format!(
                        "{} of {} video frames (ffmpeg decoded {} pictures from its copy; {} equal to a source picture)",
                        d.correct, d.frames, d.decoded, d.correct
                    )
                },
            );
            let _ = writeln!(
                s,
                "SFU      forwarded {} frames in {} RTP packets, {:.1} MB; dropped {}, reordered {}; {} keyframe requests; {} KIDs seen;\n         \
                 frames it could decode: {decode}; plaintext frames among what it forwarded: {}",
                sfu.frames_out,
                sfu.packets,
                sfu.bytes as f64 / 1e6,
                sfu.dropped,
                sfu.reordered,
                sfu.keyframe_requests,
                sfu.kids,
                sfu.plaintext_frames
            );
            if sfu.plaintext_frames > 0 {
                problems.push(format!(
                    "the SFU saw {} plaintext frame(s)",
                    sfu.plaintext_frames
                ));
            }
            if let Some(d) = self.decode
                && d.correct > 0
            {
                problems.push(format!("the SFU could decode {} picture(s)", d.correct));
            }
        }
        if let Some(l) = self.leaver.and_then(|l| self.participants.get(l)) {
            let _ = writeln!(
                s,
                "eavesdropper {} (left at {:.1} s, kept receiving): read {} frames before leaving; after: {} frames sent to it, {} read",
                l.name,
                l.departed_ms.unwrap_or(0) as f64 / 1000.0,
                l.read_before_leaving,
                l.offered_after_leaving,
                l.read_after_leaving
            );
            if l.read_after_leaving > 0 {
                problems.push(format!(
                    "{} read {} frame(s) after leaving",
                    l.name, l.read_after_leaving
                ));
            }
            if l.offered_after_leaving == 0 {
                problems.push(format!(
                    "{} was sent nothing after leaving: the check proved nothing",
                    l.name
                ));
            }
        }
        if let Some(j) = self.joiner.and_then(|j| self.participants.get(j)) {
            let _ = writeln!(
                s,
                "joiner   {}: handed {} frames from before it joined, read {}{}",
                j.name,
                j.history_offered,
                j.history_read,
                if self.sfu.is_none() {
                    " (Janus forwards only live frames: this attack needs the embedded SFU)"
                } else {
                    ""
                }
            );
            if j.history_offered == 0 && self.sfu.is_some() {
                problems.push(format!(
                    "{} was handed no frame from before it joined: the check proved nothing",
                    j.name
                ));
            }
        }
        let (forged, replayed, _) = self.injected;
        let rejected = |cause: Cause| -> u64 {
            self.participants
                .iter()
                .flat_map(|p| p.rejected.iter())
                .filter(|((c, _), _)| *c == cause)
                .map(|(_, n)| *n)
                .sum()
        };
        let _ = writeln!(
            s,
            "injected {}: {forged} forged (rejected {}), {replayed} replayed (rejected {})",
            if self.sfu.is_some() {
                "by the SFU"
            } else {
                "in front of the receivers (Janus cannot be made to)"
            },
            rejected(Cause::Forged),
            rejected(Cause::Replayed)
        );
        {
            if forged == 0 || rejected(Cause::Forged) == 0 {
                problems.push("no forged frame was injected and rejected".into());
            }
            if replayed == 0 || rejected(Cause::Replayed) == 0 {
                problems.push("no replayed frame was injected and rejected".into());
            }
        }
        let damaged = rejected(Cause::Damaged);
        if damaged > 0 && !self.lossy {
            problems.push(format!(
                "{damaged} frame(s) arrived damaged without any packet loss"
            ));
        }
        for &(r, from) in &self.must_hear {
            let n = self
                .participants
                .get(r)
                .and_then(|p| p.decrypted.get(&from))
                .copied()
                .unwrap_or(0);
            if n == 0 {
                problems.push(format!(
                    "{} opened nothing from {}",
                    self.participants[r].name, self.participants[from].name
                ));
            }
        }
        let pass = problems.is_empty();
        if pass {
            let opened: u64 = self
                .participants
                .iter()
                .flat_map(|p| p.decrypted.values())
                .sum();
            let _ = writeln!(
                s,
                "\nVERDICT: PASS — {opened} frames opened by the members they were sent to, exactly as sent; nothing opened by anyone else; \
                 every forged, replayed and out-of-membership frame rejected; the SFU read none."
            );
        } else {
            let _ = writeln!(s, "\nVERDICT: FAIL");
            for p in problems {
                let _ = writeln!(s, "  - {p}");
            }
        }
        (s, pass)
    }
}

fn short(c: Cause) -> &'static str {
    c.name()
}

fn us(ns: u64) -> f64 {
    ns as f64 / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentile_is_nearest_rank() {
        let v: Vec<u64> = (1..=100).collect();
        assert_eq!(percentile(&v, 50), 50);
        assert_eq!(percentile(&v, 99), 99);
        assert_eq!(percentile(&[7], 99), 7);
        assert_eq!(percentile(&[], 50), 0);
    }

    #[test]
    fn thread_cpu_grows_with_work() {
        let a = thread_cpu();
        let mut x = 0u64;
        for i in 0..20_000_000u64 {
            x = x.wrapping_mul(31).wrapping_add(i);
        }
        assert!(x != 1);
        assert!(thread_cpu() > a);
    }
}
