//! Flow control (RFC 9113 §5.2, §6.9): windows that hold a sender back, writers refused
//! for a full buffer, window changes by SETTINGS, and the flow-control errors.

use super::*;

#[test]
fn a_writer_refused_for_a_full_buffer_is_named_once_credit_comes() {
    let mut p = Pair::with_server(|c| c.send_buffer = 10);
    // The client's window is 1 MiB; shrink the server's view of it to nothing.
    let (id, sid) = p.request("GET", "/", true);
    while p.s.next_ready().is_some() {}
    p.s.write_headers(sid, &Headers::response(StatusCode::OK), false)
        .unwrap();
    p.s.streams
        .get_mut(&(u32::try_from(sid).unwrap()))
        .unwrap()
        .send_window = Window::new(0);
    p.s.write_body(sid, &[1; 10], false).unwrap();
    let e = p.s.write_body(sid, &[2; 10], false).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::WouldBlock);
    assert_eq!(p.s.next_ready(), None);
    let mut wu = Vec::new();
    encode_window_update(u32::try_from(sid).unwrap(), 100, &mut wu);
    p.s.recv(&wu, p.now);
    assert_eq!(
        p.s.next_ready(),
        Some(sid),
        "room again: the writer is told"
    );
    p.s.write_body(sid, &[2; 10], true).unwrap();
    p.pump();
    head_of(&mut p.c, id);
    assert_eq!(body_of(&mut p.c, id).0.len(), 20);
}

#[test]
fn flow_control_holds_back_a_fast_sender_until_the_slow_reader_reads() {
    let small = H2Config {
        initial_window_size: 65_535,
        connection_window_size: 65_535,
        ..H2Config::default()
    };
    let mut p = Pair::new(small.clone(), small);
    let (id, sid) = p.request("GET", "/big", true);
    let body: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
    p.s.write_headers(sid, &Headers::response(StatusCode::OK), false)
        .unwrap();
    p.s.write_body(sid, &body, true).unwrap();
    p.pump();
    // The client has not read: the server stopped at the window, and no credit went back.
    let buffered = p.c.with_recv_head(id, |r| r.buffered()).unwrap();
    assert_eq!(buffered, 65_535);
    assert_eq!(p.s.unsent(), 300_000 - 65_535);
    let mut got = Vec::new();
    for _ in 0..100 {
        head_of_opt(&mut p.c, id);
        let (chunk, done) = body_of(&mut p.c, id);
        got.extend_from_slice(&chunk);
        if done {
            break;
        }
        // Reading returned credit: WINDOW_UPDATEs go out and more data flows.
        assert!(
            !p.c.out.is_empty() || chunk.len() < 32_767,
            "credit returned"
        );
        p.pump();
    }
    assert_eq!(got, body);
}

#[test]
fn writes_report_would_block_past_the_send_buffer() {
    let cfg = config(|c| c.send_buffer = 100_000);
    let now = Instant::now();
    let mut c = client_with(cfg, now);
    let id = request(&mut c, "POST", "/", false);
    // The peer's window is 65,535: the rest waits in the stream.
    c.write_body(id, &[7; 200_000], false).unwrap();
    assert_eq!(c.unsent(), 200_000 - 65_535);
    let e = c.write_body(id, b"x", false).unwrap_err();
    assert!(e.is_would_block());
    c.recv(&raw(8, 0, 0, &1_000_000u32.to_be_bytes()), now);
    c.recv(&raw(8, 0, 1, &1_000_000u32.to_be_bytes()), now);
    let mut sent = 0;
    while c.unsent() > 0 {
        // The face drains `out` and asks for more.
        sent += take(&mut c).len();
        c.fill_out();
    }
    assert!(sent > 8, "credit let the rest go, a frame at a time");
    c.write_body(id, b"x", true).unwrap();
}

#[test]
fn a_lower_initial_window_applies_to_open_streams_and_may_go_negative() {
    let (mut c, now) = client();
    let id = request(&mut c, "POST", "/", false);
    c.write_body(id, &[1; 1000], false).unwrap();
    take(&mut c);
    let mut s = Vec::new();
    let st = Settings {
        initial_window_size: Some(0),
        ..Settings::default()
    };
    encode_settings(&st, &mut s);
    c.recv(&s, now);
    c.write_body(id, &[1; 10], false).unwrap();
    assert_eq!(take(&mut c), [F::Settings { ack: true }]);
    assert_eq!(c.streams[&1].send_window.get(), 65_535 - 1000 - 65_535);
    c.recv(&raw(8, 0, 1, &2000u32.to_be_bytes()), now);
    assert_eq!(
        take(&mut c),
        [F::Data {
            id: 1,
            len: 10,
            end: false
        }]
    );
}

#[test]
fn exceeding_the_connection_window_is_a_flow_control_error() {
    let (mut s, now) = server_configured(config(|c| c.connection_window_size = 65_535));
    s.recv(&post_headers(1, "100000"), now);
    s.recv(&full_data_frames(1, 5), now);
    assert_eq!(goaway_code(&mut s), Some(ErrorCode::FlowControlError));
}

#[test]
fn connection_window_overflow_is_a_flow_control_error() {
    let (mut s, now) = server();
    s.recv(&raw(8, 0, 0, &0x7fff_ffffu32.to_be_bytes()), now);
    assert_eq!(goaway_code(&mut s), Some(ErrorCode::FlowControlError));
}

#[test]
fn exceeding_the_stream_window_is_a_stream_flow_control_error() {
    let (mut s, now) = server_configured(config(|c| c.initial_window_size = 65_535));
    s.recv(&post_headers(1, "100000"), now);
    s.recv(&full_data_frames(1, 5), now);
    assert_eq!(rst_code(&mut s, 1), Some(ErrorCode::FlowControlError));
    assert!(!s.is_done());
}

#[test]
fn stream_window_overflow_is_a_stream_flow_control_error() {
    let (_, code) = server_answer(&[
        headers(1, &GET, true),
        raw(8, 0, 1, &0x7fff_ffffu32.to_be_bytes()),
    ]);
    assert_eq!(code, Some(ErrorCode::FlowControlError));
}

#[test]
fn zero_window_update_on_a_stream_is_a_stream_error() {
    let (s, code) = server_answer(&[headers(1, &GET, false), raw(8, 0, 1, &[0, 0, 0, 0])]);
    assert_eq!(code, Some(ErrorCode::ProtocolError));
    assert!(!s.is_done());
}

#[test]
fn frames_after_our_reset_are_ignored_but_still_flow_controlled() {
    let (mut c, now) = client_asking(config(|c| c.connection_window_size = 65_535), true);
    c.recv(&headers(1, &[(":status", "200")], false), now);
    c.reset(1).unwrap();
    assert_eq!(
        take(&mut c),
        [F::Rst {
            id: 1,
            code: ErrorCode::Cancel
        }]
    );
    let v: Vec<u8> = (0..3).flat_map(|_| data(1, &[0; 16_000], false)).collect();
    c.recv(&v, now);
    let f = take(&mut c);
    assert_eq!(
        f,
        [F::WindowUpdate { id: 0, inc: 48_000 }],
        "credit returned, no reset"
    );
    assert!(!c.is_done());
}
