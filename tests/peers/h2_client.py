#!/usr/bin/env python3
"""An HTTP/2 client peer built on the pure protocol library `h2` (plus its `hyperframe` and
`hpack`), driving a plain socket by hand: a peer for pollhttp's HTTP/2 server tests.

    h2_client.py HOST PORT echo STREAMS SIZE
    h2_client.py HOST PORT even-stream | data-idle | uppercase
    h2_client.py HOST PORT fetch METHOD PATH

echo: prior knowledge; opens STREAMS streams at once, each a POST of SIZE distinct bytes to
  /echo/N, all heads and bodies written before any answer is read, then reads every answer
  and checks status 200 and the body echoed byte for byte. Prints `ok STREAMS` on success.

The other modes misbehave on purpose, with frames written byte by byte (h2 itself refuses to
send them), after a correct preface and SETTINGS exchange:
  even-stream: HEADERS (a complete GET) on stream 2, an id only a server may use;
  data-idle:   DATA on stream 1, which was never opened;
  uppercase:   HEADERS on stream 1 with the field name `X-Upper-Case`; then, if the server
               only reset that stream, a correct GET on stream 3 on the same connection.
  fetch:       a bodiless request on stream 1 (not misbehaving: it shows the answer's frames).
They print what the server answered, one line per event:
  `goaway CODE last=ID`, `rst ID CODE`, `eof`, `timeout`, and at the end of a stream's answer
  `response ID STATUS BODY-LENGTH` (BODY-LENGTH: the DATA bytes received on it).

Exit status: 0 when the exchange ran (the test judges the lines), 1 on a failed check or a
transport failure, 2 on a usage error.
"""
import socket
import sys
import time

import h2.config
import h2.connection
import h2.errors
import h2.events
import hpack
from hyperframe.frame import (
    DataFrame,
    Frame,
    GoAwayFrame,
    HeadersFrame,
    RstStreamFrame,
    SettingsFrame,
)

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
DEADLINE = 20.0


def fail(msg):
    print(f"h2_client: {msg}", file=sys.stderr)
    sys.exit(1)


def connect(host, port):
    sock = socket.create_connection((host, port), timeout=DEADLINE)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def body_for(n, size):
    # Distinct per stream, so that a body delivered on the wrong stream is caught.
    pattern = f"stream {n}:".encode() + bytes(range(256))
    return (pattern * (size // len(pattern) + 1))[:size]


def echo(host, port, streams, size):
    sock = connect(host, port)
    conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
    conn.initiate_connection()
    # Room for every body at once, so that the server's flow control is what is exercised.
    conn.increment_flow_control_window(streams * size + 65535)
    sock.sendall(conn.data_to_send())

    ids = []
    sent = {}
    for n in range(streams):
        sid = conn.get_next_available_stream_id()
        body = body_for(n, size)
        conn.send_headers(
            sid,
            [
                (":method", "POST"),
                (":scheme", "http"),
                (":authority", f"{host}:{port}"),
                (":path", f"/echo/{n}"),
                ("content-type", "application/x-h2-test"),
                ("content-length", str(size)),
            ],
        )
        ids.append(sid)
        sent[sid] = [body, 0]
    pending_send = set(ids)
    status = {}
    received = {sid: bytearray() for sid in ids}
    ended = set()
    end = time.monotonic() + DEADLINE

    def pump_bodies():
        for sid in sorted(pending_send):
            body, pos = sent[sid]
            while pos < len(body):
                window = min(conn.local_flow_control_window(sid), conn.max_outbound_frame_size)
                if window <= 0:
                    break
                piece = body[pos : pos + window]
                conn.send_data(sid, piece)
                pos += len(piece)
            sent[sid][1] = pos
            if pos == len(body):
                conn.end_stream(sid)
                pending_send.discard(sid)

    pump_bodies()
    sock.sendall(conn.data_to_send())
    while len(ended) < len(ids):
        if time.monotonic() > end:
            fail(f"timed out; {len(ended)} of {len(ids)} streams ended")
        data = sock.recv(65536)
        if not data:
            fail(f"the server closed the connection; {len(ended)} of {len(ids)} streams ended")
        for ev in conn.receive_data(data):
            if isinstance(ev, h2.events.ResponseReceived):
                status[ev.stream_id] = dict(ev.headers).get(b":status")
            elif isinstance(ev, h2.events.DataReceived):
                received[ev.stream_id] += ev.data
                conn.acknowledge_received_data(ev.flow_controlled_length, ev.stream_id)
            elif isinstance(ev, h2.events.StreamEnded):
                ended.add(ev.stream_id)
            elif isinstance(ev, h2.events.StreamReset):
                fail(f"stream {ev.stream_id} reset by the server: {ev.error_code!r}")
            elif isinstance(ev, h2.events.ConnectionTerminated):
                fail(f"GOAWAY from the server: {ev.error_code!r} {ev.additional_data!r}")
        pump_bodies()
        sock.sendall(conn.data_to_send())
    for n, sid in enumerate(ids):
        if status.get(sid) != b"200":
            fail(f"stream {sid}: status {status.get(sid)!r}")
        if bytes(received[sid]) != body_for(n, size):
            fail(f"stream {sid}: echoed body differs ({len(received[sid])} bytes, sent {size})")
    conn.close_connection()
    sock.sendall(conn.data_to_send())
    sock.close()
    print(f"ok {streams}")


# ---- misbehaving on purpose: frames by hand ----------------------------------------------------


class RawPeer:
    def __init__(self, host, port):
        self.sock = connect(host, port)
        self.buf = b""
        self.decoder = hpack.Decoder()
        self.encoder = hpack.Encoder()
        self.authority = f"{host}:{port}"

    def send(self, frame):
        self.sock.sendall(frame.serialize())

    def read_frame(self, until):
        """The next frame, or None at EOF; raises TimeoutError after `until`."""
        while True:
            if len(self.buf) >= 9:
                frame, length = Frame.parse_frame_header(memoryview(self.buf[:9]))
                if len(self.buf) >= 9 + length:
                    frame.parse_body(memoryview(self.buf[9 : 9 + length]))
                    self.buf = self.buf[9 + length :]
                    return frame
            left = until - time.monotonic()
            if left <= 0:
                raise TimeoutError
            self.sock.settimeout(left)
            try:
                data = self.sock.recv(65536)
            except ConnectionResetError:
                return None
            if not data:
                return None
            self.buf += data

    def handshake(self):
        self.sock.sendall(PREFACE)
        self.send(SettingsFrame(0))
        until = time.monotonic() + DEADLINE
        got_settings = got_ack = False
        while not (got_settings and got_ack):
            f = self.read_frame(until)
            if f is None:
                fail("EOF during the SETTINGS exchange")
            if isinstance(f, SettingsFrame):
                if "ACK" in f.flags:
                    got_ack = True
                else:
                    got_settings = True
                    self.send(SettingsFrame(0, flags=["ACK"]))

    def get_headers(self, sid, extra=(), method="GET", path="/"):
        f = HeadersFrame(sid)
        fields = [
            (":method", method),
            (":scheme", "http"),
            (":authority", self.authority),
            (":path", path),
        ] + list(extra)
        # hpack keeps names as given: nothing lower-cases them on the way out.
        f.data = self.encoder.encode(fields)
        f.flags.add("END_HEADERS")
        f.flags.add("END_STREAM")
        return f

    def report(self, until, want_response=None):
        """Prints what the server sends until GOAWAY, EOF, the deadline, or (with
        `want_response`) the end of that stream's answer. Returns the lines printed."""
        lines = []
        status = {}
        body = {}

        def say(line):
            print(line, flush=True)
            lines.append(line)

        while True:
            try:
                f = self.read_frame(until)
            except TimeoutError:
                say("timeout")
                return lines
            if f is None:
                say("eof")
                return lines
            if isinstance(f, GoAwayFrame):
                say(f"goaway {h2.errors.ErrorCodes(f.error_code).name} last={f.last_stream_id}")
                return lines
            if isinstance(f, RstStreamFrame):
                say(f"rst {f.stream_id} {h2.errors.ErrorCodes(f.error_code).name}")
                if want_response is None:
                    return lines
            elif isinstance(f, HeadersFrame):
                fields = dict(self.decoder.decode(f.data))
                status[f.stream_id] = fields.get(":status", "?")
                body.setdefault(f.stream_id, b"")
            elif isinstance(f, DataFrame):
                body[f.stream_id] = body.get(f.stream_id, b"") + f.data
            if "END_STREAM" in f.flags and f.stream_id == want_response:
                say(f"response {f.stream_id} {status.get(f.stream_id)} {len(body.get(f.stream_id, b''))}")
                return lines


def misbehave(host, port, mode, rest):
    peer = RawPeer(host, port)
    peer.handshake()
    until = time.monotonic() + DEADLINE
    if mode == "even-stream":
        peer.send(peer.get_headers(2))
        peer.report(until)
    elif mode == "data-idle":
        f = DataFrame(1, data=b"unasked for")
        f.flags.add("END_STREAM")
        peer.send(f)
        peer.report(until)
    elif mode == "fetch":
        peer.send(peer.get_headers(1, method=rest[0], path=rest[1]))
        peer.report(until, want_response=1)
    elif mode == "uppercase":
        peer.send(peer.get_headers(1, [("X-Upper-Case", "1")]))
        lines = peer.report(until)
        if lines and lines[-1].startswith("rst "):
            # A stream error leaves the connection usable.
            peer.send(peer.get_headers(3))
            peer.report(until, want_response=3)
    peer.sock.close()


def main(argv):
    if len(argv) < 4:
        print(__doc__, file=sys.stderr)
        return 2
    host, port, mode = argv[1], int(argv[2]), argv[3]
    try:
        if mode == "echo" and len(argv) == 6:
            echo(host, port, int(argv[4]), int(argv[5]))
        elif mode in ("even-stream", "data-idle", "uppercase") and len(argv) == 4:
            misbehave(host, port, mode, [])
        elif mode == "fetch" and len(argv) == 6:
            misbehave(host, port, mode, argv[4:])
        else:
            print(__doc__, file=sys.stderr)
            return 2
    except OSError as e:
        fail(f"transport failure: {e!r}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
