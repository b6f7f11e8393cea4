//! SETTINGS (RFC 9113 §6.5), the plain parts: what we advertise (`our_settings`), the
//! peer's settings as they apply to what we send ([`PeerSettings`]) and the decoding of an
//! h2c upgrade's `HTTP2-Settings` payload. A leaf: the `H2Core` side of SETTINGS (the frame
//! handler, applying the peer's, the acknowledgement of ours) is in `on_settings`, so that
//! `core` can use these types without a cycle.

use super::config::H2Config;
use crate::error::{Error, ErrorKind, Result};
use crate::Role;
use h2_codec_lite::{decode_frame, Frame, Settings};
use http::StatusCode;

/// The peer's settings as they apply to what we send.
#[derive(Debug)]
pub(super) struct PeerSettings {
    pub(super) max_streams: u32,
    pub(super) initial_window: u32,
    pub(super) max_frame: u32,
    pub(super) max_header_list: Option<u32>,
    /// Server: the client's SETTINGS_ENABLE_PUSH (1 until its SETTINGS say otherwise).
    pub(super) enable_push: bool,
}

/// The settings we advertise (§6.5.2).
pub(super) fn our_settings(cfg: &H2Config, role: Role) -> Settings {
    Settings {
        header_table_size: Some(cfg.header_table_size),
        // A server must not send 1 and need not send 0 (§6.5.2); a client says 1 only when it
        // accepts pushes.
        enable_push: (role == Role::Client).then_some(cfg.enable_push),
        max_concurrent_streams: Some(cfg.max_concurrent_streams),
        initial_window_size: Some(cfg.initial_window_size),
        max_frame_size: Some(cfg.max_frame_size),
        max_header_list_size: Some(cfg.max_header_list_size),
    }
}

/// Decodes a SETTINGS payload (as `HTTP2-Settings` carries it) with the frame rules.
pub(crate) fn decode_settings_payload(payload: &[u8], max_frame: u32) -> Result<Settings> {
    let bad = |why: &str| {
        Error::new(
            ErrorKind::Protocol,
            format!("RFC 7540 §3.2.1: HTTP2-Settings is not a valid SETTINGS payload: {why}"),
        )
        .with_status(StatusCode::BAD_REQUEST)
    };
    if payload.len() > max_frame as usize {
        return Err(bad("too long"));
    }
    let mut frame = Vec::with_capacity(9 + payload.len());
    let n = payload.len();
    frame.extend_from_slice(&[(n >> 16) as u8, (n >> 8) as u8, n as u8, 4, 0, 0, 0, 0, 0]);
    frame.extend_from_slice(payload);
    match decode_frame(&frame, max_frame) {
        Ok(Some((Frame::Settings(f), _))) if !f.ack => Ok(f.settings),
        Ok(_) => Err(bad("not a SETTINGS payload")),
        Err(e) => Err(bad(e.message())),
    }
}
