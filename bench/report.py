#!/usr/bin/env python3
"""Number crunching for bench/proxies.sh.

  report.py percentiles H2LOAD_LOG      -> "p50_ms p99_ms samples"
  report.py table RUNS_TSV IDLE_TSV     -> Markdown results (medians and ratios to nginx)

RUNS_TSV columns (one row per load run, header line first):
  proxy proto rep rps p50_ms p99_ms requests cpu_us_per_req proxy_cpu_pct load_core_pct other_cpu_pct errors
IDLE_TSV columns:
  proxy conns rss_before_kib rss_after_kib kib_per_conn alive
A proxy that was skipped appears in RUNS_TSV with proto "-" and the reason in the
last column.
"""

import math
import statistics
import sys

PROXY_ORDER = ["nginx", "haproxy", "switchyard"]
PROTOS = [
    ("h1", "HTTP/1.1 keep-alive (wrk, 64 conns)"),
    ("h2c", "h2c prior knowledge (h2load, 64 conns x 10 streams)"),
]


def percentile(sorted_vals, p):
    """Nearest-rank percentile of an already sorted list."""
    if not sorted_vals:
        return math.nan
    rank = max(1, math.ceil(p / 100.0 * len(sorted_vals)))
    return sorted_vals[rank - 1]


def cmd_percentiles(path):
    # h2load --log-file: start time (us since epoch) \t status \t duration (us)
    durs = []
    with open(path) as f:
        for line in f:
            cols = line.split("\t")
            if len(cols) >= 3:
                durs.append(int(cols[2]))
    durs.sort()
    p50, p99 = percentile(durs, 50), percentile(durs, 99)
    print(f"{p50 / 1000:.3f} {p99 / 1000:.3f} {len(durs)}")


def read_tsv(path):
    with open(path) as f:
        rows = [line.rstrip("\n").split("\t") for line in f if line.strip()]
    if not rows:
        return []
    header, body = rows[0], rows[1:]
    return [dict(zip(header, r)) for r in body]


def num(x):
    try:
        return float(x)
    except (TypeError, ValueError):
        return math.nan


def fmt(v, digits):
    if math.isnan(v):
        return "n/a"
    return f"{v:,.{digits}f}"


def ratio(v, base):
    if math.isnan(v) or math.isnan(base) or base == 0:
        return ""
    return f" ({v / base:.2f}x)"


def cmd_table(runs_path, idle_path):
    runs = read_tsv(runs_path)
    idle = {r["proxy"]: r for r in read_tsv(idle_path)}
    skipped = {r["proxy"]: r["errors"] for r in runs if r["proto"] == "-"}
    proxies = [p for p in PROXY_ORDER if any(r["proxy"] == p for r in runs)]
    metrics = ["rps", "p50_ms", "p99_ms", "cpu_us_per_req", "proxy_cpu_pct", "load_core_pct", "other_cpu_pct"]

    med = {}  # (proxy, proto) -> {metric: median}, plus errors total and run count
    for p in proxies:
        for proto, _ in PROTOS:
            rs = [r for r in runs if r["proxy"] == p and r["proto"] == proto]
            if not rs:
                continue
            m = {k: statistics.median(num(r[k]) for r in rs) for k in metrics}
            m["errors"] = sum(int(num(r["errors"])) if not math.isnan(num(r["errors"])) else 0 for r in rs)
            m["n"] = len(rs)
            med[(p, proto)] = m

    out = []
    out.append("Medians over the repeats; ratios in parentheses are X / nginx "
               "(req/s: higher is better; latency and CPU: lower is better).")
    out.append("")
    out.append("| Proxy | Protocol | req/s | p50 ms | p99 ms | CPU µs/req | proxy CPU % | load core % | other CPU % "
               "| errors | runs |")
    out.append("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for proto, label in PROTOS:
        base = med.get(("nginx", proto), {})
        for p in proxies:
            if p in skipped:
                out.append(f"| {p} | {proto} | {skipped[p]} | | | | | | | | |")
                continue
            m = med.get((p, proto))
            if m is None:
                out.append(f"| {p} | {proto} | failed (see log) | | | | | | | | |")
                continue
            b = lambda k: base.get(k, math.nan)  # noqa: E731
            out.append(
                f"| {p} | {proto} "
                f"| {fmt(m['rps'], 0)}{ratio(m['rps'], b('rps'))} "
                f"| {fmt(m['p50_ms'], 3)}{ratio(m['p50_ms'], b('p50_ms'))} "
                f"| {fmt(m['p99_ms'], 3)}{ratio(m['p99_ms'], b('p99_ms'))} "
                f"| {fmt(m['cpu_us_per_req'], 1)}{ratio(m['cpu_us_per_req'], b('cpu_us_per_req'))} "
                f"| {fmt(m['proxy_cpu_pct'], 0)} | {fmt(m['load_core_pct'], 0)} | {fmt(m['other_cpu_pct'], 0)} "
                f"| {m['errors']} | {m['n']} |"
            )
    out.append("")
    out.append("Protocols: " + "; ".join(f"`{k}` = {v}" for k, v in PROTOS) + ". "
               "proxy CPU % = CPU time of the proxy's processes / wall time (100 = one core); "
               "load core % = how busy the load-generator/backend core was. If the load core is near "
               "100 % and the proxy is not, req/s and latency are bounded by the load side; "
               "CPU µs/req is still the proxy's own cost. other CPU % = CPU taken by anything else on the "
               "machine (other processes, hypervisor steal), in % of one core: noise; above ~10 the run "
               "is suspect.")
    out.append("")

    out.append("Idle keep-alive connections (RSS summed over all processes of the proxy):")
    out.append("")
    out.append("| Proxy | idle conns | RSS before (KiB) | RSS with conns (KiB) | KiB / conn | still open at end |")
    out.append("|---|---:|---:|---:|---:|---:|")
    base_pc = num(idle.get("nginx", {}).get("kib_per_conn"))
    for p in proxies:
        if p in skipped:
            out.append(f"| {p} | {skipped[p]} | | | | |")
            continue
        r = idle.get(p)
        if r is None:
            out.append(f"| {p} | failed (see log) | | | | |")
            continue
        pc = num(r["kib_per_conn"])
        out.append(
            f"| {p} | {r['conns']} | {fmt(num(r['rss_before_kib']), 0)} | {fmt(num(r['rss_after_kib']), 0)} "
            f"| {fmt(pc, 2)}{ratio(pc, base_pc)} | {r['alive']} |"
        )
    out.append("")

    out.append("<details><summary>All runs</summary>")
    out.append("")
    out.append("| Proxy | Protocol | rep | req/s | p50 ms | p99 ms | requests | CPU µs/req | proxy CPU % "
               "| load core % | other CPU % | errors |")
    out.append("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in runs:
        if r["proto"] == "-":
            continue
        out.append(
            f"| {r['proxy']} | {r['proto']} | {r['rep']} | {fmt(num(r['rps']), 0)} | {r['p50_ms']} | {r['p99_ms']} "
            f"| {r['requests']} | {r['cpu_us_per_req']} | {r['proxy_cpu_pct']} | {r['load_core_pct']} "
            f"| {r['other_cpu_pct']} | {r['errors']} |"
        )
    out.append("")
    out.append("</details>")
    print("\n".join(out))


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "percentiles":
        cmd_percentiles(sys.argv[2])
    elif len(sys.argv) == 4 and sys.argv[1] == "table":
        cmd_table(sys.argv[2], sys.argv[3])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
