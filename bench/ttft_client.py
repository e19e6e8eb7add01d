#!/usr/bin/env python3
"""Time to first body byte (TTFB/TTFT) of streaming chat requests, sequential, one keep-alive
connection (bench/gateway_load.sh). Python 3 stdlib only.

Each request: send the whole request, then time (a) the first byte of the response body (the
first SSE chunk) and (b) the end of the response. Prints one machine-readable line:
  RESULT n=N ok=K ttfb_p50=US ttfb_p99=US ttfb_p999=US total_p50=US total_p99=US
(latencies in microseconds). Non-200 responses count as failures (ok < n) and are not timed.
"""
import argparse
import os
import socket
import sys
import time

BODY = ('{"model":"llama-3.1-8b","max_tokens":16,"stream":true,'
        '"messages":[{"role":"system","content":"You are a helpful assistant for a bank."},'
        '{"role":"user","content":"Summarise the residency rules for EU customer data in two '
        'lines."}]}').encode()


class Conn:
    def __init__(self, host, port, timeout):
        self.addr = (host, port)
        self.timeout = timeout
        self.sock = None
        self.buf = b""

    def open(self):
        self.close()
        self.sock = socket.create_connection(self.addr, timeout=self.timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""

    def close(self):
        if self.sock:
            self.sock.close()
        self.sock = None

    def fill(self):
        data = self.sock.recv(65536)
        if not data:
            raise ConnectionError("connection closed")
        self.buf += data

    def read_until(self, sep, limit=1 << 20):
        for _ in range(100000):
            i = self.buf.find(sep)
            if i >= 0:
                out, self.buf = self.buf[:i], self.buf[i + len(sep):]
                return out
            if len(self.buf) > limit:
                raise ValueError("line too long")
            self.fill()
        raise ValueError("separator never arrived")

    def read_exact(self, n):
        for _ in range(100000):
            if len(self.buf) >= n:
                out, self.buf = self.buf[:n], self.buf[n:]
                return out
            self.fill()
        raise ValueError("body never completed")


def parse_headers(items):
    """["Name: value", ...] -> "Name: value\\r\\n..." (a value may hold ':'); ValueError if bad."""
    out = ""
    for item in items:
        name, sep, value = item.partition(":")
        name, value = name.strip(), value.strip()
        if not sep or not name or any(ch in item for ch in "\r\n") or \
                not all(ch.isalnum() or ch == "-" for ch in name):
            raise ValueError(f"not 'Name: value': {item!r}")
        out += f"{name}: {value}\r\n"
    return out


def one_request(c, host, path, key, extra=""):
    """Returns (status, ttfb_seconds, total_seconds, keep_alive)."""
    req = (f"POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
           f"Accept: text/event-stream\r\nAuthorization: Bearer {key}\r\n{extra}"
           f"Content-Length: {len(BODY)}\r\n\r\n").encode() + BODY
    t0 = time.perf_counter()
    c.sock.sendall(req)
    head = c.read_until(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    hdrs = {}
    for ln in lines[1:]:
        k, _, v = ln.partition(":")
        hdrs[k.strip().lower()] = v.strip()
    # First body byte: already buffered with the head, or the next recv.
    if not c.buf:
        c.fill()
    t_first = time.perf_counter()
    if hdrs.get("transfer-encoding", "").lower() == "chunked":
        for _ in range(1000000):
            size = int(c.read_until(b"\r\n").split(b";")[0], 16)
            if size == 0:
                c.read_until(b"\r\n")  # no trailers expected
                break
            c.read_exact(size + 2)
    elif "content-length" in hdrs:
        c.read_exact(int(hdrs["content-length"]))
    else:  # close-delimited
        try:
            for _ in range(1000000):
                c.fill()
        except ConnectionError:
            pass
        return status, t_first - t0, time.perf_counter() - t0, False
    t_end = time.perf_counter()
    keep = hdrs.get("connection", "").lower() != "close"
    return status, t_first - t0, t_end - t0, keep


def pct(sorted_vals, p):
    if not sorted_vals:
        return 0
    i = min(len(sorted_vals) - 1, max(0, int(round(p / 100.0 * len(sorted_vals) + 0.5)) - 1))
    return sorted_vals[i]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--path", default="/v1/chat/completions")
    ap.add_argument("--key", default="sk-bench-load")
    ap.add_argument("-n", type=int, default=2000, help="sequential requests (after warm-up)")
    ap.add_argument("--warmup", type=int, default=50)
    ap.add_argument("--timeout", type=float, default=10.0)
    ap.add_argument("--header", action="append", default=[],
                    help="extra request header 'Name: value' (repeatable); also read from "
                         "BENCH_EXTRA_HEADERS='Name: value; Name: value' like bench/lua/chat.lua")
    a = ap.parse_args()
    env = [h for h in os.environ.get("BENCH_EXTRA_HEADERS", "").split(";") if h.strip()]
    try:
        extra = parse_headers(env + a.header)
    except ValueError as e:
        ap.error(str(e))
    c = Conn(a.host, a.port, a.timeout)
    c.open()
    ttfb, total, ok = [], [], 0
    for i in range(a.warmup + a.n):
        try:
            status, tf, tt, keep = one_request(c, a.host, a.path, a.key, extra)
        except (OSError, ValueError) as e:
            print(f"request {i}: {e}", file=sys.stderr)
            c.open()
            continue
        if not keep:
            c.open()
        if i < a.warmup:
            continue
        if status == 200:
            ok += 1
            ttfb.append(tf)
            total.append(tt)
    ttfb.sort()
    total.sort()
    us = lambda v: int(v * 1e6)
    print(f"RESULT n={a.n} ok={ok} ttfb_p50={us(pct(ttfb, 50))} ttfb_p99={us(pct(ttfb, 99))} "
          f"ttfb_p999={us(pct(ttfb, 99.9))} total_p50={us(pct(total, 50))} "
          f"total_p99={us(pct(total, 99))}")
    return 0 if ok == a.n else 1


if __name__ == "__main__":
    sys.exit(main())
