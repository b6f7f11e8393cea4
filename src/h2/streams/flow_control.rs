//! Flow-control credit (RFC 9113 §5.2, §6.9): WINDOW_UPDATE received, and the credit we
//! return as the application reads.

use crate::h2::core::{H2Core, DEFAULT_WINDOW};
use crate::h2::state::H2State;
use h2_codec_lite::{encode_window_update, ErrorCode, WindowUpdateFrame};

impl H2Core {
    pub(in crate::h2) fn on_window_update(&mut self, w: WindowUpdateFrame) {
        if w.stream_id == 0 {
            if !self.conn_send.credit(w.increment as i64) {
                self.conn_error(
                    ErrorCode::FlowControlError,
                    "RFC 9113 §6.9.1: connection flow-control window above 2^31-1",
                );
            }
            return;
        }
        let id = w.stream_id;
        let Some(s) = self.streams.get_mut(&id) else {
            return self.on_missing_stream(id, "RFC 9113 §5.1: WINDOW_UPDATE on an idle stream");
        };
        if s.state == H2State::ReservedRemote {
            return self.conn_error(
                ErrorCode::ProtocolError,
                "RFC 9113 §5.1: WINDOW_UPDATE on a stream reserved by the peer",
            );
        }
        if !s.send_window.credit(w.increment as i64) {
            return self.stream_error(
                id,
                ErrorCode::FlowControlError,
                "RFC 9113 §6.9.1: stream flow-control window above 2^31-1",
            );
        }
        if s.has_output() {
            self.enqueue(id);
        }
    }

    pub(in crate::h2) fn return_conn_credit(&mut self, n: usize) {
        if n == 0 || self.done {
            return;
        }
        let target = self.cfg.connection_window_size.max(DEFAULT_WINDOW);
        if let Some(inc) = self.conn_unreturned.add(n, target / 2) {
            encode_window_update(0, inc, &mut self.out);
            self.conn_recv.credit(inc as i64);
            self.want_flush = true;
        }
    }

    pub(in crate::h2) fn return_stream_credit(&mut self, id: u32, n: usize) {
        let threshold = self.recv_initial_window / 2;
        let Some(s) = self.streams.get_mut(&id) else {
            return;
        };
        if !s.state.can_recv() || s.abandoned {
            // The peer sends no more on this stream: its credit is moot.
            return;
        }
        if let Some(inc) = s.unreturned.add(n, threshold) {
            s.recv_window.credit(inc as i64);
            encode_window_update(id, inc, &mut self.out);
            self.want_flush = true;
        }
    }
}
