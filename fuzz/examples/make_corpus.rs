//! Builds the seed corpus in `fuzz/corpus/<target>/` from the test vectors
//! and the media samples in `tests/data/`. Run through `fuzz/make-corpus.sh`; the output is
//! deterministic, so a rerun changes nothing unless the vectors or the
//! input types changed.
//!
//! Usage: `make_corpus [CORPUS_DIR]` (default: `fuzz/corpus`).

use std::fs;
use std::path::{Path as FsPath, PathBuf};

use arbitrary::{Arbitrary, Unstructured};
use framecrypt::codec::{Codec, Fallback, Protection};
use framecrypt::rtp::{Origin, fragment};
use framecrypt::{CipherSuite, KeyId, Sender};
use framecrypt_fuzz::Path;
use framecrypt_fuzz::announcement::{
    AnnouncementInput, AnnouncementMode, Receiving, genuine_announcements,
};
use framecrypt_fuzz::codec::{self, CodecInput, Door, Mode, codec_index};
use framecrypt_fuzz::decrypt::{self, Action, DecryptInput, Edit};
use framecrypt_fuzz::ffi::{self as ffi_target, Call, FfiInput, In, Out};
use framecrypt_fuzz::roundtrip::{Install, Op, RoundtripInput};
use framecrypt_fuzz::rtp::{Packet, RtpInput, RtpMode, Swap};
use framecrypt_fuzz::seed::{Seed, encode};
use serde_json::Value;

#[path = "../../tests/media/mod.rs"]
mod media;

/// One frame of a vector file.
struct VectorFrame {
    suite: u8,
    kid: u64,
    ctr: u64,
    generation: u64,
    step: u64,
    ratchet_bits: u8,
    metadata: Vec<u8>,
    pt: Vec<u8>,
    ct: Vec<u8>,
}

fn hex(value: &Value) -> Vec<u8> {
    let text = value.as_str().expect("a hex string");
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).expect("hex"))
        .collect()
}

fn number(value: &Value) -> u64 {
    value.as_u64().expect("a number")
}

fn frame(case: &Value) -> VectorFrame {
    VectorFrame {
        suite: u8::try_from(number(&case["cipher_suite"])).expect("suite"),
        kid: number(&case["kid"]),
        ctr: number(&case["ctr"]),
        generation: case.get("generation").map_or(0, number),
        step: case.get("step").map_or(0, number),
        ratchet_bits: case
            .get("ratchet_bits")
            .map_or(0, |v| u8::try_from(number(v)).expect("R")),
        metadata: hex(&case["metadata"]),
        pt: hex(&case["pt"]),
        ct: hex(&case["ct"]),
    }
}

fn load(root: &FsPath, name: &str) -> Value {
    let path = root.join("tests/data").join(name);
    let text = fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).expect("JSON")
}

struct Corpus {
    dir: PathBuf,
    count: usize,
}

impl Corpus {
    fn write(&mut self, target: &str, name: &str, bytes: &[u8]) {
        let dir = self.dir.join(target);
        fs::create_dir_all(&dir).expect("corpus directory");
        fs::write(dir.join(name), bytes).expect("write seed");
        self.count += 1;
    }
}

fn main() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let dir = std::env::args()
        .nth(1)
        .map_or_else(|| root.join("fuzz/corpus"), PathBuf::from);
    let mut corpus = Corpus { dir, count: 0 };

    let rfc = load(&root, "rfc9605-test-vectors.json");
    let aes256 = load(&root, "aes256-ctr-hmac-test-vectors.json");
    let ratchet = load(&root, "ratchet-vectors.json");
    let sframe: Vec<VectorFrame> = rfc["sframe"]
        .as_array()
        .expect("sframe cases")
        .iter()
        .chain(aes256["sframe_aes_256_ctr_hmac"].as_array().expect("cases"))
        .map(frame)
        .collect();
    let sequences: Vec<(u8, u8, Vec<VectorFrame>)> = ratchet["sequences"]
        .as_array()
        .expect("sequences")
        .iter()
        .map(|s| {
            let frames: Vec<VectorFrame> = s["frames"]
                .as_array()
                .expect("frames")
                .iter()
                .map(frame)
                .collect();
            (frames[0].suite, frames[0].ratchet_bits, frames)
        })
        .collect();

    header_parse(&mut corpus, &rfc, &sframe, &sequences);
    decrypt_seeds(&mut corpus, &sframe, &sequences);
    roundtrip_seeds(&mut corpus, &sframe, &sequences);
    let media = media_samples(&root);
    codec_seeds(&mut corpus, &media);
    sfu_seeds(&mut corpus, &media, &sframe);
    rtp_seeds(&mut corpus, &media);
    announcement_seeds(&mut corpus);
    ffi_seeds(&mut corpus, &sframe, &media);
    println!("{} seeds written to {}", corpus.count, corpus.dir.display());
}

/// Every encoded header of the RFC vectors, and every vector frame.
fn header_parse(
    corpus: &mut Corpus,
    rfc: &Value,
    sframe: &[VectorFrame],
    sequences: &[(u8, u8, Vec<VectorFrame>)],
) {
    for (i, case) in rfc["header"]
        .as_array()
        .expect("headers")
        .iter()
        .enumerate()
    {
        corpus.write(
            "header_parse",
            &format!("rfc9605-header-{i:03}"),
            &hex(&case["encoded"]),
        );
    }
    for f in sframe {
        corpus.write(
            "header_parse",
            &format!("rfc9605-frame-suite{}", f.suite),
            &f.ct,
        );
    }
    for (suite, r, frames) in sequences {
        let last = frames.last().expect("frames");
        corpus.write(
            "header_parse",
            &format!("ratchet-suite{suite}-r{r}-last"),
            &last.ct,
        );
    }
}

/// Receiver index of `kind` for `suite` (see `src/decrypt.rs`).
fn to(kind: u8, suite: u8) -> u8 {
    8 * kind + suite - 1
}

fn decrypt_seeds(
    corpus: &mut Corpus,
    sframe: &[VectorFrame],
    sequences: &[(u8, u8, Vec<VectorFrame>)],
) {
    let write = |corpus: &mut Corpus, name: &str, actions: Vec<Action>| {
        corpus.write("decrypt", name, &encode(&DecryptInput { actions }));
    };
    let forge = |to, path, f: &VectorFrame| Action::Forge {
        to,
        path,
        metadata: f.metadata.clone(),
        frame: f.ct.clone(),
    };
    // The RFC 9605 frames (KID 0x123 under 00..0f) to the R = 4 ratchet
    // receiver and the core receiver, twice each (the second is a replay
    // for the first; both receivers have a window), after an edited copy.
    for f in sframe {
        let mut edited = f.ct.clone();
        let last = edited.len() - 1;
        edited[last] ^= 1;
        let actions = vec![
            Action::Forge {
                to: to(1, f.suite),
                path: Path::Copy { short: 0 },
                metadata: f.metadata.clone(),
                frame: edited,
            },
            forge(to(1, f.suite), Path::Copy { short: 0 }, f),
            forge(to(1, f.suite), Path::InPlace, f),
            forge(to(4, f.suite), Path::ToVec, f),
            forge(to(4, f.suite), Path::Copy { short: 0 }, f),
        ];
        write(corpus, &format!("rfc9605-suite{}", f.suite), actions);
    }
    // The ratchet vector sequences to the receivers holding their keys, in
    // order and reversed; generation 1's key arrives with a rekey.
    for (suite, r, frames) in sequences {
        let kind = if *r == 2 { 0 } else { 2 };
        let receiver = to(kind, *suite);
        for (order, reversed) in [("in-order", false), ("reversed", true)] {
            let mut actions = Vec::new();
            let mut generation = frames[0].generation;
            let mut list: Vec<&VectorFrame> = frames.iter().collect();
            if reversed {
                list.reverse();
                // Late generation-1 frames need its key first.
                if list[0].generation != generation {
                    actions.push(Action::Rekey { to: receiver });
                    generation = list[0].generation;
                }
            }
            for f in list {
                if f.generation > generation {
                    actions.push(Action::Rekey { to: receiver });
                    generation = f.generation;
                }
                actions.push(forge(receiver, Path::InPlace, f));
            }
            write(
                corpus,
                &format!("ratchet-suite{suite}-r{r}-{order}"),
                actions,
            );
        }
    }
    // The harness's own frames for every receiver: encrypt, deliver,
    // replay, edit, ratchet, rekey, wait.
    for receiver in 0..u8::try_from(decrypt::RECEIVERS).expect("40") {
        let actions = vec![
            Action::Encrypt {
                to: receiver,
                who: 0,
                metadata: b"meta".to_vec(),
                payload: b"frame zero".to_vec(),
            },
            Action::Encrypt {
                to: receiver,
                who: 1,
                metadata: Vec::new(),
                payload: b"frame one".to_vec(),
            },
            Action::Deliver {
                to: receiver,
                index: 0,
                path: Path::Copy { short: 0 },
                edit: Edit::Keep,
            },
            Action::Deliver {
                to: receiver,
                index: 0,
                path: Path::InPlace,
                edit: Edit::Keep,
            },
            Action::Deliver {
                to: receiver,
                index: 1,
                path: Path::ToVec,
                edit: Edit::Xor { at: 3, mask: 0x80 },
            },
            Action::Deliver {
                to: receiver,
                index: 1,
                path: Path::Copy { short: 40 },
                edit: Edit::Keep,
            },
            Action::Ratchet { to: receiver },
            Action::Encrypt {
                to: receiver,
                who: 2,
                metadata: Vec::new(),
                payload: b"after a ratchet".to_vec(),
            },
            Action::Deliver {
                to: receiver,
                index: 2,
                path: Path::Copy { short: 0 },
                edit: Edit::Keep,
            },
            Action::Deliver {
                to: receiver,
                index: 1,
                path: Path::InPlace,
                edit: Edit::Keep,
            },
            Action::Rekey { to: receiver },
            Action::Encrypt {
                to: receiver,
                who: 3,
                metadata: b"m".to_vec(),
                payload: b"after a rekey".to_vec(),
            },
            Action::Deliver {
                to: receiver,
                index: 3,
                path: Path::ToVec,
                edit: Edit::Rewrite { kid: 5, ctr: 1 },
            },
            Action::Deliver {
                to: receiver,
                index: 3,
                path: Path::ToVec,
                edit: Edit::Metadata {
                    metadata: b"n".to_vec(),
                },
            },
            Action::Deliver {
                to: receiver,
                index: 3,
                path: Path::Copy { short: 0 },
                edit: Edit::Truncate { len: 4 },
            },
            Action::Deliver {
                to: receiver,
                index: 3,
                path: Path::Copy { short: 0 },
                edit: Edit::Append { bytes: vec![0] },
            },
            Action::Wait { ms: 6000 },
            Action::Deliver {
                to: receiver,
                index: 3,
                path: Path::InPlace,
                edit: Edit::Keep,
            },
            Action::Deliver {
                to: receiver,
                index: 0,
                path: Path::InPlace,
                edit: Edit::Keep,
            },
        ];
        write(corpus, &format!("harness-receiver{receiver:02}"), actions);
    }
}

fn roundtrip_seeds(
    corpus: &mut Corpus,
    sframe: &[VectorFrame],
    sequences: &[(u8, u8, Vec<VectorFrame>)],
) {
    let write = |corpus: &mut Corpus, name: &str, input: RoundtripInput| {
        corpus.write("roundtrip", name, &encode(&input));
    };
    let encrypt = || Op::Encrypt {
        metadata: None,
        payload: None,
        in_place: false,
    };
    let deliver = |path| Op::Deliver { path };
    // The RFC 9605 frames' values: suite, KID 0x123 (R = 4: generation
    // 0x12, step 3), CTR 0x4567, metadata and payload; then reordering,
    // duplication, a flipped bit and a ratchet.
    for f in sframe {
        let input = RoundtripInput {
            suite: f.suite - 1,
            ratchet_bits: 3,
            generation: f.kid >> 4,
            step: f.kid & 0xf,
            counter: f.ctr,
            max_forward: 15,
            max_previous: 3,
            max_age_ms: 5000,
            window: 127,
            key_seed: 0,
            metadata: f.metadata.clone(),
            payload: f.pt.clone(),
            ops: vec![
                encrypt(),
                Op::Encrypt {
                    metadata: None,
                    payload: None,
                    in_place: true,
                },
                encrypt(),
                Op::Reorder { a: 0, b: 2 },
                Op::Duplicate { index: 0 },
                deliver(Path::Copy { short: 0 }),
                deliver(Path::InPlace),
                Op::FlipBit { index: 0, bit: 100 },
                deliver(Path::ToVec),
                deliver(Path::ToVec),
                Op::Ratchet,
                encrypt(),
                Op::Ratchet,
                encrypt(),
                Op::Reorder { a: 0, b: 1 },
                deliver(Path::Copy { short: 0 }),
                deliver(Path::Copy { short: 0 }),
            ],
        };
        write(corpus, &format!("rfc9605-suite{}", f.suite), input);
    }
    // The ratchet vector sequences as operations: the same suite, R,
    // generations, steps, metadata and payloads, delivered in order, then
    // reversed with losses, duplicates, a flipped bit and waiting.
    for (suite, r, frames) in sequences {
        let base = RoundtripInput {
            suite: suite - 1,
            ratchet_bits: r - 1,
            generation: frames[0].generation,
            step: frames[0].step,
            counter: 0,
            max_forward: 64,
            max_previous: 3,
            max_age_ms: 5000,
            window: 127,
            key_seed: 1,
            metadata: Vec::new(),
            payload: Vec::new(),
            ops: Vec::new(),
        };
        // Each frame delivered as soon as it is sent; new generation keys
        // reach the receiver at once.
        let mut in_order = base.clone();
        in_order.ops = sequence_ops(frames, Install::Now, true);
        write(
            corpus,
            &format!("ratchet-suite{suite}-r{r}-in-order"),
            in_order,
        );

        // All frames sent first, the new generation's key installed half
        // way through the deliveries, which come reordered, with a loss,
        // a duplicate, a flipped bit and time passing.
        let n = u8::try_from(frames.len()).expect("short sequences");
        let mut shuffled = base.clone();
        shuffled.ops = sequence_ops(frames, Install::Later, false);
        for i in 0..n / 2 {
            shuffled.ops.push(Op::Reorder { a: i, b: n - 1 - i });
        }
        shuffled.ops.extend([
            Op::Duplicate { index: 1 },
            Op::Drop { index: 2 },
            Op::FlipBit { index: 3, bit: 100 },
            Op::Wait { ms: 3000 },
        ]);
        shuffled
            .ops
            .extend((0..n / 2).map(|_| deliver(Path::InPlace)));
        shuffled
            .ops
            .extend([Op::InstallPending, Op::Wait { ms: 3000 }, Op::Expire]);
        write(
            corpus,
            &format!("ratchet-suite{suite}-r{r}-shuffled"),
            shuffled,
        );
    }
    // Edges: a counter about to run out, the last generation, one step
    // bit, no retention, a one-counter window, keys installed late.
    let edges = [
        (
            "counter-exhaustion",
            u64::MAX - 1,
            0u64,
            0u8,
            3u8,
            0u8,
            0u8,
            3u16,
        ),
        ("last-generation", 0, u64::MAX, 62, 1, 1, 0, 0),
        ("one-step-bit", 5, 0, 0, 1, 4, 127, 100),
        ("no-retention", 0, 7, 7, 255, 0, 0, 0),
    ];
    for (name, counter, generation, ratchet_bits, max_forward, max_previous, window, max_age_ms) in
        edges
    {
        let input = RoundtripInput {
            suite: 3,
            ratchet_bits,
            generation,
            step: 0,
            counter,
            max_forward,
            max_previous,
            max_age_ms,
            window,
            key_seed: 2,
            metadata: b"edge".to_vec(),
            payload: b"payload".to_vec(),
            ops: vec![
                encrypt(),
                encrypt(),
                encrypt(),
                Op::Rekey {
                    install: Install::Later,
                },
                encrypt(),
                Op::Ratchet,
                Op::Ratchet,
                encrypt(),
                deliver(Path::Copy { short: 0 }),
                deliver(Path::Copy { short: 0 }),
                deliver(Path::InPlace),
                Op::InstallPending,
                deliver(Path::ToVec),
                Op::Rejoin,
                Op::Wait { ms: 200 },
                Op::Rekey {
                    install: Install::Now,
                },
                encrypt(),
                Op::Duplicate { index: 0 },
                deliver(Path::Copy { short: 0 }),
            ],
        };
        write(corpus, &format!("edge-{name}"), input);
    }
}

/// The operations that send a ratchet vector sequence: the same
/// generations, steps, metadata and payloads; each frame delivered at once
/// if `deliver` says so.
fn sequence_ops(frames: &[VectorFrame], install: Install, deliver: bool) -> Vec<Op> {
    let mut ops = Vec::new();
    let (mut generation, mut step) = (frames[0].generation, frames[0].step);
    for f in frames {
        if f.generation > generation {
            ops.push(Op::Rekey { install });
            (generation, step) = (f.generation, 0);
        }
        while step < f.step {
            ops.push(Op::Ratchet);
            step += 1;
        }
        ops.push(Op::Encrypt {
            metadata: Some(f.metadata.clone()),
            payload: Some(f.pt.clone()),
            in_place: false,
        });
        if deliver {
            ops.push(Op::Deliver {
                path: Path::Copy { short: 0 },
            });
        }
    }
    ops
}

/// Two frames of each media sample: the first (a keyframe) and the
/// smallest of the others that is at least 32 bytes (an interframe).
struct Sample {
    name: &'static str,
    codec: Codec,
    frames: [Vec<u8>; 2],
}

/// The length of `sample.frames[1]` protected by a fresh suite-4 sender
/// for KID 7 with the vector key, as the `ffi` media seeds protect it.
fn protected_len(sample: &Sample) -> usize {
    let suite = CipherSuite::Aes128GcmSha256_128;
    let key = framecrypt::BaseKey::new(&decrypt::VECTOR_KEY).expect("key");
    let mut sender = Sender::new(suite, KeyId(7), key);
    let p = Protection::new(sample.codec, Fallback::Reject);
    let frame = &sample.frames[1];
    let mut out = vec![0; framecrypt::codec::max_protected_len(sample.codec, suite, frame.len())];
    p.protect(&mut sender, frame, &mut out)
        .expect("protects")
        .len()
}

/// The samples as the main tests read them (`tests/media/mod.rs`), named
/// without their file extension.
fn media_samples(root: &FsPath) -> Vec<Sample> {
    media::all_samples_in(root)
        .into_iter()
        .map(|(file, codec, frames)| {
            let small = frames[1..]
                .iter()
                .filter(|f| f.len() >= 32)
                .min_by_key(|f| f.len())
                .expect("an interframe")
                .clone();
            Sample {
                name: file.split_once('.').map_or(file, |(stem, _)| stem),
                codec,
                frames: [frames[0].clone(), small],
            }
        })
        .collect()
}

fn codec_bytes(input: &CodecInput<'_>) -> Vec<u8> {
    let mut bytes = Vec::new();
    input.seed(&mut bytes);
    let decoded = CodecInput::arbitrary_take_rest(Unstructured::new(&bytes)).expect("decodes");
    assert_eq!(&decoded, input, "seed bytes decode to another value");
    bytes
}

fn rtp_bytes(input: &RtpInput<'_>) -> Vec<u8> {
    let mut bytes = Vec::new();
    input.seed(&mut bytes);
    let decoded = RtpInput::arbitrary_take_rest(Unstructured::new(&bytes)).expect("decodes");
    assert_eq!(&decoded, input, "seed bytes decode to another value");
    bytes
}

/// `frame` protected codec-aware as the codec harness protects it (plain
/// sender, its KID and key, counter `ctr`).
fn protected(codec: Codec, suite: CipherSuite, frame: &[u8], ctr: u64) -> Vec<u8> {
    let mut sender = Sender::resume(
        suite,
        KeyId(codec::KID),
        codec::key(suite),
        framecrypt::Counter(ctr),
    );
    let (_, bytes) = Protection::new(codec, Fallback::Reject)
        .protect_to_vec(&mut sender, frame)
        .expect("a sample frame protects");
    bytes
}

fn codec_seeds(corpus: &mut Corpus, media: &[Sample]) {
    let doors = [Door::Slice, Door::InPlace, Door::ToVec];
    let mut n = 0u8;
    for sample in media {
        let index = codec_index(sample.codec);
        for (k, frame) in sample.frames.iter().enumerate() {
            n = n.wrapping_add(1);
            let mode = Mode::RoundTrip {
                codec: index,
                whole_frame: k == 1,
                suite: n % 8,
                ratchet: n.is_multiple_of(2),
                protect: doors[usize::from(n) % 3],
                unprotect: doors[usize::from(n / 3) % 3],
                flip: (k == 1).then_some(u32::from(n) * 97),
            };
            let input = CodecInput { mode, data: frame };
            corpus.write(
                "codec",
                &format!("roundtrip-{}-{k}", sample.name),
                &codec_bytes(&input),
            );
        }
        // The interframe as protected, to unprotect.
        let suite = CipherSuite::Aes128CtrHmacSha256_80;
        let bytes = protected(sample.codec, suite, &sample.frames[1], 0);
        let input = CodecInput {
            mode: Mode::Unprotect {
                codec: index,
                whole_frame: false,
                suite: 0,
                door: Door::InPlace,
            },
            data: &bytes,
        };
        corpus.write(
            "codec",
            &format!("unprotect-{}", sample.name),
            &codec_bytes(&input),
        );
    }
    // Escaping: runs of zeros and small bytes after every kind of clear
    // ending, and one protected H.264 slice piece.
    let tricky: &[u8] = &[0, 0, 0, 0, 1, 0, 0, 2, 0, 0, 3, 0, 0, 3, 3, 4, 0, 0, 0];
    for (name, clear) in [
        ("none", vec![]),
        ("one-zero", vec![0x65, 0]),
        ("two-zeros", vec![0x65, 0, 0]),
    ] {
        for (mode, what) in [
            (
                Mode::Escape {
                    clear: clear.clone(),
                },
                "escape",
            ),
            (
                Mode::Unescape {
                    clear: clear.clone(),
                },
                "unescape",
            ),
        ] {
            let input = CodecInput { mode, data: tricky };
            corpus.write("codec", &format!("{what}-{name}"), &codec_bytes(&input));
        }
    }
    let h264 = media
        .iter()
        .find(|s| s.name == "h264")
        .expect("h264 sample");
    let slice = protected(
        Codec::H264,
        CipherSuite::Aes128GcmSha256_128,
        &h264.frames[1],
        0,
    );
    let input = CodecInput {
        mode: Mode::Unescape {
            clear: vec![0, 0, 1, 0x41, 0x9a],
        },
        data: &slice[slice.len() / 2..],
    };
    corpus.write("codec", "unescape-h264-piece", &codec_bytes(&input));
}

fn sfu_seeds(corpus: &mut Corpus, media: &[Sample], sframe: &[VectorFrame]) {
    for sample in media {
        for (k, frame) in sample.frames.iter().enumerate() {
            let suite = CipherSuite::ALL[k * 3 % 8];
            let bytes = protected(sample.codec, suite, frame, 0x1234);
            corpus.write("sfu_inspect", &format!("{}-{k}", sample.name), &bytes);
        }
    }
    for f in sframe.iter().take(2) {
        corpus.write("sfu_inspect", &format!("rfc9605-suite{}", f.suite), &f.ct);
    }
}

fn rtp_seeds(corpus: &mut Corpus, media: &[Sample]) {
    let suite = CipherSuite::Aes128GcmSha256_128;
    for (i, sample) in media.iter().enumerate() {
        let frame = protected(sample.codec, suite, &sample.frames[1], 7);
        let i = u8::try_from(i).expect("few samples");
        // Per frame: fragments delivered whole, then with a loss and
        // reordering.
        for (name, lost, swaps) in [
            ("whole", 0u64, vec![]),
            ("lossy", 0b100, vec![Swap { a: 0, b: 1 }]),
            (
                "reordered",
                0,
                vec![Swap { a: 0, b: 3 }, Swap { a: 1, b: 2 }],
            ),
        ] {
            let input = RtpInput {
                mode: RtpMode::Fragments {
                    first_seq: 65530,
                    max_payload: 120 + u16::from(i) * 40,
                    packetized: i % 2 == 1,
                    lost,
                    swaps,
                },
                data: &frame,
            };
            corpus.write(
                "rtp_reassemble",
                &format!("fragments-{}-{name}", sample.name),
                &rtp_bytes(&input),
            );
        }
        // The same fragments as arbitrary packets: in order, with a
        // duplicate, and with a gap.
        let fragments: Vec<_> = fragment(&frame, Origin::Raw, 200).expect("room").collect();
        for (name, steps) in [
            ("in-order", vec![]),
            ("duplicate", vec![(2usize, 0i8)]),
            ("gap", vec![(1, 2)]),
        ] {
            let mut packets: Vec<Packet> = fragments
                .iter()
                .map(|f| Packet {
                    step: 1,
                    descriptor: Some(f.descriptor.to_byte()),
                    len: u8::try_from(f.data.len()).expect("short fragments"),
                })
                .collect();
            for &(at, step) in &steps {
                if let Some(p) = packets.get_mut(at) {
                    p.step = step;
                }
            }
            let input = RtpInput {
                mode: RtpMode::Packets {
                    first_seq: 100,
                    buffer: 4096,
                    packets,
                },
                data: &frame,
            };
            corpus.write(
                "rtp_reassemble",
                &format!("packets-{}-{name}", sample.name),
                &rtp_bytes(&input),
            );
        }
    }
    let opus = media
        .iter()
        .find(|s| s.name == "opus")
        .expect("opus sample");
    for (name, descriptor) in [
        ("whole", None),
        ("no-end-bit", Some(0xa0)),
        ("reserved-bits", Some(0xff)),
    ] {
        let input = RtpInput {
            mode: RtpMode::PerPacket {
                suite: 4,
                descriptor,
            },
            data: &opus.frames[1],
        };
        corpus.write(
            "rtp_reassemble",
            &format!("per-packet-{name}"),
            &rtp_bytes(&input),
        );
    }
}

fn announcement_bytes(input: &AnnouncementInput<'_>) -> Vec<u8> {
    let mut bytes = Vec::new();
    input.seed(&mut bytes);
    let decoded =
        AnnouncementInput::arbitrary_take_rest(Unstructured::new(&bytes)).expect("decodes");
    assert_eq!(&decoded, input, "seed bytes decode to another value");
    bytes
}

/// Every genuine announcement untouched and with a byte changed in its
/// header and in its sealed body, each to a receiver that knows no roster
/// version, and untouched to one that knows a newer roster, to one whose
/// clock is over a minute later and to one that knows exactly its roster;
/// and the ones to Bob as raw bytes; for a few (suite, R) sessions.
fn announcement_seeds(corpus: &mut Corpus) {
    const FRESH: Receiving = Receiving { clock: 0, floor: 0 };
    for (suite, bits) in [(3u8, 7u8), (0, 1), (7, 62)] {
        let genuine = genuine_announcements(suite, bits);
        for (which, bytes) in genuine.iter().enumerate() {
            let which = u8::try_from(which).expect("five");
            // The roster version of the change that made it: start (1) for
            // the first two, Dave's join (2), Carol's leave (3).
            let version = [1, 1, 2, 3, 3][usize::from(which)];
            let sealed = u16::try_from(bytes.len() - 20).expect("short");
            for (name, at, data, receiver) in [
                ("untouched", 0u16, &[][..], FRESH),
                ("generation", 5, &[0x01][..], FRESH),
                ("sealed", sealed, &[0x80][..], FRESH),
                (
                    "superseded",
                    0,
                    &[],
                    Receiving {
                        clock: -1,
                        floor: version + 1,
                    },
                ),
                ("expired", 0, &[], Receiving { clock: 7, floor: 0 }),
                (
                    "current",
                    0,
                    &[],
                    Receiving {
                        clock: 6,
                        floor: version,
                    },
                ),
            ] {
                let input = AnnouncementInput {
                    mode: AnnouncementMode::Edit {
                        suite,
                        bits,
                        which,
                        at,
                        cut: None,
                    },
                    receiver,
                    data,
                };
                let name = format!("edit-s{suite}-r{bits}-{which}-{name}");
                corpus.write("announcement", &name, &announcement_bytes(&input));
            }
        }
        for (i, bytes) in genuine.iter().enumerate() {
            let input = AnnouncementInput {
                mode: AnnouncementMode::Forge { suite, bits },
                receiver: FRESH,
                data: bytes,
            };
            let name = format!("forge-s{suite}-r{bits}-{i}");
            corpus.write("announcement", &name, &announcement_bytes(&input));
        }
    }
}

/// The C API: every vector frame decrypted through it; an encrypt /
/// decrypt / forgery round trip per suite; a ratcheting session; one
/// protect / inspect / unprotect per media sample; and one call per
/// boundary refusal. `fuzz/tests/seeds.rs` checks each seed's results.
fn ffi_seeds(corpus: &mut Corpus, sframe: &[VectorFrame], media: &[Sample]) {
    let write = |corpus: &mut Corpus, name: &str, calls: Vec<Call>| {
        corpus.write("ffi", name, &encode(&FfiInput { calls }));
    };
    let bytes = |b: &[u8]| In::Bytes { bytes: b.to_vec() };
    let key = || bytes(&decrypt::VECTOR_KEY);
    let needed = Out::Needed { short: 0 };
    let frame = |index: u8, flip: Option<u16>| In::Frame { index, flip };
    let decrypt = |rx: u8, metadata: &[u8], frame: In| Call::Decrypt {
        rx: Some(rx),
        now_ms: 0,
        metadata: bytes(metadata),
        frame,
        out: needed,
        len_null: false,
        header_null: false,
    };
    let encrypt = |metadata: &[u8], plaintext: &[u8], out: Out| Call::Encrypt {
        tx: Some(0),
        metadata: bytes(metadata),
        plaintext: bytes(plaintext),
        out,
        len_null: false,
    };
    for f in sframe.iter().filter(|f| f.generation == 0 && f.step == 0) {
        let suite = u16::from(f.suite);
        write(
            corpus,
            &format!("rfc9605-suite{}", f.suite),
            vec![
                Call::ReceiverNew { out_null: false },
                Call::AddKey {
                    rx: Some(0),
                    suite,
                    kid: f.kid,
                    key: key(),
                },
                decrypt(0, &f.metadata, bytes(&f.ct)),
                Call::ParseHeader {
                    frame: bytes(&f.ct),
                    header_null: false,
                    len_null: false,
                },
                Call::Inspect {
                    codec: ffi_target::codec_number(Codec::Unknown),
                    payload: bytes(&f.ct),
                    out_null: false,
                    short_struct: false,
                },
            ],
        );
        write(
            corpus,
            &format!("roundtrip-suite{}", f.suite),
            vec![
                Call::SenderNew {
                    suite,
                    kid: f.kid,
                    key: key(),
                    out_null: false,
                },
                Call::ReceiverNew { out_null: false },
                Call::AddKey {
                    rx: Some(0),
                    suite,
                    kid: f.kid,
                    key: key(),
                },
                encrypt(&f.metadata, &f.pt, needed),
                // A forgery first (it reaches the tag check), the frame,
                // then the frame again (a replay).
                decrypt(0, &f.metadata, frame(0, Some(42))),
                decrypt(0, &f.metadata, frame(0, None)),
                encrypt(&f.metadata, &f.pt, Out::Needed { short: 1 }),
                encrypt(&f.metadata, &f.pt, needed),
                decrypt(0, &f.metadata, frame(1, None)),
                decrypt(0, &f.metadata, frame(0, None)),
            ],
        );
    }
    write(
        corpus,
        "ratchet",
        vec![
            Call::SenderNewRatcheting {
                suite: 4,
                bits: 4,
                generation: 1,
                key: key(),
                out_null: false,
            },
            Call::ReceiverNewRatcheting {
                suite: 4,
                bits: 4,
                out_null: false,
            },
            Call::InstallKey {
                rx: Some(0),
                now_ms: 0,
                generation: 1,
                step: 0,
                key: key(),
            },
            encrypt(b"", b"before the join", needed),
            Call::Ratchet { tx: Some(0) },
            encrypt(b"", b"after the join", needed),
            Call::CurrentKey {
                tx: Some(0),
                out: needed,
                len_null: false,
                generation_null: false,
                step_null: false,
            },
            Call::NextCounter {
                tx: Some(0),
                out_null: false,
            },
            decrypt(0, b"", frame(1, None)),
            decrypt(0, b"", frame(1, None)),
            decrypt(0, b"", frame(0, None)),
            Call::Rekey {
                tx: Some(0),
                key: bytes(b"generation two"),
            },
            encrypt(b"", b"after the leave", needed),
            decrypt(0, b"", frame(2, None)),
            Call::InstallKey {
                rx: Some(0),
                now_ms: 1,
                generation: 2,
                step: 0,
                key: bytes(b"generation two"),
            },
            decrypt(0, b"", frame(2, None)),
            Call::AddKey {
                rx: Some(0),
                suite: 4,
                kid: 1,
                key: key(),
            },
        ],
    );
    for sample in media {
        let codec = ffi_target::codec_number(sample.codec);
        let protect = |index: u8, out: Out| Call::Protect {
            tx: Some(index),
            codec,
            fallback: ffi_target::REJECT,
            frame: bytes(&sample.frames[1]),
            out,
            len_null: false,
        };
        let sender = || Call::SenderNew {
            suite: 4,
            kid: 7,
            key: key(),
            out_null: false,
        };
        write(
            corpus,
            &format!("media-{}", sample.name),
            vec![
                sender(),
                Call::ReceiverNew { out_null: false },
                Call::AddKey {
                    rx: Some(0),
                    suite: 4,
                    kid: 7,
                    key: key(),
                },
                protect(0, needed),
                Call::Inspect {
                    codec,
                    payload: frame(0, None),
                    out_null: false,
                    short_struct: false,
                },
                Call::Unprotect {
                    rx: Some(0),
                    now_ms: 0,
                    codec,
                    fallback: ffi_target::REJECT,
                    frame: frame(0, None),
                    out: needed,
                    len_null: false,
                },
                // The next frame, restored in place.
                protect(0, needed),
                Call::UnprotectInPlace {
                    rx: Some(0),
                    now_ms: 0,
                    codec,
                    fallback: ffi_target::REJECT,
                    frame: frame(1, None),
                    len_null: false,
                },
            ],
        );
        // Exact sizes: a second and a third sender with the same key and
        // KID (only a test may) make the first frame again, into exactly
        // its length, then one byte short.
        let exact = protected_len(sample);
        let len = |n: usize| Out::Bytes {
            len: u16::try_from(n).expect("a small frame"),
        };
        write(
            corpus,
            &format!("exact-{}", sample.name),
            vec![
                sender(),
                protect(0, len(exact)),
                sender(),
                protect(1, len(exact - 1)),
            ],
        );
    }
    write(
        corpus,
        "boundary",
        vec![
            Call::SenderNew {
                suite: 4,
                kid: 1,
                key: key(),
                out_null: true,
            },
            Call::SenderNew {
                suite: 4,
                kid: 1,
                key: In::Null { len: 16 },
                out_null: false,
            },
            Call::SenderNew {
                suite: 4,
                kid: 1,
                key: key(),
                out_null: false,
            },
            Call::Encrypt {
                tx: Some(0),
                metadata: In::Null { len: 3 },
                plaintext: bytes(b"x"),
                out: needed,
                len_null: false,
            },
            encrypt(b"", &[7; 32], Out::Overlapping { at: 5 }),
            Call::Encrypt {
                tx: Some(0),
                metadata: bytes(b""),
                plaintext: In::Huge {
                    bytes: vec![1; 4],
                    extra: 0,
                },
                out: needed,
                len_null: false,
            },
            Call::Encrypt {
                tx: Some(0),
                metadata: bytes(b""),
                plaintext: bytes(b"x"),
                out: Out::Null { len: 64 },
                len_null: false,
            },
            Call::Encrypt {
                tx: None,
                metadata: bytes(b""),
                plaintext: bytes(b"x"),
                out: needed,
                len_null: false,
            },
            Call::Encrypt {
                tx: Some(0),
                metadata: bytes(b""),
                plaintext: bytes(b"x"),
                out: needed,
                len_null: true,
            },
            Call::Ratchet { tx: Some(0) },
            encrypt(b"", b"counter 0 is still unused", needed),
        ],
    );
    write(
        corpus,
        "handles",
        vec![
            Call::SenderNew {
                suite: 4,
                kid: 1,
                key: key(),
                out_null: false,
            },
            Call::ReceiverNew { out_null: false },
            // rx 1 is the sender, passed as a receiver.
            decrypt(1, b"", bytes(&[0x10, 1, 2, 3])),
            Call::ReceiverFree { rx: Some(0) },
            // rx 0 is now the freed receiver.
            decrypt(0, b"", bytes(&[0x10, 1, 2, 3])),
            Call::SenderFree { tx: Some(0) },
            // tx 0 is the freed sender.
            Call::Ratchet { tx: Some(0) },
            encrypt(b"", b"x", needed),
        ],
    );
    let opus = ffi_target::codec_number(Codec::OPUS);
    let protect = |codec: u32, fallback: u32| Call::Protect {
        tx: Some(0),
        codec,
        fallback,
        frame: bytes(&[0x78, 1, 2, 3, 4, 5]),
        out: needed,
        len_null: false,
    };
    write(
        corpus,
        "swapped",
        vec![
            Call::SenderNew {
                suite: 4,
                kid: 1,
                key: key(),
                out_null: false,
            },
            // Codec and fallback swapped; a suite where a codec goes.
            protect(ffi_target::REJECT, opus),
            protect(4, ffi_target::REJECT),
            Call::Inspect {
                codec: ffi_target::REJECT,
                payload: bytes(&[0x78, 0x10, 1, 2]),
                out_null: false,
                short_struct: false,
            },
            // A codec where a suite goes.
            Call::SenderNew {
                suite: u16::try_from(opus).expect("small"),
                kid: 2,
                key: key(),
                out_null: false,
            },
            // The right way round, at counter 0.
            protect(opus, ffi_target::REJECT),
        ],
    );
}
