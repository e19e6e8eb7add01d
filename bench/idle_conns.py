#!/usr/bin/env python3
"""Opens N idle TCP connections to HOST:PORT and holds them (bench/memory.sh). Python 3 stdlib.

Prints "open K" once K connections are established (K < N if the peer refuses), then keeps them
open until stdin closes or --hold seconds pass. Raises RLIMIT_NOFILE as far as the hard limit
allows.
"""
import argparse
import resource
import select
import socket
import sys
import time


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("-n", type=int, default=10000)
    ap.add_argument("--hold", type=float, default=120.0, help="seconds to hold at most")
    a = ap.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = a.n + 64
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(want, hard), hard))
    socks = []
    t0 = time.monotonic()
    for _ in range(a.n):
        if time.monotonic() - t0 > 60:
            break
        try:
            s = socket.create_connection((a.host, a.port), timeout=5)
        except OSError as e:
            print(f"connect failed after {len(socks)}: {e}", file=sys.stderr)
            break
        socks.append(s)
    print(f"open {len(socks)}", flush=True)
    deadline = time.monotonic() + a.hold
    while time.monotonic() < deadline:
        r, _, _ = select.select([sys.stdin], [], [], 0.5)
        if r and not sys.stdin.readline():
            break
    # How many did the peer close meanwhile (idle timeout, connection limit)?
    closed = 0
    for s in socks:
        s.setblocking(False)
        try:
            if s.recv(1, socket.MSG_PEEK) == b"":
                closed += 1
        except BlockingIOError:
            pass
        except OSError:
            closed += 1
    print(f"closed_by_peer {closed}", flush=True)
    for s in socks:
        s.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
