#!/usr/bin/env python3
"""Markdown tables for bench/graphql_federation.sh: medians per (connections, gateway), memory
and subgraph calls per gateway, ratios to hive-router, and whether Switchyard meets the target
(requests/s at least hive-router's, p99 no higher).

  report_federation.py RUNS_TSV GATEWAYS_TSV

RUNS_TSV columns (one row per load run, header line first):
  gateway conns rep rps p50_ms p99_ms requests cpu_us_per_req subgraph_cpu_us_per_req
  gateway_cpu_pct load_core_pct other_cpu_pct errors
GATEWAYS_TSV columns:
  gateway peak_rss_kib rss_end_kib gateway_requests subgraph_requests
"""

import math
import statistics
import sys

GATEWAYS = [
    ("switchyard", "Switchyard"),
    ("hive-router", "hive-router"),
    ("hive-router-nodedupe", "hive-router, dedupe off"),
    ("hive-gateway", "Hive Gateway"),
]
LABEL = dict(GATEWAYS)
BASE = "hive-router"
NODEDUPE = "hive-router-nodedupe"
METRICS = ["rps", "p50_ms", "p99_ms", "cpu_us_per_req", "subgraph_cpu_us_per_req",
           "gateway_cpu_pct", "load_core_pct", "other_cpu_pct"]
# Load core this busy: the run measured core 1 (h2load + subgraphs), not the gateway.
LOAD_BOUND_PCT = 90


def num(x):
    try:
        return float(x)
    except (TypeError, ValueError):
        return math.nan


def fmt(v, digits):
    return "n/a" if math.isnan(v) else f"{v:,.{digits}f}"


def div(a, b):
    return math.nan if math.isnan(a) or math.isnan(b) or b == 0 else a / b


def read_tsv(path):
    with open(path) as f:
        rows = [line.rstrip("\n").split("\t") for line in f if line.strip()]
    return [dict(zip(rows[0], r)) for r in rows[1:]] if rows else []


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    runs, gws = read_tsv(sys.argv[1]), {r["gateway"]: r for r in read_tsv(sys.argv[2])}
    order = [g for g, _ in GATEWAYS if any(r["gateway"] == g for r in runs)]
    conns = sorted({r["conns"] for r in runs}, key=lambda c: -num(c))
    med = {}
    for c in conns:
        for g in order:
            rs = [r for r in runs if r["conns"] == c and r["gateway"] == g]
            if rs:
                m = {k: statistics.median(num(r[k]) for r in rs) for k in METRICS}
                m["errors"] = sum(int(num(r["errors"])) for r in rs if not math.isnan(num(r["errors"])))
                m["n"] = len(rs)
                med[(c, g)] = m
    mem = {g: num(gws[g]["peak_rss_kib"]) / 1024 if g in gws else math.nan for g in order}
    fanout = {g: div(num(gws[g]["subgraph_requests"]), num(gws[g]["gateway_requests"])) if g in gws else math.nan
              for g in order}

    out = ["Medians over the repeats. Gateway CPU µs/req = CPU time of the gateway process (all threads) "
           "per request; subgraph µs/req = its four subgraphs' CPU per gateway request; gateway core % and "
           "load core % = how busy core 0 (gateway) and core 1 (h2load + subgraphs) were; peak memory = "
           "VmHWM of the gateway process at the end of the run.", ""]
    out.append("| Conns | Gateway | req/s | p50 ms | p99 ms | gateway CPU µs/req | subgraph CPU µs/req "
               "| gateway core % | load core % | other CPU % | peak memory MiB | errors | runs |")
    out.append("|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for c in conns:
        for g in order:
            m = med.get((c, g))
            if m is None:
                continue
            out.append(
                f"| {c} | {LABEL[g]} | {fmt(m['rps'], 0)} | {fmt(m['p50_ms'], 2)} | {fmt(m['p99_ms'], 2)} "
                f"| {fmt(m['cpu_us_per_req'], 0)} | {fmt(m['subgraph_cpu_us_per_req'], 0)} "
                f"| {fmt(m['gateway_cpu_pct'], 0)} | {fmt(m['load_core_pct'], 0)} | {fmt(m['other_cpu_pct'], 0)} "
                f"| {fmt(mem[g], 0)} | {m['errors']} | {m['n']} |")
    out.append("")
    out.append("Subgraph requests per gateway request over the whole run (warm-up included; approximate: "
               "requests cut off at the end of a load run made subgraph calls but are not counted as answered; "
               "Apollo's query plan has 16 fetches): " + "; ".join(
                   f"{LABEL[g]} {fmt(fanout[g], 2)} ({gws[g]['subgraph_requests']} / {gws[g]['gateway_requests']})"
                   for g in order if g in gws) + ".")
    out.append("")
    if BASE in order and len(order) > 1:
        out.append("Ratios to hive-router (to its dedupe-off run where named; req/s: above 1 is better; "
                   "latency, CPU and memory: below 1 is better):")
        out.append("")
        out.append("| Conns | Gateway | req/s | p50 | p99 | gateway CPU per request | peak memory |")
        out.append("|---:|---|---:|---:|---:|---:|---:|")
        pairs = [(g, BASE) for g in order if g != BASE]
        if "switchyard" in order and NODEDUPE in order:
            pairs.insert(1, ("switchyard", NODEDUPE))
        for c in conns:
            for g, base in pairs:
                m, b = med.get((c, g)), med.get((c, base))
                if m is None or b is None:
                    continue
                r = {k: div(m[k], b[k]) for k in ("rps", "p50_ms", "p99_ms", "cpu_us_per_req")}
                versus = "" if base == BASE else f" / {LABEL[base]}"
                out.append(f"| {c} | {LABEL[g]}{versus} | {fmt(r['rps'], 2)}x | {fmt(r['p50_ms'], 2)}x | {fmt(r['p99_ms'], 2)}x "
                           f"| {fmt(r['cpu_us_per_req'], 2)}x | {fmt(div(mem[g], mem[base]), 2)}x |")
        out.append("")
        if "switchyard" in order:
            verdicts = []
            for c in conns:
                s, b = med.get((c, "switchyard")), med.get((c, BASE))
                if s is None or b is None:
                    continue
                ok_rps, ok_p99 = s["rps"] >= b["rps"], s["p99_ms"] <= b["p99_ms"]
                verdicts.append(
                    f"{c} conns: {'**met**' if ok_rps and ok_p99 else '**not met**'} "
                    f"(req/s {fmt(s['rps'], 0)} vs {fmt(b['rps'], 0)}, p99 {fmt(s['p99_ms'], 2)} vs {fmt(b['p99_ms'], 2)} ms)")
            out.append("Target (Switchyard req/s ≥ hive-router's and p99 ≤ hive-router's): " + "; ".join(verdicts) + ".")
            out.append("")
    bound = [f"{c} conns/{LABEL[g]}" for (c, g), m in med.items() if m["load_core_pct"] >= LOAD_BOUND_PCT]
    if bound:
        out.append(f"Load core at or above {LOAD_BOUND_PCT} % (h2load + subgraphs saturate core 1, so req/s "
                   f"and latency are bounded by the load side, not the gateway): {', '.join(bound)}.")
        out.append("")
    out.append("<details><summary>All runs</summary>")
    out.append("")
    out.append("| Conns | Gateway | rep | req/s | p50 ms | p99 ms | requests | gateway µs/req | subgraph µs/req "
               "| gateway core % | load core % | other CPU % | errors |")
    out.append("|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in runs:
        out.append(f"| {r['conns']} | {r['gateway']} | {r['rep']} | {fmt(num(r['rps']), 0)} | {r['p50_ms']} "
                   f"| {r['p99_ms']} | {r['requests']} | {r['cpu_us_per_req']} | {r['subgraph_cpu_us_per_req']} "
                   f"| {r['gateway_cpu_pct']} | {r['load_core_pct']} | {r['other_cpu_pct']} | {r['errors']} |")
    out.append("")
    out.append("</details>")
    print("\n".join(out))


if __name__ == "__main__":
    main()
