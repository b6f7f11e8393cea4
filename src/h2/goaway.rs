//! Graceful shutdown and GOAWAY (RFC 9113 §6.8): the GOAWAY we send when the application or
//! the idle timer closes the connection (streams in flight finish, new ones are refused), and
//! the one we receive (our streams above its last id were not processed and are safe to retry).

use super::core::H2Core;
use super::timer::Timer;
use crate::error::{Error, ErrorKind};
use h2_codec_lite::{encode_goaway, ErrorCode, GoAwayFrame};

impl H2Core {
    /// Orderly close: GOAWAY(NO_ERROR) with the last stream we will process; streams in
    /// flight finish (until `shutdown_timeout`), new ones are refused.
    pub(crate) fn shutdown(&mut self) {
        if self.goaway_sent.is_some() || self.done {
            return;
        }
        // The last stream the peer opened (a client's: the last push it accepted).
        let last = self.last_peer_id;
        encode_goaway(last, ErrorCode::NoError, b"", &mut self.out);
        self.goaway_sent = Some(last);
        self.timers.start(Timer::Shutdown, self.now);
        self.want_flush = true;
        // Client streams that never went out never will.
        let unopened: Vec<u32> = self.pending_open.drain(..).collect();
        for id in unopened {
            self.fail_stream(
                id,
                Error::new(
                    ErrorKind::Closed,
                    "the connection is shutting down; the request was not sent and is safe to retry",
                )
                .retryable(),
            );
        }
        self.check_done();
    }

    pub(super) fn on_goaway(&mut self, g: GoAwayFrame<'_>) {
        let last = self
            .goaway_recv
            .map_or(g.last_stream_id, |l| l.min(g.last_stream_id));
        self.goaway_recv = Some(last);
        if g.error_code != ErrorCode::NoError {
            let debug = String::from_utf8_lossy(g.debug_data);
            log::debug!("h2: peer sent GOAWAY {}: {debug}", g.error_code.name());
            // The peer ended the connection for an error: the streams it goes on to fail (at
            // its close) fail with it, and the connection reports it.
            let why = if debug.is_empty() {
                String::new()
            } else {
                format!(": {debug}")
            };
            let e = Error::new(
                ErrorKind::Protocol,
                format!(
                    "the peer ended the HTTP/2 connection with GOAWAY {}{why}",
                    g.error_code.name()
                ),
            )
            .with_h2_code(g.error_code.as_u32());
            self.goaway_error.get_or_insert_with(|| e.clone());
            self.failure.get_or_insert(e);
        }
        let unprocessed: Vec<u32> = self
            .streams
            .keys()
            .copied()
            .filter(|&id| self.is_local(id) && id > last)
            .collect();
        self.pending_open.clear();
        let msg = format!(
            "the peer sent GOAWAY ({}) before processing this stream: it was not processed and is safe to retry",
            g.error_code.name()
        );
        let code = (g.error_code != ErrorCode::NoError).then(|| g.error_code.as_u32());
        for id in unprocessed {
            let mut e = Error::new(ErrorKind::Closed, msg.clone()).retryable();
            if let Some(c) = code {
                e = e.with_h2_code(c);
            }
            self.fail_stream(id, e);
        }
        self.check_done();
    }
}
