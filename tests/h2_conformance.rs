//! HTTP/2 server conformance in the manner of h2spec: `tests/h2_conformance.py` (one case per
//! h2spec test case, with h2spec's verdicts, plus a few RFC 9113 MUSTs h2spec does not check)
//! run against our server, and against nghttpd as a check of the script itself.
//!
//! Our server is the poll(2) test server of `tests/peers/pollhttp_server.rs` on a thread of
//! this process (its default handler answers like `examples/echo_server`: GET/HEAD `hello\n`,
//! a request body echoed), built on the public API, so the test always exercises this very
//! build of the library. The same script runs against the example by hand:
//!
//! ```text
//! cargo run --release --example echo_server -- --listen 127.0.0.1:8080 &
//! python3 tests/h2_conformance.py 127.0.0.1 8080 [--trace] [CASE-ID-PREFIX...]
//! ```
//!
//! The tests assert that the set of failing cases is exactly the known one, so they fail both
//! when something new breaks and when a known bug is fixed (then drop it from the list).

mod common;
#[path = "peers/pollhttp_server.rs"]
mod server;

use common::*;
use pollhttp::Config;
use server::{default_handler, serve_config};
use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

/// A whole run of the script: about 170 cases, most answered at once, a failing one costs a
/// read timeout (2 s) at most, and each case is cut off by the script after 8 s.
const SCRIPT_LIMIT: Duration = Duration::from_secs(300);

/// The cases our server fails today (none: every h2spec case and every extra RFC 9113 case
/// passes). A case that starts failing fails the test; one known to fail would be listed here
/// with the reason, so that fixing it fails the test until it is removed.
const KNOWN_FAILING: &[&str] = &[];

/// nghttpd (nghttp2 1.52) ignores a HEADERS frame on a lower stream id than one already used
/// (a known nghttp2 behaviour, nghttp2 issues #1300 and #2233, which h2spec reports too).
const NGHTTPD_KNOWN_FAILING: &[&str] = &["http2/5.1.1/2", "rfc9113/5.1.1/2"];

struct Run {
    output: String,
    failing: BTreeSet<String>,
}

/// Runs the script against 127.0.0.1:`port` and collects the ids of the failing cases.
fn run_script(port: u16) -> Run {
    require_python_module("hpack");
    let mut cmd = Command::new(require_tool("python3"));
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/h2_conformance.py");
    cmd.arg(script).arg("127.0.0.1").arg(port.to_string());
    let out = run_with_timeout(&mut cmd, SCRIPT_LIMIT);
    let output = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let code = out.status.code();
    assert!(
        code == Some(0) || code == Some(1),
        "the script crashed ({}):\n{output}",
        out.status
    );
    let summary = output
        .lines()
        .find(|l| l.starts_with("conformance: "))
        .unwrap_or_else(|| panic!("no summary line in the script's output:\n{output}"));
    let failing: BTreeSet<String> = output
        .lines()
        .filter_map(|l| l.strip_prefix("FAIL "))
        .filter_map(|l| l.split_whitespace().next())
        .map(str::to_string)
        .collect();
    assert!(
        summary.contains(&format!(" {} failed", failing.len())),
        "the summary `{summary}` does not match the FAIL lines:\n{output}"
    );
    assert_eq!(
        code == Some(1),
        !failing.is_empty(),
        "exit status vs FAIL lines:\n{output}"
    );
    Run { output, failing }
}

/// Panics (with the whole output) unless exactly the `known` cases failed.
fn assert_failing(who: &str, run: &Run, known: &[&str]) {
    let known: BTreeSet<String> = known.iter().map(|s| s.to_string()).collect();
    if run.failing == known {
        return;
    }
    let new: Vec<_> = run.failing.difference(&known).collect();
    let fixed: Vec<_> = known.difference(&run.failing).collect();
    panic!(
        "{who}: the failing cases are not the known ones\n  failing now, not known: \
         {new:?}\n  known, passing now (remove from the list): {fixed:?}\n--- script output \
         ---\n{}",
        run.output
    );
}

#[test]
fn pollhttp_server_against_the_h2spec_style_cases() {
    // As examples/echo_server configures it.
    let mut cfg = Config::default();
    cfg.read_to_would_block = false;
    let server = serve_config(cfg, default_handler);
    let run = run_script(server.port());
    assert_failing("pollhttp server", &run, KNOWN_FAILING);
}

#[test]
fn nghttpd_against_the_h2spec_style_cases() {
    let (_nghttpd, port) = nghttpd_server(&[("index.html", b"hello\n")], &[]);
    let run = run_script(port);
    assert_failing("nghttpd", &run, NGHTTPD_KNOWN_FAILING);
}
