//! The media files `protect` and `unprotect` read and write: IVF (VP8, VP9,
//! AV1), Annex B byte streams (H.264, H.265) and Ogg (Opus). Each is read
//! into frames and written back with the same framing, so a protected file
//! keeps its container and a restored one matches the original.

use std::fmt::Display;
use std::io::Cursor;
use std::path::Path;

use framecrypt::codec::Codec;

use crate::error::CliError;

/// A media file split into frames, with what is needed to write it back.
pub enum Media {
    /// IVF: the file header, then per frame its 8-byte timestamp and bytes.
    Ivf {
        header: Vec<u8>,
        frames: Vec<(u64, Vec<u8>)>,
    },
    /// Annex B: the access units, concatenated on writing.
    AnnexB { units: Vec<Vec<u8>> },
    /// Ogg: every packet with its page placement; the first `headers`
    /// packets (OpusHead, OpusTags) are not media.
    Ogg {
        packets: Vec<OggPacket>,
        headers: usize,
    },
}

/// One Ogg packet and where it sat.
pub struct OggPacket {
    pub data: Vec<u8>,
    serial: u32,
    granule: u64,
    last_in_page: bool,
    last_in_stream: bool,
}

impl Media {
    /// Reads `bytes` in the container `codec` comes in.
    pub fn read(codec: Codec, bytes: &[u8]) -> Result<Self, CliError> {
        match codec {
            Codec::Vp8 | Codec::Vp9 | Codec::Av1 => read_ivf(bytes),
            Codec::H264 | Codec::H265 => Ok(Self::AnnexB {
                units: access_units(bytes, codec),
            }),
            Codec::Opus { .. } => read_ogg(bytes),
            _ => Err(CliError::usage(format!("no container for codec {codec}"))),
        }
    }

    /// Reads the file at `path`; returns it with the file's size in bytes.
    pub fn read_file(codec: Codec, path: &Path) -> Result<(Self, usize), CliError> {
        let bytes = std::fs::read(path)
            .map_err(|e| CliError::failure(format!("{}: {e}", path.display())))?;
        Ok((Self::read(codec, &bytes)?, bytes.len()))
    }

    /// Replaces every frame, in order, with what `f` makes of it; returns
    /// the frame count. A failure names the frame's index.
    pub fn map_frames<E: Display>(
        &mut self,
        mut f: impl FnMut(&[u8]) -> Result<Vec<u8>, E>,
    ) -> Result<usize, CliError> {
        let frames = self.frames_mut();
        let count = frames.len();
        for (i, frame) in frames.into_iter().enumerate() {
            *frame = f(frame).map_err(|e| CliError::failure(format!("frame {i}: {e}")))?;
        }
        Ok(count)
    }

    /// Writes the file to `path`; returns its size in bytes.
    pub fn write_file(&self, path: &Path) -> Result<usize, CliError> {
        let bytes = self.write()?;
        std::fs::write(path, &bytes)
            .map_err(|e| CliError::failure(format!("{}: {e}", path.display())))?;
        Ok(bytes.len())
    }

    /// The media frames, in order.
    pub fn frames_mut(&mut self) -> Vec<&mut Vec<u8>> {
        match self {
            Self::Ivf { frames, .. } => frames.iter_mut().map(|(_, f)| f).collect(),
            Self::AnnexB { units } => units.iter_mut().collect(),
            Self::Ogg { packets, headers } => packets
                .iter_mut()
                .skip(*headers)
                .map(|p| &mut p.data)
                .collect(),
        }
    }

    /// The file bytes.
    pub fn write(&self) -> Result<Vec<u8>, CliError> {
        match self {
            Self::Ivf { header, frames } => {
                let mut out = header.clone();
                for (timestamp, frame) in frames {
                    let size = u32::try_from(frame.len())
                        .map_err(|_| CliError::failure("IVF frame larger than 4 GiB"))?;
                    out.extend_from_slice(&size.to_le_bytes());
                    out.extend_from_slice(&timestamp.to_le_bytes());
                    out.extend_from_slice(frame);
                }
                Ok(out)
            }
            Self::AnnexB { units } => Ok(units.concat()),
            Self::Ogg { packets, .. } => {
                let mut writer = ogg::PacketWriter::new(Vec::new());
                for p in packets {
                    let end = if p.last_in_stream {
                        ogg::PacketWriteEndInfo::EndStream
                    } else if p.last_in_page {
                        ogg::PacketWriteEndInfo::EndPage
                    } else {
                        ogg::PacketWriteEndInfo::NormalPacket
                    };
                    writer
                        .write_packet(p.data.clone(), p.serial, end, p.granule)
                        .map_err(|e| CliError::failure(format!("writing Ogg: {e}")))?;
                }
                Ok(writer.into_inner())
            }
        }
    }
}

/// IVF: a header (`DKIF`, its length at byte 6), then frames with a 12-byte
/// header (LE size, LE timestamp).
fn read_ivf(bytes: &[u8]) -> Result<Media, CliError> {
    let bad = |what: &str| CliError::failure(format!("not a valid IVF file: {what}"));
    if bytes.len() < 32 || &bytes[..4] != b"DKIF" {
        return Err(bad("no DKIF header"));
    }
    let header_len = usize::from(u16::from_le_bytes([bytes[6], bytes[7]]));
    let header = bytes.get(..header_len).ok_or_else(|| bad("short header"))?;
    let mut pos = header_len;
    let mut frames = Vec::new();
    while pos < bytes.len() {
        let head = bytes
            .get(pos..pos + 12)
            .ok_or_else(|| bad("truncated frame header"))?;
        let size = u32::from_le_bytes([head[0], head[1], head[2], head[3]]) as usize;
        let timestamp = u64::from_le_bytes(head[4..12].try_into().map_err(|_| bad("header"))?);
        pos += 12;
        let frame = bytes
            .get(pos..pos + size)
            .ok_or_else(|| bad("truncated frame"))?;
        frames.push((timestamp, frame.to_vec()));
        pos += size;
    }
    Ok(Media::Ivf {
        header: header.to_vec(),
        frames,
    })
}

/// Ogg pages into packets (the `ogg` crate). An Opus stream opens with two
/// header packets (RFC 7845 §5), which stay as they are.
fn read_ogg(bytes: &[u8]) -> Result<Media, CliError> {
    let mut reader = ogg::PacketReader::new(Cursor::new(bytes));
    let mut packets = Vec::new();
    while let Some(p) = reader
        .read_packet()
        .map_err(|e| CliError::failure(format!("not a valid Ogg file: {e}")))?
    {
        packets.push(OggPacket {
            serial: p.stream_serial(),
            granule: p.absgp_page(),
            last_in_page: p.last_in_page(),
            last_in_stream: p.last_in_stream(),
            data: p.data,
        });
    }
    let headers = packets
        .iter()
        .take_while(|p| p.data.starts_with(b"OpusHead") || p.data.starts_with(b"OpusTags"))
        .count();
    Ok(Media::Ogg { packets, headers })
}

/// Splits an Annex B stream into access units (H.264 §7.4.1.2.3, H.265
/// §7.4.2.4.4): a new one starts at an AUD, parameter set or prefix SEI, or
/// at the first slice of a picture, once the current one has a slice. Only
/// clear bytes are read (NAL headers and the first slice header bit), so a
/// protected stream splits the same way.
fn access_units(stream: &[u8], codec: Codec) -> Vec<Vec<u8>> {
    let mut cuts = Vec::new();
    let mut has_vcl = false;
    let mut i = 0;
    while i + 3 <= stream.len() {
        if stream[i] != 0 || stream[i + 1] != 0 || stream[i + 2] != 1 {
            i += 1;
            continue;
        }
        let start = if i > 0 && stream[i - 1] == 0 {
            i - 1
        } else {
            i
        };
        let nal = i + 3;
        i = nal;
        let Some(&first) = stream.get(nal) else {
            break;
        };
        let (vcl, first_in_picture, opens) = if codec == Codec::H264 {
            let t = first & 0x1f;
            (
                (1..=5).contains(&t),
                stream.get(nal + 1).is_some_and(|b| b & 0x80 != 0),
                matches!(t, 6..=9 | 14..=18),
            )
        } else {
            let t = (first >> 1) & 0x3f;
            (
                t <= 31,
                stream.get(nal + 2).is_some_and(|b| b & 0x80 != 0),
                matches!(t, 32..=35 | 39 | 41..=44 | 48..=55),
            )
        };
        if cuts.is_empty() || (has_vcl && (opens || (vcl && first_in_picture))) {
            cuts.push(if cuts.is_empty() { 0 } else { start });
            has_vcl = false;
        }
        has_vcl |= vcl;
    }
    if cuts.is_empty() {
        return if stream.is_empty() {
            Vec::new()
        } else {
            vec![stream.to_vec()]
        };
    }
    cuts.push(stream.len());
    cuts.windows(2)
        .map(|w| stream[w[0]..w[1]].to_vec())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn access_units_split_at_pictures_and_parameter_sets() {
        let stream = [
            0, 0, 0, 1, 0x67, 1, 0, 0, 1, 0x68, 2, 0, 0, 1, 0x65, 0x88, 3, // SPS PPS IDR
            0, 0, 1, 0x41, 0x48, 4, // second slice of the same picture
            0, 0, 0, 1, 0x41, 0x88, 5, // next picture
        ];
        let units = access_units(&stream, Codec::H264);
        assert_eq!(units.len(), 2);
        assert_eq!(units.concat(), stream);
        assert_eq!(units[1], [0, 0, 0, 1, 0x41, 0x88, 5]);
    }
}
