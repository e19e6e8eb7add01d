#!/usr/bin/env python3
"""Prints the table of bench/gateway_load.sh from its raw TSV results (docs/benchmarks.md)."""
import argparse
import statistics
import sys

GATEWAYS = ("gw+audit", "gw+async", "gw-noaudit", "gw-bare")


def load(path):
    rows = {}
    with open(path) as f:
        for ln in f:
            kind, target, scenario, conns, kv = ln.rstrip("\n").split("\t")
            vals = dict(p.split("=", 1) for p in kv.split())
            r = {k: float(v) for k, v in vals.items()}
            r["conns"] = int(conns)
            rows[(f"{scenario}@{conns}", target)] = r
    return rows


def fmt_ratio(x):
    return "n/a" if x is None else f"{x:.2f}"


def ratio(a, b):
    return None if b is None or a is None or b <= 0 else a / b


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("results")
    ap.add_argument("--saturation", type=int, default=64)
    a = ap.parse_args()
    rows = load(a.results)
    targets = []
    for (_, t) in rows:
        if t not in targets:
            targets.append(t)
    order = [t for t in ("direct", "nginx") + GATEWAYS if t in targets]
    bad = False

    def wrk_table(scenario, conns, title):
        nonlocal bad
        print(f"{title}")
        print(f"  {'target':<12} {'conns':>5} {'req/s':>9} {'p50 us':>8} {'p99 us':>8} "
              f"{'p99.9 us':>9} {'+p50 us':>8} {'+p99 us':>8} {'cpu us/req':>10} {'errors':>6}")
        key = f"{scenario}@{conns}"
        d = rows.get((key, "direct"))
        for t in order:
            r = rows.get((key, t))
            if not r:
                continue
            errs = int(r["connect_err"] + r["read_err"] + r["write_err"] + r["status_err"] +
                       r["timeout_err"])
            if errs or r["requests"] == 0:
                bad = True
            add50 = f"{r['p50'] - d['p50']:+.0f}" if d and t != "direct" else "-"
            add99 = f"{r['p99'] - d['p99']:+.0f}" if d and t != "direct" else "-"
            print(f"  {t:<12} {conns:>5} {r['rps']:>9.0f} {r['p50']:>8.0f} {r['p99']:>8.0f} "
                  f"{r['p999']:>9.0f} {add50:>8} {add99:>8} {r.get('cpu_us', 0):>10.1f} {errs:>6}")
        print()

    wrk_table("nonstream", 1, "Non-streaming chat, 1 connection (wrk)")
    wrk_table("nonstream", a.saturation, f"Non-streaming chat, {a.saturation} connections (wrk)")
    wrk_table("stream", a.saturation,
              f"Streaming chat (SSE, whole response), {a.saturation} connections (wrk)")

    print("Streaming time to first body byte, 1 connection, sequential (ttft_client.py)")
    print(f"  {'target':<12} {'ok/n':>11} {'ttfb p50':>9} {'ttfb p99':>9} {'ttfb p99.9':>10} "
          f"{'+p50 us':>8} {'+p99 us':>8} {'total p50':>9}")
    d = rows.get(("stream-ttfb@1", "direct"))
    for t in order:
        r = rows.get(("stream-ttfb@1", t))
        if not r:
            continue
        if r["ok"] < r["n"]:
            bad = True
        add50 = f"{r['ttfb_p50'] - d['ttfb_p50']:+.0f}" if d and t != "direct" else "-"
        add99 = f"{r['ttfb_p99'] - d['ttfb_p99']:+.0f}" if d and t != "direct" else "-"
        print(f"  {t:<12} {int(r['ok']):>5}/{int(r['n']):<5} {r['ttfb_p50']:>9.0f} "
              f"{r['ttfb_p99']:>9.0f} {r['ttfb_p999']:>10.0f} {add50:>8} {add99:>8} "
              f"{r['total_p50']:>9.0f}")
    print("  (microseconds; ttfb = first SSE byte, total = whole stream incl. terminating chunk)")
    print()

    # Targets: throughput >= 0.9x nginx, added p99 <= 1.5x nginx's.
    print("Gateway vs nginx (targets: throughput >= 0.90x, added p99 <= 1.50x)")
    print(f"  {'gateway':<12} {'thr@' + str(a.saturation):>9} {'+p99@1':>8} "
          f"{'+p99@' + str(a.saturation):>9} {'stream thr':>10} {'+ttfb p99':>9} {'cpu/req':>8}  verdict")
    summary = []
    for g in GATEWAYS:
        if (f"nonstream@{a.saturation}", g) not in rows:
            continue

        def added(scen, t, key):
            r, d = rows.get((scen, t)), rows.get((scen, "direct"))
            return None if not r or not d else r[key] - d[key]

        def thr(scen):
            scen = f"{scen}@{a.saturation}"
            r, n = rows.get((scen, g)), rows.get((scen, "nginx"))
            return None if not r or not n else ratio(r["rps"], n["rps"])

        n1 = rows.get((f"nonstream@{a.saturation}", "nginx"))
        r_thr = thr("nonstream")
        r_sthr = thr("stream")
        p99_1 = p99_sat = ttfb = None
        if n1:
            # added p99 at 1 connection = p99 of 1-connection run minus direct's
            p99_1 = ratio(added_c("nonstream", g, 1, rows), added_c("nonstream", "nginx", 1, rows))
            p99_sat = ratio(added_c("nonstream", g, a.saturation, rows),
                            added_c("nonstream", "nginx", a.saturation, rows))
        def cpu(scen):
            scen = f"{scen}@{a.saturation}"
            r, n = rows.get((scen, g)), rows.get((scen, "nginx"))
            return None if not r or not n else ratio(r.get("cpu_us"), n.get("cpu_us"))

        r_cpu = cpu("nonstream")
        ttfb = ratio(added("stream-ttfb@1", g, "ttfb_p99"), added("stream-ttfb@1", "nginx", "ttfb_p99"))
        ok = (r_thr is not None and r_thr >= 0.9 and p99_1 is not None and p99_1 <= 1.5 and
              p99_sat is not None and p99_sat <= 1.5)
        verdict = "MEETS" if ok else "MISSES"
        print(f"  {g:<12} {fmt_ratio(r_thr):>9} {fmt_ratio(p99_1):>8} {fmt_ratio(p99_sat):>9} "
              f"{fmt_ratio(r_sthr):>10} {fmt_ratio(ttfb):>9} {fmt_ratio(r_cpu):>8}  {verdict}")
        summary.append((g, r_thr, p99_1, p99_sat, r_cpu, verdict))
    print("  (ratios gateway/nginx; 'n/a' where nginx adds <= 0 us, i.e. within noise)")

    # Residency + audit on vs off: each gateway configuration against gw-bare (the same gateway
    # with evidence checks and audit off; metrics cannot be switched off, see gateway-bare.yaml.in).
    base = f"nonstream@{a.saturation}"
    if (base, "gw-bare") in rows:
        print(f"Residency evidence + audit on vs off (vs gw-bare; non-streaming, c=1 and "
              f"c={a.saturation}; streaming ttfb)")
        print(f"  {'gateway':<12} {'thr@' + str(a.saturation):>9} {'cpu/req':>8} {'d p50@1':>8} "
              f"{'d p99@1':>8} {'d p99@' + str(a.saturation):>9} {'d ttfb p50':>10}")
        bare_rows = {k: rows.get((k, "gw-bare")) for k in
                     (base, "nonstream@1", "stream-ttfb@1")}
        for g in GATEWAYS:
            if g == "gw-bare" or (base, g) not in rows:
                continue

            def delta(scen, key):
                r, b = rows.get((scen, g)), bare_rows.get(scen)
                return "n/a" if not r or not b else f"{r[key] - b[key]:+.0f}"

            r, b = rows[(base, g)], bare_rows[base]
            print(f"  {g:<12} {fmt_ratio(ratio(r['rps'], b['rps'])):>9} "
                  f"{fmt_ratio(ratio(r.get('cpu_us'), b.get('cpu_us'))):>8} "
                  f"{delta('nonstream@1', 'p50'):>8} {delta('nonstream@1', 'p99'):>8} "
                  f"{delta(base, 'p99'):>9} {delta('stream-ttfb@1', 'ttfb_p50'):>10}")
            print(f"SUMMARY\tgateway_load\t{g} vs gw-bare\tthroughput={fmt_ratio(ratio(r['rps'], b['rps']))} "
                  f"cpu_per_req={fmt_ratio(ratio(r.get('cpu_us'), b.get('cpu_us')))} "
                  f"d_p99@1={delta('nonstream@1', 'p99')}us")
        print("  (ratios gateway/gw-bare; d = difference in microseconds, positive = slower)")
    # Audit on vs off (target: audit costs < 10 % of gateway req/s): gw+audit (durable
    # before the response) and gw+async against gw-noaudit, which differs only in audit.sink.
    off = "gw-noaudit"
    if (base, off) in rows:
        print(f"Audit on vs off (vs {off}; target: req/s ratio >= 0.90, i.e. audit costs "
              f"< 10 %)")
        print(f"  {'gateway':<12} {'thr@' + str(a.saturation):>9} {'stream thr':>10} "
              f"{'cpu/req':>8} {'+cpu us':>8}  verdict")
        for g in ("gw+audit", "gw+async"):
            if (base, g) not in rows:
                continue
            r, o = rows[(base, g)], rows[(base, off)]
            sk = f"stream@{a.saturation}"
            rs, os_ = rows.get((sk, g)), rows.get((sk, off))
            t_ns = ratio(r["rps"], o["rps"])
            t_st = None if not rs or not os_ else ratio(rs["rps"], os_["rps"])
            d_cpu = (None if r.get("cpu_us") is None or o.get("cpu_us") is None
                     else r["cpu_us"] - o["cpu_us"])
            parts = []
            for name, t in (("non-streaming", t_ns), ("streaming", t_st)):
                if t is not None:
                    parts.append(f"{name} {'MEETS' if t >= 0.9 else 'MISSES'}")
            print(f"  {g:<12} {fmt_ratio(t_ns):>9} {fmt_ratio(t_st):>10} "
                  f"{fmt_ratio(ratio(r.get('cpu_us'), o.get('cpu_us'))):>8} "
                  f"{'n/a' if d_cpu is None else f'{d_cpu:+.1f}':>8}  {', '.join(parts)}")
            print(f"SUMMARY\tgateway_load\t{g} vs {off}\tthroughput={fmt_ratio(t_ns)} "
                  f"stream_throughput={fmt_ratio(t_st)} "
                  f"cpu_per_req={fmt_ratio(ratio(r.get('cpu_us'), o.get('cpu_us')))} "
                  f"{'; '.join(parts)}")
        print(f"  (ratios gateway/{off} at {a.saturation} connections; +cpu us = CPU per request "
              f"added by the audit)")
        # A CPU-bound gateway's req/s scales as 1/cpu: audit on keeps >= 90 % of the req/s only
        # if it adds at most cpu(off) / 9 per request (c / (c + a) >= 0.9).
        if rows[(base, off)].get("cpu_us"):
            budget = rows[(base, off)]["cpu_us"] / 9
            print(f"  (budget for < 10 % non-streaming: at most {budget:.1f} us of audit CPU per "
                  f"request, all threads; audit_bench's BM_AuditStorageFloor and "
                  f"BM_AuditWriterCpu give the floor)")
    # Interleaved audit on/off (gateway_load.sh, BENCH_AUDIT_ROUNDS): pairs measured seconds apart,
    # so a machine that drifts during the run does not bias the ratio; the median pair decides.
    rounds = sorted({int(k[2:].split("@")[0]) for (k, _) in rows
                     if k.startswith("ab") and k.endswith(f"@{a.saturation}")})
    pairs = []
    for n in rounds:
        key = f"ab{n}@{a.saturation}"
        on, off_r = rows.get((key, "gw+audit")), rows.get((key, "gw-noaudit"))
        if not on or not off_r:
            continue
        for r in (on, off_r):
            if r["requests"] == 0 or (r["connect_err"] + r["read_err"] + r["write_err"] +
                                      r["status_err"] + r["timeout_err"]):
                bad = True
        pairs.append((n, off_r, on, ratio(on["rps"], off_r["rps"]),
                      ratio(on.get("cpu_us"), off_r.get("cpu_us"))))
    if pairs:
        print(f"Audit on vs off, interleaved (non-streaming, {a.saturation} connections; "
              f"target: req/s ratio >= 0.90)")
        print(f"  {'round':<6} {'off req/s':>10} {'on req/s':>10} {'ratio':>6} {'off cpu':>8} "
              f"{'on cpu':>7} {'cpu ratio':>9} {'off busy':>8} {'on busy':>8}")

        def busy(r):  # share of the proxy's core in use: req/s x CPU seconds per request
            return f"{r['rps'] * r.get('cpu_us', 0) / 1e4:.1f}%"

        for n, o, r, t, c in pairs:
            print(f"  {n:<6} {o['rps']:>10.0f} {r['rps']:>10.0f} {fmt_ratio(t):>6} "
                  f"{o.get('cpu_us', 0):>8.1f} {r.get('cpu_us', 0):>7.1f} {fmt_ratio(c):>9} "
                  f"{busy(o):>8} {busy(r):>8}")
        ts = [t for _, _, _, t, _ in pairs if t is not None]
        cs = [c for _, _, _, _, c in pairs if c is not None]
        med = statistics.median(ts) if ts else None
        cmed = statistics.median(cs) if cs else None
        verdict = "MEETS" if med is not None and med >= 0.9 else "MISSES"
        print(f"  median ratio {fmt_ratio(med)} (cpu {fmt_ratio(cmed)}): non-streaming {verdict}")
        print(f"  (gw+audit / gw-noaudit; cpu = proxy CPU per request in us, all threads; busy = "
              f"req/s x cpu: below 100 % the proxy's core also idled)")
        print(f"SUMMARY\tgateway_load\tgw+audit vs gw-noaudit interleaved\trounds={len(pairs)} "
              f"median_throughput={fmt_ratio(med)} median_cpu_per_req={fmt_ratio(cmed)} "
              f"non-streaming {verdict}")
    for g, r_thr, p1, ps, rc, v in summary:
        print(f"SUMMARY\tgateway_load\t{g}\tthroughput_vs_nginx={fmt_ratio(r_thr)} "
              f"added_p99_vs_nginx@1={fmt_ratio(p1)} added_p99_vs_nginx@{a.saturation}="
              f"{fmt_ratio(ps)} cpu_per_req_vs_nginx={fmt_ratio(rc)} {v}")
    if bad:
        print("WARNING: some runs had errors or failed requests; see the errors column", file=sys.stderr)
    return 1 if bad else 0


def added_c(scen, t, conns, rows):
    r, d = rows.get((scen + f"@{conns}", t)), rows.get((scen + f"@{conns}", "direct"))
    return None if not r or not d else r["p99"] - d["p99"]


if __name__ == "__main__":
    sys.exit(main())
