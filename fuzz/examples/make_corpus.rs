//! Builds the seed corpus in `fuzz/corpus/<target>/` from the test vectors
//! in `tests/data/`. Run through `fuzz/make-corpus.sh`; the output is
//! deterministic, so a rerun changes nothing unless the vectors or the
//! input types changed.
//!
//! Usage: `make_corpus [CORPUS_DIR]` (default: `fuzz/corpus`).

use std::fs;
use std::path::{Path as FsPath, PathBuf};

use framecrypt_fuzz::Path;
use framecrypt_fuzz::decrypt::{self, Action, DecryptInput, Edit};
use framecrypt_fuzz::roundtrip::{Install, Op, RoundtripInput};
use framecrypt_fuzz::seed::encode;
use serde_json::Value;

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
    // for the first), after an edited copy.
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
