#!/usr/bin/env python3
"""Prints bench/gateway_defaults.sh's table and verdict lines from its raw TSV results.

Every ratio is taken within one round (the targets of a round ran seconds apart) and the median
over rounds is reported, so a shared machine that slows down between rounds moves both sides.
Exit status 1 only when a run failed (errors, no requests); a missed target is a figure.
"""
import argparse
import statistics
import sys

TARGETS = ("direct", "nginx", "gw", "gw-none", "gw-nospill", "gw-base", "portkey")


def load(path):
    rows = {}
    with open(path) as f:
        for ln in f:
            kind, target, rnd, conns, kv = ln.rstrip("\n").split("\t")
            vals = {k: float(v) for k, v in (p.split("=", 1) for p in kv.split())}
            rows[(kind, target, int(rnd), int(conns))] = vals
    return rows


def med(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def fmt(x, spec=".2f"):
    return "n/a" if x is None else format(x, spec)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("results")
    ap.add_argument("--saturation", type=int, default=32)
    ap.add_argument("--load", default="?", help="load average at the end, for the verdict lines")
    a = ap.parse_args()
    rows = load(a.results)
    sat = a.saturation
    rounds = sorted({k[2] for k in rows})
    present = [t for t in TARGETS if any(k[1] == t for k in rows)]
    failed = False
    for (kind, t, r, c), v in rows.items():
        if kind == "wrk" and (v["requests"] == 0 or v["connect_err"] + v["read_err"] +
                              v["write_err"] + v["status_err"] + v["timeout_err"] > 0):
            failed = True
            print(f"run failed or had errors: {t} round {r} c={c}: {v}")
        if kind == "ttft" and v["ok"] < v["n"]:
            failed = True
            print(f"ttft run failed: {t} round {r}: {v}")

    def get(kind, t, r, c, key):
        v = rows.get((kind, t, r, c))
        return None if v is None else v.get(key)

    print(f"Medians over {len(rounds)} round(s) (latencies in us; cpu = whole process tree per "
          f"request at c={sat})")
    print(f"  {'target':<12} {'rps@1':>7} {'p50@1':>6} {'p99@1':>6} {'p999@1':>7} {'rps@' + str(sat):>8} "
          f"{'p99@' + str(sat):>8} {'cpu us':>7} {'ttfb p50':>8} {'ttfb p99':>8}")
    for t in present:
        m = lambda kind, c, key: med([get(kind, t, r, c, key) for r in rounds])
        print(f"  {t:<12} {fmt(m('wrk', 1, 'rps'), '.0f'):>7} {fmt(m('wrk', 1, 'p50'), '.0f'):>6} "
              f"{fmt(m('wrk', 1, 'p99'), '.0f'):>6} {fmt(m('wrk', 1, 'p999'), '.0f'):>7} "
              f"{fmt(m('wrk', sat, 'rps'), '.0f'):>8} "
              f"{fmt(m('wrk', sat, 'p99'), '.0f'):>8} {fmt(m('wrk', sat, 'cpu_us'), '.1f'):>7} "
              f"{fmt(m('ttft', 1, 'ttfb_p50'), '.0f'):>8} {fmt(m('ttft', 1, 'ttfb_p99'), '.0f'):>8}")
    print()

    def per_round(f):
        out = []
        for r in rounds:
            try:
                out.append(f(r))
            except (TypeError, ZeroDivisionError):
                out.append(None)
        return out

    def div(x, y):
        return None if x is None or y is None or y <= 0 else x / y

    def sub(x, y):
        return None if x is None or y is None else x - y

    w = lambda t, r, c, k: get("wrk", t, r, c, k)
    checks = [  # (summary key, line, op, target, per-round value)
        ("audit_added_p99@1_us", "audit: added p99 at 1 connection, gw - gw-none (us)", "<=", 500,
         lambda r: sub(w("gw", r, 1, "p99"), w("gw-none", r, 1, "p99"))),
        ("audit_thr", f"audit: req/s at {sat} connections, gw / gw-none", ">=", 0.85,
         lambda r: div(w("gw", r, sat, "rps"), w("gw-none", r, sat, "rps"))),
        ("thr_vs_nginx", f"gateway: req/s at {sat} connections, gw / nginx", ">=", 0.90,
         lambda r: div(w("gw", r, sat, "rps"), w("nginx", r, sat, "rps"))),
        ("added_p99@1_vs_nginx", "gateway: added p99 at 1 connection (over direct), gw / nginx", "<=", 1.50,
         lambda r: div(sub(w("gw", r, 1, "p99"), w("direct", r, 1, "p99")),
                       sub(w("nginx", r, 1, "p99"), w("direct", r, 1, "p99")))),
        ("cpu_vs_nginx", f"gateway: CPU per request at {sat} connections, gw / nginx", "<=", 1.10,
         lambda r: div(w("gw", r, sat, "cpu_us"), w("nginx", r, sat, "cpu_us"))),
        ("ttft_added_p99_us", "streaming: added TTFT p99 (first byte), gw - direct (us)", "<=", 300,
         lambda r: sub(get("ttft", "gw", r, 1, "ttfb_p99"), get("ttft", "direct", r, 1, "ttfb_p99"))),
    ]
    print(f"Verdicts (median of per-round values; load avg at end {a.load})")
    summary = []
    for key, name, op, target, f in checks:
        vals = per_round(f)
        m = med(vals)
        if m is None:
            continue
        ok = m <= target if op == "<=" else m >= target
        spec = ".0f" if target > 10 else ".2f"
        rounds_txt = " ".join(fmt(v, spec) for v in vals)
        print(f"  {'MEETS ' if ok else 'MISSES'} {name}: {fmt(m, spec)} (target {op} {target}; "
              f"rounds: {rounds_txt})")
        summary.append(f"{key}={fmt(m, spec)}{'' if ok else ' (MISS)'}")
    if "gw-nospill" in present:
        add = med(per_round(lambda r: sub(w("gw-nospill", r, 1, "p99"), w("gw-none", r, 1, "p99"))))
        p999 = med(per_round(lambda r: sub(w("gw-nospill", r, 1, "p999"), w("gw-none", r, 1, "p999"))))
        p999_gw = med(per_round(lambda r: sub(w("gw", r, 1, "p999"), w("gw-none", r, 1, "p999"))))
        thr = med(per_round(lambda r: div(w("gw-nospill", r, sat, "rps"), w("gw-none", r, sat, "rps"))))
        print(f"  (without the spill: added p99 at 1 connection over gw-none {fmt(add, '.0f')} us, "
              f"added p99.9 {fmt(p999, '.0f')} us against {fmt(p999_gw, '.0f')} us with it, "
              f"req/s at {sat} vs gw-none {fmt(thr)})")
    if "gw-base" in present:
        add = med(per_round(lambda r: sub(w("gw-base", r, 1, "p99"), w("gw-none", r, 1, "p99"))))
        thr = med(per_round(lambda r: div(w("gw-base", r, sat, "rps"), w("gw-none", r, sat, "rps"))))
        print(f"  (baseline binary: added p99 at 1 connection over gw-none {fmt(add, '.0f')} us, "
              f"req/s at {sat} vs gw-none {fmt(thr)})")
    if "portkey" in present:  # a peer, not a verdict: gw over portkey, > 1 = gw more of it
        thr = med(per_round(lambda r: div(w("gw", r, sat, "rps"), w("portkey", r, sat, "rps"))))
        cpu = med(per_round(lambda r: div(w("gw", r, sat, "cpu_us"), w("portkey", r, sat, "cpu_us"))))
        add = med(per_round(lambda r: div(sub(w("gw", r, 1, "p99"), w("direct", r, 1, "p99")),
                                          sub(w("portkey", r, 1, "p99"), w("direct", r, 1, "p99")))))
        x = lambda v: "n/a" if v is None else f"{v:.2f}x"
        print(f"  gateway/portkey req/s at saturation: {x(thr)}, CPU per request: {x(cpu)}, "
              f"added p99 at 1 connection: {x(add)}")
    print()
    print("SUMMARY\tgateway_defaults\tdefaults, unpinned, vs nginx\t" + "; ".join(summary))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
