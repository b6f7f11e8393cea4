//! The connection's side of SETTINGS (RFC 9113 §6.5), as an `impl H2Core` block: the
//! handler of a SETTINGS frame, applying the peer's settings to what we send, the
//! acknowledgement of ours (after which a smaller window or table of ours applies), and the
//! `HTTP2-Settings` payload a client sends in an h2c upgrade. The plain types and functions
//! are in `settings`, which `core` imports; `core` does not import this file.

use super::config::H2Config;
use super::core::H2Core;
use super::settings::our_settings;
use super::timer::Timer;
use crate::Role;
use h2_codec_lite::{encode_settings, encode_settings_ack, ErrorCode, Settings, SettingsFrame};
use std::time::Instant;

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
