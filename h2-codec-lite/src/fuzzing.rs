//! Fuzz-target bodies, shared by the cargo-fuzz targets in `fuzz/` and by
//! the deterministic in-crate fuzz test, so both exercise the same code.
//! Not part of the stable API.

use crate::frame::*;
use crate::hpack::{Header, HpackDecoder, HpackEncoder};

/// Decodes every frame in `data`, checking that nothing panics and that
/// re-encoding a parsed frame and parsing it again gives the same frame.
pub fn frame_parser(data: &[u8]) {
    let max = if data.first().is_some_and(|b| b & 1 == 1) {
        DEFAULT_MAX_FRAME_SIZE
    } else {
        64
    };
    let mut rest = data;
    while let Ok(Some((frame, used))) = decode_frame(rest, max) {
        assert!(used >= FRAME_HEADER_LEN && used <= rest.len());
        check_reencode(&frame);
        rest = &rest[used..];
    }
}

fn check_reencode(frame: &Frame<'_>) {
    let mut out = Vec::new();
    match *frame {
        Frame::Data(d) => encode_data(d.stream_id, d.data, d.end_stream, &mut out),
        Frame::Headers(h) => {
            encode_headers(
                h.stream_id,
                h.header_block,
                h.end_stream,
                h.priority,
                MAX_ALLOWED_FRAME_SIZE,
                &mut out,
            );
            if !h.end_headers {
                return; // the encoder always sets END_HEADERS on a single frame
            }
        }
        Frame::Priority(p) => encode_priority(p.stream_id, p.spec, &mut out),
        Frame::RstStream(r) => encode_rst_stream(r.stream_id, r.error_code, &mut out),
        Frame::Settings(s) if s.ack => encode_settings_ack(&mut out),
        Frame::Settings(s) => encode_settings(&s.settings, &mut out),
        Frame::PushPromise(_) | Frame::Unknown(_) => return,
        Frame::Ping(p) => encode_ping(p.ack, p.data, &mut out),
        Frame::GoAway(g) => encode_goaway(g.last_stream_id, g.error_code, g.debug_data, &mut out),
        Frame::WindowUpdate(w) => encode_window_update(w.stream_id, w.increment, &mut out),
        Frame::Continuation(c) => {
            encode_continuation(c.stream_id, c.header_block, c.end_headers, &mut out)
        }
    }
    let (again, used) = decode_frame(&out, MAX_ALLOWED_FRAME_SIZE)
        .expect("re-encoded frame must parse")
        .expect("re-encoded frame must be complete");
    assert_eq!(used, out.len());
    let same = match (*frame, again) {
        (Frame::Data(a), Frame::Data(b)) => {
            a.data == b.data && a.end_stream == b.end_stream && a.stream_id == b.stream_id
        }
        (Frame::Headers(a), Frame::Headers(b)) => {
            a.header_block == b.header_block
                && a.priority == b.priority
                && a.end_stream == b.end_stream
        }
        (a, b) => a == b,
    };
    assert!(same, "{frame:?} re-encoded as {again:?}");
}

/// Decodes `data` as a header block (after a one-byte table-size
/// selector) with tight limits; successfully decoded lists are re-encoded
/// and must decode to the same list.
pub fn hpack_decoder(data: &[u8]) {
    let Some((&sel, block)) = data.split_first() else {
        return;
    };
    let mut d = HpackDecoder::new();
    d.set_max_table_size_setting(usize::from(sel) * 32);
    d.set_max_header_list_size(16 * 1024);
    d.set_max_string_len(4096);
    // Decode the block twice: the second pass runs against whatever the
    // first one left in the dynamic table.
    for _ in 0..2 {
        let fields: Vec<Header> = match d.decode_to_vec(block) {
            Ok(f) => f,
            Err(e) => {
                let _ = e.to_frame_error(1);
                return;
            }
        };
        assert!(d.table().size() <= d.table().max_size());
        let mut e = HpackEncoder::new();
        e.set_use_huffman(sel & 1 == 0);
        let mut out = Vec::new();
        e.encode(fields.iter().map(|h| h.as_header_ref()), &mut out);
        let mut d2 = HpackDecoder::new();
        d2.set_max_header_list_size(usize::MAX);
        d2.set_max_string_len(usize::MAX);
        let again = d2
            .decode_to_vec(&out)
            .expect("re-encoded block must decode");
        assert_eq!(again.len(), fields.len());
        for (a, b) in again.iter().zip(&fields) {
            assert_eq!((&a.name, &a.value), (&b.name, &b.value));
            assert!(a.sensitive || !b.sensitive, "sensitivity must be kept");
        }
    }
}
