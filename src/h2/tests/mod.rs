//! Tests of the HTTP/2 core, one file per concern, and the helpers they share: a frame
//! decoder that reads what a core wrote ([`F`], [`frames`]), frame builders for input
//! ([`raw`], [`headers`], [`data`]), cores that have done their SETTINGS exchange
//! ([`server_with`], [`client_with`]) and [`Pair`], a client and a server core talking in
//! memory at a time the test moves.

mod exchange;
mod floods;
mod flow_control;
mod goaway;
mod malformed;
mod push;
mod settings;
mod streams;
mod timers;

use super::config::H2Config;
use super::core::{H2Core, PREFACE};
use super::flow::Window;
use super::timer::{Timer, KEEPALIVE_PING};
use crate::error::{Error, ErrorKind, Result};
use crate::headers::Headers;
use crate::stream_state::StreamState;
use crate::Role;
use h2_codec_lite::hpack::{HeaderRef, HpackDecoder, HpackEncoder};
use h2_codec_lite::{
    decode_frame, encode_data, encode_headers, encode_ping, encode_push_promise, encode_settings,
    encode_settings_ack, encode_window_update, ErrorCode, Frame, PrioritySpec, Settings,
    DEFAULT_MAX_FRAME_SIZE, MAX_STREAM_ID,
};
use http::{Method, StatusCode};
use std::time::{Duration, Instant};

/// A frame as the tests look at it.
#[derive(Debug, Clone, PartialEq, Eq)]
enum F {
    Settings { ack: bool },
    Headers { id: u32, end: bool },
    Continuation { id: u32 },
    PushPromise { id: u32, promised: u32 },
    Data { id: u32, len: usize, end: bool },
    Rst { id: u32, code: ErrorCode },
    GoAway { last: u32, code: ErrorCode },
    WindowUpdate { id: u32, inc: u32 },
    Ping { ack: bool, data: [u8; 8] },
    Other,
}

/// Decodes everything a core wrote (after the client preface, if any).
fn frames(mut buf: &[u8]) -> Vec<F> {
    if buf.starts_with(PREFACE) {
        buf = &buf[PREFACE.len()..];
    }
    let mut v = Vec::new();
    while !buf.is_empty() {
        let (f, n) = decode_frame(buf, 1 << 24).unwrap().expect("whole frames");
        v.push(match f {
            Frame::Settings(s) => F::Settings { ack: s.ack },
            Frame::Headers(h) => F::Headers {
                id: h.stream_id,
                end: h.end_stream,
            },
            Frame::Continuation(c) => F::Continuation { id: c.stream_id },
            Frame::PushPromise(p) => F::PushPromise {
                id: p.stream_id,
                promised: p.promised_stream_id,
            },
            Frame::Data(d) => F::Data {
                id: d.stream_id,
                len: d.data.len(),
                end: d.end_stream,
            },
            Frame::RstStream(r) => F::Rst {
                id: r.stream_id,
                code: r.error_code,
            },
            Frame::GoAway(g) => F::GoAway {
                last: g.last_stream_id,
                code: g.error_code,
            },
            Frame::WindowUpdate(w) => F::WindowUpdate {
                id: w.stream_id,
                inc: w.increment,
            },
            Frame::Ping(p) => F::Ping {
                ack: p.ack,
                data: p.data,
            },
            _ => F::Other,
        });
        buf = &buf[n..];
    }
    v
}

fn take(c: &mut H2Core) -> Vec<F> {
    frames(&std::mem::take(&mut c.out))
}

fn goaway_code(c: &mut H2Core) -> Option<ErrorCode> {
    take(c).into_iter().find_map(|f| match f {
        F::GoAway { code, .. } => Some(code),
        _ => None,
    })
}

fn rst_code(c: &mut H2Core, id: u32) -> Option<ErrorCode> {
    take(c).into_iter().find_map(|f| match f {
        F::Rst { id: i, code } if i == id => Some(code),
        _ => None,
    })
}

fn raw(ty: u8, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
    let l = (payload.len() as u32).to_be_bytes();
    let mut v = vec![l[1], l[2], l[3], ty, flags];
    v.extend_from_slice(&stream.to_be_bytes());
    v.extend_from_slice(payload);
    v
}

fn block(fields: &[(&str, &str)]) -> Vec<u8> {
    let mut enc = HpackEncoder::new();
    let mut b = Vec::new();
    enc.encode(
        fields
            .iter()
            .map(|(n, v)| HeaderRef::new(n.as_bytes(), v.as_bytes())),
        &mut b,
    );
    b
}

fn headers(id: u32, fields: &[(&str, &str)], end: bool) -> Vec<u8> {
    let mut v = Vec::new();
    encode_headers(
        id,
        &block(fields),
        end,
        None,
        DEFAULT_MAX_FRAME_SIZE,
        &mut v,
    );
    v
}

fn data(id: u32, payload: &[u8], end: bool) -> Vec<u8> {
    let mut v = Vec::new();
    encode_data(id, payload, end, &mut v);
    v
}

const GET: [(&str, &str); 4] = [
    (":method", "GET"),
    (":scheme", "https"),
    (":authority", "example.com"),
    (":path", "/"),
];

fn post(len: &str) -> Vec<(&'static str, String)> {
    vec![
        (":method", "POST".into()),
        (":scheme", "https".into()),
        (":authority", "example.com".into()),
        (":path", "/up".into()),
        ("content-length", len.into()),
    ]
}

fn post_headers(id: u32, len: &str) -> Vec<u8> {
    let f = post(len);
    let f: Vec<(&str, &str)> = f.iter().map(|(n, v)| (*n, v.as_str())).collect();
    headers(id, &f, false)
}

/// A server core that has seen the preface and an empty SETTINGS, and whose own
/// SETTINGS were acknowledged.
fn server_with(cfg: H2Config, now: Instant) -> H2Core {
    let mut s = H2Core::new(Role::Server, cfg, now);
    let mut input = PREFACE.to_vec();
    encode_settings(&Settings::default(), &mut input);
    encode_settings_ack(&mut input);
    assert_eq!(s.recv(&input, now), input.len());
    let f = take(&mut s);
    assert!(f.contains(&F::Settings { ack: true }), "{f:?}");
    s
}

fn server() -> (H2Core, Instant) {
    server_configured(H2Config::default())
}

/// The default configuration changed by `set`.
fn config(set: impl FnOnce(&mut H2Config)) -> H2Config {
    let mut cfg = H2Config::default();
    set(&mut cfg);
    cfg
}

/// [`server_with`] `cfg`, now, and the time it was made at.
fn server_configured(cfg: H2Config) -> (H2Core, Instant) {
    let now = Instant::now();
    (server_with(cfg, now), now)
}

/// A client core with the default configuration that has done its SETTINGS exchange, and
/// the time it was made at.
fn client() -> (H2Core, Instant) {
    let now = Instant::now();
    (client_with(H2Config::default(), now), now)
}

fn client_with(cfg: H2Config, now: Instant) -> H2Core {
    let mut c = H2Core::new(Role::Client, cfg, now);
    let mut input = Vec::new();
    encode_settings(&Settings::default(), &mut input);
    encode_settings_ack(&mut input);
    assert_eq!(c.recv(&input, now), input.len());
    take(&mut c);
    c
}

struct Pair {
    c: H2Core,
    s: H2Core,
    now: Instant,
}

impl Pair {
    /// Both sides with the default configuration.
    fn with_defaults() -> Pair {
        Pair::new(H2Config::default(), H2Config::default())
    }

    /// The server's configuration the defaults changed by `set`; the client's the defaults.
    fn with_server(set: impl FnOnce(&mut H2Config)) -> Pair {
        Pair::new(H2Config::default(), config(set))
    }

    /// The client's configuration the defaults changed by `set`; the server's the defaults.
    fn with_client(set: impl FnOnce(&mut H2Config)) -> Pair {
        Pair::new(config(set), H2Config::default())
    }

    fn new(ccfg: H2Config, scfg: H2Config) -> Pair {
        let now = Instant::now();
        let mut p = Pair {
            c: H2Core::new(Role::Client, ccfg, now),
            s: H2Core::new(Role::Server, scfg, now),
            now,
        };
        p.pump();
        assert!(
            !p.c.timers.is_armed(Timer::SettingsAck) && !p.s.timers.is_armed(Timer::SettingsAck)
        );
        p
    }

    /// The client sends a request (its head, and its end when `end`); the server receives
    /// it. Returns the client's stream and the server's.
    fn request(&mut self, method: &str, path: &str, end: bool) -> (u64, u64) {
        let id = request(&mut self.c, method, path, end);
        self.pump();
        let sid = self.s.pop_incoming().expect("the server got a request");
        (id, sid)
    }

    /// Moves bytes both ways until neither side has anything to say.
    fn pump(&mut self) {
        for _ in 0..10_000 {
            self.c.fill_out();
            self.s.fill_out();
            let a = std::mem::take(&mut self.c.out);
            let b = std::mem::take(&mut self.s.out);
            if a.is_empty() && b.is_empty() {
                return;
            }
            assert_eq!(self.s.recv(&a, self.now), a.len());
            assert_eq!(self.c.recv(&b, self.now), b.len());
        }
        panic!("the cores keep talking");
    }
}

fn head_of(c: &mut H2Core, id: u64) -> Headers {
    c.with_recv_head(id, |r| r.take_head())
        .unwrap()
        .unwrap()
        .unwrap()
}

fn body_of(c: &mut H2Core, id: u64) -> (Vec<u8>, bool) {
    let mut v = Vec::new();
    let done = c.with_recv(id, |r| r.drain_all(&mut v)).unwrap().unwrap();
    (v, done)
}

fn request(c: &mut H2Core, method: &str, path: &str, end: bool) -> u64 {
    let id = c.new_stream().unwrap();
    let h = Headers::request(method.parse().expect("a method"), path, Some("example.com"));
    c.write_headers(id, &h, end).unwrap();
    id
}

fn server_answer(frames_in: &[Vec<u8>]) -> (H2Core, Option<ErrorCode>) {
    let (mut s, now) = server();
    for f in frames_in {
        s.recv(f, now);
    }
    let code = rst_code(&mut s, 1);
    (s, code)
}

/// HEADERS from an encoder the test keeps, so that later blocks refer to its table.
fn headers_with(enc: &mut HpackEncoder, id: u32, fields: &[(&str, &str)], end: bool) -> Vec<u8> {
    let mut b = Vec::new();
    enc.encode(
        fields
            .iter()
            .map(|(n, v)| HeaderRef::new(n.as_bytes(), v.as_bytes())),
        &mut b,
    );
    let mut v = Vec::new();
    encode_headers(id, &b, end, None, DEFAULT_MAX_FRAME_SIZE, &mut v);
    v
}

/// PUSH_PROMISE on `id` promising `promised`, its block from `enc`.
fn promise_with(
    enc: &mut HpackEncoder,
    id: u32,
    promised: u32,
    fields: &[(&str, &str)],
) -> Vec<u8> {
    let mut b = Vec::new();
    enc.encode(
        fields
            .iter()
            .map(|(n, v)| HeaderRef::new(n.as_bytes(), v.as_bytes())),
        &mut b,
    );
    let mut v = Vec::new();
    encode_push_promise(id, promised, &b, DEFAULT_MAX_FRAME_SIZE, &mut v);
    v
}

fn promise(id: u32, promised: u32, fields: &[(&str, &str)]) -> Vec<u8> {
    promise_with(&mut HpackEncoder::new(), id, promised, fields)
}

/// The field blocks of HEADERS and PUSH_PROMISE frames in `buf` (each in one frame),
/// decoded in order with `dec`: (frame, fields).
fn blocks(buf: &[u8], dec: &mut HpackDecoder) -> Vec<(F, Vec<(String, String)>)> {
    let mut v = Vec::new();
    let mut rest = buf;
    while let Some((f, n)) = decode_frame(rest, 1 << 24).unwrap() {
        let (frame, block) = match f {
            Frame::Headers(h) => (
                F::Headers {
                    id: h.stream_id,
                    end: h.end_stream,
                },
                h.header_block,
            ),
            Frame::PushPromise(p) => (
                F::PushPromise {
                    id: p.stream_id,
                    promised: p.promised_stream_id,
                },
                p.header_block,
            ),
            _ => {
                rest = &rest[n..];
                continue;
            }
        };
        let fields = dec.decode_to_vec(block).unwrap();
        let fields = fields
            .into_iter()
            .map(|f| {
                (
                    String::from_utf8(f.name).unwrap(),
                    String::from_utf8(f.value).unwrap(),
                )
            })
            .collect();
        v.push((frame, fields));
        rest = &rest[n..];
    }
    v
}

/// (stream, status) of the heads a core wrote, read with a fresh decoder: for a core that
/// sent no head before.
fn statuses(c: &mut H2Core) -> Vec<(u32, u16)> {
    let out = std::mem::take(&mut c.out);
    blocks(&out, &mut HpackDecoder::new())
        .into_iter()
        .filter_map(|(f, fields)| match f {
            F::Headers { id, .. } => fields
                .iter()
                .find(|(n, _)| n == ":status")
                .map(|(_, v)| (id, v.parse().unwrap())),
            _ => None,
        })
        .collect()
}

/// The default configuration with server push accepted.
fn with_push() -> H2Config {
    config(|c| c.enable_push = true)
}

fn push_client(now: Instant) -> H2Core {
    client_with(with_push(), now)
}

/// A client with `cfg` (SETTINGS exchanged) that sent `GET /` on stream 1, ending the
/// request when `end`, its output taken; and the time it was made at.
fn client_asking(cfg: H2Config, end: bool) -> (H2Core, Instant) {
    let now = Instant::now();
    let mut c = client_with(cfg, now);
    request(&mut c, "GET", "/", end);
    take(&mut c);
    (c, now)
}

/// `n` full DATA frames (16 KiB of zeros each) on stream `id`, none ending it.
fn full_data_frames(id: u32, n: usize) -> Vec<u8> {
    (0..n)
        .flat_map(|_| data(id, &[0; DEFAULT_MAX_FRAME_SIZE as usize], false))
        .collect()
}

/// The SETTINGS a core advertises first.
fn first_settings(c: &H2Core) -> Settings {
    let mut buf = &c.out[..];
    if buf.starts_with(PREFACE) {
        buf = &buf[PREFACE.len()..];
    }
    match decode_frame(buf, 1 << 24).unwrap() {
        Some((Frame::Settings(f), _)) => f.settings,
        other => panic!("{other:?}"),
    }
}

fn css() -> Headers {
    Headers::request(Method::GET, "/style.css", Some("example.com"))
}

fn head_of_opt(c: &mut H2Core, id: u64) {
    let _ = c.with_recv_head(id, |r| r.take_head());
}
