#!/usr/bin/env python3
"""An HTTP/2 server conformance check in the manner of h2spec (summerwind/h2spec).

    python3 tests/h2_conformance.py HOST PORT [--timeout S] [--strict] [-v] [PREFIX...]

Connects to HOST:PORT over plaintext TCP with prior knowledge and runs one case per h2spec
test case (sections "generic", "http2" and "hpack"), each on a fresh connection. A case sends
the frames h2spec sends and applies the verdict h2spec applies:

* "connection error" (code C): a GOAWAY carrying C, or the connection closing (EOF or
  ECONNRESET). Other frames are skipped; a read timeout fails the case.
* "stream error" (code C): a RST_STREAM or GOAWAY carrying C, or the connection closing.
* "connection close": EOF or ECONNRESET before the timeout.
* "expect frame T": frames are read until one of type T arrives (then it is checked, e.g.
  a PING ACK with the same payload, or a HEADERS on stream 1), or the connection ends.

Every read waits at most --timeout seconds (h2spec's default, 2 s); a case also stops after
a hard limit of a few timeouts, so a run is bounded. Like h2spec, DATA received is
acknowledged with WINDOW_UPDATE once a window runs out, and "strict" cases (SHOULD-level)
only run with --strict. PREFIX arguments select the cases whose id starts with one of them.

Prints one line per case, "PASS id  description" or "FAIL id  description -- expected: ...
| arrived: ...", then "conformance: P passed, F failed[, S skipped]". Exits 1 if a case failed
(2 on a usage error). Needs only the `hpack` module (installed with the PyPI `h2` package).
"""

import argparse
import socket
import struct
import sys
import time

import hpack

# Frame types and flags (RFC 9113 section 6).
DATA, HEADERS, PRIORITY, RST_STREAM, SETTINGS = 0x0, 0x1, 0x2, 0x3, 0x4
PUSH_PROMISE, PING, GOAWAY, WINDOW_UPDATE, CONTINUATION = 0x5, 0x6, 0x7, 0x8, 0x9
TYPE_NAMES = {
    DATA: "DATA",
    HEADERS: "HEADERS",
    PRIORITY: "PRIORITY",
    RST_STREAM: "RST_STREAM",
    SETTINGS: "SETTINGS",
    PUSH_PROMISE: "PUSH_PROMISE",
    PING: "PING",
    GOAWAY: "GOAWAY",
    WINDOW_UPDATE: "WINDOW_UPDATE",
    CONTINUATION: "CONTINUATION",
}
END_STREAM, ACK, END_HEADERS, PADDED, PRIORITY_FLAG = 0x1, 0x1, 0x4, 0x8, 0x20

# Error codes (RFC 9113 section 7).
NO_ERROR, PROTOCOL_ERROR, INTERNAL_ERROR, FLOW_CONTROL_ERROR = 0x0, 0x1, 0x2, 0x3
SETTINGS_TIMEOUT, STREAM_CLOSED, FRAME_SIZE_ERROR, REFUSED_STREAM = 0x4, 0x5, 0x6, 0x7
CANCEL, COMPRESSION_ERROR = 0x8, 0x9
CODE_NAMES = {
    0x0: "NO_ERROR",
    0x1: "PROTOCOL_ERROR",
    0x2: "INTERNAL_ERROR",
    0x3: "FLOW_CONTROL_ERROR",
    0x4: "SETTINGS_TIMEOUT",
    0x5: "STREAM_CLOSED",
    0x6: "FRAME_SIZE_ERROR",
    0x7: "REFUSED_STREAM",
    0x8: "CANCEL",
    0x9: "COMPRESSION_ERROR",
    0xA: "CONNECT_ERROR",
    0xB: "ENHANCE_YOUR_CALM",
    0xC: "INADEQUATE_SECURITY",
    0xD: "HTTP_1_1_REQUIRED",
}

# Settings identifiers.
HEADER_TABLE_SIZE, ENABLE_PUSH, MAX_CONCURRENT_STREAMS = 0x1, 0x2, 0x3
INITIAL_WINDOW_SIZE, MAX_FRAME_SIZE, MAX_HEADER_LIST_SIZE = 0x4, 0x5, 0x6

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
DEFAULT_WINDOW = 65535
DEFAULT_FRAME_SIZE = 16384
# h2spec's --max-header-length default: the value length of its dummy header fields.
DUMMY_LEN = 4000
# A case ends after this many timeouts' worth of time whatever the server sends.
HARD_LIMIT_TIMEOUTS = 4


def code_name(code):
    return CODE_NAMES.get(code, "UNKNOWN(0x%x)" % code)


class Frame:
    def __init__(self, ftype, flags, sid, payload):
        self.type, self.flags, self.sid, self.payload = ftype, flags, sid, payload
        self.headers = None  # decoded header list of a complete HEADERS block, if any

    @property
    def name(self):
        return TYPE_NAMES.get(self.type, "UNKNOWN(0x%x)" % self.type)

    def has(self, flag):
        return bool(self.flags & flag)

    def error_code(self):
        if self.type == RST_STREAM and len(self.payload) >= 4:
            return struct.unpack(">I", self.payload[:4])[0]
        if self.type == GOAWAY and len(self.payload) >= 8:
            return struct.unpack(">I", self.payload[4:8])[0]
        return None

    def __str__(self):
        head = "%s Frame (length:%d, flags:0x%02x, stream_id:%d" % (
            self.name,
            len(self.payload),
            self.flags,
            self.sid,
        )
        if self.type == GOAWAY and len(self.payload) >= 8:
            last = struct.unpack(">I", self.payload[:4])[0] & 0x7FFFFFFF
            debug = self.payload[8:].decode("utf-8", "replace")
            return head + ", last_stream_id:%d, error_code:%s, debug_data:%r)" % (
                last,
                code_name(self.error_code()),
                debug,
            )
        if self.type == RST_STREAM and len(self.payload) >= 4:
            return head + ", error_code:%s)" % code_name(self.error_code())
        if self.type == SETTINGS and not self.has(ACK):
            pairs = [
                struct.unpack(">HI", self.payload[i : i + 6])
                for i in range(0, len(self.payload) - 5, 6)
            ]
            return head + ", settings:%s)" % ",".join("%d=%d" % p for p in pairs)
        if self.type == PING:
            return head + ", opaque_data:%r)" % self.payload
        if self.type == WINDOW_UPDATE and len(self.payload) == 4:
            return head + ", increment:%d)" % (struct.unpack(">I", self.payload)[0] & 0x7FFFFFFF)
        if self.type == HEADERS and self.headers is not None:
            shown = ", ".join("%s: %s" % (n, v) for n, v in self.headers)
            return head + ", headers: %s)" % shown
        if self.type == DATA:
            return head + ", data:%r)" % self.payload[:40]
        return head + ")"


class Event:
    """What one read produced: a frame, the connection closing, a timeout, or an error."""

    def __init__(self, kind, frame=None, detail=""):
        self.kind, self.frame, self.detail = kind, frame, detail

    def is_frame(self, ftype=None):
        return self.kind == "frame" and (ftype is None or self.frame.type == ftype)

    def __str__(self):
        if self.kind == "frame":
            return str(self.frame)
        if self.kind == "closed":
            return "Connection closed" + (" (%s)" % self.detail if self.detail else "")
        if self.kind == "timeout":
            return "Timeout"
        return "Error: %s" % self.detail


def describe(ev):
    return "nothing" if ev is None else str(ev)


class CaseFailed(Exception):
    def __init__(self, expected, actual):
        super().__init__(expected)
        self.expected, self.actual = expected, actual


class Skipped(Exception):
    pass


class Conn:
    """One client connection: raw frame writing, frame reading with h2spec's event model."""

    def __init__(self, host, port, timeout, verbose):
        self.host, self.port, self.timeout, self.verbose = host, port, timeout, verbose
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.hard_deadline = time.monotonic() + timeout * HARD_LIMIT_TIMEOUTS
        self.buf = b""
        self.closed = False
        self.settings = {}
        self.encoder = hpack.Encoder()
        self.decoder = hpack.Decoder()
        self.decoder.max_allowed_table_size = 1 << 16
        self.pending_block = None  # (frame, fragments) of a HEADERS without END_HEADERS
        self.windows = {0: DEFAULT_WINDOW}
        self.trace = []
        self.notes = []  # things a lenient h2spec verdict let pass, shown on the PASS line

    def log(self, direction, what):
        line = "%s %s" % (direction, what)
        self.trace.append(line)
        if self.verbose:
            print("      " + line, flush=True)

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    # -- writing -------------------------------------------------------------------------

    def send(self, raw, what=None):
        self.log("send", what or "raw %r" % raw[:60])
        try:
            self.sock.sendall(raw)
        except OSError as e:  # like h2spec, a failed write is not a verdict by itself
            self.log("note", "write failed: %s" % e)

    def write_frame(self, ftype, flags, sid, payload):
        header = struct.pack(">I", len(payload))[1:] + struct.pack(">BBI", ftype, flags, sid)
        frame = Frame(ftype, flags, sid & 0x7FFFFFFF, payload)
        self.send(header + payload, str(frame))

    def encode(self, headers):
        return self.encoder.encode(headers)

    def write_headers(
        self,
        sid,
        block,
        end_stream=True,
        end_headers=True,
        pad_length=None,
        priority=None,
    ):
        flags = (END_STREAM if end_stream else 0) | (END_HEADERS if end_headers else 0)
        payload = b""
        if pad_length is not None:
            flags |= PADDED
            payload += bytes([pad_length])
        if priority is not None:
            flags |= PRIORITY_FLAG
            payload += priority_payload(*priority)
        payload += block
        if pad_length is not None:
            payload += b"\0" * pad_length
        self.write_frame(HEADERS, flags, sid, payload)

    def write_data(self, sid, data, end_stream=True, pad=None):
        flags = END_STREAM if end_stream else 0
        payload = data
        if pad is not None:
            flags |= PADDED
            payload = bytes([len(pad)]) + data + pad
        self.write_frame(DATA, flags, sid, payload)

    def write_continuation(self, sid, block, end_headers=True):
        self.write_frame(CONTINUATION, END_HEADERS if end_headers else 0, sid, block)

    def write_priority(self, sid, dep=0, exclusive=False, weight=255):
        self.write_frame(PRIORITY, 0, sid, priority_payload(dep, exclusive, weight))

    def write_rst(self, sid, code):
        self.write_frame(RST_STREAM, 0, sid, struct.pack(">I", code))

    def write_settings(self, *pairs):
        payload = b"".join(struct.pack(">HI", k, v) for k, v in pairs)
        self.write_frame(SETTINGS, 0, 0, payload)

    def write_settings_ack(self):
        self.write_frame(SETTINGS, ACK, 0, b"")

    def write_ping(self, data=b"\0" * 8, ack=False):
        self.write_frame(PING, ACK if ack else 0, 0, data)

    def write_goaway(self, last, code, debug=b""):
        self.write_frame(GOAWAY, 0, 0, struct.pack(">II", last, code) + debug)

    def write_window_update(self, sid, increment):
        self.write_frame(WINDOW_UPDATE, 0, sid, struct.pack(">I", increment))

    def write_push_promise(self, sid, promised, block):
        self.write_frame(PUSH_PROMISE, END_HEADERS, sid, struct.pack(">I", promised) + block)

    # -- reading -------------------------------------------------------------------------

    def _read_exact(self, n, deadline):
        """n bytes; raises TimeoutError, EOFError (clean EOF before any byte of the unit),
        ConnectionError (EOF in the middle, or a reset)."""
        while len(self.buf) < n:
            left = min(deadline, self.hard_deadline) - time.monotonic()
            if left <= 0:
                raise TimeoutError()
            self.sock.settimeout(left)
            try:
                chunk = self.sock.recv(65536)
            except socket.timeout:
                raise TimeoutError() from None
            except ConnectionResetError:
                raise ConnectionResetError("connection reset") from None
            if not chunk:
                if self.buf:
                    raise ConnectionError("unexpected EOF inside a frame")
                raise EOFError()
            self.buf += chunk
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def wait_event(self):
        """The next event, like h2spec's WaitEvent: a timeout, a close or an error also marks
        the connection as finished."""
        deadline = time.monotonic() + self.timeout
        try:
            head = self._read_exact(9, deadline)
            length = struct.unpack(">I", b"\0" + head[:3])[0]
            ftype, flags, sid = struct.unpack(">BBI", head[3:])
            payload = self._read_exact(length, deadline)
        except TimeoutError:
            self.closed = True
            ev = Event("timeout")
        except EOFError:
            self.closed = True
            ev = Event("closed", detail="EOF")
        except ConnectionResetError:
            self.closed = True
            ev = Event("closed", detail="ECONNRESET")
        except (ConnectionError, OSError) as e:
            self.closed = True
            ev = Event("error", detail=str(e))
        else:
            frame = Frame(ftype, flags, sid & 0x7FFFFFFF, payload)
            self._decode_headers(frame)
            ev = Event("frame", frame)
            if ftype == DATA:
                self._update_windows(frame)
        self.log("recv", str(ev))
        return ev

    def _decode_headers(self, frame):
        """Keeps the HPACK decoder in step with the server's header blocks (for messages)."""
        try:
            if frame.type in (HEADERS, PUSH_PROMISE):
                block = frame.payload
                if frame.has(PADDED) and block:
                    pad = block[0]
                    block = block[1 : len(block) - pad]
                if frame.type == HEADERS and frame.has(PRIORITY_FLAG):
                    block = block[5:]
                if frame.type == PUSH_PROMISE:
                    block = block[4:]
                if frame.has(END_HEADERS):
                    frame.headers = self.decoder.decode(block)
                else:
                    self.pending_block = (frame, [block])
            elif frame.type == CONTINUATION and self.pending_block:
                first, parts = self.pending_block
                parts.append(frame.payload)
                if frame.has(END_HEADERS):
                    first.headers = self.decoder.decode(b"".join(parts))
                    frame.headers = first.headers
                    self.pending_block = None
        except Exception as e:  # only used for messages: never a verdict
            self.log("note", "cannot decode a header block from the server: %s" % e)

    def _update_windows(self, frame):
        """h2spec's updateWindowSize: give credit back once a window is used up."""
        n = len(frame.payload)
        for sid in (frame.sid, 0):
            self.windows.setdefault(sid, DEFAULT_WINDOW)
            self.windows[sid] -= n
            if self.windows[sid] <= 0:
                incr = DEFAULT_WINDOW - self.windows[sid]
                self.write_window_update(sid, incr)
                self.windows[sid] += incr

    def wait_event_by_type(self, ftype):
        """h2spec's WaitEventByType: (event, True) for the first frame of that type, else
        (the last thing seen, False) once the connection ends or times out."""
        last = None
        while not self.closed:
            ev = self.wait_event()
            if ev.is_frame(ftype):
                return ev, True
            if ev.kind == "timeout" and last is not None:
                break
            last = ev
        return last, False

    def handshake(self):
        """Preface and SETTINGS both ways, up to the ACK of ours and the server's SETTINGS."""
        self.send(PREFACE, "client connection preface")
        self.write_settings((INITIAL_WINDOW_SIZE, DEFAULT_WINDOW))
        local = remote = False
        deadline = time.monotonic() + self.timeout
        while not (local and remote):
            if time.monotonic() >= deadline:
                raise CaseFailed("handshake (SETTINGS and SETTINGS ACK)", "Timeout")
            ev = self.wait_event()
            if not ev.is_frame():
                raise CaseFailed("handshake (SETTINGS and SETTINGS ACK)", str(ev))
            f = ev.frame
            if f.type != SETTINGS:
                continue
            if f.has(ACK):
                local = True
            else:
                remote = True
                for i in range(0, len(f.payload) - 5, 6):
                    k, v = struct.unpack(">HI", f.payload[i : i + 6])
                    self.settings[k] = v
                self.write_settings_ack()

    def max_frame_size(self):
        return self.settings.get(MAX_FRAME_SIZE, DEFAULT_FRAME_SIZE)


def priority_payload(dep, exclusive, weight):
    return struct.pack(">IB", (dep & 0x7FFFFFFF) | (0x80000000 if exclusive else 0), weight)


# -- verdicts (h2spec's spec/verifier.go) ------------------------------------------------------


def codes_text(codes):
    return " or ".join(code_name(c) for c in codes)


def verify_connection_close(c):
    actual = None
    while not c.closed:
        ev = c.wait_event()
        if ev.kind == "closed":
            return
        if ev.kind == "timeout":
            actual = actual or ev
        else:
            actual = ev
    raise CaseFailed("Connection closed", describe(actual))


def verify_connection_error(c, *codes):
    actual = None
    while not c.closed:
        ev = c.wait_event()
        if ev.kind == "closed":
            return
        if ev.is_frame(GOAWAY) and ev.frame.error_code() in codes:
            return
        if ev.is_frame(GOAWAY) or ev.is_frame(RST_STREAM):
            c.notes.append("got %s before the close" % ev.frame)
        if ev.kind == "timeout":
            actual = actual or ev
        else:
            actual = ev
    raise CaseFailed(
        "GOAWAY Frame (error_code:%s) or Connection closed" % codes_text(codes),
        describe(actual),
    )


def verify_stream_error(c, *codes):
    actual = None
    while not c.closed:
        ev = c.wait_event()
        if ev.kind == "closed":
            return
        if ev.is_frame(GOAWAY) or ev.is_frame(RST_STREAM):
            if ev.frame.error_code() in codes:
                return
            c.notes.append("got %s before the close" % ev.frame)
        if ev.kind == "timeout":
            actual = actual or ev
        else:
            actual = ev
    raise CaseFailed(
        "GOAWAY or RST_STREAM Frame (error_code:%s) or Connection closed" % codes_text(codes),
        describe(actual),
    )


def verify_stream_close(c):
    actual = None
    while not c.closed:
        ev = c.wait_event()
        if (ev.is_frame(DATA) or ev.is_frame(HEADERS)) and ev.frame.has(END_STREAM):
            return
        if ev.is_frame(RST_STREAM) and ev.frame.error_code() == NO_ERROR:
            return
        if ev.kind == "timeout":
            actual = actual or ev
        else:
            actual = ev
    raise CaseFailed("Stream closed (END_STREAM)", describe(actual))


def verify_event_type(c, ftype):
    ev, ok = c.wait_event_by_type(ftype)
    if not ok:
        raise CaseFailed("%s Frame" % TYPE_NAMES[ftype], describe(ev))
    return ev


def verify_headers_frame(c, sid):
    ev, ok = c.wait_event_by_type(HEADERS)
    if not ok or ev.frame.sid != sid:
        raise CaseFailed("HEADERS Frame (stream_id:%d)" % sid, describe(ev))


def verify_settings_ack(c):
    ev, ok = c.wait_event_by_type(SETTINGS)
    if not ok or not ev.frame.has(ACK):
        raise CaseFailed("SETTINGS Frame (length:0, flags:0x01, stream_id:0)", describe(ev))


def verify_ping_ack(c, data):
    ev, ok = c.wait_event_by_type(PING)
    if not ok or not (ev.frame.has(ACK) and ev.frame.payload == data):
        raise CaseFailed(
            "PING Frame (length:8, flags:0x01, stream_id:0, opaque_data:%r)" % data,
            describe(ev),
        )


def verify_ping_or_close(c, data):
    actual = None
    while not c.closed:
        ev = c.wait_event()
        if ev.kind == "closed":
            return
        if ev.is_frame(PING) and ev.frame.has(ACK) and ev.frame.payload == data:
            return
        if ev.kind == "timeout":
            actual = actual or ev
        else:
            actual = ev
    raise CaseFailed(
        "Connection closed or PING Frame (flags:0x01, opaque_data:%r)" % data, describe(actual)
    )


def verify_data_length(c, sid, length):
    ev, ok = c.wait_event_by_type(DATA)
    if not ok or len(ev.frame.payload) != length:
        raise CaseFailed("DATA Frame (length:%d, stream_id:%d)" % (length, sid), describe(ev))


# -- the cases -----------------------------------------------------------------------------------

CASES = []


def case(cid, desc, strict=False, handshake=True):
    def register(fn):
        CASES.append((cid, desc, fn, strict, handshake))
        return fn

    return register


def common_headers(c, method="GET"):
    authority = c.host if c.port == 80 else "%s:%d" % (c.host, c.port)
    return [(":method", method), (":scheme", "http"), (":path", "/"), (":authority", authority)]


def dummy_headers(n):
    return [("x-dummy%d" % i, "x" * DUMMY_LEN) for i in range(n)]


def server_data_length(c):
    """h2spec's ServerDataLength: the body length of GET / on a connection of its own."""
    probe = Conn(c.host, c.port, c.timeout, False)
    try:
        probe.handshake()
        probe.write_headers(1, probe.encode(common_headers(probe)))
        total = 0
        while not probe.closed:
            ev = probe.wait_event()
            if ev.is_frame(DATA) and ev.frame.sid == 1:
                total += len(ev.frame.payload)
                if ev.frame.has(END_STREAM):
                    return total
            elif ev.is_frame(HEADERS) and ev.frame.sid == 1 and ev.frame.has(END_STREAM):
                return total
        raise CaseFailed("a complete answer to GET / (to learn its length)", "Connection ended")
    finally:
        probe.close()


# ---- generic/1: Starting HTTP/2


@case("generic/1/1", "Sends a client connection preface", handshake=False)
def _(c):
    c.send(PREFACE, "client connection preface")
    c.write_settings((INITIAL_WINDOW_SIZE, DEFAULT_WINDOW))
    ev = c.wait_event()
    if not (ev.is_frame(SETTINGS) and not ev.frame.has(ACK)):
        raise CaseFailed("SETTINGS Frame (flags:0x00)", str(ev))


# ---- generic/2: Streams and Multiplexing


@case("generic/2/1", "Sends a PRIORITY frame on idle stream")
def _(c):
    c.write_priority(1)
    c.write_ping()
    verify_ping_ack(c, b"\0" * 8)


@case("generic/2/2", "Sends a WINDOW_UPDATE frame on half-closed (remote) stream")
def _(c):
    c.write_settings((INITIAL_WINDOW_SIZE, 0))
    c.write_headers(1, c.encode(common_headers(c)))
    c.write_window_update(1, 1)
    verify_event_type(c, DATA)


@case("generic/2/3", "Sends a PRIORITY frame on half-closed (remote) stream")
def _(c):
    c.write_settings((INITIAL_WINDOW_SIZE, 0))
    c.write_headers(1, c.encode(common_headers(c)))
    c.write_priority(1)
    c.write_window_update(1, 1)
    verify_event_type(c, DATA)


@case("generic/2/4", "Sends a RST_STREAM frame on half-closed (remote) stream")
def _(c):
    c.write_headers(1, c.encode(common_headers(c)))
    c.write_rst(1, CANCEL)
    c.write_ping()
    verify_ping_or_close(c, b"\0" * 8)


@case("generic/2/5", "Sends a PRIORITY frame on closed stream")
def _(c):
    c.write_headers(1, c.encode(common_headers(c)))
    verify_stream_close(c)
    c.write_priority(1)
    c.write_ping()
    verify_ping_ack(c, b"\0" * 8)


# ---- generic/3.x: Frame Definitions


@case("generic/3.1/1", "Sends a DATA frame")
def _(c):
    c.write_headers(1, c.encode(common_headers(c, "POST")), end_stream=False)
    c.write_data(1, b"test")
    verify_headers_frame(c, 1)


@case("generic/3.1/2", "Sends multiple DATA frames")
def _(c):
    c.write_headers(1, c.encode(common_headers(c, "POST")), end_stream=False)
    c.write_data(1, b"test", end_stream=False)
    c.write_data(1, b"test")
    verify_headers_frame(c, 1)


@case("generic/3.1/3", "Sends a DATA frame with padding")
def _(c):
    c.write_headers(1, c.encode(common_headers(c, "POST")), end_stream=False)
    c.write_data(1, b"test", pad=b"padded")
    verify_headers_frame(c, 1)


@case("generic/3.2/1", "Sends a HEADERS frame")
def _(c):
    c.write_headers(1, c.encode(common_headers(c)))
    verify_headers_frame(c, 1)


@case("generic/3.2/2", "Sends a HEADERS frame with padding")
def _(c):
    c.write_headers(1, c.encode(common_headers(c)), pad_length=8)
    verify_headers_frame(c, 1)


@case("generic/3.2/3", "Sends a HEADERS frame with priority")
def _(c):
    c.write_headers(1, c.encode(common_headers(c)), priority=(0, False, 255))
    verify_headers_frame(c, 1)


@case("generic/3.3/1", "Sends a PRIORITY frame with priority 1")
def _(c):
    c.write_priority(1, weight=0)
    c.write_headers(1, c.encode(common_headers(c)))
    verify_headers_frame(c, 1)


@case("generic/3.3/2", "Sends a PRIORITY frame with priority 256")
def _(c):
    c.write_priority(1, weight=255)
    c.write_headers(1, c.encode(common_headers(c)))
    verify_headers_frame(c, 1)


@case("generic/3.3/3", "Sends a PRIORITY frame with stream dependency")
def _(c):
    c.write_priority(3, dep=1, weight=0)
    c.write_headers(1, c.encode(common_headers(c)))
    verify_headers_frame(c, 1)


@case("generic/3.3/4", "Sends a PRIORITY frame with exclusive")
def _(c):
    c.write_priority(1, exclusive=True, weight=0)
    c.write_headers(1, c.encode(common_headers(c)))
    verify_headers_frame(c, 1)


@case(
    "generic/3.3/5",
    "Sends a PRIORITY frame for an idle stream, then send a HEADER frame for a lower stream ID",
)
def _(c):
    c.write_priority(3)
    c.write_headers(1, c.encode(common_headers(c)))
    verify_headers_frame(c, 1)


@case("generic/3.4/1", "Sends a RST_STREAM frame")
def _(c):
    c.write_headers(1, c.encode(common_headers(c)), end_stream=False)
    c.write_rst(1, CANCEL)
    c.write_ping()
    verify_ping_or_close(c, b"\0" * 8)


@case("generic/3.5/1", "Sends a SETTINGS frame")
def _(c):
    c.write_settings(
        (HEADER_TABLE_SIZE, 4096),
        (ENABLE_PUSH, 1),
        (MAX_CONCURRENT_STREAMS, 100),
        (INITIAL_WINDOW_SIZE, 65535),
        (MAX_FRAME_SIZE, 16384),
        (MAX_HEADER_LIST_SIZE, 100),
    )
    verify_settings_ack(c)


@case("generic/3.7/1", "Sends a PING frame")
def _(c):
    c.write_ping(b"h2spec\0\0")
    verify_ping_ack(c, b"h2spec\0\0")


@case("generic/3.8/1", "Sends a GOAWAY frame")
def _(c):
    c.write_goaway(0, NO_ERROR, b"h2spec")
    verify_connection_close(c)


@case("generic/3.9/1", "Sends a WINDOW_UPDATE frame with stream ID 0")
def _(c):
    c.write_window_update(0, 1)
    c.write_ping()
    verify_event_type(c, PING)


@case("generic/3.9/2", "Sends a WINDOW_UPDATE frame with stream ID 1")
def _(c):
    c.write_headers(1, c.encode(common_headers(c)))
    c.write_window_update(1, 1)
    verify_event_type(c, HEADERS)


@case("generic/3.10/1", "Sends a CONTINUATION frame")
def _(c):
    block = c.encode(common_headers(c))
    c.write_headers(1, block[:5], end_headers=False)
    c.write_continuation(1, block[5:])
    verify_headers_frame(c, 1)


@case("generic/3.10/2", "Sends multiple CONTINUATION frames")
def _(c):
    block = c.encode(common_headers(c))
    c.write_headers(1, block[:5], end_headers=False)
    c.write_continuation(1, block[5:10], end_headers=False)
    c.write_continuation(1, block[10:])
    verify_headers_frame(c, 1)


# ---- generic/4: HTTP Message Exchanges


@case("generic/4/1", "Sends a GET request")
def _(c):
    c.write_headers(1, c.encode(common_headers(c)))
    verify_headers_frame(c, 1)


@case("generic/4/2", "Sends a HEAD request")
def _(c):
    c.write_headers(1, c.encode(common_headers(c, "HEAD")))
    verify_headers_frame(c, 1)


@case("generic/4/3", "Sends a POST request")
def _(c):
    c.write_headers(1, c.encode(common_headers(c, "POST")), end_stream=False)
    c.write_data(1, b"test")
    verify_headers_frame(c, 1)


@case("generic/4/4", "Sends a POST request with trailers")
def _(c):
    headers = common_headers(c, "POST") + [("trailer", "x-test")]
    c.write_headers(1, c.encode(headers), end_stream=False)
    c.write_data(1, b"test", end_stream=False)
    c.write_headers(1, c.encode([("x-test", "ok")]))
    verify_headers_frame(c, 1)


# ---- generic/5: HPACK (representations appended to the common request header block)

HUFF_H2SPEC = b"\x84\x9c\x48\xac\xa4"  # "h2spec", Huffman-coded
HUFF_X_TEST = b"\x85\xf2\xb2\x4a\x84\xff"  # "x-test", Huffman-coded
GENERIC_HPACK = [
    ("Sends a indexed header field representation", b"\xba", False),
    (
        "Sends a literal header field with incremental indexing - indexed name",
        b"\x7a\x06h2spec",
        False,
    ),
    (
        "Sends a literal header field with incremental indexing - indexed name (with Huffman coding)",
        b"\x7a" + HUFF_H2SPEC,
        False,
    ),
    (
        "Sends a literal header field with incremental indexing - new name",
        b"\x40\x06x-test\x06h2spec",
        False,
    ),
    (
        "Sends a literal header field with incremental indexing - new name (with Huffman coding)",
        b"\x40" + HUFF_X_TEST + HUFF_H2SPEC,
        False,
    ),
    (
        "Sends a literal header field without indexing - indexed name",
        b"\x0f\x2b\x06h2spec",
        False,
    ),
    (
        "Sends a literal header field without indexing - indexed name (with Huffman coding)",
        b"\x0f\x2b" + HUFF_H2SPEC,
        False,
    ),
    (
        "Sends a literal header field without indexing - new name",
        b"\x00\x06x-test\x06h2spec",
        False,
    ),
    (
        "Sends a literal header field without indexing - new name (huffman encoded)",
        b"\x00" + HUFF_X_TEST + HUFF_H2SPEC,
        False,
    ),
    (
        "Sends a literal header field never indexed - indexed name",
        b"\x1f\x2b\x06h2spec",
        False,
    ),
    (
        "Sends a literal header field never indexed - indexed name (huffman encoded)",
        b"\x1f\x2b" + HUFF_H2SPEC,
        False,
    ),
    (
        "Sends a literal header field never indexed - new name",
        b"\x10\x06x-test\x06h2spec",
        False,
    ),
    (
        "Sends a literal header field never indexed - new name (huffman encoded)",
        b"\x10" + HUFF_X_TEST + HUFF_H2SPEC,
        False,
    ),
    ("Sends a dynamic table size update", b"\x20", True),
    ("Sends multiple dynamic table size update", b"\x20\x3f\xe1\x1f", True),
]


def generic_hpack_case(rep, prefix):
    def run(c):
        block = c.encode(common_headers(c))
        block = rep + block if prefix else block + rep
        c.write_headers(1, block)
        verify_headers_frame(c, 1)

    return run


for _n, (_desc, _rep, _prefix) in enumerate(GENERIC_HPACK, 1):
    case("generic/5/%d" % _n, _desc)(generic_hpack_case(_rep, _prefix))


# ---- http2/3.5: HTTP/2 Connection Preface


@case("http2/3.5/1", "Sends client connection preface", handshake=False)
def _(c):
    c.send(PREFACE, "client connection preface")
    c.write_settings((INITIAL_WINDOW_SIZE, DEFAULT_WINDOW))
    ev, ok = c.wait_event_by_type(SETTINGS)
    if not ok or ev.frame.has(ACK):
        raise CaseFailed("SETTINGS Frame (flags:0x00)", describe(ev))


@case("http2/3.5/2", "Sends invalid connection preface", handshake=False)
def _(c):
    c.send(b"INVALID CONNECTION PREFACE\r\n\r\n")
    verify_connection_close(c)


# ---- http2/4.1: Frame Format

UNKNOWN_FRAME = b"\x00\x00\x08\x16\x00\x00\x00\x00\x00" + b"\0" * 8


@case("http2/4.1/1", "Sends a frame with unknown type")
def _(c):
    c.send(UNKNOWN_FRAME, "frame of unknown type 0x16 (length 8, stream 0)")
    c.write_ping()
    verify_event_type(c, PING)


@case("http2/4.1/2", "Sends a frame with undefined flag")
def _(c):
    c.write_frame(PING, 0x16, 0, b"\0" * 8)
    verify_event_type(c, PING)


@case("http2/4.1/3", "Sends a frame with reserved field bit")
def _(c):
    c.send(
        b"\x00\x00\x08\x06\x16\x80\x00\x00\x00" + b"\0" * 8,
        "PING (flags 0x16, reserved bit set, stream 0)",
    )
    verify_event_type(c, PING)


# ---- http2/4.2: Frame Size


@case("http2/4.2/1", "Sends a DATA frame with 2^14 octets in length")
def _(c):
    c.write_headers(1, c.encode(common_headers(c, "POST")), end_stream=False)
    c.write_data(1, b"x" * c.max_frame_size())
    verify_event_type(c, HEADERS)


@case("http2/4.2/2", "Sends a large size DATA frame that exceeds the SETTINGS_MAX_FRAME_SIZE")
def _(c):
    c.write_headers(1, c.encode(common_headers(c, "POST")), end_stream=False)
    c.write_data(1, b"x" * (c.max_frame_size() + 1))
    verify_stream_error(c, FRAME_SIZE_ERROR)


@case(
    "http2/4.2/3",
    "Sends a large size HEADERS frame that exceeds the SETTINGS_MAX_FRAME_SIZE",
)
def _(c):
    c.write_headers(1, c.encode(common_headers(c) + dummy_headers(5)))
    verify_connection_error(c, FRAME_SIZE_ERROR)


# ---- http2/4.3: Header Compression and Decompression


@case("http2/4.3/1", "Sends invalid header block fragment")
def _(c):
    # A literal with incremental indexing and neither the name's length nor its string.
    c.write_frame(HEADERS, END_STREAM | END_HEADERS, 1, b"\x40")
    verify_connection_error(c, COMPRESSION_ERROR)


@case("http2/4.3/2", "Sends a PRIORITY frame while sending the header blocks")
def _(c):
    c.write_headers(1, c.encode(common_headers(c)), end_stream=False, end_headers=False)
    c.write_priority(1)
    c.write_continuation(1, c.encode(dummy_headers(1)))
    verify_connection_error(c, PROTOCOL_ERROR)


@case("http2/4.3/3", "Sends a HEADERS frame to another stream while sending the header blocks")
def _(c):
    c.write_headers(1, c.encode(common_headers(c)), end_stream=False, end_headers=False)
    c.write_headers(3, c.encode(common_headers(c)))
    c.write_continuation(1, c.encode(dummy_headers(1)))
    verify_connection_error(c, PROTOCOL_ERROR)


# ---- http2/5.1: Stream States


@case("http2/5.1/1", "idle: Sends a DATA frame")
def _(c):
    c.write_data(1, b"test")
    verify_connection_error(c, PROTOCOL_ERROR)


@case("http2/5.1/2", "idle: Sends a RST_STREAM frame")
def _(c):
    c.write_rst(1, CANCEL)
    verify_connection_error(c, PROTOCOL_ERROR)


@case("http2/5.1/3", "idle: Sends a WINDOW_UPDATE frame")
def _(c):
    c.write_window_update(1, 100)
    verify_connection_error(c, PROTOCOL_ERROR)


@case("http2/5.1/4", "idle: Sends a CONTINUATION frame")
def _(c):
    c.write_continuation(1, c.encode(common_headers(c)))
    verify_connection_error(c, PROTOCOL_ERROR)


@case("http2/5.1/5", "half closed (remote): Sends a DATA frame")
def _(c):
    c.write_headers(1, c.encode(common_headers(c)))
    c.write_data(1, b"test")
    verify_stream_error(c, STREAM_CLOSED)


@case("http2/5.1/6", "half closed (remote): Sends a HEADERS frame")
def _(c):
    c.write_headers(1, c.encode(common_headers(c)))
    c.write_headers(1, c.encode(common_headers(c)))
    verify_stream_error(c, STREAM_CLOSED)


@case("http2/5.1/7", "half closed (remote): Sends a CONTINUATION frame")
def _(c):
    block = c.encode(common_headers(c))
    c.write_headers(1, block)
    c.write_continuation(1, block)
    verify_stream_error(c, STREAM_CLOSED, PROTOCOL_ERROR)


@case("http2/5.1/8", "closed: Sends a DATA frame after sending RST_STREAM frame")
def _(c):
    c.write_headers(1, c.encode(common_headers(c)), end_stream=False)
    c.write_rst(1, CANCEL)
    c.write_data(1, b"test")
    verify_stream_error(c, STREAM_CLOSED)


@case("http2/5.1/9", "closed: Sends a HEADERS frame after sending RST_STREAM frame")
def _(c):
    c.write_headers(1, c.encode(common_headers(c)), end_stream=False)
    c.write_rst(1, CANCEL)
    c.write_headers(1, c.encode(common_headers(c)))
    verify_stream_error(c, STREAM_CLOSED)


@case("http2/5.1/10", "closed: Sends a CONTINUATION frame after sending RST_STREAM frame")
def _(c):
    c.write_headers(1, c.encode(common_headers(c)), end_stream=False)
    c.write_rst(1, CANCEL)
    c.write_continuation(1, c.encode(dummy_headers(1)))
    verify_stream_error(c, STREAM_CLOSED, PROTOCOL_ERROR)


@case("http2/5.1/11", "closed: Sends a DATA frame")
def _(c):
    c.write_headers(1, c.encode(common_headers(c)))
    verify_stream_close(c)
    c.write_data(1, b"test")
    verify_connection_error(c, STREAM_CLOSED)


@case("http2/5.1/12", "closed: Sends a HEADERS frame")
def _(c):
    block = c.encode(common_headers(c))
    c.write_headers(1, block)
    verify_stream_close(c)
    c.write_headers(1, block)  # the very same bytes again, as h2spec does
    verify_connection_error(c, STREAM_CLOSED)


@case("http2/5.1/13", "closed: Sends a CONTINUATION frame")
def _(c):
    c.write_headers(1, c.encode(common_headers(c)))
    verify_stream_close(c)
    c.write_continuation(1, c.encode(dummy_headers(1)))
    verify_connection_error(c, STREAM_CLOSED, PROTOCOL_ERROR)


# ---- http2/5.1.1: Stream Identifiers


@case("http2/5.1.1/1", "Sends even-numbered stream identifier")
def _(c):
    c.write_headers(2, c.encode(common_headers(c)))
    verify_connection_error(c, PROTOCOL_ERROR)


@case("http2/5.1.1/2", "Sends stream identifier that is numerically smaller than previous")
def _(c):
    c.write_headers(5, c.encode(common_headers(c)))
    c.write_headers(3, c.encode(common_headers(c)))
    verify_connection_error(c, PROTOCOL_ERROR)


# ---- http2/5.1.2: Stream Concurrency


@case(
    "http2/5.1.2/1",
    "Sends HEADERS frames that causes their advertised concurrent stream limit to be exceeded",
)
def _(c):
    if MAX_CONCURRENT_STREAMS not in c.settings:
        raise Skipped("the server advertises no SETTINGS_MAX_CONCURRENT_STREAMS")
    limit = c.settings[MAX_CONCURRENT_STREAMS]
    c.write_settings((INITIAL_WINDOW_SIZE, 0))
    block = c.encode(common_headers(c))
    frames = []
    for i in range(limit + 1):
        sid = 1 + 2 * i
        header = struct.pack(">I", len(block))[1:]
        frames.append(header + struct.pack(">BBI", HEADERS, END_STREAM | END_HEADERS, sid) + block)
    c.send(b"".join(frames), "%d HEADERS frames on streams 1..%d" % (limit + 1, 1 + 2 * limit))
    verify_stream_error(c, PROTOCOL_ERROR, REFUSED_STREAM)


# ---- http2/5.3.1: Stream Dependencies


@case("http2/5.3.1/1", "Sends HEADERS frame that depends on itself")
def _(c):
    c.write_headers(1, c.encode(common_headers(c)), priority=(1, False, 255))
    verify_stream_error(c, PROTOCOL_ERROR)


@case("http2/5.3.1/2", "Sends PRIORITY frame that depend on itself")
def _(c):
    c.write_priority(1, dep=1)
    verify_stream_error(c, PROTOCOL_ERROR)


# ---- http2/5.4.1: Connection Error Handling

BAD_PING = b"\x00\x00\x08\x06\x00\x00\x00\x00\x03" + b"\0" * 8


@case("http2/5.4.1/1", "Sends an invalid PING frame for connection close")
def _(c):
    c.send(BAD_PING, "PING on stream 3")
    verify_connection_close(c)


@case("http2/5.4.1/2", "Sends an invalid PING frame to receive GOAWAY frame", strict=True)
def _(c):
    c.send(BAD_PING, "PING on stream 3")
    actual = None
    while not c.closed:
        actual = c.wait_event()
        if actual.is_frame(GOAWAY):
            return
    raise CaseFailed("GOAWAY Frame (error_code:PROTOCOL_ERROR)", describe(actual))


# ---- http2/5.5: Extending HTTP/2


@case("http2/5.5/1", "Sends an unknown extension frame")
def _(c):
    c.send(UNKNOWN_FRAME, "frame of unknown type 0x16 (length 8, stream 0)")
    c.write_ping()
    verify_event_type(c, PING)


@case("http2/5.5/2", "Sends an unknown extension frame in the middle of a header block")
def _(c):
    c.write_headers(1, c.encode(common_headers(c)), end_headers=False)
    c.send(UNKNOWN_FRAME, "frame of unknown type 0x16 (length 8, stream 0)")
    verify_connection_error(c, PROTOCOL_ERROR)


# ---- http2/6.1: DATA


@case("http2/6.1/1", "Sends a DATA frame with 0x0 stream identifier")
def _(c):
    c.write_data(0, b"test")
    verify_connection_error(c, PROTOCOL_ERROR)


@case(
    "http2/6.1/2",
    'Sends a DATA frame on the stream that is not in "open" or "half-closed (local)" state',
)
def _(c):
    c.write_headers(1, c.encode(common_headers(c, "POST")))
    c.write_data(1, b"test")
    verify_stream_error(c, STREAM_CLOSED)


@case("http2/6.1/3", "Sends a DATA frame with invalid pad length")
def _(c):
    headers = common_headers(c, "POST") + [("content-length", "4")]
    c.write_headers(1, c.encode(headers), end_stream=False)
    c.send(
        b"\x00\x00\x05\x00\x09\x00\x00\x00\x01" + b"\x06Test",
        "DATA (length 5, PADDED|END_STREAM, stream 1, pad length 6)",
    )
    verify_connection_error(c, PROTOCOL_ERROR)


# ---- http2/6.2: HEADERS


@case("http2/6.2/1", "Sends a HEADERS frame without the END_HEADERS flag, and a PRIORITY frame")
def _(c):
    c.write_headers(1, c.encode(common_headers(c)), end_stream=False, end_headers=False)
    c.write_priority(1)
    c.write_continuation(1, c.encode(dummy_headers(1)))
    verify_connection_error(c, PROTOCOL_ERROR)


@case("http2/6.2/2", "Sends a HEADERS frame to another stream while sending a HEADERS frame")
def _(c):
    c.write_headers(1, c.encode(common_headers(c)), end_stream=False, end_headers=False)
    c.write_headers(3, c.encode(common_headers(c)))
    c.write_continuation(1, c.encode(dummy_headers(1)))
    verify_connection_error(c, PROTOCOL_ERROR)


@case("http2/6.2/3", "Sends a HEADERS frame with 0x0 stream identifier")
def _(c):
    c.write_headers(0, c.encode(common_headers(c)))
    verify_connection_error(c, PROTOCOL_ERROR)


@case("http2/6.2/4", "Sends a HEADERS frame with invalid pad length")
def _(c):
    block = c.encode(common_headers(c))
    payload = bytes([len(block) + 2]) + block
    c.write_frame(HEADERS, END_STREAM | END_HEADERS | PADDED, 1, payload)
    verify_stream_error(c, PROTOCOL_ERROR)


# ---- http2/6.3: PRIORITY


@case("http2/6.3/1", "Sends a PRIORITY frame with 0x0 stream identifier")
def _(c):
    c.write_priority(0)
    verify_connection_error(c, PROTOCOL_ERROR)


@case("http2/6.3/2", "Sends a PRIORITY frame with a length other than 5 octets")
def _(c):
    c.write_headers(1, c.encode(common_headers(c)))
    c.write_frame(PRIORITY, 0, 1, b"\x80\x00\x00\x01")
    verify_stream_error(c, FRAME_SIZE_ERROR)


@case(
    "http2/6.3/3",
    "Sends a PRIORITY frame for an idle stream, then send a HEADER frame for a lower stream ID",
    strict=True,
)
def _(c):
    c.write_priority(3)
    c.write_headers(1, c.encode(common_headers(c)))
    verify_event_type(c, HEADERS)


# ---- http2/6.4: RST_STREAM


@case("http2/6.4/1", "Sends a RST_STREAM frame with 0x0 stream identifier")
def _(c):
    c.write_rst(0, CANCEL)
    verify_connection_error(c, PROTOCOL_ERROR)


@case("http2/6.4/2", "Sends a RST_STREAM frame on a idle stream")
def _(c):
    c.write_rst(1, CANCEL)
    verify_connection_error(c, PROTOCOL_ERROR)


@case("http2/6.4/3", "Sends a RST_STREAM frame with a length other than 4 octets")
def _(c):
    c.write_headers(1, c.encode(common_headers(c)))
    c.write_frame(RST_STREAM, 0, 1, b"\0\0\0")
    verify_stream_error(c, FRAME_SIZE_ERROR)


# ---- http2/6.5: SETTINGS


@case("http2/6.5/1", "Sends a SETTINGS frame with ACK flag and payload")
def _(c):
    c.write_frame(SETTINGS, ACK, 0, b"\0")
    verify_connection_error(c, FRAME_SIZE_ERROR)


@case("http2/6.5/2", "Sends a SETTINGS frame with a stream identifier other than 0x0")
def _(c):
    c.write_frame(SETTINGS, 0, 1, b"\x00\x03\x00\x00\x00\x64")
    verify_connection_error(c, PROTOCOL_ERROR)


@case("http2/6.5/3", "Sends a SETTINGS frame with a length other than a multiple of 6 octets")
def _(c):
    c.write_frame(SETTINGS, 0, 0, b"\x00\x03\x00")
    verify_connection_error(c, FRAME_SIZE_ERROR)


# ---- http2/6.5.2: Defined SETTINGS Parameters


@case("http2/6.5.2/1", "SETTINGS_ENABLE_PUSH (0x2): Sends the value other than 0 or 1")
def _(c):
    c.write_settings((ENABLE_PUSH, 2))
    verify_connection_error(c, PROTOCOL_ERROR)


@case(
    "http2/6.5.2/2",
    "SETTINGS_INITIAL_WINDOW_SIZE (0x4): Sends the value above the maximum flow control window size",
)
def _(c):
    c.write_settings((INITIAL_WINDOW_SIZE, 2147483648))
    verify_connection_error(c, FLOW_CONTROL_ERROR)


@case("http2/6.5.2/3", "SETTINGS_MAX_FRAME_SIZE (0x5): Sends the value below the initial value")
def _(c):
    c.write_settings((MAX_FRAME_SIZE, 16383))
    verify_connection_error(c, PROTOCOL_ERROR)


@case(
    "http2/6.5.2/4",
    "SETTINGS_MAX_FRAME_SIZE (0x5): Sends the value above the maximum allowed frame size",
)
def _(c):
    c.write_settings((MAX_FRAME_SIZE, 16777216))
    verify_connection_error(c, PROTOCOL_ERROR)


@case("http2/6.5.2/5", "Sends a SETTINGS frame with unknown identifier")
def _(c):
    c.write_settings((0xFF, 1))
    c.write_ping()
    verify_event_type(c, PING)


# ---- http2/6.5.3: Settings Synchronization


@case("http2/6.5.3/1", "Sends multiple values of SETTINGS_INITIAL_WINDOW_SIZE")
def _(c):
    if server_data_length(c) < 1:
        raise Skipped("GET / has an empty body")
    c.write_settings((INITIAL_WINDOW_SIZE, 100), (INITIAL_WINDOW_SIZE, 1))
    verify_event_type(c, SETTINGS)
    c.write_headers(1, c.encode(common_headers(c)))
    verify_data_length(c, 1, 1)


@case("http2/6.5.3/2", "Sends a SETTINGS frame without ACK flag")
def _(c):
    c.write_settings((ENABLE_PUSH, 0))
    verify_settings_ack(c)


# ---- http2/6.7: PING


@case("http2/6.7/1", "Sends a PING frame")
def _(c):
    data = b"h2spec\0\0"
    c.write_ping(data)
    actual = None
    while not c.closed:
        ev = c.wait_event()
        if ev.is_frame(PING):
            actual = ev
            if ev.frame.has(ACK) and ev.frame.payload == data:
                return
        elif ev.kind == "timeout":
            actual = actual or ev
        else:
            actual = ev
    raise CaseFailed("PING Frame (length:8, flags:0x01, stream_id:0)", describe(actual))


@case("http2/6.7/2", "Sends a PING frame with ACK")
def _(c):
    unexpected, expected = b"invalid\0", b"h2spec\0\0"
    c.write_ping(unexpected, ack=True)
    c.write_ping(expected)
    actual = None
    while not c.closed:
        ev = c.wait_event()
        if ev.is_frame(PING):
            actual = ev
            if ev.frame.payload == unexpected:
                break
            if ev.frame.has(ACK) and ev.frame.payload == expected:
                return
        elif ev.kind == "timeout":
            actual = actual or ev
        else:
            actual = ev
    raise CaseFailed(
        "PING Frame (length:8, flags:0x01, stream_id:0, opaque_data:%r) only" % expected,
        describe(actual),
    )


@case("http2/6.7/3", "Sends a PING frame with a stream identifier field value other than 0x0")
def _(c):
    c.write_frame(PING, 0, 1, b"\0" * 8)
    verify_connection_error(c, PROTOCOL_ERROR)


@case("http2/6.7/4", "Sends a PING frame with a length field value other than 8")
def _(c):
    c.write_frame(PING, 0, 0, b"\0" * 6)
    verify_connection_error(c, FRAME_SIZE_ERROR)


# ---- http2/6.8: GOAWAY


@case("http2/6.8/1", "Sends a GOAWAY frame with a stream identifier other than 0x0")
def _(c):
    c.write_frame(GOAWAY, 0, 1, b"\0" * 8)
    verify_connection_error(c, PROTOCOL_ERROR)


# ---- http2/6.9: WINDOW_UPDATE


@case("http2/6.9/1", "Sends a WINDOW_UPDATE frame with a flow control window increment of 0")
def _(c):
    c.write_window_update(0, 0)
    verify_connection_error(c, PROTOCOL_ERROR)


@case(
    "http2/6.9/2",
    "Sends a WINDOW_UPDATE frame with a flow control window increment of 0 on a stream",
)
def _(c):
    c.write_headers(1, c.encode(common_headers(c)), end_stream=False)
    c.write_window_update(1, 0)
    verify_stream_error(c, PROTOCOL_ERROR)


@case("http2/6.9/3", "Sends a WINDOW_UPDATE frame with a length other than 4 octets")
def _(c):
    c.write_frame(WINDOW_UPDATE, 0, 0, b"\0\0\x01")
    verify_connection_error(c, FRAME_SIZE_ERROR)


# ---- http2/6.9.1: The Flow-Control Window


@case(
    "http2/6.9.1/1",
    "Sends SETTINGS frame to set the initial window size to 1 and sends HEADERS frame",
)
def _(c):
    if server_data_length(c) < 1:
        raise Skipped("GET / has an empty body")
    c.write_settings((INITIAL_WINDOW_SIZE, 1))
    verify_event_type(c, SETTINGS)
    c.write_headers(1, c.encode(common_headers(c)))
    verify_data_length(c, 1, 1)


@case(
    "http2/6.9.1/2",
    "Sends multiple WINDOW_UPDATE frames increasing the flow control window to above 2^31-1",
)
def _(c):
    c.write_window_update(0, 2147483647)
    c.write_window_update(0, 2147483647)
    ev, ok = c.wait_event_by_type(GOAWAY)
    if not ok or ev.frame.error_code() != FLOW_CONTROL_ERROR:
        raise CaseFailed("GOAWAY Frame (error_code:FLOW_CONTROL_ERROR)", describe(ev))


@case(
    "http2/6.9.1/3",
    "Sends multiple WINDOW_UPDATE frames increasing the flow control window to above 2^31-1 on a stream",
)
def _(c):
    c.write_headers(1, c.encode(common_headers(c)), end_stream=False)
    c.write_window_update(1, 2147483647)
    c.write_window_update(1, 2147483647)
    ev, ok = c.wait_event_by_type(RST_STREAM)
    if not ok or ev.frame.sid != 1 or ev.frame.error_code() != FLOW_CONTROL_ERROR:
        raise CaseFailed(
            "RST_STREAM Frame (stream_id:1, error_code:FLOW_CONTROL_ERROR)", describe(ev)
        )


# ---- http2/6.9.2: Initial Flow-Control Window Size


@case("http2/6.9.2/1", "Changes SETTINGS_INITIAL_WINDOW_SIZE after sending HEADERS frame")
def _(c):
    if server_data_length(c) < 1:
        raise Skipped("GET / has an empty body")
    c.write_settings((INITIAL_WINDOW_SIZE, 0))
    verify_event_type(c, SETTINGS)
    c.write_headers(1, c.encode(common_headers(c)))
    c.write_settings((INITIAL_WINDOW_SIZE, 1))
    verify_event_type(c, SETTINGS)
    verify_data_length(c, 1, 1)


@case("http2/6.9.2/2", "Sends a SETTINGS frame for window size to be negative")
def _(c):
    if server_data_length(c) < 5:
        raise Skipped("GET / has a body of less than 5 octets")
    c.write_settings((INITIAL_WINDOW_SIZE, 3))
    verify_event_type(c, SETTINGS)
    c.write_headers(1, c.encode(common_headers(c)))
    verify_event_type(c, DATA)
    c.write_settings((INITIAL_WINDOW_SIZE, 2))
    verify_event_type(c, SETTINGS)
    c.write_window_update(1, 2)
    verify_data_length(c, 1, 1)


@case(
    "http2/6.9.2/3",
    "Sends a SETTINGS_INITIAL_WINDOW_SIZE settings with an exceeded maximum window size value",
)
def _(c):
    c.write_frame(SETTINGS, 0, 0, b"\x00\x04\x80\x00\x00\x00")
    verify_connection_error(c, FLOW_CONTROL_ERROR)


# ---- http2/6.10: CONTINUATION


@case("http2/6.10/1", "Sends multiple CONTINUATION frames preceded by a HEADERS frame")
def _(c):
    c.write_headers(1, c.encode(common_headers(c)), end_headers=False)
    c.write_continuation(1, c.encode(dummy_headers(1)), end_headers=False)
    c.write_continuation(1, c.encode(dummy_headers(1)))
    verify_event_type(c, HEADERS)


@case("http2/6.10/2", "Sends a CONTINUATION frame followed by any frame other than CONTINUATION")
def _(c):
    c.write_headers(1, c.encode(common_headers(c, "POST")), end_stream=False, end_headers=False)
    c.write_continuation(1, c.encode(dummy_headers(1)), end_headers=False)
    c.write_data(1, b"test")
    verify_connection_error(c, PROTOCOL_ERROR)


@case("http2/6.10/3", "Sends a CONTINUATION frame with 0x0 stream identifier")
def _(c):
    c.write_headers(1, c.encode(common_headers(c)), end_headers=False)
    c.write_continuation(0, c.encode(dummy_headers(1)))
    verify_connection_error(c, PROTOCOL_ERROR)


@case(
    "http2/6.10/4",
    "Sends a CONTINUATION frame preceded by a HEADERS frame with END_HEADERS flag",
)
def _(c):
    c.write_headers(1, c.encode(common_headers(c)))
    c.write_continuation(1, c.encode(dummy_headers(1)))
    verify_connection_error(c, PROTOCOL_ERROR)


@case(
    "http2/6.10/5",
    "Sends a CONTINUATION frame preceded by a CONTINUATION frame with END_HEADERS flag",
)
def _(c):
    c.write_headers(1, c.encode(common_headers(c)), end_headers=False)
    c.write_continuation(1, c.encode(dummy_headers(1)))
    c.write_continuation(1, c.encode(dummy_headers(1)))
    verify_connection_error(c, PROTOCOL_ERROR)


@case("http2/6.10/6", "Sends a CONTINUATION frame preceded by a DATA frame")
def _(c):
    c.write_headers(1, c.encode(common_headers(c, "POST")), end_stream=False)
    c.write_data(1, b"test")
    c.write_continuation(1, c.encode(dummy_headers(1)))
    verify_connection_error(c, PROTOCOL_ERROR)


# ---- http2/7: Error Codes


@case("http2/7/1", "Sends a GOAWAY frame with unknown error code")
def _(c):
    c.write_goaway(0, 0xFF)
    verify_connection_close(c)


@case("http2/7/2", "Sends a RST_STREAM frame with unknown error code")
def _(c):
    c.write_headers(1, c.encode(common_headers(c, "POST")), end_stream=False)
    c.write_rst(1, 0xFF)
    c.write_ping()
    verify_event_type(c, PING)


# ---- http2/8.1: HTTP Request/Response Exchange


@case("http2/8.1/1", "Sends a second HEADERS frame without the END_STREAM flag")
def _(c):
    c.write_headers(1, c.encode(common_headers(c, "POST")), end_stream=False)
    c.write_data(1, b"test", end_stream=False)
    c.write_headers(1, c.encode([("x-test", "ok")]), end_stream=False)
    verify_stream_error(c, PROTOCOL_ERROR)


# ---- http2/8.1.2: HTTP Header Fields


def malformed_request(headers_of):
    def run(c):
        c.write_headers(1, c.encode(headers_of(c)))
        verify_stream_error(c, PROTOCOL_ERROR)

    return run


case(
    "http2/8.1.2/1",
    "Sends a HEADERS frame that contains the header field name in uppercase letters",
)(malformed_request(lambda c: common_headers(c) + [("X-TEST", "ok")]))

# ---- http2/8.1.2.1: Pseudo-Header Fields

case(
    "http2/8.1.2.1/1",
    "Sends a HEADERS frame that contains a unknown pseudo-header field",
)(malformed_request(lambda c: common_headers(c) + [(":test", "ok")]))

case(
    "http2/8.1.2.1/2",
    "Sends a HEADERS frame that contains the pseudo-header field defined for response",
)(malformed_request(lambda c: common_headers(c) + [(":status", "200")]))


@case("http2/8.1.2.1/3", "Sends a HEADERS frame that contains a pseudo-header field as trailers")
def _(c):
    c.write_headers(1, c.encode(common_headers(c, "POST")), end_stream=False)
    c.write_data(1, b"test", end_stream=False)
    c.write_headers(1, c.encode([(":method", "POST")]))
    verify_stream_error(c, PROTOCOL_ERROR)


case(
    "http2/8.1.2.1/4",
    "Sends a HEADERS frame that contains a pseudo-header field that appears in a header block "
    "after a regular header field",
)(malformed_request(lambda c: [("x-test", "ok")] + common_headers(c)))

# ---- http2/8.1.2.2: Connection-Specific Header Fields

case(
    "http2/8.1.2.2/1",
    "Sends a HEADERS frame that contains the connection-specific header field",
)(malformed_request(lambda c: common_headers(c) + [("connection", "keep-alive")]))

case(
    "http2/8.1.2.2/2",
    'Sends a HEADERS frame that contains the TE header field with any value other than "trailers"',
)(malformed_request(lambda c: common_headers(c) + [("trailers", "test"), ("te", "trailers, deflate")]))


# ---- http2/8.1.2.3: Request Pseudo-Header Fields


def without(name):
    return lambda c: [h for h in common_headers(c) if h[0] != name]


def with_value(name, value):
    return lambda c: [(n, value if n == name else v) for n, v in common_headers(c)]


def duplicated(name):
    return lambda c: common_headers(c) + [h for h in common_headers(c) if h[0] == name]


case("http2/8.1.2.3/1", 'Sends a HEADERS frame with empty ":path" pseudo-header field')(
    malformed_request(with_value(":path", ""))
)
case("http2/8.1.2.3/2", 'Sends a HEADERS frame that omits ":method" pseudo-header field')(
    malformed_request(without(":method"))
)
case("http2/8.1.2.3/3", 'Sends a HEADERS frame that omits ":scheme" pseudo-header field')(
    malformed_request(without(":scheme"))
)
case("http2/8.1.2.3/4", 'Sends a HEADERS frame that omits ":path" pseudo-header field')(
    malformed_request(without(":path"))
)
case("http2/8.1.2.3/5", 'Sends a HEADERS frame with duplicated ":method" pseudo-header field')(
    malformed_request(duplicated(":method"))
)
case("http2/8.1.2.3/6", 'Sends a HEADERS frame with duplicated ":scheme" pseudo-header field')(
    malformed_request(duplicated(":scheme"))
)
case("http2/8.1.2.3/7", 'Sends a HEADERS frame with duplicated ":path" pseudo-header field')(
    malformed_request(duplicated(":path"))
)

# ---- http2/8.1.2.6: Malformed Requests and Responses


def content_length_mismatch(pieces):
    def run(c):
        headers = common_headers(c, "POST") + [("content-length", "1")]
        c.write_headers(1, c.encode(headers), end_stream=False)
        for i, piece in enumerate(pieces):
            c.write_data(1, piece, end_stream=i == len(pieces) - 1)
        verify_stream_error(c, PROTOCOL_ERROR)

    return run


case(
    "http2/8.1.2.6/1",
    'Sends a HEADERS frame with the "content-length" header field which does not equal the '
    "DATA frame payload length",
)(content_length_mismatch([b"test"]))
case(
    "http2/8.1.2.6/2",
    'Sends a HEADERS frame with the "content-length" header field which does not equal the sum '
    "of the multiple DATA frames payload length",
)(content_length_mismatch([b"test", b"test"]))


# ---- http2/8.2: Server Push


@case("http2/8.2/1", "Sends a PUSH_PROMISE frame")
def _(c):
    c.write_push_promise(1, 3, c.encode(common_headers(c)))
    verify_connection_error(c, PROTOCOL_ERROR)


# ---- hpack: HPACK (RFC 7541), representations appended to the common request header block


def hpack_decoding_error(rep, prefix=False):
    def run(c):
        block = c.encode(common_headers(c))
        block = rep + block if prefix else block + rep
        c.write_headers(1, block)
        verify_connection_error(c, COMPRESSION_ERROR)

    return run


case("hpack/2.3.3/1", "Sends a indexed header field representation with invalid index")(
    hpack_decoding_error(b"\xfe")  # index 126
)
case("hpack/2.3.3/2", "Sends a literal header field representation with invalid index")(
    hpack_decoding_error(b"\x7f\x3f\x06h2spec")  # incremental indexing, name index 126
)
case("hpack/4.2/1", "Sends a dynamic table size update at the end of header block")(
    hpack_decoding_error(b"\x21")
)
case(
    "hpack/5.2/1",
    "Sends a Huffman-encoded string literal representation with padding longer than 7 bits",
)(hpack_decoding_error(b"\x00\x85\xf2\xb2\x4a\x84\xff\x84\x49\x50\x9f\xff"))
case("hpack/5.2/2", "Sends a Huffman-encoded string literal representation padded by zero")(
    hpack_decoding_error(b"\x00\x85\xf2\xb2\x4a\x84\xff\x83\x49\x50\x90")
)
case(
    "hpack/5.2/3",
    "Sends a Huffman-encoded string literal representation containing the EOS symbol",
)(hpack_decoding_error(b"\x00\x85\xf2\xb2\x4a\x87\xff\xff\xff\xfd\x25\x42\x7f"))
case("hpack/6.1/1", "Sends a indexed header field representation with index 0")(
    hpack_decoding_error(b"\x80")
)


def table_size_update(size):
    """A dynamic table size update of `size` (5-bit prefix integer)."""
    if size < 31:
        return bytes([0x20 | size])
    out, size = [0x3F], size - 31
    while size >= 128:
        out.append(0x80 | (size & 0x7F))
        size >>= 7
    out.append(size)
    return bytes(out)


@case(
    "hpack/6.3/1",
    "Sends a dynamic table size update larger than the value of SETTINGS_HEADER_TABLE_SIZE",
)
def _(c):
    limit = c.settings.get(HEADER_TABLE_SIZE, 4096)
    hpack_decoding_error(table_size_update(limit + 1), prefix=True)(c)


# ---- rfc9113: MUST-level requirements of RFC 9113 that h2spec does not test (not h2spec cases)


def verify_connection_error_exact(c, code):
    """Stricter than h2spec: a GOAWAY with exactly `code` (a close without one is accepted, the
    GOAWAY being a SHOULD), and then the connection closing (RFC 9113 5.4.1: MUST close)."""
    actual = None
    while not c.closed:
        ev = c.wait_event()
        if ev.kind == "closed":
            return
        if ev.is_frame(GOAWAY):
            if ev.frame.error_code() != code:
                raise CaseFailed("GOAWAY Frame (error_code:%s)" % code_name(code), str(ev))
            verify_connection_close(c)
            return
        if ev.kind == "timeout":
            actual = actual or ev
        else:
            actual = ev
    raise CaseFailed(
        "GOAWAY Frame (error_code:%s), then Connection closed" % code_name(code), describe(actual)
    )


RFC9113_MALFORMED = [
    ("8.2.1/1", "field value containing CR LF", [("x-test", "a\r\nb")]),
    ("8.2.1/2", "field value containing NUL", [("x-test", "a\0b")]),
    ("8.2.1/3", "field value with leading whitespace", [("x-test", " ok")]),
    ("8.2.1/4", "field value with trailing whitespace", [("x-test", "ok\t")]),
    ("8.2.1/5", "field name containing a space", [("x test", "ok")]),
    ("8.2.1/6", "field name containing a colon", [("x:test", "ok")]),
    ("8.2.1/7", "empty field name", [("", "ok")]),
    ("8.2.2/1", "keep-alive field", [("keep-alive", "timeout=5")]),
    ("8.2.2/2", "proxy-connection field", [("proxy-connection", "keep-alive")]),
    ("8.2.2/3", "transfer-encoding field", [("transfer-encoding", "chunked")]),
    ("8.2.2/4", "upgrade field", [("upgrade", "h2c")]),
]
for _id, _what, _extra in RFC9113_MALFORMED:
    case(
        "rfc9113/%s" % _id,
        "Sends a HEADERS frame with a %s (malformed: stream error PROTOCOL_ERROR)" % _what,
    )(malformed_request(lambda c, _extra=_extra: common_headers(c) + _extra))

case(
    "rfc9113/8.2.1/8",
    "Sends a HEADERS frame with an uppercase pseudo-header name (malformed)",
)(malformed_request(lambda c: [(":METHOD", "GET")] + common_headers(c)[1:]))


@case("rfc9113/8.2.2/5", 'Sends a HEADERS frame with "te: trailers" (valid: expects a response)')
def _(c):
    c.write_headers(1, c.encode(common_headers(c) + [("te", "trailers")]))
    verify_headers_frame(c, 1)


@case(
    "rfc9113/8.1.1/1",
    "Sends a GET with content-length: 5 and END_STREAM on HEADERS (malformed: body length 0)",
)
def _(c):
    c.write_headers(1, c.encode(common_headers(c) + [("content-length", "5")]))
    verify_stream_error(c, PROTOCOL_ERROR)


@case(
    "rfc9113/8.1.1/2",
    "Sends a POST with content-length: 2 and a DATA frame of 4 octets without END_STREAM",
)
def _(c):
    headers = common_headers(c, "POST") + [("content-length", "2")]
    c.write_headers(1, c.encode(headers), end_stream=False)
    c.write_data(1, b"test", end_stream=False)
    verify_stream_error(c, PROTOCOL_ERROR)


@case("rfc9113/6.2/1", "HEADERS with invalid pad length: GOAWAY PROTOCOL_ERROR, then close")
def _(c):
    block = c.encode(common_headers(c))
    c.write_frame(HEADERS, END_STREAM | END_HEADERS | PADDED, 1, bytes([len(block) + 2]) + block)
    verify_connection_error_exact(c, PROTOCOL_ERROR)


@case("rfc9113/6.4/1", "RST_STREAM of 3 octets: GOAWAY FRAME_SIZE_ERROR, then close")
def _(c):
    c.write_headers(1, c.encode(common_headers(c)), end_stream=False)
    c.write_frame(RST_STREAM, 0, 1, b"\0\0\0")
    verify_connection_error_exact(c, FRAME_SIZE_ERROR)


@case("rfc9113/6.9/1", "WINDOW_UPDATE of 3 octets on a stream: GOAWAY FRAME_SIZE_ERROR, then close")
def _(c):
    c.write_headers(1, c.encode(common_headers(c)), end_stream=False)
    c.write_frame(WINDOW_UPDATE, 0, 1, b"\0\0\x01")
    verify_connection_error_exact(c, FRAME_SIZE_ERROR)


@case("rfc9113/5.1.1/1", "HEADERS on an even stream: GOAWAY PROTOCOL_ERROR, then close")
def _(c):
    c.write_headers(2, c.encode(common_headers(c)))
    verify_connection_error_exact(c, PROTOCOL_ERROR)


@case(
    "rfc9113/5.1.1/2",
    "HEADERS on stream 3 after stream 5: GOAWAY PROTOCOL_ERROR, then close",
)
def _(c):
    c.write_headers(5, c.encode(common_headers(c)))
    c.write_headers(3, c.encode(common_headers(c)))
    verify_connection_error_exact(c, PROTOCOL_ERROR)


@case("rfc9113/4.3/1", "Invalid header block: GOAWAY COMPRESSION_ERROR, then close")
def _(c):
    c.write_frame(HEADERS, END_STREAM | END_HEADERS, 1, b"\x40")
    verify_connection_error_exact(c, COMPRESSION_ERROR)


@case("rfc9113/6.5.2/1", "SETTINGS_MAX_FRAME_SIZE 16383: GOAWAY PROTOCOL_ERROR, then close")
def _(c):
    c.write_settings((MAX_FRAME_SIZE, 16383))
    verify_connection_error_exact(c, PROTOCOL_ERROR)


# -- running ---------------------------------------------------------------------------------


def run_case(args, cid, desc, fn, handshake):
    c = None
    try:
        c = Conn(args.host, args.port, args.timeout, args.verbose)
        if handshake:
            c.handshake()
        fn(c)
        return "PASS", ("note: " + "; ".join(c.notes)) if c.notes else ""
    except Skipped as s:
        return "SKIP", str(s)
    except CaseFailed as f:
        return "FAIL", "expected: %s | arrived: %s" % (f.expected, f.actual)
    except OSError as e:
        return "FAIL", "expected: a connection | arrived: %s" % e
    finally:
        if c is not None:
            c.close()
            if args.trace and c.trace:
                print("\n".join("      " + t for t in c.trace), flush=True)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("host")
    p.add_argument("port", type=int)
    p.add_argument("prefixes", nargs="*", help="run only the cases whose id starts with one")
    p.add_argument("--timeout", type=float, default=2.0, help="seconds per read (h2spec: 2)")
    p.add_argument("--strict", action="store_true", help="also run h2spec's strict cases")
    p.add_argument("-v", "--verbose", action="store_true", help="print frames as they go")
    p.add_argument("--trace", action="store_true", help="print each case's frames after it")
    p.add_argument("--list", action="store_true", help="list the cases and exit")
    args = p.parse_intermixed_args()

    selected = [
        cs
        for cs in CASES
        if (args.strict or not cs[3])
        and (not args.prefixes or any(cs[0].startswith(x) for x in args.prefixes))
    ]
    if args.list:
        for cid, desc, _fn, strict, _hs in selected:
            print("%s  %s%s" % (cid, desc, "  [strict]" if strict else ""))
        return 0

    counts = {"PASS": 0, "FAIL": 0, "SKIP": 0}
    for cid, desc, fn, _strict, handshake in selected:
        if args.verbose:
            print("---- %s  %s" % (cid, desc), flush=True)
        verdict, detail = run_case(args, cid, desc, fn, handshake)
        counts[verdict] += 1
        line = "%s %s  %s" % (verdict, cid, desc)
        if detail:
            line += " -- " + detail
        print(line, flush=True)
    summary = "conformance: %d passed, %d failed" % (counts["PASS"], counts["FAIL"])
    if counts["SKIP"]:
        summary += ", %d skipped" % counts["SKIP"]
    print(summary, flush=True)
    return 1 if counts["FAIL"] else 0


if __name__ == "__main__":
    sys.exit(main())
