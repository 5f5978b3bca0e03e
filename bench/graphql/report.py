#!/usr/bin/env python3
"""Markdown tables for bench/graphql.sh: medians per (query, gateway) and Switchyard / Apollo ratios.

  report.py RUNS_TSV

RUNS_TSV columns (one row per load run, header line first):
  gateway query conns rep rps p50_ms p99_ms requests cpu_us_per_req subgraph_cpu_us_per_req
  gateway_cpu_pct load_core_pct other_cpu_pct errors
"""

import math
import statistics
import sys

GATEWAYS = [
    ("switchyard", "Switchyard"),
    ("apollo", "Apollo Gateway"),
    ("apollo-fetch", "Apollo Gateway, native fetch"),
]
QUERIES = {
    "demo": "demo: `{ movie(id: \"2\") { title production { name } cast { name movies { title } } } }` (4 subgraph fetches)",
    "simple": "simple: `{ movies { id title } }` (1 subgraph fetch)",
}
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


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    with open(sys.argv[1]) as f:
        rows = [line.rstrip("\n").split("\t") for line in f if line.strip()]
    header, body = rows[0], rows[1:]
    runs = [dict(zip(header, r)) for r in body]
    queries = [q for q in QUERIES if any(r["query"] == q for r in runs)]
    queries += sorted({r["query"] for r in runs} - set(queries))
    conns = sorted({r["conns"] for r in runs}, key=lambda c: -num(c))
    # A case = (query, connections): the most connections first, then one at a time.
    cases = [(q, c) for c in conns for q in queries]
    med = {}
    for q, c in cases:
        for g, _ in GATEWAYS:
            rs = [r for r in runs if r["query"] == q and r["conns"] == c and r["gateway"] == g]
            if rs:
                m = {k: statistics.median(num(r[k]) for r in rs) for k in METRICS}
                m["errors"] = sum(int(num(r["errors"])) for r in rs if not math.isnan(num(r["errors"])))
                m["n"] = len(rs)
                med[(q, c, g)] = m

    out = ["Medians over the repeats. CPU µs/req = CPU time of the gateway process (all threads) per "
           "request; subgraph µs/req = the three subgraphs' CPU per gateway request; gateway core % and "
           "load core % = how busy core 0 (gateway) and core 1 (h2load + subgraphs) were.", ""]
    out.append("| Query | Conns | Gateway | req/s | p50 ms | p99 ms | gateway CPU µs/req | subgraph CPU µs/req "
               "| gateway core % | load core % | other CPU % | errors | runs |")
    out.append("|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for q, c in cases:
        for g, label in GATEWAYS:
            m = med.get((q, c, g))
            if m is None:
                continue
            out.append(
                f"| {q} | {c} | {label} | {fmt(m['rps'], 0)} | {fmt(m['p50_ms'], 2)} | {fmt(m['p99_ms'], 2)} "
                f"| {fmt(m['cpu_us_per_req'], 0)} | {fmt(m['subgraph_cpu_us_per_req'], 0)} "
                f"| {fmt(m['gateway_cpu_pct'], 0)} | {fmt(m['load_core_pct'], 0)} | {fmt(m['other_cpu_pct'], 0)} "
                f"| {m['errors']} | {m['n']} |")
    out.append("")
    others = [(g, label) for g, label in GATEWAYS[1:] if any((q, c, g) in med for q, c in cases)]
    if others and any((q, c, "switchyard") in med for q, c in cases):
        out.append("Switchyard / Apollo Gateway (req/s: above 1 is better for Switchyard; latency and CPU: "
                   "below 1 is better for Switchyard):")
        out.append("")
        out.append("| Query | Conns | versus | req/s | p50 | p99 | gateway CPU per request |")
        out.append("|---|---:|---|---:|---:|---:|---:|")
        for q, c in cases:
            for g, label in others:
                s, a = med.get((q, c, "switchyard")), med.get((q, c, g))
                if s is None or a is None:
                    continue
                r = {k: div(s[k], a[k]) for k in ("rps", "p50_ms", "p99_ms", "cpu_us_per_req")}
                out.append(f"| {q} | {c} | {label} | {fmt(r['rps'], 1)}x | {fmt(r['p50_ms'], 3)}x | {fmt(r['p99_ms'], 3)}x "
                           f"| {fmt(r['cpu_us_per_req'], 3)}x (1/{fmt(div(1, r['cpu_us_per_req']), 0)}) |")
        out.append("")
    bound = [f"{q}/{c} conns/{g}" for (q, c, g), m in med.items() if m["load_core_pct"] >= LOAD_BOUND_PCT]
    if bound:
        out.append(f"Load core at or above {LOAD_BOUND_PCT} % (h2load + subgraphs saturate core 1, so req/s "
                   f"and latency are bounded by the load side, not the gateway): {', '.join(bound)}.")
        out.append("")
    out.append("Queries: " + "; ".join(QUERIES.get(q, q) for q in queries) + ".")
    out.append("")
    out.append("<details><summary>All runs</summary>")
    out.append("")
    out.append("| Query | Conns | Gateway | rep | req/s | p50 ms | p99 ms | requests | gateway µs/req | subgraph µs/req "
               "| gateway core % | load core % | other CPU % | errors |")
    out.append("|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in runs:
        out.append(f"| {r['query']} | {r['conns']} | {r['gateway']} | {r['rep']} | {fmt(num(r['rps']), 0)} | {r['p50_ms']} "
                   f"| {r['p99_ms']} | {r['requests']} | {r['cpu_us_per_req']} | {r['subgraph_cpu_us_per_req']} "
                   f"| {r['gateway_cpu_pct']} | {r['load_core_pct']} | {r['other_cpu_pct']} | {r['errors']} |")
    out.append("")
    out.append("</details>")
    print("\n".join(out))


if __name__ == "__main__":
    main()
