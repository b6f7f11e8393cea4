#!/usr/bin/env python3
"""An HTTP/1.0 server whose answers have no Content-Length: the body ends when the connection
closes. A peer for pollhttp's client tests (python's http.server always sends a length).

    http10_close_server.py PORT

GET /big: BIG bytes of i % 251 (the same pattern as nginx's /big.bin), written in pieces.
GET /truncated: a Content-Length of 100 but only 10 bytes, then the connection closes.
Any other GET: "close-delimited body from python\\n".
Each answer is HTTP/1.0 200 with Content-Type text/plain; the connection closes after it.
"""
import http.server
import sys

BIG = 100 * 1024


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"

    def do_GET(self):
        if self.path == "/big":
            body = bytes(i % 251 for i in range(BIG))
        else:
            body = b"close-delimited body from python\n"
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        if self.path == "/truncated":
            self.send_header("Content-Length", "100")
            body = b"0123456789"
        self.end_headers()
        for i in range(0, len(body), 8192):
            self.wfile.write(body[i:i + 8192])
            self.wfile.flush()
        self.close_connection = True

    def log_message(self, fmt, *args):
        sys.stderr.write("http10_close_server: " + (fmt % args) + "\n")


def main():
    port = int(sys.argv[1])
    server = http.server.HTTPServer(("127.0.0.1", port), Handler)
    server.serve_forever()


if __name__ == "__main__":
    main()
