//! Deterministic stand-in for the cargo-fuzz targets: runs the same fuzz
//! bodies over a bounded number of pseudo-random and mutated inputs.

use crate::fuzzing;

struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// Produces an input: random bytes, or a seed with a few mutations.
fn input(rng: &mut XorShift, seeds: &[Vec<u8>]) -> Vec<u8> {
    if rng.below(4) == 0 {
        let n = rng.below(80);
        return (0..n).map(|_| rng.next() as u8).collect();
    }
    let mut v = seeds[rng.below(seeds.len())].clone();
    for _ in 0..1 + rng.below(4) {
        match rng.below(5) {
            0 if !v.is_empty() => {
                let i = rng.below(v.len());
                v[i] ^= 1 << rng.below(8);
            }
            1 if !v.is_empty() => {
                let i = rng.below(v.len());
                v[i] = rng.next() as u8;
            }
            2 => {
                let i = rng.below(v.len() + 1);
                v.insert(i, rng.next() as u8);
            }
            3 if !v.is_empty() => {
                let i = rng.below(v.len());
                v.truncate(i);
            }
            _ => {
                let a = seeds[rng.below(seeds.len())].clone();
                v.extend_from_slice(&a);
            }
        }
    }
    v
}

fn hex(s: &str) -> Vec<u8> {
    crate::hpack::decoder::tests::hex(s)
}

#[test]
fn frame_parser_survives_random_input() {
    use crate::frame::*;
    let mut seeds = Vec::new();
    let mut v = vec![1u8];
    encode_data(1, b"hello", true, &mut v);
    encode_data_padded(3, b"x", 4, false, &mut v);
    seeds.push(v);
    let mut v = vec![1u8];
    encode_headers(1, &[0x82, 0x86], false, None, 16_384, &mut v);
    encode_continuation(1, &[0x84], true, &mut v);
    seeds.push(v);
    let mut v = vec![0u8];
    encode_settings(
        &Settings {
            max_frame_size: Some(20_000),
            initial_window_size: Some(1),
            ..Settings::default()
        },
        &mut v,
    );
    encode_settings_ack(&mut v);
    encode_ping(false, [1; 8], &mut v);
    encode_goaway(5, crate::ErrorCode::NoError, b"bye", &mut v);
    encode_window_update(0, 100, &mut v);
    encode_rst_stream(1, crate::ErrorCode::Cancel, &mut v);
    seeds.push(v);
    let mut v = vec![1u8];
    encode_push_promise(1, 2, &[0x82], 16_384, &mut v);
    encode_priority(
        3,
        PrioritySpec {
            exclusive: true,
            dependency: 1,
            weight: 7,
        },
        &mut v,
    );
    seeds.push(v);

    let mut rng = XorShift(0x1234_5678_9abc_def1);
    for _ in 0..5_000 {
        fuzzing::frame_parser(&input(&mut rng, &seeds));
    }
}

#[test]
fn hpack_decoder_survives_random_input() {
    let blocks = [
        "8286 8441 0f77 7777 2e65 7861 6d70 6c65 2e63 6f6d",
        "8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff",
        "8287 85bf 4088 25a8 49e9 5ba9 7d7f 8925 a849 e95b b8e8 b4bf",
        "4882 6402 5885 aec3 771a 4b61 96d0 7abe 9410 54d4 44a8 2005 9504 0b81 66e0 82a6",
        "1008 7061 7373 776f 7264 0673 6563 7265 74",
        "3fe1 1f82 20",
        "4883 640e ffc1 c0bf",
    ];
    let seeds: Vec<Vec<u8>> = blocks
        .iter()
        .map(|b| {
            let mut v = vec![128u8];
            v.extend(hex(b));
            v
        })
        .collect();
    let mut rng = XorShift(0x0ddb_a11c_afe0_f00d);
    for _ in 0..5_000 {
        fuzzing::hpack_decoder(&input(&mut rng, &seeds));
    }
}

/// Inputs cargo-fuzz found crashing, kept as regressions.
#[test]
fn fuzz_regressions() {
    // Empty PADDED DATA re-encoded as an empty unpadded DATA frame was
    // wrongly rejected as "padding too long".
    fuzzing::frame_parser(&[
        0x00, 0x00, 0x01, 0x00, 0xff, 0x25, 0x00, 0xf3, 0x00, 0x00, 0x00, 0x00, 0x0a, 0x00, 0x00,
        0xf3, 0x0a, 0x0a,
    ]);
}
