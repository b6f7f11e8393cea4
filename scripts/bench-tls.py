#!/usr/bin/env python3
"""TLS server benchmark, measured the way ../shared/bench/compare.py measures plaintext servers.

    scripts/bench-tls.py [--rounds 3] [--seconds 4] [--handshakes 3000]

Servers, taking turns (A B A B ...), each pinned to CPU 0 with h2load on CPU 1, both with the
same ECDSA P-256 certificate (made here with openssl):
  pollhttp  target/release/examples/echo_server --tls-cert C --tls-key K  (rustls, ring)
  nghttpd   nghttpd -d DIR PORT K C                                          (OpenSSL)
pollhttp-h2c (the same echo_server without TLS, h2c by prior knowledge) joins the h2 turns,
for what TLS costs us.
Workloads:
  h2         h2load -c16 -m32 -D SECONDS --warm-up-time=1 https://127.0.0.1:PORT/
             (16 connections, 32 streams each: requests per second over TLS)
  handshake  h2load -c N -n N -m 1 -r 50 --rate-period 10ms https://127.0.0.1:PORT/
             (N connections, one request each, opened 50 every 10 ms: every request pays a
             full TLS 1.3 handshake; connections per second)
Figures: req/s (or conn/s) as h2load reports it, and the server's CPU time (user+sys, from
/proc) per request (or per connection) in microseconds; medians over the rounds. h2load
offers TLS 1.3 with TLS_AES_128_GCM_SHA256 only, so both servers use the same suite.
Needs: h2load, nghttpd (nghttp2-client, nghttp2-server), openssl, taskset; build first with
`cargo build --release --example echo_server`.
"""
import argparse, os, re, shutil, signal, socket, statistics, subprocess, sys, tempfile, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TICK = os.sysconf("SC_CLK_TCK")


def free_port():
    s = socket.socket(); s.bind(("127.0.0.1", 0)); p = s.getsockname()[1]; s.close(); return p


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


class Server:
    def __init__(self, name, argv):
        self.name, self.argv = name, argv

    def __enter__(self):
        self.port = free_port()
        argv = [a.replace("{port}", str(self.port)) for a in self.argv]
        self.proc = subprocess.Popen(["taskset", "-c", "0"] + argv, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL, start_new_session=True)
        end = time.time() + 30
        while True:
            if self.proc.poll() is not None:
                raise SystemExit(f"{self.name} exited early ({self.proc.returncode})")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close(); break
            except OSError:
                if time.time() > end:
                    raise SystemExit(f"{self.name} did not listen")
                time.sleep(0.05)
        return self

    def __exit__(self, *exc):
        os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL); self.proc.wait()


def h2load(args, port, limit, scheme="https"):
    # One cipher suite for both servers (left alone, OpenSSL and rustls choose differently).
    cmd = ["taskset", "-c", "1", "h2load", "--tls13-ciphers=TLS_AES_128_GCM_SHA256"] + args
    cmd += [f"{scheme}://127.0.0.1:{port}/"]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=limit).stdout
    m = re.search(r"requests: \d+ total, \d+ started, (\d+) done, (\d+) succeeded", out)
    r = re.search(r"finished in [\d.]+\w*, ([\d.]+) req/s", out)
    if not (m and r) or m.group(1) != m.group(2) or m.group(2) == "0":
        raise SystemExit("h2load failed:\n" + out)
    proto = re.search(r"Application protocol: (\S+)", out)
    if not proto or proto.group(1) != ("h2" if scheme == "https" else "h2c"):
        raise SystemExit("h2load did not negotiate h2:\n" + out)
    cipher = re.search(r"Cipher: (\S+)", out)
    return int(m.group(2)), float(r.group(1)), cipher.group(1) if cipher else "?"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--seconds", type=int, default=4)
    ap.add_argument("--handshakes", type=int, default=3000)
    a = ap.parse_args()
    echo = os.path.join(ROOT, "target", "release", "examples", "echo_server")
    if not os.path.exists(echo):
        raise SystemExit(f"{echo} missing: cargo build --release --example echo_server")
    tmp = tempfile.mkdtemp(prefix="bench-tls-")
    try:
        cert, key = os.path.join(tmp, "cert.pem"), os.path.join(tmp, "key.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                        "-nodes", "-keyout", key, "-out", cert, "-subj", "/CN=localhost", "-days", "2",
                        "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
                       check=True, capture_output=True)
        www = os.path.join(tmp, "www"); os.mkdir(www)
        with open(os.path.join(www, "index.html"), "w") as f:
            f.write("hello\n")
        servers = [
            Server("pollhttp", [echo, "--listen", "127.0.0.1:{port}", "--tls-cert", cert, "--tls-key", key]),
            Server("nghttpd", ["nghttpd", "-d", www, "{port}", key, cert]),
        ]
        # The same server without TLS (h2c by prior knowledge), for what TLS costs it.
        plain = Server("pollhttp-h2c", [echo, "--listen", "127.0.0.1:{port}"])
        workloads = {
            "h2": (["-c16", "-m32", "-D", str(a.seconds), "--warm-up-time=1"], a.seconds + 60),
            "handshake": ([f"-c{a.handshakes}", f"-n{a.handshakes}", "-m1", "-r50", "--rate-period=10ms"], 120),
        }
        summary = []
        for w, (args, limit) in workloads.items():
            figs = {s.name: {"rate": [], "cpu": []} for s in servers}
            ciphers = set()
            turn = servers + ([plain] if w == "h2" else [])
            figs.update({s.name: {"rate": [], "cpu": []} for s in turn})
            for _ in range(a.rounds):
                for s in turn:
                    with s:
                        c0 = cpu_seconds(s.proc.pid)
                        scheme = "http" if s is plain else "https"
                        done, rate, cipher = h2load(args, s.port, limit, scheme)
                        used = cpu_seconds(s.proc.pid) - c0
                        figs[s.name]["rate"].append(rate)
                        figs[s.name]["cpu"].append(used * 1e6 / done)
                        if s is not plain:
                            ciphers.add(f"{s.name}: {cipher}")
            unit = "req/s" if w == "h2" else "conn/s"
            per = "req" if w == "h2" else "conn"
            print(f"== {w} ({'; '.join(sorted(ciphers))})")
            for n, f in figs.items():
                print(f"  {n:9s} {unit} median {statistics.median(f['rate']):9.0f} all {[round(x) for x in f['rate']]}"
                      f"   cpu us/{per} median {statistics.median(f['cpu']):7.1f} all {[round(x, 1) for x in f['cpu']]}")
            me, ref = figs["pollhttp"], figs["nghttpd"]
            line = (f"{w}: {statistics.median(me['rate']):.0f} {unit}, {statistics.median(me['cpu']):.1f} us/{per}; "
                    f"vs nghttpd {unit} x{statistics.median(me['rate']) / statistics.median(ref['rate']):.2f} "
                    f"cpu-eff x{statistics.median(ref['cpu']) / statistics.median(me['cpu']):.2f}")
            if w == "h2":
                pl = figs["pollhttp-h2c"]
                line += (f"; vs our h2c req/s x{statistics.median(me['rate']) / statistics.median(pl['rate']):.2f} "
                         f"cpu-eff x{statistics.median(pl['cpu']) / statistics.median(me['cpu']):.2f}")
            summary.append(line)
        print(" | ".join(summary))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
