#!/usr/bin/env python3
"""pollhttp's benchmark harness: our server and client side by side with other HTTP programs.

    python3 bench/run.py [--quick] [--rounds N] [--seconds S] [--only W1,W2,...]

One command from a fresh clone: it runs bench/setup.sh (Debian packages and matplotlib), builds
our examples (`echo_server`, `load`; when a proxy-* workload runs, the C example
pollhttp-ffi/examples/proxy.c too, with gcc against the release libpollhttp.a) and the peers in
bench/peers/, measures, prints a table per workload and one summary line, and writes a JSON
file and a PNG chart to --out (target/bench/ by default; `--out docs/bench` updates the chart
that docs/benchmarks.md shows).

Method. The machine has two cores or more: the server under measurement runs pinned to CPU 0
(taskset) and the load generator to CPU 1. In each round the servers take turns (A B C A B C
...), each started afresh, so that a ratio between two servers of one round holds when the
machine's speed drifts; each figure is the median over the rounds, and each ratio is the
median of the per-round ratios. Figures:
  req/s    requests (or TLS handshakes) per second, as the load generator reports them
  cpu_us   the server's CPU time (utime + stime of /proc/PID/stat, all its threads) per request
           (per connection for tls-handshake), in microseconds
  kib      idle-*: growth of the server's resident memory (VmRSS) per idle connection, in KiB
Ratios are ours against each peer: `req/s x1.10` means 10% more requests per second than the
peer; `cpu-eff x1.10` means the peer spends 1.10 times our CPU time per request (above 1 is
better for us).

Server workloads (load generator on CPU 1):
  h1             wrk -t1 -c64: HTTP/1.1 keep-alive GET
  h1-pipe        wrk -t1 -c64 with 16 requests pipelined per write
  h1-post        wrk -t1 -c64, POST of 1 KiB (echoed by echo_server and hyper)
  h2             h2load -c16 -m32: h2c by prior knowledge, 16 connections x 32 streams
  h2-post        the same with a 1 KiB body per request
  idle-h1        --idle connections that each made one request and stay open (HTTP/1.1)
  idle-h2        the same over h2c
  tls-h1         h2load --h1 -c64 -m1 over https (TLS 1.3, TLS_AES_128_GCM_SHA256)
  tls-h2         h2load -c16 -m32 over https; our h2c server joins as `pollhttp-h2c`
  tls-handshake  --handshakes connections of one request each, 50 opened every 10 ms: every
                 request pays a full TLS 1.3 handshake (ECDSA P-256 certificate)
Reverse-proxy workloads (the "servers" are proxies on CPU 0: `pollhttp` is the C example
pollhttp-ffi/examples/proxy.c, `nginx-proxy` nginx with bench/peers/nginx-proxy.conf; one
upstream, mio-limit, started once per workload and shared by every proxy, runs on CPU 1 with
the load generator; each proxy keeps up to UPSTREAM_POOL idle HTTP/1.1 upstream connections;
cpu_us is the proxy's CPU alone; before each load run a GET through the proxy must come back
200 with the upstream's `hello`):
  proxy-h1       wrk -t1 -c64: HTTP/1.1 keep-alive GET, as h1
  proxy-h2       h2load -c16 -m32: h2c by prior knowledge, as h2
Client workloads (a fixed server on CPU 0: mio-limit for HTTP/1.1, hyper for h2c; the clients
take turns on CPU 1; client CPU from the kernel's accounting of the finished process):
  client-h1      examples/load --connections 64 against wrk -t1 -c64
  client-h1-pipe the same with 16 requests pipelined, against wrk with the pipelining script
  client-h2      examples/load --http2 --connections 16 --streams 32 against h2load -c16 -m32

Peers: hyper-hello (hyper 1.x, one thread) and mio-limit (raw mio, no HTTP work: the ceiling
for the same system calls), built from bench/peers/; nginx (one process; also as the reverse
proxy nginx-proxy), h2o (one thread) and nghttpd (nghttp2), from Debian, with their
configurations in bench/peers/. Which peer takes part in which workload is in PEERS_OF below.

Everything listens on 127.0.0.1 only. Every wait has a deadline, every loop a bound; a server
is stopped with SIGTERM to the process group the harness created for it (then SIGKILL).
"""

import argparse
import datetime
import json
import os
import re
import resource
import shlex
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BENCH = os.path.join(ROOT, "bench")
TARGET = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
PEER_TARGET = os.path.join(TARGET, "bench-peers")
# pollhttp-ffi/examples/proxy.c, built with gcc against the release libpollhttp.a.
PROXY_C = os.path.join(TARGET, "release", "c-examples", "proxy")
# Idle upstream connections each proxy keeps (proxy.c --pool, nginx's `keepalive`): the most
# requests in flight of a proxy workload (h2load's 16 x 32), so that in the steady state no
# request opens an upstream connection. With 64 (proxy.c's default), proxy-h2 opened one for
# about two requests in three through proxy.c and one in six through nginx: it measured TCP
# connection set-up more than proxying.
UPSTREAM_POOL = 512
TICK = os.sysconf("SC_CLK_TCK")
SERVER_CPU, LOAD_CPU = "0", "1"

SERVER_WORKLOADS = ["h1", "h1-pipe", "h1-post", "h2", "h2-post", "idle-h1", "idle-h2"]
TLS_WORKLOADS = ["tls-h1", "tls-h2", "tls-handshake"]
PROXY_WORKLOADS = ["proxy-h1", "proxy-h2"]
CLIENT_WORKLOADS = ["client-h1", "client-h1-pipe", "client-h2"]
ALL_WORKLOADS = SERVER_WORKLOADS + TLS_WORKLOADS + PROXY_WORKLOADS + CLIENT_WORKLOADS

# The servers of each server workload, ours first. `pollhttp` is examples/echo_server, on the
# pollable `Server`; `pollhttp-hand` is examples/epoll_echo_server, the same answers with every
# connection driven by hand from a raw epoll loop (what the `Server` must not cost more than). h2o serves a static file, which answers no
# POST; nghttpd speaks only HTTP/2; mio-limit knows no HTTP/2 and answers a POST before its body.
PEERS_OF = {
    "h1": ["pollhttp", "pollhttp-hand", "hyper", "mio-limit", "nginx", "h2o"],
    "h1-pipe": ["pollhttp", "pollhttp-hand", "hyper", "mio-limit", "nginx", "h2o"],
    "h1-post": ["pollhttp", "pollhttp-hand", "hyper", "nginx"],
    "h2": ["pollhttp", "pollhttp-hand", "hyper", "nghttpd", "nginx", "h2o"],
    # nginx leaves h2-post: its `return 200` answers before the body is read and resets the
    # stream, which h2load counts as failed requests.
    "h2-post": ["pollhttp", "pollhttp-hand", "hyper", "nghttpd"],
    "idle-h1": ["pollhttp", "pollhttp-hand", "hyper", "nginx", "h2o"],
    "idle-h2": ["pollhttp", "pollhttp-hand", "hyper", "nghttpd", "nginx", "h2o"],
    "tls-h1": ["pollhttp", "nginx"],
    "tls-h2": ["pollhttp", "nghttpd", "nginx", "pollhttp-h2c"],
    "tls-handshake": ["pollhttp", "nghttpd", "nginx"],
    # The servers of the proxy workloads are reverse proxies in front of one upstream (mio-limit
    # on LOAD_CPU): `pollhttp` is pollhttp-ffi/examples/proxy.c, `nginx-proxy` nginx with
    # bench/peers/nginx-proxy.conf.
    "proxy-h1": ["pollhttp", "nginx-proxy"],
    "proxy-h2": ["pollhttp", "nginx-proxy"],
}

# Upper bounds on what the command line may ask for, so that a run always ends.
MAX_ROUNDS, MAX_SECONDS, MAX_IDLE, MAX_HANDSHAKES = 21, 60, 20000, 20000
START_LIMIT = 30.0  # seconds a server may take to listen
STOP_LIMIT = 5.0  # seconds a server may take to exit after SIGTERM

WRK_PIPELINE = """-- 16 GET requests in one write (pipelined), as one wrk "request".
init = function(args)
  local batch = {}
  for i = 1, 16 do batch[i] = wrk.format(nil, "/") end
  req = table.concat(batch)
end
request = function() return req end
"""
WRK_POST = """-- POST of 1 KiB.
wrk.method = "POST"
wrk.body = string.rep("x", 1024)
wrk.headers["Content-Type"] = "application/octet-stream"
"""
H2LOAD_TLS = ["--tls13-ciphers=TLS_AES_128_GCM_SHA256"]
WARMUP = 1  # seconds of h2load's warm-up (--warm-up-time), left out of every figure


class RunError(Exception):
    """A server or load generator that failed: a peer's failure drops that peer from the
    workload; our own stops the run."""


def log(*args):
    print(*args, flush=True)


def run(argv, **kw):
    """Runs a set-up command (build, set-up script) to its end; stops the run if it fails."""
    log("$ " + " ".join(shlex.quote(a) for a in argv))
    result = subprocess.run(argv, **kw)
    if result.returncode != 0:
        raise SystemExit(f"failed ({result.returncode}): {' '.join(argv)}")


# --------------------------------------------------------------------------------------------
# Servers
# --------------------------------------------------------------------------------------------


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cpu_seconds(pid):
    """utime + stime of process pid (all its threads), in seconds, from /proc/PID/stat."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RunError(f"no VmRSS for pid {pid}")


def fill(template_path, out_path, fields):
    """Writes the template with each @NAME@ replaced by fields[NAME]."""
    with open(template_path) as f:
        text = f.read()
    for name, value in fields.items():
        text = text.replace(f"@{name}@", value)
    left = re.findall(r"@[A-Z]+@", text)
    if left:
        raise RunError(f"{template_path}: no value for {left}")
    with open(out_path, "w") as f:
        f.write(text)


class Server:
    """One start of one server, pinned to `cpu` (SERVER_CPU unless told), as a context manager.

    `make_argv(port, workdir)` returns the command; workdir is a fresh directory for its files.
    """

    def __init__(self, name, make_argv, scratch, cpu=SERVER_CPU):
        self.name, self.make_argv, self.scratch, self.cpu = name, make_argv, scratch, cpu

    def __enter__(self):
        self.port = free_port()
        self.dir = tempfile.mkdtemp(prefix=f"{self.name}-", dir=self.scratch)
        os.chmod(self.dir, 0o755)
        argv = self.make_argv(self.port, self.dir)
        self.log_file = open(os.path.join(self.dir, "output.log"), "wb")
        self.proc = subprocess.Popen(["taskset", "-c", self.cpu] + argv, stdin=subprocess.DEVNULL,
                                     stdout=self.log_file, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        deadline = time.monotonic() + START_LIMIT
        while True:
            if self.proc.poll() is not None:
                raise RunError(f"{self.name} exited at start ({self.proc.returncode}): "
                                 f"{' '.join(argv)}\n{self.output()}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return self
            except OSError:
                if time.monotonic() > deadline:
                    self.stop()
                    raise RunError(f"{self.name} did not listen within {START_LIMIT}s")
                time.sleep(0.05)

    def output(self):
        with open(os.path.join(self.dir, "output.log"), "rb") as f:
            return f.read()[-4000:].decode(errors="replace")

    def stop(self):
        # The process group is the one start_new_session made for this server: its own pid.
        for sig, wait in ((signal.SIGTERM, STOP_LIMIT), (signal.SIGKILL, STOP_LIMIT)):
            try:
                os.killpg(self.proc.pid, sig)
            except ProcessLookupError:
                break
            try:
                self.proc.wait(wait)
                break
            except subprocess.TimeoutExpired:
                continue
        self.log_file.close()

    def __exit__(self, *exc):
        self.stop()


class Servers:
    """How to start each server, for one run: binaries, the certificate, the peer configs."""

    def __init__(self, scratch, echo_args):
        self.scratch = scratch
        self.echo = os.path.join(TARGET, "release", "examples", "echo_server")
        self.echo_args = echo_args
        self.hand = os.path.join(TARGET, "release", "examples", "epoll_echo_server")
        self.hyper = os.path.join(PEER_TARGET, "release", "hyper-hello")
        self.mio = os.path.join(PEER_TARGET, "release", "mio-limit")
        self.cert = os.path.join(scratch, "cert.pem")
        self.key = os.path.join(scratch, "key.pem")
        # One ECDSA P-256 certificate for every TLS server.
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                        "ec_paramgen_curve:P-256", "-nodes", "-keyout", self.key, "-out", self.cert,
                        "-subj", "/CN=localhost", "-days", "2",
                        "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
                       check=True, capture_output=True, timeout=60)
        self.tool = {p: shutil.which(p, path=os.environ["PATH"] + ":/usr/sbin:/sbin") or p
                     for p in ("nginx", "h2o", "nghttpd")}

    def nginx(self, mode):
        def argv(port, d):
            listen = {"h1": f"127.0.0.1:{port}", "h2": f"127.0.0.1:{port} http2",
                      "tls": f"127.0.0.1:{port} ssl http2"}[mode]
            tls = (f"ssl_certificate {self.cert};\n        ssl_certificate_key {self.key};\n"
                   "        ssl_protocols TLSv1.3;") if mode == "tls" else ""
            conf = os.path.join(d, "nginx.conf")
            fill(os.path.join(BENCH, "peers", "nginx.conf"), conf,
                 {"DIR": d, "LISTEN": listen, "TLS": tls})
            return [self.tool["nginx"], "-c", conf, "-p", d, "-e", os.path.join(d, "error.log")]
        return argv

    def nginx_proxy(self, h2, upstream):
        def argv(port, d):
            conf = os.path.join(d, "nginx.conf")
            fill(os.path.join(BENCH, "peers", "nginx-proxy.conf"), conf,
                 {"DIR": d, "LISTEN": f"127.0.0.1:{port}" + (" http2" if h2 else ""),
                  "UPSTREAM": f"127.0.0.1:{upstream}", "POOL": str(UPSTREAM_POOL)})
            return [self.tool["nginx"], "-c", conf, "-p", d, "-e", os.path.join(d, "error.log")]
        return argv

    def h2o(self, port, d):
        # h2o drops to user nobody: its files must be readable (and its log dir writable) by it.
        os.chmod(d, 0o777)
        root = os.path.join(d, "root")
        os.mkdir(root)
        os.chmod(root, 0o755)
        with open(os.path.join(root, "index.html"), "w") as f:
            f.write("hello")
        conf = os.path.join(d, "h2o.conf")
        fill(os.path.join(BENCH, "peers", "h2o.conf"), conf, {"DIR": d, "PORT": str(port)})
        return [self.tool["h2o"], "-c", conf]

    def nghttpd(self, tls):
        def argv(port, d):
            with open(os.path.join(d, "index.html"), "w") as f:
                f.write("hello")
            if tls:
                return [self.tool["nghttpd"], "-d", d, str(port), self.key, self.cert]
            return [self.tool["nghttpd"], "--no-tls", "-d", d, str(port)]
        return argv

    def proxy(self, name, h2, upstream):
        """The reverse proxy called `name` (a server of the proxy-* workloads), in front of the
        upstream listening on 127.0.0.1:upstream."""
        makers = {
            "pollhttp": lambda p, d: [PROXY_C, "127.0.0.1", str(p), "--upstream", f"127.0.0.1:{upstream}",
                                      "--pool", str(UPSTREAM_POOL)],
            "nginx-proxy": self.nginx_proxy(h2, upstream),
        }
        return Server(name, makers[name], self.scratch)

    def server(self, name, tls=False, h2=False, cpu=SERVER_CPU):
        """The Server called `name` for a workload (TLS or not; HTTP/2 or not), on CPU `cpu`."""
        listen = lambda port: ["--listen", f"127.0.0.1:{port}"]  # noqa: E731
        makers = {
            "pollhttp": lambda p, d: [self.echo] + listen(p) + self.echo_args
            + (["--tls-cert", self.cert, "--tls-key", self.key] if tls else []),
            "pollhttp-h2c": lambda p, d: [self.echo] + listen(p) + self.echo_args,
            "pollhttp-hand": lambda p, d: [self.hand] + listen(p),
            "hyper": lambda p, d: [self.hyper, str(p)],
            "mio-limit": lambda p, d: [self.mio, str(p)],
            "nginx": self.nginx("tls" if tls else "h2" if h2 else "h1"),
            "h2o": self.h2o,
            "nghttpd": self.nghttpd(tls),
        }
        return Server(name, makers[name], self.scratch, cpu)


# --------------------------------------------------------------------------------------------
# Load generators
# --------------------------------------------------------------------------------------------


def load_cmd(argv, limit, at=None):
    """Runs a load generator pinned to LOAD_CPU; returns its stdout and its CPU seconds. With
    `at` = (seconds, callback), the callback runs that long after the start (or at the end, if
    the load ended first): where a load generator's warm-up ends, for the server's CPU."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    proc = subprocess.Popen(["taskset", "-c", LOAD_CPU] + argv, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        if at:
            delay, callback = at
            try:
                out, err = proc.communicate(timeout=delay)
            except subprocess.TimeoutExpired:
                callback()
                out, err = proc.communicate(timeout=max(limit - delay, 1))
            else:
                callback()
        else:
            out, err = proc.communicate(timeout=limit)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        raise RunError(f"{argv[0]} did not finish within {limit} s") from None
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return out + err, cpu


def wrk(url, seconds, script=None):
    """wrk -t1 -c64; returns (requests done, req/s, load CPU seconds)."""
    argv = ["wrk", "-t1", "-c64", f"-d{seconds}s"] + (["-s", script] if script else []) + [url]
    out, cpu = load_cmd(argv, seconds + 30)
    done = re.search(r"(\d+) requests in", out)
    rate = re.search(r"Requests/sec:\s+([\d.]+)", out)
    if not (done and rate):
        raise RunError("wrk printed no figures:\n" + out)
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: .*", out)
    if bad:
        raise RunError(f"wrk: {bad.group(1)} answers were not 2xx:\n" + out)
    if errors and re.search(r"(read|write|timeout) [1-9]", errors.group(0)):
        raise RunError("wrk saw socket errors:\n" + out)
    return int(done.group(1)), float(rate.group(1)), cpu


def h2load(args, url, limit, protocol, at=None):
    """h2load ARGS URL; returns (requests done, req/s, load CPU seconds). Checks that every
    request succeeded and that `protocol` (h2, h2c, http/1.1) was spoken. `at`: as for
    load_cmd."""
    out, cpu = load_cmd(["h2load"] + args + [url], limit, at)
    done = re.search(r"requests: \d+ total, \d+ started, (\d+) done, (\d+) succeeded", out)
    rate = re.search(r"finished in [\d.]+\w*, ([\d.]+) req/s", out)
    if not (done and rate) or done.group(1) != done.group(2) or done.group(2) == "0":
        raise RunError("h2load: not every request succeeded:\n" + out)
    spoke = re.search(r"Application protocol: (\S+)", out)
    if not spoke or spoke.group(1) != protocol:
        raise RunError(f"h2load did not speak {protocol}:\n" + out)
    return int(done.group(2)), float(rate.group(1)), cpu


def idle(kind, port, pid, count):
    """Opens `count` connections that each make one request and stay open; returns the growth
    of the server's RSS per connection, in KiB."""
    request = b"GET / HTTP/1.1\r\nhost: 127.0.0.1\r\n\r\n"
    # Client preface, empty SETTINGS, then HEADERS (stream 1, END_STREAM|END_HEADERS) with
    # :method GET, :path /, :scheme http (static indices 2, 4, 6) and an empty :authority.
    h2_request = (b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + bytes([0, 0, 0, 4, 0, 0, 0, 0, 0])
                  + bytes([0, 0, 5, 1, 5, 0, 0, 0, 1, 0x82, 0x84, 0x86, 0x41, 0x80]))
    before = rss_kib(pid)
    sockets = []
    try:
        for _ in range(count):
            s = socket.create_connection(("127.0.0.1", port), timeout=10)
            s.sendall(request if kind == "idle-h1" else h2_request)
            if not s.recv(65536):
                raise RunError(f"{kind}: the server closed a connection at once")
            sockets.append(s)
        time.sleep(1.0)  # let the server finish with the last answers
        grown = rss_kib(pid) - before
    finally:
        for s in sockets:
            s.close()
    return grown / count


def h2_answer(frames):
    """The answer on stream 1 in the HTTP/2 frames `frames` (a server's bytes): (ended, whether
    its head is :status 200, its body). Ended at END_STREAM or RST_STREAM."""
    i, status, data = 0, None, b""
    while i + 9 <= len(frames):
        length = int.from_bytes(frames[i:i + 3], "big")
        kind, flags = frames[i + 3], frames[i + 4]
        stream = int.from_bytes(frames[i + 5:i + 9], "big") & 0x7FFFFFFF
        payload = frames[i + 9:i + 9 + length]
        if len(payload) < length:
            break
        i += 9 + length
        if stream != 1 or kind not in (0, 1, 3):
            continue
        if kind == 3:  # RST_STREAM
            return True, False, data
        if flags & 0x8:  # PADDED: a length byte first, the padding last
            payload = payload[1:len(payload) - payload[0]]
        if kind == 1 and status is None:
            block = payload[5:] if flags & 0x20 else payload  # PRIORITY
            # :status 200 is the static index 8, maybe after a dynamic table size update.
            status = block.lstrip(bytes(range(0x20, 0x40)))[:1] == b"\x88"
        if kind == 0:
            data += payload
        if flags & 0x1:  # END_STREAM
            return True, status, data
    return False, status, data


def probe(port, h2):
    """One GET / to 127.0.0.1:port (HTTP/1.1, or h2c by prior knowledge); checks that the
    answer is a 200 whose body is the upstream's `hello` (what a proxy must pass on)."""
    # Client preface, empty SETTINGS, then HEADERS (stream 1, END_STREAM|END_HEADERS) with
    # :method GET, :path /, :scheme http (static indices 2, 4, 6) and :authority 127.0.0.1
    # (a literal with the static name index 1).
    block = bytes([0x82, 0x84, 0x86, 0x41, 9]) + b"127.0.0.1"
    request = (b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + bytes([0, 0, 0, 4, 0, 0, 0, 0, 0])
               + bytes([0, 0, len(block), 1, 5, 0, 0, 0, 1]) + block) if h2 else \
        b"GET / HTTP/1.1\r\nhost: 127.0.0.1\r\n\r\n"
    got = b""
    deadline = time.monotonic() + 10
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=10)
        s.sendall(request)
    except OSError as e:
        raise RunError(f"GET / through port {port}: {e}") from None
    with s:
        while time.monotonic() < deadline:
            if h2:
                ended, status, data = h2_answer(got)
                if ended:
                    if status and data == b"hello":
                        return
                    break
            else:
                head, end, body = got.partition(b"\r\n\r\n")
                if end and not head.startswith(b"HTTP/1.1 200"):
                    break
                if end and b"hello" in body:
                    return
            try:
                more = s.recv(65536)
            except OSError:  # a timeout or a reset
                break
            if not more:
                break
            got += more
    raise RunError(f"GET / through port {port} ({'h2c' if h2 else 'HTTP/1.1'}) did not answer "
                   f"200 'hello': {got[:400]!r}")


# --------------------------------------------------------------------------------------------
# Workloads
# --------------------------------------------------------------------------------------------


def median_ratio(ours, theirs, invert=False):
    """Median of the per-round ratios ours/theirs (theirs/ours with invert)."""
    pairs = [(t / o if invert else o / t) for o, t in zip(ours, theirs) if o and t]
    return statistics.median(pairs) if pairs else float("nan")


def server_workload(w, servers, opts, scratch):
    """Runs server workload w over the rounds; returns {server: {rps, cpu_us, kib: [..]}}.

    A proxy-* workload first starts its upstream, mio-limit on LOAD_CPU beside the load
    generator, once for all its rounds: the proxies take turns in front of the same one."""
    if not w.startswith("proxy-"):
        return server_rounds(w, servers, opts, scratch, None)
    with servers.server("mio-limit", cpu=LOAD_CPU) as upstream:
        probe(upstream.port, h2=False)
        return server_rounds(w, servers, opts, scratch, upstream)


def server_rounds(w, servers, opts, scratch, upstream):
    tls = w.startswith("tls-")
    h2 = w in ("h2", "h2-post", "idle-h2", "tls-h2", "tls-handshake", "proxy-h2")
    names = list(PEERS_OF[w])
    figures = {n: {"rps": [], "cpu_us": [], "kib": []} for n in names}
    scripts = {"h1-pipe": os.path.join(scratch, "pipeline.lua"),
               "h1-post": os.path.join(scratch, "post.lua")}
    body = os.path.join(scratch, "body-1k.bin")
    for r in range(opts.rounds):
        for name in list(names):
            try:
                measure_one(w, name, servers, opts, figures[name], scripts, body, tls, h2, upstream)
            except RunError as e:
                if upstream and upstream.proc.poll() is not None:
                    raise RunError(f"{w}: the upstream exited ({upstream.proc.returncode}) during "
                                   f"{name}'s turn:\n{upstream.output()}") from None
                if name == "pollhttp":
                    raise
                log(f"  {w}: {name} left out of this workload: {str(e).splitlines()[0]}")
                names.remove(name)
                del figures[name]
        log(f"  {w}: round {r + 1}/{opts.rounds} done")
    return figures


def measure_one(w, name, servers, opts, figures, scripts, body, tls, h2, upstream=None):
    """One server's turn in one round of server workload w; appends to figures. With
    `upstream` (the proxy-* workloads), the server is the proxy `name` in front of it."""
    plain = name == "pollhttp-h2c"
    if upstream:
        started = servers.proxy(name, h2, upstream.port)
    else:
        started = servers.server(name, tls=tls and not plain, h2=h2)
    with started as s:
        if upstream:
            probe(s.port, h2)
        if w.startswith("idle-"):
            figures["kib"].append(idle(w, s.port, s.proc.pid, opts.idle))
            return
        scheme = "http" if plain or not tls else "https"
        url = f"{scheme}://127.0.0.1:{s.port}/"
        c0 = [cpu_seconds(s.proc.pid)]
        # h2load counts the requests of its measured seconds only: the server's CPU is taken
        # from the end of the warm-up too (before, it counted the warm-up's: 5/4 of the figure).
        warm = (WARMUP, lambda: c0.__setitem__(0, cpu_seconds(s.proc.pid)))
        if w in ("h1", "h1-pipe", "h1-post", "proxy-h1"):
            done, rate, _ = wrk(url, opts.seconds, scripts.get(w))
        elif w in ("h2", "h2-post", "tls-h2", "proxy-h2"):
            args = ["-c16", "-m32", "-D", str(opts.seconds), f"--warm-up-time={WARMUP}"]
            args += ["-d", body] if w == "h2-post" else []
            args += H2LOAD_TLS if scheme == "https" else []
            done, rate, _ = h2load(args, url, opts.seconds + 60,
                                   "h2" if scheme == "https" else "h2c", warm)
        elif w == "tls-h1":
            args = ["--h1", "-c64", "-m1", "-D", str(opts.seconds), f"--warm-up-time={WARMUP}"]
            done, rate, _ = h2load(args + H2LOAD_TLS, url, opts.seconds + 60, "http/1.1", warm)
        else:  # tls-handshake
            n = opts.handshakes
            args = [f"-c{n}", f"-n{n}", "-m1", "-r50", "--rate-period=10ms"]
            done, rate, _ = h2load(args + H2LOAD_TLS, url, 180, "h2")
        used = cpu_seconds(s.proc.pid) - c0[0]
        figures["rps"].append(rate)
        figures["cpu_us"].append(used * 1e6 / max(done, 1))


def client_workload(w, servers, opts, scratch):
    """Runs client workload w: our load and its peer take turns against one fixed server."""
    h1 = w.startswith("client-h1")
    pipeline = w == "client-h1-pipe"
    load = os.path.join(TARGET, "release", "examples", "load")
    peer = "wrk" if h1 else "h2load"
    figures = {"pollhttp": {"rps": [], "cpu_us": []}, peer: {"rps": [], "cpu_us": []}}
    with servers.server("mio-limit" if h1 else "hyper") as s:
        url = f"http://127.0.0.1:{s.port}/"
        for r in range(opts.rounds):
            if h1:
                argv = [load, url, "--connections", "64", "--seconds", str(opts.seconds),
                        "--pipeline", "16" if pipeline else "1"]
            else:
                argv = [load, url, "--http2", "--connections", "16", "--streams", "32",
                        "--seconds", str(opts.seconds)]
            out, cpu = load_cmd(argv, opts.seconds + 60)
            last = out.strip().splitlines()[-1] if out.strip() else ""
            m = re.search(r"done: (\d+) requests, (\d+) errors", last)
            if not m or int(m.group(2)):
                raise RunError("load did not end with 'done: N requests, 0 errors':\n" + out[-2000:])
            n = int(m.group(1))
            figures["pollhttp"]["rps"].append(n / opts.seconds)
            figures["pollhttp"]["cpu_us"].append(cpu * 1e6 / max(n, 1))
            if h1:
                script = os.path.join(scratch, "pipeline.lua") if pipeline else None
                n, _, cpu = wrk(url, opts.seconds, script)
            else:
                args = ["-c16", "-m32", "-D", str(opts.seconds)]
                n, _, cpu = h2load(args, url, opts.seconds + 60, "h2c")
            figures[peer]["rps"].append(n / opts.seconds)
            figures[peer]["cpu_us"].append(cpu * 1e6 / max(n, 1))
            log(f"  {w}: round {r + 1}/{opts.rounds} done")
    return figures


def report(w, figures):
    """Prints the table of one workload; returns (its summary part, its JSON record)."""
    ours = figures["pollhttp"]
    record = {"servers": {}, "ratios": {}}
    log(f"== {w}")
    for name, f in figures.items():
        medians = {k: statistics.median(v) for k, v in f.items() if v}
        record["servers"][name] = {"median": medians, "rounds": {k: v for k, v in f.items() if v}}
        if w.startswith("idle-"):
            log(f"  {name:13s} KiB/conn median {medians['kib']:8.2f}   all {[round(x, 2) for x in f['kib']]}")
        else:
            unit = "conn/s" if w == "tls-handshake" else "req/s"
            log(f"  {name:13s} {unit} median {medians['rps']:10.0f}   cpu us/{unit[:-2]} median "
                f"{medians['cpu_us']:7.2f}   all {[round(x, 2) for x in f['cpu_us']]}")
    others = [n for n in figures if n != "pollhttp"]
    if w.startswith("idle-"):
        mine = statistics.median(ours["kib"])
        theirs = ", ".join(f"{n} {statistics.median(figures[n]['kib']):.2f}" for n in others)
        return f"{w} KiB/conn {mine:.2f} ({theirs})", record
    parts = []
    for n in others:
        rate = median_ratio(ours["rps"], figures[n]["rps"])
        eff = median_ratio(ours["cpu_us"], figures[n]["cpu_us"], invert=True)
        record["ratios"][n] = {"rps": rate, "cpu_eff": eff}
        parts.append(f"vs {n} req/s x{rate:.2f} cpu-eff x{eff:.2f}")
    return f"{w}: " + ", ".join(parts), record


# --------------------------------------------------------------------------------------------
# Chart
# --------------------------------------------------------------------------------------------


def chart(results, meta, path):
    """Writes the PNG: CPU-efficiency and req/s ratios per workload and peer (ratios printed on
    the bars; above the 1.0 line is better for us), and idle memory per connection."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker

    ratio_workloads = [w for w in results if not w.startswith("idle-")]
    idle_workloads = [w for w in results if w.startswith("idle-")]
    panels = [("cpu_eff", "CPU efficiency: peer's CPU per request / ours (higher is better for pollhttp)"),
              ("rps", "Requests per second: ours / peer's (higher is better for pollhttp)")]
    rows = len(panels) * bool(ratio_workloads) + bool(idle_workloads)
    fig, axes = plt.subplots(rows, 1, figsize=(17, 4.8 * rows), squeeze=False)
    axes = list(axes[:, 0])
    peers = []
    for w in results:
        for p in results[w]["ratios"]:
            if p not in peers:
                peers.append(p)
    for p in (p for w in idle_workloads for p in results[w]["servers"]):
        if p not in peers and p != "pollhttp":
            peers.append(p)
    colours = {p: plt.cm.tab10(i % 10) for i, p in enumerate(["pollhttp"] + peers)}

    if ratio_workloads:
        for key, title in panels:
            ax = axes.pop(0)
            width = 0.8 / max(len(results[w]["ratios"]) for w in ratio_workloads)
            values = [1.0]
            for i, w in enumerate(ratio_workloads):
                ratios = results[w]["ratios"]
                for j, (p, r) in enumerate(ratios.items()):
                    value = r[key]
                    x = i + (j - (len(ratios) - 1) / 2) * width
                    # Bars grow from the 1.0 line: up where we do better, down where worse.
                    ax.bar(x, value - 1.0, width * 0.92, bottom=1.0, color=colours[p],
                           label=p if p not in ax.get_legend_handles_labels()[1] else None)
                    ax.text(x, value, f"x{value:.2f}", ha="center", va="bottom" if value >= 1 else "top",
                            fontsize=7, rotation=90 if width < 0.2 else 0)
                    if value > 0:
                        values.append(value)
            ax.axhline(1.0, color="black", linewidth=0.8)
            ax.set_yscale("log", base=2)
            ax.set_ylim(min(values) / 1.5, max(values) * 1.6)
            ax.yaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: f"x{v:g}"))
            ax.set_xticks(range(len(ratio_workloads)), ratio_workloads, fontsize=9)
            ax.set_ylabel("ratio (log scale)")
            ax.set_title(title, fontsize=10)
            ax.legend(fontsize=8, ncol=len(peers), loc="lower left")
    if idle_workloads:
        ax = axes.pop(0)
        names = ["pollhttp"] + [p for p in peers if any(p in results[w]["servers"] for w in idle_workloads)]
        width = 0.8 / len(names)
        for i, w in enumerate(idle_workloads):
            servers = results[w]["servers"]
            ours = servers["pollhttp"]["median"]["kib"]
            present = [n for n in names if n in servers]
            for j, p in enumerate(present):
                kib = servers[p]["median"]["kib"]
                x = i + (j - (len(present) - 1) / 2) * width
                ax.bar(x, kib, width * 0.92, color=colours[p],
                       label=p if p not in ax.get_legend_handles_labels()[1] else None)
                label = f"{kib:.1f}" if p == "pollhttp" else f"{kib:.1f}\nx{kib / ours:.1f}" if ours > 0 else f"{kib:.1f}"
                ax.text(x, kib, label, ha="center", va="bottom", fontsize=7)
        ax.set_xticks(range(len(idle_workloads)), idle_workloads, fontsize=9)
        ax.set_ylabel("KiB per idle connection")
        ax.set_title("Memory per idle connection (lower is better; xN = peer's / ours)", fontsize=10)
        ax.set_ylim(0, ax.get_ylim()[1] * 1.25)
        ax.legend(fontsize=8, ncol=len(names), loc="upper left")
    upstream = (f", proxies' upstream on CPU {LOAD_CPU}" if any(w.startswith("proxy-") for w in results)
                else "")
    fig.suptitle(f"pollhttp benchmarks, {meta['date']}, commit {meta['commit']}: "
                 f"{meta['rounds']} round(s) of {meta['seconds']} s, server on CPU {SERVER_CPU}, "
                 f"load on CPU {LOAD_CPU}{upstream} (bench/run.py)", fontsize=11)
    fig.tight_layout(rect=(0, 0, 1, 0.98))
    fig.savefig(path, dpi=90)
    plt.close(fig)


# --------------------------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------------------------


def git_commit():
    try:
        out = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"], capture_output=True,
                             text=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "-C", ROOT, "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=10).stdout.strip()
        return out + ("-dirty" if dirty else "") if out else "unknown"
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true",
                    help="a smoke run: 1 round of 2 s, 500 idle connections, 500 handshakes")
    ap.add_argument("--rounds", type=int, default=3, help="rounds per workload (default 3)")
    ap.add_argument("--seconds", type=int, default=4, help="seconds per load run (default 4)")
    ap.add_argument("--idle", type=int, default=5000, help="connections of idle-* (default 5000)")
    ap.add_argument("--handshakes", type=int, default=3000, help="connections of tls-handshake (default 3000)")
    ap.add_argument("--only", default="all",
                    help="comma-separated workloads (default all): " + ",".join(ALL_WORKLOADS)
                    + "; also the groups server, tls, proxy, client")
    ap.add_argument("--echo-args", default="",
                    help="more arguments for echo_server, e.g. '--no-reuse-heads'")
    ap.add_argument("--out", default=os.path.join(TARGET, "bench"),
                    help="directory for the JSON and PNG (default target/bench); each run writes "
                    "bench-DATE.json/.png and latest.json/.png")
    ap.add_argument("--no-setup", action="store_true", help="skip bench/setup.sh")
    ap.add_argument("--no-build", action="store_true", help="skip the builds (cargo, and gcc for proxy.c)")
    ap.add_argument("--chart-from", metavar="JSON",
                    help="measure nothing: draw the chart of an earlier run's JSON file (as "
                    "JSON.png) and print its summary line")
    a = ap.parse_args()
    if a.quick:
        a.rounds, a.seconds, a.idle, a.handshakes = 1, 2, 500, 500
    for name, value, top in (("--rounds", a.rounds, MAX_ROUNDS), ("--seconds", a.seconds, MAX_SECONDS),
                             ("--idle", a.idle, MAX_IDLE), ("--handshakes", a.handshakes, MAX_HANDSHAKES)):
        if not 1 <= value <= top:
            ap.error(f"{name} must be within 1..{top}")
    groups = {"all": ALL_WORKLOADS, "server": SERVER_WORKLOADS, "tls": TLS_WORKLOADS, "proxy": PROXY_WORKLOADS,
              "client": CLIENT_WORKLOADS}
    chosen = []
    for w in a.only.split(","):
        for x in groups.get(w, [w]):
            if x not in ALL_WORKLOADS:
                ap.error(f"unknown workload {x!r}")
            if x not in chosen:
                chosen.append(x)
    a.workloads = chosen
    return a


def main():
    try:
        measure()
    except RunError as e:
        raise SystemExit(f"bench: {e}")


def measure():
    opts = parse_args()
    if opts.chart_from:
        with open(opts.chart_from) as f:
            saved = json.load(f)
        chart(saved["workloads"], saved["meta"], opts.chart_from + ".png")
        log(f"wrote {opts.chart_from}.png")
        log("summary: " + saved["meta"]["summary"])
        return
    if len(os.sched_getaffinity(0)) < 2:
        raise SystemExit("needs two CPUs: the server runs on CPU 0, the load generator on CPU 1")
    if not opts.no_setup:
        run(["bash", os.path.join(BENCH, "setup.sh")])
    os.environ["PATH"] += ":/usr/local/sbin:/usr/sbin:/sbin"
    if not opts.no_build:
        run(["cargo", "build", "--release", "--quiet", "--example", "echo_server", "--example", "epoll_echo_server",
             "--example", "load"], cwd=ROOT)
        for peer in ("mio-limit", "hyper-hello"):
            run(["cargo", "build", "--release", "--quiet", "--locked"], cwd=os.path.join(BENCH, "peers", peer),
                env={**os.environ, "CARGO_TARGET_DIR": PEER_TARGET})
        if any(w in PROXY_WORKLOADS for w in opts.workloads):
            # The C proxy on the C ABI, against the static library, as its header comment says.
            run(["cargo", "build", "--release", "--quiet", "-p", "pollhttp-ffi"], cwd=ROOT)
            os.makedirs(os.path.dirname(PROXY_C), exist_ok=True)
            run(["gcc", "-std=c99", "-Wall", "-Wextra", "-O2", "-I" + os.path.join(ROOT, "pollhttp-ffi", "include"),
                 os.path.join(ROOT, "pollhttp-ffi", "examples", "proxy.c"),
                 os.path.join(TARGET, "release", "libpollhttp.a"),
                 "-lpthread", "-ldl", "-lm", "-lrt", "-lutil", "-lgcc_s", "-o", PROXY_C], cwd=ROOT)
    # Idle workloads hold thousands of sockets, in this process and in the servers it starts.
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    if hard < opts.idle + 100:
        raise SystemExit(f"open-file limit {hard} is below --idle {opts.idle}")

    meta = {
        "date": datetime.datetime.now().strftime("%Y-%m-%d %H:%M"),
        "commit": git_commit(),
        "command": "python3 bench/run.py " + " ".join(shlex.quote(a) for a in sys.argv[1:]),
        "rounds": opts.rounds, "seconds": opts.seconds, "idle": opts.idle, "handshakes": opts.handshakes,
        "echo_args": opts.echo_args, "cpus": os.cpu_count(), "loadavg_start": os.getloadavg(),
    }
    log(f"bench: {meta['command']} at commit {meta['commit']}, load average {meta['loadavg_start']}")
    started = time.monotonic()
    summary, results = [], {}
    scratch = tempfile.mkdtemp(prefix="pollhttp-bench-")
    os.chmod(scratch, 0o755)  # h2o, once it is user nobody, must reach its directory
    try:
        with open(os.path.join(scratch, "pipeline.lua"), "w") as f:
            f.write(WRK_PIPELINE)
        with open(os.path.join(scratch, "post.lua"), "w") as f:
            f.write(WRK_POST)
        with open(os.path.join(scratch, "body-1k.bin"), "wb") as f:
            f.write(b"x" * 1024)
        servers = Servers(scratch, shlex.split(opts.echo_args))
        for w in opts.workloads:
            log(f"-- {w}")
            if w.startswith("client-"):
                figures = client_workload(w, servers, opts, scratch)
            else:
                figures = server_workload(w, servers, opts, scratch)
            part, record = report(w, figures)
            summary.append(part)
            results[w] = record
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    meta["loadavg_end"] = os.getloadavg()
    meta["wall_seconds"] = round(time.monotonic() - started)
    line = " | ".join(summary)
    meta["summary"] = line

    os.makedirs(opts.out, exist_ok=True)
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    json_path = os.path.join(opts.out, f"bench-{stamp}.json")
    png_path = os.path.join(opts.out, f"bench-{stamp}.png")
    with open(json_path, "w") as f:
        json.dump({"meta": meta, "workloads": results}, f, indent=1)
    chart(results, meta, png_path)
    shutil.copyfile(json_path, os.path.join(opts.out, "latest.json"))
    shutil.copyfile(png_path, os.path.join(opts.out, "latest.png"))
    log(f"wrote {json_path} and {png_path} (and latest.json, latest.png) in {meta['wall_seconds']} s; "
        f"load average at the end {meta['loadavg_end']}")
    log("summary: " + line)


if __name__ == "__main__":
    main()
