//! SETTINGS (RFC 9113 §6.5): what we advertise, the peer's settings as they apply to what we
//! send, the acknowledgement of ours (after which a smaller window or table of ours applies),
//! and the `HTTP2-Settings` payload of an h2c upgrade.

use super::config::H2Config;
use super::core::H2Core;
use super::timer::Timer;
use crate::error::{Error, ErrorKind, Result};
use crate::Role;
use h2_codec_lite::{
    decode_frame, encode_settings, encode_settings_ack, ErrorCode, Frame, Settings, SettingsFrame,
};
use std::time::Instant;

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
        .with_status(400)
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

impl H2Core {
    /// The SETTINGS payload a client sends in `HTTP2-Settings` (the same as its first
    /// SETTINGS frame).
    pub(crate) fn settings_payload(cfg: &H2Config) -> Vec<u8> {
        let mut v = Vec::with_capacity(64);
        encode_settings(&our_settings(cfg, Role::Client), &mut v);
        v.split_off(9)
    }

    pub(super) fn on_settings(&mut self, f: SettingsFrame, now: Instant) {
        if self.floods.settings.hit(now, self.cfg.flood_window) {
            return self.conn_error(ErrorCode::EnhanceYourCalm, "SETTINGS flood");
        }
        if f.ack {
            if self.timers.take(Timer::SettingsAck).is_some() {
                self.our_settings_acked();
            }
            return;
        }
        if self.apply_peer_settings(f.settings) {
            encode_settings_ack(&mut self.out);
            self.want_flush = true;
            self.try_open_queued();
        }
    }

    /// Applies the peer's settings; `false` if they broke the protocol (the connection has
    /// failed then).
    pub(super) fn apply_peer_settings(&mut self, st: Settings) -> bool {
        if self.role == Role::Client && st.enable_push == Some(true) {
            self.conn_error(
                ErrorCode::ProtocolError,
                "RFC 9113 §6.5.2: a server cannot set SETTINGS_ENABLE_PUSH to 1",
            );
            return false;
        }
        if let Some(v) = st.enable_push {
            self.peer.enable_push = v;
        }
        if let Some(v) = st.header_table_size {
            self.enc.set_max_table_size(v as usize);
        }
        if let Some(v) = st.max_concurrent_streams {
            self.peer.max_streams = v;
        }
        if let Some(v) = st.initial_window_size {
            let delta = v as i64 - self.peer.initial_window as i64;
            self.peer.initial_window = v;
            let mut overflow = false;
            let mut queue = Vec::new();
            for (&id, s) in self.streams.iter_mut() {
                overflow |= !s.send_window.credit(delta);
                if s.has_output() {
                    queue.push(id);
                }
            }
            if overflow {
                self.conn_error(
                    ErrorCode::FlowControlError,
                    "RFC 9113 §6.9.2: SETTINGS_INITIAL_WINDOW_SIZE took a stream window above 2^31-1",
                );
                return false;
            }
            for id in queue {
                self.enqueue(id);
            }
        }
        if let Some(v) = st.max_frame_size {
            self.peer.max_frame = v;
        }
        if let Some(v) = st.max_header_list_size {
            self.peer.max_header_list = Some(v);
        }
        true
    }

    /// The peer applies our SETTINGS from now on.
    pub(super) fn our_settings_acked(&mut self) {
        if self.cfg.header_table_size as usize != h2_codec_lite::DEFAULT_HEADER_TABLE_SIZE as usize
        {
            self.dec
                .set_max_table_size_setting(self.cfg.header_table_size as usize);
        }
        let ours = self.cfg.initial_window_size;
        if ours < self.recv_initial_window {
            let delta = ours as i64 - self.recv_initial_window as i64;
            for s in self.streams.values_mut() {
                s.recv_window.credit(delta);
            }
            self.recv_initial_window = ours;
        }
    }
}
