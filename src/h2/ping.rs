//! PING (RFC 9113 §6.7): answering the peer's PINGs and recognising the answer to our
//! keep-alive PING (sent by the timer table, see `deadlines`; its data is in `timer`).

use super::core::H2Core;
use super::timer::{Timer, KEEPALIVE_PING};
use h2_codec_lite::{encode_ping, ErrorCode, PingFrame};
use std::time::Instant;

impl H2Core {
    /// A PING: the answer to ours stops the keep-alive clock; the peer's is answered with
    /// the same data (within the flood bound).
    pub(super) fn on_ping(&mut self, p: PingFrame, now: Instant) {
        if p.ack {
            if p.data == KEEPALIVE_PING {
                self.timers.stop(Timer::PingAck);
            }
            return;
        }
        if self.floods.pings.hit(now, self.cfg.flood_window) {
            return self.conn_error(ErrorCode::EnhanceYourCalm, "PING flood");
        }
        encode_ping(true, p.data, &mut self.out);
        self.want_flush = true;
    }
}
