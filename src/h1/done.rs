//! When an HTTP/1 connection is over: [`H1Core::check_done`], run after any event that may end
//! it, moves the [`Lifecycle`](super::state::Lifecycle) to its end once a closing connection
//! has nothing left in flight (a server's answers all sent, a client's all received), and
//! [`H1Core::all_answered`] tells whether a client has every answer it waits for. Kept apart
//! from the state types of `state` so that the core, which holds those types, does not import
//! the code that works on the core.

use super::core::H1Core;
use super::state::Recv;
use crate::Role;

impl H1Core {
    /// Decides whether the connection is over, after any event that may end it.
    pub(super) fn check_done(&mut self) {
        if self.lifecycle.shut_down() && matches!(self.recv, Recv::Head) && self.all_answered() {
            // A client shut down by the application: the last answer it waited for is in.
            self.lifecycle.close();
            self.recv = Recv::Closed;
        }
        if !self.lifecycle.closing() || !matches!(self.recv, Recv::Closed) {
            return;
        }
        let over = match self.role {
            Role::Server => self.streams.iter().all(|s| s.send_end),
            Role::Client => self.all_answered(),
        };
        if over {
            self.lifecycle.finish();
        }
    }

    /// Client: every stream has its whole answer, or has failed.
    pub(super) fn all_answered(&self) -> bool {
        self.streams
            .iter()
            .all(|s| s.recv.end || s.recv.error.is_some())
    }
}
