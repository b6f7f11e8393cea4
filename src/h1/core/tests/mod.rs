//! Tests of the HTTP/1 core, one file per concern, and the helpers they share: cores of each
//! role ([`server`], [`client`]) and readers of what a core wrote or received ([`take_out`],
//! [`body_of`]).

mod exchange;
mod requests;
mod responses;
mod reuse;
mod timers;

use super::*;

fn cfg() -> Arc<Config> {
    Arc::new(Config::default())
}

fn server() -> H1Core {
    H1Core::new(Role::Server, cfg(), 1, Instant::now())
}

fn client() -> H1Core {
    H1Core::new(Role::Client, cfg(), 1, Instant::now())
}

fn take_out(c: &mut H1Core) -> String {
    String::from_utf8_lossy(&std::mem::take(&mut c.out)).into_owned()
}

fn body_of(c: &mut H1Core, id: u64) -> Vec<u8> {
    let mut b = Vec::new();
    c.with_recv(id, |r| r.drain_into(&mut b)).unwrap().unwrap();
    b
}

/// Feeds `input` to a fresh server; returns the status line it answered with.
fn answer_to(input: &[u8]) -> String {
    let mut s = server();
    s.recv(input, Instant::now());
    let out = take_out(&mut s);
    out.lines().next().unwrap_or("").to_string()
}

fn client_get(c: &mut H1Core, method: &str) -> u64 {
    let id = c.new_stream().unwrap();
    c.write_headers(id, &Headers::request(method, "/", Some("h")), true)
        .unwrap();
    id
}
