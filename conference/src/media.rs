//! The media a participant sends: the committed ffmpeg-made samples in
//! `tests/data/media/` read into frames, looped and paced; and the files
//! `--record` writes (IVF, Annex B, Ogg Opus) so that what a receiver
//! decrypted, and what the SFU forwarded, can be played with ffplay.

use std::fs::File;
use std::io::{self, BufWriter, Cursor, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The video codecs the demo can send.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum VideoCodec {
    /// VP8 (`vp8.ivf`).
    Vp8,
    /// VP9 (`vp9.ivf`).
    Vp9,
    /// H.264 (`h264.h264`, Annex B).
    H264,
    /// AV1 (`av1.ivf`).
    Av1,
}

impl VideoCodec {
    /// The lower-case name (`vp8`, ...), as on the command line.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Vp8 => "vp8",
            Self::Vp9 => "vp9",
            Self::H264 => "h264",
            Self::Av1 => "av1",
        }
    }

    /// The sample file in `tests/data/media/`.
    pub const fn sample(self) -> &'static str {
        match self {
            Self::Vp8 => "vp8.ivf",
            Self::Vp9 => "vp9.ivf",
            Self::H264 => "h264.h264",
            Self::Av1 => "av1.ivf",
        }
    }

    /// The extension of a recording: IVF, or a raw Annex B stream.
    pub const fn extension(self) -> &'static str {
        match self {
            Self::H264 => "h264",
            _ => "ivf",
        }
    }

    const fn fourcc(self) -> &'static [u8; 4] {
        match self {
            Self::Vp8 => b"VP80",
            Self::Vp9 => b"VP90",
            Self::H264 => b"H264",
            Self::Av1 => b"AV01",
        }
    }
}

/// Audio or video.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    /// Opus.
    Audio,
    /// The call's video codec.
    Video,
}

impl Kind {
    /// `audio` or `video`.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Audio => "audio",
            Self::Video => "video",
        }
    }
}

/// One encoded frame of a sample.
#[derive(Debug, Clone)]
pub struct Frame {
    /// The frame's bytes as the encoder made them.
    pub data: Vec<u8>,
    /// Whether a decoder can start here.
    pub keyframe: bool,
    /// How long it lasts, in units of the RTP clock (90 kHz video, 48 kHz
    /// audio).
    pub ticks: u32,
}

/// A sample read into frames: what every participant sends, in a loop.
#[derive(Debug, Clone)]
pub struct Track {
    /// The frames, in order.
    pub frames: Vec<Frame>,
    /// RTP clock rate (90000 video, 48000 Opus).
    pub clock_rate: u32,
    /// Width and height (video).
    pub size: (u16, u16),
    /// IVF time base (numerator, denominator) for recordings.
    pub time_base: (u32, u32),
    /// The two Ogg Opus header packets (audio), for recordings.
    pub ogg_headers: Vec<Vec<u8>>,
}

impl Track {
    /// The duration of frame `i`.
    pub fn duration(&self, i: usize) -> Duration {
        let ticks = u64::from(self.frames[i].ticks);
        Duration::from_micros(ticks * 1_000_000 / u64::from(self.clock_rate))
    }

    /// The first keyframe at or after `i`, wrapping around.
    pub fn next_keyframe(&self, i: usize) -> usize {
        let n = self.frames.len();
        (0..n)
            .map(|k| (i + k) % n)
            .find(|&k| self.frames[k].keyframe)
            .unwrap_or(0)
    }
}

/// Where the samples are: `tests/data/media/` of this checkout.
pub fn sample_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/data/media")
}

fn invalid(what: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, what.into())
}

/// Reads the video sample of `codec`.
///
/// # Errors
/// The file cannot be read or does not parse.
pub fn load_video(codec: VideoCodec) -> io::Result<Track> {
    let path = sample_dir().join(codec.sample());
    let file = std::fs::read(&path)
        .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", path.display())))?;
    match codec {
        VideoCodec::H264 => {
            // A raw Annex B stream has no timing; the samples are made at
            // 15 frames per second (tests/data/media/README.md).
            let frames = annexb_access_units(&file)
                .into_iter()
                .map(|data| Frame {
                    keyframe: h264_is_idr(&data),
                    data,
                    ticks: 90_000 / 15,
                })
                .collect::<Vec<_>>();
            if frames.is_empty() {
                return Err(invalid("no access unit in the H.264 sample"));
            }
            Ok(Track {
                frames,
                clock_rate: 90_000,
                size: (320, 240),
                time_base: (1, 15),
                ogg_headers: Vec::new(),
            })
        }
        _ => read_ivf(&file, codec),
    }
}

fn le16(b: &[u8], at: usize) -> io::Result<u16> {
    b.get(at..at + 2)
        .map(|s| u16::from_le_bytes([s[0], s[1]]))
        .ok_or_else(|| invalid("truncated IVF"))
}

fn le32(b: &[u8], at: usize) -> io::Result<u32> {
    b.get(at..at + 4)
        .map(|s| u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
        .ok_or_else(|| invalid("truncated IVF"))
}

/// An IVF file: a 32-byte header (`DKIF`, header length at 6, size at 12,
/// time base denominator at 16 and numerator at 20), then per frame a
/// 12-byte header (LE size, LE 64-bit timestamp) and the frame.
fn read_ivf(file: &[u8], codec: VideoCodec) -> io::Result<Track> {
    if file.get(..4) != Some(b"DKIF") {
        return Err(invalid("not an IVF file"));
    }
    let header_len = usize::from(le16(file, 6)?);
    let size = (le16(file, 12)?, le16(file, 14)?);
    let (den, num) = (le32(file, 16)?, le32(file, 20)?);
    if den == 0 || num == 0 {
        return Err(invalid("IVF time base is zero"));
    }
    let mut pos = header_len;
    let mut raw = Vec::new();
    while pos + 12 <= file.len() {
        let len = le32(file, pos)? as usize;
        let pts = u64::from(le32(file, pos + 4)?) | (u64::from(le32(file, pos + 8)?) << 32);
        pos += 12;
        let data = file
            .get(pos..pos + len)
            .ok_or_else(|| invalid("truncated IVF frame"))?
            .to_vec();
        pos += len;
        raw.push((pts, data));
    }
    if raw.is_empty() {
        return Err(invalid("IVF without frames"));
    }
    // Frame duration from the time stamps (the samples are constant rate).
    let span = raw.last().map_or(0, |l| l.0) - raw[0].0;
    let per_frame = if raw.len() > 1 {
        span / (raw.len() as u64 - 1)
    } else {
        1
    };
    let ticks = u32::try_from(per_frame.max(1) * 90_000 * u64::from(num) / u64::from(den))
        .map_err(|_| invalid("IVF frame duration out of range"))?;
    let frames = raw
        .into_iter()
        .map(|(_, data)| Frame {
            keyframe: match codec {
                VideoCodec::Vp8 => data.first().is_some_and(|b| b & 1 == 0),
                VideoCodec::Vp9 => vp9_is_keyframe(&data),
                _ => av1_has_sequence_header(&data),
            },
            data,
            ticks,
        })
        .collect();
    Ok(Track {
        frames,
        clock_rate: 90_000,
        size,
        time_base: (num, den),
        ogg_headers: Vec::new(),
    })
}

/// VP9 uncompressed header (VP9 spec §6.2): frame_marker(2), profile
/// low/high bits, a reserved bit for profile 3, show_existing_frame,
/// frame_type (0 = key frame).
fn vp9_is_keyframe(data: &[u8]) -> bool {
    let Some(&b) = data.first() else { return false };
    let profile = ((b >> 5) & 1) | (((b >> 4) & 1) << 1);
    let mut bit = 4; // bits used so far: marker(2) + profile(2)
    if profile == 3 {
        bit += 1;
    }
    let show_existing = (b >> (7 - bit)) & 1;
    if show_existing == 1 {
        return false;
    }
    bit += 1;
    (b >> (7 - bit)) & 1 == 0
}

/// Whether a temporal unit carries a sequence header OBU (type 1): the
/// samples put one before each key frame.
fn av1_has_sequence_header(data: &[u8]) -> bool {
    let mut pos = 0;
    while pos < data.len() {
        let header = data[pos];
        let obu_type = (header >> 3) & 0x0f;
        if obu_type == 1 {
            return true;
        }
        let has_extension = header & 0x04 != 0;
        let has_size = header & 0x02 != 0;
        pos += 1 + usize::from(has_extension);
        if !has_size {
            return false;
        }
        let (size, used) = leb128(&data[pos.min(data.len())..]);
        pos += used + size;
    }
    false
}

fn leb128(b: &[u8]) -> (usize, usize) {
    let mut value = 0usize;
    for (i, &byte) in b.iter().enumerate().take(8) {
        value |= usize::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            return (value, i + 1);
        }
    }
    (usize::MAX / 2, b.len())
}

/// Start code positions (the first zero of a 3- or 4-byte start code) and
/// the NAL unit after each.
fn nal_starts(stream: &[u8]) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut i = 0;
    while i + 3 <= stream.len() {
        if stream[i] == 0 && stream[i + 1] == 0 && stream[i + 2] == 1 {
            let start = if i > 0 && stream[i - 1] == 0 {
                i - 1
            } else {
                i
            };
            out.push((start, i + 3));
            i += 3;
        } else {
            i += 1;
        }
    }
    out
}

/// Splits an H.264 Annex B stream into access units (H.264 §7.4.1.2.3):
/// a new one starts at an AUD, SEI or parameter set, or at a slice whose
/// `first_mb_in_slice` is 0, once the current one has a slice.
pub fn annexb_access_units(stream: &[u8]) -> Vec<Vec<u8>> {
    let mut cuts = Vec::new();
    let mut has_vcl = false;
    for (start, nal) in nal_starts(stream) {
        let t = stream[nal] & 0x1f;
        let vcl = (1..=5).contains(&t);
        let first_in_picture = stream.get(nal + 1).is_some_and(|b| b & 0x80 != 0);
        let opens = matches!(t, 6..=9 | 14..=18);
        if cuts.is_empty() || (has_vcl && (opens || (vcl && first_in_picture))) {
            cuts.push(start);
            has_vcl = false;
        }
        has_vcl |= vcl;
    }
    cuts.push(stream.len());
    cuts.windows(2)
        .map(|w| stream[w[0]..w[1]].to_vec())
        .collect()
}

/// The access unit with every start code written as `00 00 00 01`.
pub fn four_byte_start_codes(au: &[u8]) -> Vec<u8> {
    let starts = nal_starts(au);
    let mut out = Vec::with_capacity(au.len() + 4 * starts.len());
    for (k, &(_, nal)) in starts.iter().enumerate() {
        let end = starts.get(k + 1).map_or(au.len(), |&(next, _)| next);
        out.extend_from_slice(&[0, 0, 0, 1]);
        out.extend_from_slice(&au[nal..end]);
    }
    out
}

/// An AV1 temporal unit as the sequence of its OBUs that RTP carries
/// (RFC 9000-series AV1 RTP payload §5: temporal delimiters and padding are
/// dropped, size fields may be rewritten): each OBU's header with the
/// size flag cleared, its payload, and the payload length before it.
pub fn av1_obus(tu: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(tu.len() + 16);
    let mut pos = 0;
    while pos < tu.len() {
        let header = tu[pos];
        let obu_type = (header >> 3) & 0x0f;
        let ext = usize::from(header & 0x04 != 0);
        let has_size = header & 0x02 != 0;
        let head_end = (pos + 1 + ext).min(tu.len());
        let (size, used) = if has_size {
            leb128(&tu[head_end..])
        } else {
            (tu.len() - head_end, 0)
        };
        let start = head_end + used;
        let end = start.saturating_add(size).min(tu.len());
        if obu_type != 2 && obu_type != 15 {
            out.extend_from_slice(&u32::try_from(end - start).unwrap_or(u32::MAX).to_le_bytes());
            out.push(header & !0x02);
            out.extend_from_slice(&tu[pos + 1..head_end]);
            out.extend_from_slice(&tu[start..end]);
        }
        pos = end.max(pos + 1);
    }
    out
}

fn h264_is_idr(au: &[u8]) -> bool {
    nal_starts(au).iter().any(|&(_, nal)| au[nal] & 0x1f == 5)
}

/// Reads `opus.ogg`: its packets (20 ms each in the sample) and its two
/// header packets.
///
/// # Errors
/// The file cannot be read or is not Ogg Opus.
pub fn load_audio() -> io::Result<Track> {
    let path = sample_dir().join("opus.ogg");
    let file = std::fs::read(&path)?;
    let mut reader = ogg::PacketReader::new(Cursor::new(file));
    let mut packets = Vec::new();
    while let Some(packet) = reader
        .read_packet()
        .map_err(|e| invalid(format!("ogg: {e}")))?
    {
        packets.push(packet.data);
    }
    if packets.len() < 3
        || !packets[0].starts_with(b"OpusHead")
        || !packets[1].starts_with(b"OpusTags")
    {
        return Err(invalid("not an Ogg Opus file"));
    }
    let frames: Vec<Frame> = packets[2..]
        .iter()
        .map(|p| Frame {
            ticks: opus_samples(p),
            data: p.clone(),
            keyframe: true,
        })
        .collect();
    Ok(Track {
        frames,
        clock_rate: 48_000,
        size: (0, 0),
        time_base: (1, 48_000),
        ogg_headers: packets[..2].to_vec(),
    })
}

/// Samples at 48 kHz in an Opus packet, from its TOC (RFC 6716 §3.1).
pub fn opus_samples(packet: &[u8]) -> u32 {
    let Some(&toc) = packet.first() else {
        return 960;
    };
    let config = toc >> 3;
    let per_frame: u32 = match config {
        0..=11 => [480, 960, 1920, 2880][usize::from(config % 4)],
        12..=15 => [480, 960][usize::from(config % 2)],
        _ => [120, 240, 480, 960][usize::from(config % 4)],
    };
    let count = match toc & 3 {
        0 => 1,
        1 | 2 => 2,
        _ => u32::from(packet.get(1).map_or(1, |b| b & 0x3f)),
    };
    per_frame * count.max(1)
}

/// Writes the frames of one stream to a file ffplay can open: IVF for
/// VP8/VP9/AV1, a raw Annex B stream for H.264, Ogg Opus for audio.
pub enum Recorder {
    /// IVF: header patched with the frame count on finish.
    Ivf {
        /// The file.
        out: BufWriter<File>,
        /// Frames so far.
        count: u32,
    },
    /// Annex B: the access units, concatenated.
    AnnexB(BufWriter<File>),
    /// Ogg Opus.
    Ogg {
        /// The page writer.
        out: ogg::PacketWriter<'static, BufWriter<File>>,
        /// Granule position (48 kHz samples) so far.
        granule: u64,
        /// The packet held back so that the last one can end the stream.
        held: Option<(Vec<u8>, u64)>,
    },
}

impl std::fmt::Debug for Recorder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Ivf { .. } => "Recorder::Ivf",
            Self::AnnexB(_) => "Recorder::AnnexB",
            Self::Ogg { .. } => "Recorder::Ogg",
        })
    }
}

/// The Ogg stream serial of every recording.
const OGG_SERIAL: u32 = 0x5f_72_61_6d;

impl Recorder {
    /// Creates `path` for a video stream of `codec`.
    ///
    /// # Errors
    /// The file cannot be created.
    pub fn video(path: &Path, codec: VideoCodec, track: &Track) -> io::Result<Self> {
        let mut out = BufWriter::new(File::create(path)?);
        if codec == VideoCodec::H264 {
            return Ok(Self::AnnexB(out));
        }
        let mut header = Vec::with_capacity(32);
        header.extend_from_slice(b"DKIF");
        header.extend_from_slice(&0u16.to_le_bytes());
        header.extend_from_slice(&32u16.to_le_bytes());
        header.extend_from_slice(codec.fourcc());
        header.extend_from_slice(&track.size.0.to_le_bytes());
        header.extend_from_slice(&track.size.1.to_le_bytes());
        header.extend_from_slice(&track.time_base.1.to_le_bytes());
        header.extend_from_slice(&track.time_base.0.to_le_bytes());
        header.extend_from_slice(&0u32.to_le_bytes());
        header.extend_from_slice(&0u32.to_le_bytes());
        out.write_all(&header)?;
        Ok(Self::Ivf { out, count: 0 })
    }

    /// Creates `path` for an Opus stream, with the sample's header packets.
    ///
    /// # Errors
    /// The file cannot be created or written.
    pub fn audio(path: &Path, track: &Track) -> io::Result<Self> {
        let mut out = ogg::PacketWriter::new(BufWriter::new(File::create(path)?));
        for header in &track.ogg_headers {
            out.write_packet(
                header.clone(),
                OGG_SERIAL,
                ogg::PacketWriteEndInfo::EndPage,
                0,
            )?;
        }
        Ok(Self::Ogg {
            out,
            granule: 0,
            held: None,
        })
    }

    /// Appends one frame.
    ///
    /// # Errors
    /// Writing fails.
    pub fn write(&mut self, frame: &[u8]) -> io::Result<()> {
        match self {
            Self::Ivf { out, count } => {
                let len = u32::try_from(frame.len()).map_err(|_| invalid("frame too large"))?;
                out.write_all(&len.to_le_bytes())?;
                out.write_all(&u64::from(*count).to_le_bytes())?;
                out.write_all(frame)?;
                *count += 1;
            }
            Self::AnnexB(out) => out.write_all(frame)?,
            Self::Ogg { out, granule, held } => {
                *granule += u64::from(opus_samples(frame));
                if let Some((data, at)) = held.replace((frame.to_vec(), *granule)) {
                    out.write_packet(data, OGG_SERIAL, ogg::PacketWriteEndInfo::NormalPacket, at)?;
                }
            }
        }
        Ok(())
    }

    /// Completes the file (IVF frame count, the Ogg end of stream).
    ///
    /// # Errors
    /// Writing fails.
    pub fn finish(self) -> io::Result<()> {
        match self {
            Self::Ivf { mut out, count } => {
                out.flush()?;
                let mut file = out.into_inner().map_err(io::IntoInnerError::into_error)?;
                file.seek(SeekFrom::Start(24))?;
                file.write_all(&count.to_le_bytes())?;
                Ok(())
            }
            Self::AnnexB(mut out) => out.flush(),
            Self::Ogg { mut out, held, .. } => {
                if let Some((data, at)) = held {
                    out.write_packet(data, OGG_SERIAL, ogg::PacketWriteEndInfo::EndStream, at)?;
                }
                out.inner_mut().flush()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_video_sample_loads_with_two_keyframes() {
        for codec in [
            VideoCodec::Vp8,
            VideoCodec::Vp9,
            VideoCodec::H264,
            VideoCodec::Av1,
        ] {
            let track = load_video(codec).expect("sample");
            assert_eq!(track.frames.len(), 30, "{codec:?}");
            let keys: Vec<usize> = (0..30).filter(|&i| track.frames[i].keyframe).collect();
            assert_eq!(keys, vec![0, 15], "{codec:?}");
            assert_eq!(
                track.duration(0),
                Duration::from_micros(66_666),
                "{codec:?}"
            );
            assert_eq!(track.next_keyframe(16), 0);
            assert_eq!(track.next_keyframe(3), 15);
        }
    }

    #[test]
    fn start_codes_are_normalized_to_four_bytes() {
        let au = [0, 0, 1, 0x67, 9, 0, 0, 0, 1, 0x68, 7, 0, 0, 1, 0x65, 1, 2];
        assert_eq!(
            four_byte_start_codes(&au),
            vec![
                0, 0, 0, 1, 0x67, 9, 0, 0, 0, 1, 0x68, 7, 0, 0, 0, 1, 0x65, 1, 2
            ]
        );
    }

    #[test]
    fn opus_sample_is_twenty_millisecond_packets() {
        let track = load_audio().expect("sample");
        assert_eq!(track.frames.len(), 101);
        assert!(track.frames.iter().all(|f| f.ticks == 960));
    }

    #[test]
    fn ivf_recording_reads_back_frame_for_frame() {
        let track = load_video(VideoCodec::Vp8).expect("sample");
        let path = std::env::temp_dir().join(format!("conference-ivf-{}.ivf", std::process::id()));
        let mut rec = Recorder::video(&path, VideoCodec::Vp8, &track).expect("create");
        for f in &track.frames {
            rec.write(&f.data).expect("write");
        }
        rec.finish().expect("finish");
        let back = read_ivf(&std::fs::read(&path).expect("read"), VideoCodec::Vp8).expect("parse");
        std::fs::remove_file(&path).ok();
        assert_eq!(back.frames.len(), track.frames.len());
        assert!(
            back.frames
                .iter()
                .zip(&track.frames)
                .all(|(a, b)| a.data == b.data)
        );
    }
}
