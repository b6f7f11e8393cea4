//! The kinds of deadline of an HTTP/1 connection, for the timer table of `crate::timer`. A
//! leaf: what each kind's deadline is and what it does are `impl H1Core` methods in
//! `deadlines`, which `core` does not import.

use crate::timer::TimerKind;

/// A kind of deadline of an HTTP/1 connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Timer {
    /// Server: part of a request head is in, the rest is not (`head_timeout`; a slowloris
    /// peer is answered 408).
    Head,
    /// No message in flight since, with something reused kept (`idle_release`: it is given
    /// back).
    Release,
    /// No message in flight since (`idle_timeout`: a keep-alive connection closes).
    Idle,
    /// Client: the oldest request without an answer is all in the output, and no byte of its
    /// response has come since (`response_timeout`: the exchanges fail, the connection
    /// closes).
    Response,
    /// Client: a response is in progress and the application has taken what came; nothing
    /// more since (`response_read_timeout`: as `Response`).
    ResponseRead,
}

impl TimerKind for Timer {
    const ALL: &'static [Timer] = &[
        Timer::Head,
        Timer::Release,
        Timer::Idle,
        Timer::Response,
        Timer::ResponseRead,
    ];

    fn index(self) -> usize {
        self as usize
    }
}
