#!/usr/bin/env python3
"""Two GET requests on one keep-alive HTTP/1.1 connection, with h11: a peer for pollhttp's
server tests.

    h11_client.py HOST PORT PATH [--timeout S]

Stdout, for each of the two responses: a line "{status} {body length}", the body bytes, "\n".
Stderr: what went wrong, if anything.
Exit status: 0 when both requests got a response on the same connection; 1 if the connection
failed, the server broke the protocol, or it did not keep the connection open for the second
request; 2 on a usage error.
"""
import argparse
import socket
import sys

import h11


def exchange(sock, conn, host, path):
    """Sends one GET and reads its response; returns (status, body bytes)."""
    request = h11.Request(method="GET", target=path,
                          headers=[("Host", host), ("User-Agent", "pollhttp-h11-client")])
    sock.sendall(conn.send(request))
    sock.sendall(conn.send(h11.EndOfMessage()))
    status, body = None, bytearray()
    while True:
        event = conn.next_event()
        if event is h11.NEED_DATA:
            data = sock.recv(65536)
            conn.receive_data(data)  # b"" marks EOF; h11 then reports an error or ConnectionClosed
            continue
        if isinstance(event, h11.InformationalResponse):
            continue
        if isinstance(event, h11.Response):
            status = event.status_code
        elif isinstance(event, h11.Data):
            body += event.data
        elif isinstance(event, h11.EndOfMessage):
            return status, bytes(body)
        elif isinstance(event, h11.ConnectionClosed):
            raise RuntimeError("connection closed before the response ended")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("host")
    ap.add_argument("port", type=int)
    ap.add_argument("path")
    ap.add_argument("--timeout", type=float, default=10.0)
    a = ap.parse_args()

    conn = h11.Connection(our_role=h11.CLIENT)
    out = sys.stdout.buffer
    try:
        with socket.create_connection((a.host, a.port), timeout=a.timeout) as sock:
            for i in (1, 2):
                status, body = exchange(sock, conn, f"{a.host}:{a.port}", a.path)
                out.write(f"{status} {len(body)}\n".encode() + body + b"\n")
                out.flush()
                if i == 1:
                    if conn.our_state is not h11.DONE or conn.their_state is not h11.DONE:
                        print(f"connection not reusable after response 1 (client {conn.our_state}, "
                              f"server {conn.their_state}): no keep-alive", file=sys.stderr)
                        return 1
                    conn.start_next_cycle()
    except (OSError, h11.ProtocolError, RuntimeError) as e:
        print(f"h11 client failed: {type(e).__name__}: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
