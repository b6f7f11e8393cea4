//! A small curl-like client built on the blocking conveniences: `Connection::open`, a stream's
//! `write_headers`, `write_body_from_bytes`, `get_headers` and `get_body_as_bytes`.
//!
//! ```text
//! cargo run --release --example fetch -- URL [-X METHOD] [-H 'name: value']... [-d DATA|@FILE]
//!     [--http1.0|--http2|--http2-prior-knowledge] [--unix PATH] [--timeout SECS]
//!     [--cacert FILE] [-k|--insecure] [-i|--include] [-f|--fail] [-v]
//! ```
//!
//! The body goes to stdout. The status line and the response's header fields go to stderr, or
//! to stdout in front of the body with `-i`. `-v` also shows the connection and the request on
//! stderr. Exit status: 0 on any answer (2xx, 3xx, and 4xx/5xx unless `--fail`), 22 for an
//! answer >= 400 with `--fail` (as curl), 1 when the connection or the exchange failed, 2 for a
//! bad command line.
//!
//! `https://` URLs verify the server against the webpki roots, or against `--cacert FILE`;
//! `-k`/`--insecure` skips verification (for testing only).
//!
//! `--http2` offers HTTP/2 with `Upgrade: h2c` on the request (when it has no body), as curl
//! does; `--http2-prior-knowledge` speaks HTTP/2 from the first byte.
//!
//! Every blocking call gets what is left of one overall `--timeout`, so the whole exchange
//! (connect, request, response) is bounded by it.

use pollhttp::{ClientOptions, Connection, Headers, Method, StatusCode, Target, TlsClientConfig};
use std::io::Write;
use std::path::PathBuf;
use std::process::exit;
use std::time::{Duration, Instant};

const USAGE: &str = "usage: fetch URL [-X METHOD] [-H 'name: value']... [-d DATA|@FILE]
             [--http1.0|--http2|--http2-prior-knowledge] [--unix PATH] [--timeout SECS]
             [--cacert FILE] [-k|--insecure] [-i|--include] [-f|--fail] [-v]";

/// The parts of an `http://` URL a request needs.
#[derive(Debug, PartialEq, Eq)]
struct Url {
    /// The host without brackets (an IPv6 literal is bare here).
    host: String,
    port: u16,
    /// The Host header: the host as written (brackets kept) and the port when one was given.
    authority: String,
    /// Path and query; `/` when the URL has none. The fragment is dropped.
    path: String,
    /// `https://`.
    tls: bool,
}

/// Parses `http://host[:port][/path][?query][#fragment]`; a URL without a scheme is taken as
/// http, as curl does.
fn parse_url(url: &str) -> Result<Url, String> {
    let (rest, tls) = match url.find("://") {
        Some(i) => {
            let scheme = url[..i].to_ascii_lowercase();
            match scheme.as_str() {
                "http" => (&url[i + 3..], false),
                "https" => (&url[i + 3..], true),
                _ => {
                    return Err(format!(
                        "unsupported scheme {scheme}:// (only http:// and https://)"
                    ))
                }
            }
        }
        None => (url, false),
    };
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    if authority.contains('@') {
        return Err("credentials in the URL are not supported; use -H 'authorization: ...'".into());
    }
    let (host, port_text) = if let Some(v6) = authority.strip_prefix('[') {
        let close = v6.find(']').ok_or("unclosed '[' in the URL's host")?;
        let after = &v6[close + 1..];
        let port = match after.strip_prefix(':') {
            Some(p) => Some(p),
            None if after.is_empty() => None,
            None => return Err(format!("unexpected {after:?} after the IPv6 address")),
        };
        let addr = &v6[..close];
        if addr.parse::<std::net::Ipv6Addr>().is_err() {
            return Err(format!("{addr:?} is not an IPv6 address"));
        }
        (addr, port)
    } else {
        match authority.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (authority, None),
        }
    };
    if host.is_empty() {
        return Err(format!("no host in {url:?}"));
    }
    let port = match port_text {
        None | Some("") if tls => 443,
        None | Some("") => 80,
        Some(p) => p
            .parse::<u16>()
            .ok()
            .filter(|&p| p != 0)
            .ok_or(format!("bad port {p:?}"))?,
    };
    let tail = tail.split('#').next().unwrap_or("");
    let path = if tail.is_empty() {
        "/".to_string()
    } else if tail.starts_with('?') {
        format!("/{tail}")
    } else {
        tail.to_string()
    };
    Ok(Url {
        host: host.to_string(),
        port,
        authority: authority.trim_end_matches(':').to_string(),
        path,
        tls,
    })
}

struct Args {
    url: String,
    method: Option<String>,
    headers: Vec<(String, String)>,
    data: Option<Vec<u8>>,
    version: http::Version,
    prior_knowledge: bool,
    unix: Option<PathBuf>,
    cacert: Option<PathBuf>,
    insecure: bool,
    timeout: Option<Duration>,
    include: bool,
    fail: bool,
    verbose: bool,
}

fn usage_error(msg: &str) -> ! {
    eprintln!("fetch: {msg}\n{USAGE}");
    exit(2)
}

fn parse_args() -> Args {
    let mut a = Args {
        url: String::new(),
        method: None,
        headers: Vec::new(),
        data: None,
        version: http::Version::HTTP_11,
        prior_knowledge: false,
        unix: None,
        cacert: None,
        insecure: false,
        timeout: None,
        include: false,
        fail: false,
        verbose: false,
    };
    let mut url = None;
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut value = |what: &str| {
            it.next()
                .unwrap_or_else(|| usage_error(&format!("{arg} needs {what}")))
        };
        match arg.as_str() {
            "-X" | "--request" => a.method = Some(value("a method")),
            "-H" | "--header" => {
                let h = value("'name: value'");
                let Some((name, v)) = h.split_once(':') else {
                    usage_error(&format!("header {h:?} is not 'name: value'"));
                };
                let name = name.trim();
                if name.is_empty() {
                    usage_error(&format!("header {h:?} has no name"));
                }
                a.headers.push((name.to_string(), v.trim().to_string()));
            }
            "-d" | "--data" | "--data-binary" => {
                let d = value("data (or @FILE, @- for stdin)");
                let bytes = match d.strip_prefix('@') {
                    Some("-") => {
                        let mut b = Vec::new();
                        std::io::Read::read_to_end(&mut std::io::stdin(), &mut b)
                            .unwrap_or_else(|e| usage_error(&format!("reading stdin: {e}")));
                        b
                    }
                    Some(path) => std::fs::read(path)
                        .unwrap_or_else(|e| usage_error(&format!("reading {path}: {e}"))),
                    None => d.into_bytes(),
                };
                a.data = Some(bytes);
            }
            "--http1.0" | "-0" => a.version = http::Version::HTTP_10,
            "--http1.1" => a.version = http::Version::HTTP_11,
            "--http2" => a.version = http::Version::HTTP_2,
            "--http2-prior-knowledge" => {
                a.version = http::Version::HTTP_2;
                a.prior_knowledge = true;
            }
            "--http3" => {
                eprintln!("fetch: {arg}: HTTP/3 is not supported");
                exit(2)
            }
            "--unix" | "--unix-socket" => a.unix = Some(PathBuf::from(value("a socket path"))),
            "--cacert" => a.cacert = Some(PathBuf::from(value("a CA file"))),
            "-k" | "--insecure" => a.insecure = true,
            "--timeout" | "-m" | "--max-time" => {
                let t = value("seconds");
                let secs: f64 = t
                    .parse()
                    .ok()
                    .filter(|s: &f64| s.is_finite() && *s >= 0.0)
                    .unwrap_or_else(|| usage_error(&format!("bad timeout {t:?}")));
                a.timeout = Some(Duration::from_secs_f64(secs));
            }
            "-i" | "--include" => a.include = true,
            "-f" | "--fail" => a.fail = true,
            "-v" | "--verbose" => a.verbose = true,
            "-h" | "--help" => {
                println!("{USAGE}");
                exit(0)
            }
            s if s.starts_with('-') && s.len() > 1 => usage_error(&format!("unknown option {s}")),
            _ if url.is_some() => usage_error("more than one URL"),
            _ => url = Some(arg),
        }
    }
    a.url = url.unwrap_or_else(|| usage_error("no URL"));
    a
}

fn main() {
    let args = parse_args();
    let url = parse_url(&args.url).unwrap_or_else(|e| {
        eprintln!("fetch: {e}");
        exit(2)
    });
    match run(&args, &url) {
        Ok(status) if args.fail && status >= 400 => {
            eprintln!("fetch: the server answered {status}");
            exit(22)
        }
        Ok(_) => {}
        Err(e) => {
            eprintln!("fetch: {e}");
            exit(1)
        }
    }
}

/// Writes the head as `HTTP/1.x STATUS` and `name: value` lines, then a blank line.
fn version_name(v: http::Version) -> &'static str {
    match v {
        http::Version::HTTP_10 => "HTTP/1.0",
        http::Version::HTTP_2 => "HTTP/2",
        _ => "HTTP/1.1",
    }
}

fn print_head(out: &mut dyn Write, version: &str, h: &Headers) -> std::io::Result<()> {
    writeln!(out, "{version} {}", h.status().map_or(0, |s| s.as_u16()))?;
    for f in h.iter().filter(|f| !f.name.starts_with(':')) {
        out.write_all(f.name.as_bytes())?;
        out.write_all(b": ")?;
        out.write_all(f.value)?;
        out.write_all(b"\n")?;
    }
    out.write_all(b"\n")
}

/// One exchange; returns the final status.
fn run(args: &Args, url: &Url) -> Result<u16, String> {
    let deadline = args.timeout.map(|t| Instant::now() + t);
    // What is left of the overall time limit, for each blocking call in turn.
    let left = || deadline.map(|d| d.saturating_duration_since(Instant::now()));

    let target = match &args.unix {
        Some(p) => Target::Unix(p.clone()),
        None => Target::Host(url.host.clone(), url.port),
    };
    let version = args.version;
    if args.verbose {
        eprintln!("* connecting to {}", describe(&target));
    }
    let tls = if !url.tls {
        None
    } else if args.insecure {
        Some(TlsClientConfig::insecure())
    } else if let Some(ca) = &args.cacert {
        Some(TlsClientConfig::with_ca_file(ca).map_err(|e| e.to_string())?)
    } else {
        Some(TlsClientConfig::webpki_roots())
    };
    let opts = ClientOptions {
        version,
        http2_prior_knowledge: args.prior_knowledge,
        tls,
        ..ClientOptions::default()
    };
    let mut conn = Connection::open(target, opts, left()).map_err(|e| e.to_string())?;
    if args.verbose {
        match conn.peername() {
            Ok(p) => eprintln!("* connected to {p:?}"),
            Err(e) => eprintln!("* connected (peer name unknown: {e})"),
        }
    }

    let method = args
        .method
        .as_deref()
        .unwrap_or(if args.data.is_some() { "POST" } else { "GET" });
    let method = Method::from_bytes(method.as_bytes())
        .map_err(|_| format!("not an HTTP method: {method:?}"))?;
    let mut req = Headers::request(method.clone(), &url.path, Some(&url.authority));
    req.append(
        "user-agent",
        concat!("pollhttp-fetch/", env!("CARGO_PKG_VERSION")),
    );
    req.append("accept", "*/*");
    for (name, value) in &args.headers {
        // A header given on the command line replaces our default of the same name.
        if matches!(name.to_ascii_lowercase().as_str(), "user-agent" | "accept") {
            req.remove(name);
        }
        req.append(name, value);
    }
    if let Some(d) = &args.data {
        if !req.has("content-length") && !req.has("transfer-encoding") {
            req.append("content-length", d.len().to_string());
        }
        if !req.has("content-type") {
            req.append("content-type", "application/x-www-form-urlencoded");
        }
    }
    // With --http2 over plaintext the request goes out as HTTP/1.1 offering h2c.
    let version_text = version_name(conn.version());
    if args.verbose {
        eprintln!("> {method} {} {version_text}", url.path);
        if !req.has("host") {
            eprintln!("> host: {}", url.authority);
        }
        for f in req.iter().filter(|f| !f.name.starts_with(':')) {
            eprintln!("> {}: {}", f.name, String::from_utf8_lossy(f.value));
        }
        eprintln!(">");
    }

    let id = conn.new_stream().map_err(|e| e.to_string())?;
    let mut stream = conn.stream(id);
    stream
        .write_headers(&req, args.data.is_none())
        .map_err(|e| format!("sending the request head: {e}"))?;
    if let Some(d) = &args.data {
        stream
            .write_body_from_bytes(d, left())
            .map_err(|e| format!("sending the request body: {e}"))?;
    }

    // Interim heads (1xx, but not 101, which is final) come first; skip to the final one.
    let head = loop {
        let h = stream
            .get_headers(left())
            .map_err(|e| format!("waiting for the response: {e}"))?
            .ok_or("the stream ended without a response")?;
        let status = h.status().ok_or("a response head without a status")?;
        if status.is_informational() && status != StatusCode::SWITCHING_PROTOCOLS {
            if args.verbose {
                eprintln!("< {version_text} {status} (interim)");
            }
            continue;
        }
        break h;
    };
    let status = head.status().map_or(0, |s| s.as_u16());
    {
        let peer_version = stream.peer_version().map_or(version_text, version_name);
        let stdout = std::io::stdout();
        let stderr = std::io::stderr();
        let r = if args.include {
            print_head(&mut stdout.lock(), peer_version, &head)
        } else {
            print_head(&mut stderr.lock(), peer_version, &head)
        };
        r.map_err(|e| format!("writing the head: {e}"))?;
    }

    let body = stream
        .get_body_as_bytes(left())
        .map_err(|e| format!("reading the response body: {e}"))?;
    let mut out = std::io::stdout().lock();
    out.write_all(&body)
        .and_then(|()| out.flush())
        .map_err(|e| format!("writing the body: {e}"))?;
    if args.verbose {
        let how = if stream.body_close_delimited() {
            ", delimited by close"
        } else {
            ""
        };
        eprintln!("* {} body bytes{how}", body.len());
    }
    conn.close();
    Ok(status)
}

fn describe(t: &Target) -> String {
    match t {
        Target::Host(h, p) if h.contains(':') => format!("[{h}]:{p}"),
        Target::Host(h, p) => format!("{h}:{p}"),
        Target::Addr(a) => a.to_string(),
        Target::Unix(p) => format!("unix:{}", p.display()),
    }
}

#[cfg(test)]
mod tests {
    use super::parse_url;

    #[test]
    fn urls() {
        let u = parse_url("http://example.com").unwrap();
        assert_eq!(
            (
                u.host.as_str(),
                u.port,
                u.authority.as_str(),
                u.path.as_str()
            ),
            ("example.com", 80, "example.com", "/")
        );
        let u = parse_url("http://[::1]:8080/a/b?x=1#frag").unwrap();
        assert_eq!(
            (
                u.host.as_str(),
                u.port,
                u.authority.as_str(),
                u.path.as_str()
            ),
            ("::1", 8080, "[::1]:8080", "/a/b?x=1")
        );
        let u = parse_url("HTTP://h:81?q").unwrap();
        assert_eq!((u.port, u.path.as_str()), (81, "/?q"));
        let u = parse_url("https://x/").unwrap();
        assert_eq!((u.port, u.tls), (443, true));
        assert!(parse_url("ftp://x/").unwrap_err().contains("unsupported"));
        assert!(parse_url("http://[::1/").is_err());
        assert!(parse_url("http://h:99999/").is_err());
        assert!(parse_url("http:///x").is_err());
    }
}
