//! The abuse bounds: CONTINUATION, SETTINGS, PING and empty-frame floods, rapid reset, and
//! arbitrary frames that must never panic.

use super::*;

#[test]
fn a_continuation_flood_is_bounded() {
    let (mut s, now) = server_configured(config(|c| c.max_header_block = 4096));
    let mut v = raw(1, 0, 1, &[0x82]);
    for _ in 0..10 {
        v.extend(raw(9, 0, 1, &[0x40; 1000]));
    }
    s.recv(&v, now);
    assert_eq!(goaway_code(&mut s), Some(ErrorCode::EnhanceYourCalm));
}

#[test]
fn floods_end_with_enhance_your_calm() {
    let settings = {
        let mut v = Vec::new();
        encode_settings(&Settings::default(), &mut v);
        v
    };
    let cases: Vec<(Vec<u8>, usize)> = vec![
        (raw(6, 0, 0, b"12345678"), 101),
        (settings, 101),
        (raw(2, 0, 9, &[0, 0, 0, 3, 16]), 1001), // PRIORITY
    ];
    for (frame, n) in cases {
        let (mut s, now) = server();
        let v: Vec<u8> = (0..n).flat_map(|_| frame.clone()).collect();
        s.recv(&v, now);
        assert_eq!(goaway_code(&mut s), Some(ErrorCode::EnhanceYourCalm));
    }
    // Empty DATA frames on an open stream.
    let (mut s, now) = server();
    s.recv(&post_headers(1, "1"), now);
    let v: Vec<u8> = (0..1001).flat_map(|_| data(1, b"", false)).collect();
    s.recv(&v, now);
    assert_eq!(goaway_code(&mut s), Some(ErrorCode::EnhanceYourCalm));
}

#[test]
fn floods_spread_over_time_are_allowed() {
    let (mut s, now) = server();
    for i in 0..300 {
        s.recv(
            &raw(6, 0, 0, b"12345678"),
            now + Duration::from_millis(100 * i),
        );
    }
    assert!(!s.is_done());
}

#[test]
fn rapid_reset_ends_the_connection() {
    let (mut s, now) = server();
    let mut v = Vec::new();
    for i in 0..201u32 {
        let id = 1 + 2 * i;
        v.extend(headers(id, &GET, false));
        v.extend(raw(3, 0, id, &8u32.to_be_bytes())); // RST_STREAM(CANCEL)
    }
    s.recv(&v, now);
    assert_eq!(goaway_code(&mut s), Some(ErrorCode::EnhanceYourCalm));
    assert!(
        s.events.incoming().len() <= 1,
        "cancelled streams never surface"
    );
}

/// Frames of every type with random flags, ids and payloads, mixed with valid ones: every
/// input ends in progress, a stream error or a connection error, never in a panic.
#[test]
fn arbitrary_frames_never_panic() {
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    let mut rnd = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    // Under Miri (scripts/miri.sh), which runs this about a thousand times slower, a sample.
    let rounds = if cfg!(miri) { 12 } else { 300 };
    for round in 0..rounds {
        let now = Instant::now();
        let role = if round % 2 == 0 {
            Role::Server
        } else {
            Role::Client
        };
        let mut core = match role {
            Role::Server => server_with(H2Config::default(), now),
            Role::Client if round % 4 == 1 => push_client(now),
            Role::Client => client_with(H2Config::default(), now),
        };
        if role == Role::Client {
            for _ in 0..3 {
                request(&mut core, "POST", "/", false);
            }
        }
        let mut input = Vec::new();
        for _ in 0..40 {
            let r = rnd();
            let id = (r >> 8) as u32 % 8;
            match r % 5 {
                0 => input.extend(headers(id, &GET, r & 64 != 0)),
                1 => input.extend(data(id, &[1; 7], r & 64 != 0)),
                _ => {
                    let len = (r >> 16) as usize % 24;
                    let payload: Vec<u8> = (0..len).map(|_| rnd() as u8).collect();
                    input.extend(raw((r >> 40) as u8 % 11, (r >> 48) as u8, id, &payload));
                }
            }
        }
        let (mut pos, mut end) = (0, 0);
        while end < input.len() {
            // Bytes arrive in random pieces; what the core leaves is offered again.
            end = (end + rnd() as usize % 64 + 1).min(input.len());
            pos += core.recv(&input[pos..end], now);
            core.fill_out();
            let _ = frames(&std::mem::take(&mut core.out));
            let ids: Vec<u64> = core.events.ready_list().iter().copied().collect();
            for id in ids {
                let _ = core.with_recv(id, |r| {
                    let _ = r.take_head();
                    let mut v = Vec::new();
                    let _ = r.drain_into(&mut v);
                });
                let _ = core.write_headers(id, &Headers::response(StatusCode::OK), false);
                let _ = core.write_body(id, b"x", rnd() % 2 == 0);
            }
        }
        core.on_timeout(now + Duration::from_secs(60));
    }
}
