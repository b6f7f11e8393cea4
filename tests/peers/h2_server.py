#!/usr/bin/env python3
"""An HTTP/2 echo server (plaintext: prior knowledge, or `Upgrade: h2c`) built on the pure
protocol library `h2`, with one thread per connection over plain sockets: a peer for
pollhttp's HTTP/2 client tests.

    h2_server.py PORT [--max-concurrent N] [--goaway-after N]

An HTTP/1.1 request with `Upgrade: h2c` and `HTTP2-Settings` (and no body) is answered
`101 Switching Protocols`, then over HTTP/2 on stream 1: `hello PATH upgraded from METHOD\n`
with `x-upgraded: 1`. Without the upgrade it gets `hello PATH over HTTP/1.1\n`, then close.

Every HTTP/2 request is answered 200 once its body has ended: the body echoed back, or
`hello PATH\n` without one. Answers carry `x-stream-id` and `x-max-open` (the most streams this connection
had open at once so far, counted when the request ended).

--max-concurrent N  advertises SETTINGS_MAX_CONCURRENT_STREAMS = N; a client that opens more
                    streams than that gets them refused (h2 enforces it), so a client that
                    queues correctly sees every request answered.
--goaway-after N    after answering N requests on a connection, sends GOAWAY(NO_ERROR) whose
                    last stream id is the highest stream answered, and answers nothing else;
                    it then reads and drops input until the client closes.
"""
import argparse
import socket
import sys
import threading

import h2.config
import h2.connection
import h2.events
import h2.exceptions
import h2.settings

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"


def log(msg):
    print(f"h2_server: {msg}", file=sys.stderr, flush=True)


def serve(sock, args):
    sock.settimeout(60)
    cfg = h2.config.H2Configuration(client_side=False, header_encoding=None)
    conn = h2.connection.H2Connection(cfg)
    if args.max_concurrent is not None:
        conn.local_settings = h2.settings.Settings(
            client=False,
            initial_values={h2.settings.SettingCodes.MAX_CONCURRENT_STREAMS: args.max_concurrent},
        )
    bodies = {}
    paths = {}
    first = sniff(sock)
    if first is None:
        return
    if first.startswith(PREFACE[:4]):
        conn.initiate_connection()
        sock.sendall(conn.data_to_send())
    else:
        first = upgrade(sock, conn, first, paths)
        if first is None:
            return
    outgoing = {}  # stream id -> [body, bytes sent]
    open_now = set()
    max_open = 0
    answered = []
    gone_away = False
    pending_input = first
    try:
        while True:
            data, pending_input = pending_input or sock.recv(65536), b""
            if not data:
                return
            if gone_away:
                continue
            try:
                events = conn.receive_data(data)
            except h2.exceptions.ProtocolError as e:
                log(f"protocol error from the client: {e!r}")
                conn.close_connection(error_code=getattr(e, "error_code", 1))
                sock.sendall(conn.data_to_send())
                gone_away = True
                continue
            for ev in events:
                if isinstance(ev, h2.events.RequestReceived):
                    fields = dict(ev.headers)
                    paths[ev.stream_id] = fields.get(b":path", b"/")
                    bodies[ev.stream_id] = bytearray()
                    open_now.add(ev.stream_id)
                    max_open = max(max_open, len(open_now))
                elif isinstance(ev, h2.events.DataReceived):
                    bodies.setdefault(ev.stream_id, bytearray()).extend(ev.data)
                    conn.acknowledge_received_data(ev.flow_controlled_length, ev.stream_id)
                elif isinstance(ev, h2.events.StreamEnded):
                    if gone_away:
                        continue
                    sid = ev.stream_id
                    body = bytes(bodies.pop(sid, b"")) or b"hello " + paths.get(sid, b"/") + b"\n"
                    conn.send_headers(
                        sid,
                        [
                            (b":status", b"200"),
                            (b"content-length", str(len(body)).encode()),
                            (b"x-stream-id", str(sid).encode()),
                            (b"x-max-open", str(max_open).encode()),
                        ],
                    )
                    outgoing[sid] = [body, 0]
                    answered.append(sid)
                    if args.goaway_after is not None and len(answered) >= args.goaway_after:
                        pump(conn, outgoing, open_now)
                        conn.close_connection(last_stream_id=max(answered))
                        gone_away = True
                elif isinstance(ev, h2.events.StreamReset):
                    open_now.discard(ev.stream_id)
                    outgoing.pop(ev.stream_id, None)
                elif isinstance(ev, h2.events.ConnectionTerminated):
                    sock.sendall(conn.data_to_send())
                    return
            if not gone_away:
                pump(conn, outgoing, open_now)
            sock.sendall(conn.data_to_send())
    except (OSError, h2.exceptions.H2Error) as e:
        log(f"connection ended: {e!r}")
    finally:
        sock.close()


def sniff(sock):
    """Reads until the first bytes tell the HTTP/2 preface from an HTTP/1 head; returns them
    (None if the client went away)."""
    data = b""
    while True:
        if data.startswith(PREFACE[:4]) or b"\r\n\r\n" in data:
            return data
        if len(data) > 64 * 1024:
            return None
        more = sock.recv(65536)
        if not more:
            return None
        data += more


def upgrade(sock, conn, data, paths):
    """An HTTP/1.1 request: with `Upgrade: h2c` (and no body), answers 101 and goes on as
    HTTP/2 with the request on stream 1, answered at once; returns the bytes read past the head.
    Without the upgrade, answers over HTTP/1.1, closes, and returns None."""
    head, _, rest = data.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    method, path, _version = lines[0].split(b" ", 2)
    fields = {}
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        fields[name.strip().lower()] = value.strip()
    if fields.get(b"upgrade", b"").lower() != b"h2c" or b"http2-settings" not in fields:
        body = b"hello " + path + b" over HTTP/1.1\n"
        sock.sendall(
            b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\nConnection: close\r\n\r\n" % len(body) + body
        )
        return None
    sock.sendall(b"HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n")
    conn.initiate_upgrade_connection(fields[b"http2-settings"])
    body = b"hello " + path + b" upgraded from " + method + b"\n"
    conn.send_headers(
        1,
        [
            (b":status", b"200"),
            (b"content-length", str(len(body)).encode()),
            (b"x-stream-id", b"1"),
            (b"x-upgraded", b"1"),
        ],
    )
    conn.send_data(1, body, end_stream=True)
    sock.sendall(conn.data_to_send())
    return rest


def pump(conn, outgoing, open_now):
    """Sends what flow control allows of every answer body; ends the streams sent in full."""
    for sid in sorted(outgoing):
        body, pos = outgoing[sid]
        while pos < len(body):
            window = min(conn.local_flow_control_window(sid), conn.max_outbound_frame_size)
            if window <= 0:
                break
            piece = body[pos : pos + window]
            conn.send_data(sid, piece)
            pos += len(piece)
        outgoing[sid][1] = pos
        if pos == len(body):
            conn.end_stream(sid)
            del outgoing[sid]
            open_now.discard(sid)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("port", type=int)
    ap.add_argument("--max-concurrent", type=int)
    ap.add_argument("--goaway-after", type=int)
    args = ap.parse_args()
    lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    lsock.bind(("127.0.0.1", args.port))
    lsock.listen(16)
    log(f"listening on 127.0.0.1:{args.port}")
    while True:
        sock, _ = lsock.accept()
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        threading.Thread(target=serve, args=(sock, args), daemon=True).start()


if __name__ == "__main__":
    main()
