#!/usr/bin/env python3
"""A one-shot httpx client: a peer for pollhttp's server tests.

    httpx_client.py URL [--method M] [--data STR] [--http2] [--header 'Name: value']... [--timeout S]
                        [--cacert FILE]

--data sends STR (UTF-8) as the body, with POST as the default method.
--http2 uses HTTP/2 only: on an http:// URL that is prior knowledge (h2c), no Upgrade; on an
https:// URL it is offered by ALPN (h2 only).
--cacert verifies an https server against the CA certificates in FILE (PEM) instead of the
system's.
Stdout: the status code on the first line, then the response body bytes exactly as received.
Stderr: one line naming the HTTP version the exchange used (e.g. "http_version: HTTP/2").
Exit status: 0 on any HTTP response (whatever its status), 1 on a transport or protocol
failure, 2 on a usage error.
"""
import argparse
import ssl
import sys

import httpx


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("url")
    ap.add_argument("--method")
    ap.add_argument("--data")
    ap.add_argument("--http2", action="store_true")
    ap.add_argument("--header", action="append", default=[])
    ap.add_argument("--timeout", type=float, default=10.0)
    ap.add_argument("--cacert")
    a = ap.parse_args()

    method = a.method or ("POST" if a.data is not None else "GET")
    headers = []
    for h in a.header:
        name, sep, value = h.partition(":")
        if not sep:
            ap.error(f"--header wants 'Name: value', got {h!r}")
        headers.append((name.strip(), value.strip()))
    content = a.data.encode() if a.data is not None else None

    try:
        # trust_env=False: never pick up *_proxy from the environment, loopback only.
        verify = ssl.create_default_context(cafile=a.cacert) if a.cacert else True
        with httpx.Client(http1=not a.http2, http2=a.http2, timeout=a.timeout, trust_env=False,
                          verify=verify) as client:
            response = client.request(method, a.url, content=content, headers=headers)
    except httpx.HTTPError as e:
        print(f"request failed: {type(e).__name__}: {e}", file=sys.stderr)
        return 1
    print(f"http_version: {response.http_version}", file=sys.stderr)
    out = sys.stdout.buffer
    out.write(f"{response.status_code}\n".encode())
    out.write(response.content)
    out.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
