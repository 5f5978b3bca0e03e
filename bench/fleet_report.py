#!/usr/bin/env python3
"""Number crunching for bench/fleet.sh.

  fleet_report.py oneline RUN_DIR                 -> one-line summary of one run (for the log)
  fleet_report.py report WORK COMMAND LOADAVG_END -> the Markdown report
  fleet_report.py snapshot FILE                   -> CPU ticks of every process, to FILE
  fleet_report.py foreign START END ROOT_PID      -> CPU seconds used between the snapshots by
                                                     processes that do not descend from ROOT_PID

A run directory holds loadgen.json (the load generator's summary line), requests.csv (one
line per request: index, scheduled_ms, latency_ms, status, backend, error), and bN.out for
each backend (`listening ADDR`, then at exit one JSON line of counters: requests, handled,
shed, sick_503, ok, connections). WORK holds params.json and runs.tsv (one row per run:
situation proxy retries rep rate dir proxy_core_pct load_core_pct foreign_cpu_pct steal_pct downs
none_left joined_at noise).
"""

import csv
import json
import math
import os
import statistics
import sys

PROXY_LABEL = {
    "edge": "Switchyard `edge`",
    "round_robin": "Switchyard `round_robin`",
    "least_request": "Switchyard `least_request`",
    "peak_ewma": "Switchyard `peak_ewma`",
    "random": "Switchyard `random`",
    "nginx": "nginx `least_conn`",
    "haproxy": "HAProxy `leastconn`",
}
PROXY_ORDER = list(PROXY_LABEL)
SPARK = "▁▂▃▄▅▆▇█"


def json_lines(path):
    try:
        with open(path) as f:
            return [json.loads(line) for line in f if line.startswith("{")]
    except FileNotFoundError:
        return []


def last_json_line(path):
    lines = json_lines(path)
    return lines[-1] if lines else None


def backend_counters(run_dir):
    """{name: counters} for every backend of the run, in order b1, b2, ..."""
    out = {}
    names = sorted(
        (f[:-4] for f in os.listdir(run_dir) if f.startswith("b") and f.endswith(".out")),
        key=lambda n: int(n[1:]),
    )
    for name in names:
        lines = json_lines(os.path.join(run_dir, name + ".out"))
        final = [c for c in lines if "name" in c]
        counters = final[-1] if final else {"requests": 0, "handled": 0, "shed": 0, "sick_503": 0, "ok": 0}
        out[name] = since_t0(counters, next((c for c in lines if c.get("t") == 0), None))
    return out


def since_t0(counters, at_t0):
    """The counters less what the backend had counted at t0 (the warm-up's requests): shed
    before t0 is what was received but not handled; nothing is sick before t0."""
    if not at_t0:
        return counters
    out = dict(counters)
    out["requests"] -= at_t0["requests"]
    out["handled"] -= at_t0["handled"]
    out["ok"] -= at_t0["handled"]
    out["shed"] -= at_t0["requests"] - at_t0["handled"]
    return out


def attempts_per_second(run_dir):
    """{name: {second: attempts that arrived in that second}} from the backends' progress lines
    (cumulative counters printed every second after t0)."""
    out = {}
    for f in os.listdir(run_dir):
        if not (f.startswith("b") and f.endswith(".out")):
            continue
        series, prev_t, prev = {}, None, 0
        for line in json_lines(os.path.join(run_dir, f)):
            if "t" not in line:
                continue
            t = int(round(line["t"]))
            if prev_t is not None:
                series[t - 1] = line["requests"] - prev
            prev_t, prev = t, line["requests"]
        out[f[:-4]] = series
    return out


def analyze(run_dir, bucket_s=1.0):
    """Everything the report needs from one run."""
    summary = last_json_line(os.path.join(run_dir, "loadgen.json")) or {}
    counters = backend_counters(run_dir)
    sent = summary.get("sent", 0)
    attempts = sum(c["requests"] for c in counters.values())
    per_bucket = {}
    by_proxy = 0  # errors answered by the proxy itself (no x-backend header) or no answer
    kinds = {}
    path = os.path.join(run_dir, "requests.csv")
    if os.path.exists(path):
        with open(path) as f:
            for row in csv.DictReader(f):
                status = int(row["status"])
                if 200 <= status < 300:
                    continue
                b = int(float(row["scheduled_ms"]) / 1000.0 / bucket_s)
                per_bucket[b] = per_bucket.get(b, 0) + 1
                kind = row["error"] if status == 0 else str(status)
                kinds[kind] = kinds.get(kind, 0) + 1
                if not row["backend"]:
                    by_proxy += 1
    return {
        "sent": sent,
        "errors": summary.get("errors", math.nan),
        "error_rate": summary.get("errors", math.nan) / sent if sent else math.nan,
        "attempts_per_req": attempts / sent if sent else math.nan,
        "p50": summary.get("p50_ms", math.nan),
        "p99": summary.get("p99_ms", math.nan),
        "p999": summary.get("p999_ms", math.nan),
        "lag_max": summary.get("dispatch_lag_max_ms", math.nan),
        "shares": {n: (c["requests"] / attempts if attempts else math.nan) for n, c in counters.items()},
        "shed": sum(c.get("shed", 0) for c in counters.values()),
        "sick_503": sum(c.get("sick_503", 0) for c in counters.values()),
        "by_proxy": by_proxy,
        "kinds": kinds,
        "per_bucket": per_bucket,
        "attempts_per_second": attempts_per_second(run_dir),
    }


def fmt(v, digits=1):
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "n/a"
    return f"{v:,.{digits}f}"


def cmd_oneline(run_dir):
    a = analyze(run_dir)
    shares = " ".join(f"{100 * s:.1f}" for s in a["shares"].values())
    print(
        f"errors {a['errors']}/{a['sent']} ({fmt(100 * a['error_rate'], 2)} %), "
        f"attempts/req {fmt(a['attempts_per_req'], 3)}, p50/p99/p99.9 "
        f"{fmt(a['p50'])}/{fmt(a['p99'])}/{fmt(a['p999'])} ms, shares % [{shares}]"
    )


def read_tsv(path):
    with open(path) as f:
        rows = [line.rstrip("\n").split("\t") for line in f if line.strip()]
    header, body = rows[0], rows[1:]
    return [dict(zip(header, r)) for r in body]


def median(values):
    vals = [v for v in values if not (isinstance(v, float) and math.isnan(v))]
    return statistics.median(vals) if vals else math.nan


def combine(analyses):
    """Medians over the repeats of one (situation, proxy, retries); mean errors per bucket."""
    keys = ["errors", "error_rate", "attempts_per_req", "p50", "p99", "p999", "lag_max", "by_proxy"]
    out = {k: median([a[k] for a in analyses]) for k in keys}
    names = list(analyses[0]["shares"])
    out["shares"] = {n: median([a["shares"].get(n, math.nan) for a in analyses]) for n in names}
    buckets = set().union(*(a["per_bucket"] for a in analyses))
    out["per_bucket"] = {b: sum(a["per_bucket"].get(b, 0) for a in analyses) / len(analyses) for b in buckets}
    per_second = {}
    for a in analyses:
        for name, series in a["attempts_per_second"].items():
            for t, v in series.items():
                per_second.setdefault(name, {}).setdefault(t, 0)
                per_second[name][t] += v / len(analyses)
    out["attempts_per_second"] = per_second
    kinds = {}
    for a in analyses:
        for k, v in a["kinds"].items():
            kinds[k] = kinds.get(k, 0) + v / len(analyses)
    out["kinds"] = kinds
    out["n"] = len(analyses)
    return out


def situations_text(p):
    lat, lim, n = p["latency_ms"], p["limit"], p["backends"]
    cap = lim * 1000 / lat
    last = f"b{n}"
    full = n * cap
    busy_cap = (n - 1) * cap + cap / 2
    ev0, ev1 = p["event_at"], p["event_at"] + p["event_for"]
    return {
        "slow": (
            f"One instance 3x slower ({last}: {3 * lat} ms)",
            f"{last} takes {3 * lat} ms per request instead of {lat} ms for the whole run, so its "
            f"capacity is {cap / 3:.0f} requests/s instead of {cap:.0f}. Offered: {p['rate']} requests/s "
            f"({100 * p['rate'] / (full - cap + cap / 3):.0f} % of the fleet's {full - cap + cap / 3:.0f}); "
            f"an equal share ({p['rate'] / n:.0f}/s) would overload {last}. "
            f"A perfect balancer gives {last} about {100 * (cap / 3) / (full - cap + cap / 3):.1f} % "
            f"of the attempts at most (its capacity share).",
        ),
        "sinkhole": (
            f"Sinkhole ({last} answers 503 in ~1 ms from t={ev0} s to t={ev1} s)",
            f"{last} answers every request with 503 in about 1 ms from t={ev0} s for {p['event_for']} s, "
            f"then heals. It keeps reporting low utilization and empties its queue at once: queue- "
            f"and utilization-based balancers see it as the most attractive server. Offered: "
            f"{p['rate']} requests/s ({100 * p['rate'] / full:.0f} % of {full:.0f}).",
        ),
        "busy": (
            f"Busy fleet, one weak instance ({last}: concurrency limit {lim // 2})",
            f"Offered: {p['busy_rate']} requests/s, {100 * p['busy_rate'] / busy_cap:.0f} % of the fleet's "
            f"capacity ({n - 1} x {cap:.0f} + {cap / 2:.0f} = {busy_cap:.0f}/s); {last} has half the "
            f"concurrency limit of the others ({lim // 2} instead of {lim}), so half their capacity: its "
            f"capacity share is {100 * (cap / 2) / busy_cap:.1f} %. Every instance sheds with 503 beyond its "
            f"limit, so some shedding is normal here: the question is whether the proxy turns it into "
            f"client errors, or takes busy servers out of service.",
        ),
        "late": (
            f"Late joiner ({last} starts at t={ev0} s, 4x slower for its first {p['event_for']} s)",
            f"The fleet is {n - 1} instances until t={ev0} s, when {last} starts; it takes {4 * lat} ms "
            f"per request (capacity {cap / 4:.0f}/s) for its first {p['event_for']} s, then {lat} ms. "
            f"Switchyard learns of it from its discovery file (rewritten by the script once {last} "
            f"listens; polled every second); nginx and HAProxy have {last} in their config from the "
            f"start and fail to connect to it until it starts. Offered: {p['rate']} requests/s "
            f"({100 * p['rate'] / ((n - 1) * cap):.0f} % of the first {n - 1} instances' {(n - 1) * cap:.0f}/s).",
        ),
    }


def sparkline(series, top):
    out = []
    for v in series:
        if v <= 0:
            out.append("·")
        else:
            out.append(SPARK[min(len(SPARK) - 1, max(0, math.ceil(v / top * len(SPARK)) - 1))])
    return "".join(out)


def cmd_report(work, command, loadavg_end):
    with open(os.path.join(work, "params.json")) as f:
        p = json.load(f)
    runs = read_tsv(os.path.join(work, "runs.tsv"))
    n = p["backends"]
    last = f"b{n}"
    texts = situations_text(p)
    analyses = {}
    for r in runs:
        key = (r["situation"], r["proxy"], r["retries"])
        analyses.setdefault(key, []).append((r, analyze(os.path.join(work, r["dir"]))))
    # A cell is judged on its quiet runs when it has any (noisy ones were re-run).
    noisy_cells = set()
    for key, entries in analyses.items():
        quiet = [e for e in entries if e[0]["noise"] in ("", "-")]
        if quiet:
            analyses[key] = quiet
        else:
            noisy_cells.add(key)

    out = []
    out.append(f"## Fleet benchmark {p['stamp']}")
    out.append("")
    out.append(f"- Command: `{command}`")
    out.append(f"- Host: {p['host']}; load average at start {p['loadavg_start']}, at end {loadavg_end}")
    out.append(
        f"- Versions: nginx {p['nginx']}, HAProxy {p['haproxy']}, {p['switchyard']}"
    )
    if p.get("switchyard_extra"):
        out.append(f"- **Switchyard's cluster has an extra setting:** `{p['switchyard_extra']}`")
    out.append(
        f"- Fleet: {n} backends, {p['latency_ms']} ms per request, concurrency limit {p['limit']} "
        f"(503 beyond it), utilization reported; {p['duration']} s of open-loop load per run "
        f"after {p.get('warmup', 0)} s of warm-up at the same rate (not counted), "
        f"timeout {p['timeout']} s, at most {p['connections']} client connections; "
        f"{p['repeat']} run(s) per cell (medians)"
    )
    noisy = [r for r in runs if r["noise"] not in ("", "-")]
    if noisy:
        out.append(
            f"- Noise: {len(noisy)} of {len(runs)} runs saw other work on the machine (a build or "
            f"benchmark running, other processes using more than {p['noise_cpu']} % of a core, or more "
            f"than {p.get('noise_steal', 3)} % of CPU time stolen by the hypervisor, or the load "
            f"generator more than {p.get('noise_lag', 20)} ms behind its schedule); "
            "they were re-run and the report uses the quiet runs"
            + (f"; **{len(noisy_cells)} cell(s) had no quiet run** and are marked †" if noisy_cells else "")
        )
    out.append("")
    out.append(
        "Columns: **errors** = requests the client saw fail (non-2xx or no answer); **attempts/req** "
        "= requests the backends received (handled or shed) / requests sent; latency of every request "
        "from the moment it was due (errors included); **share** = each backend's part of all "
        f"attempts, `b1–b{n - 1}` as min–max; **out** = times the proxy took a server out of rotation "
        "(nginx: `upstream server temporarily disabled`; HAProxy: `is DOWN`; Switchyard: outlier "
        "ejections; the balancers' own scores are not counted), and after the slash how often it had "
        "no server left (nginx `no live upstreams`, HAProxy `has no server available`)."
    )
    out.append("")

    for situation in p["situations"].split():
        title, text = texts[situation]
        out.append(f"### {title}")
        out.append("")
        out.append(text)
        out.append("")
        out.append(f"| proxy | retries | errors | attempts/req | p50 ms | p99 ms | p99.9 ms "
                   f"| share b1–b{n - 1} % | share {last} % | error kinds | out |")
        out.append("|---|---|---:|---:|---:|---:|---:|---:|---:|---|---:|")
        for retries in p["retries"].split():
            for proxy in [x for x in PROXY_ORDER if x in p["only"].split()]:
                entries = analyses.get((situation, proxy, retries))
                if not entries:
                    continue
                c = combine([a for _, a in entries])
                shares = [v for k, v in c["shares"].items() if k != last]
                mine = c["shares"].get(last, math.nan)
                kinds = ", ".join(
                    f"{k} ×{v:,.0f}" for k, v in sorted(c["kinds"].items(), key=lambda kv: -kv[1])
                ) or "–"
                downs = median([float(r["downs"]) for r, _ in entries])
                nones = [r["none_left"] for r, _ in entries]
                none = "–" if "-" in nones else fmt(median([float(x) for x in nones]), 0)
                mark = " †" if (situation, proxy, retries) in noisy_cells else ""
                out.append(
                    f"| {PROXY_LABEL[proxy]}{mark} | {retries} "
                    f"| {fmt(100 * c['error_rate'], 2)} % ({fmt(c['errors'], 0)}) "
                    f"| {fmt(c['attempts_per_req'], 3)} | {fmt(c['p50'])} | {fmt(c['p99'])} | {fmt(c['p999'])} "
                    f"| {fmt(100 * min(shares))}–{fmt(100 * max(shares))} | {fmt(100 * mine)} "
                    f"| {kinds} | {fmt(downs, 0)} / {none} |"
                )
        out.append("")
        if situation in ("sinkhole", "late"):
            out.extend(timeline(p, analyses, situation, last))

    out.append("<details><summary>All runs</summary>")
    out.append("")
    out.append("| situation | proxy | retries | rep | errors | attempts/req | p50 | p99 | p99.9 | shares % "
               "| proxy core % | load core % | others % | steal % | max generator lag ms | joined at s | noise |")
    out.append("|---|---|---|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|---|")
    for r in runs:
        a = analyze(os.path.join(work, r["dir"]))
        shares = " ".join(f"{100 * s:.1f}" for s in a["shares"].values())
        out.append(
            f"| {r['situation']} | {r['proxy']} | {r['retries']} | {r['rep']} | {a['errors']} "
            f"| {fmt(a['attempts_per_req'], 3)} | {fmt(a['p50'])} | {fmt(a['p99'])} | {fmt(a['p999'])} "
            f"| {shares} | {r['proxy_core_pct']} | {r['load_core_pct']} | {r['foreign_cpu_pct']} "
            f"| {r.get('steal_pct', '')} "
            f"| {fmt(a['lag_max'])} "
            f"| {r['joined_at']} | {r['noise']} |"
        )
    out.append("")
    out.append("</details>")
    print("\n".join(out))


def timeline(p, analyses, situation, last):
    """Per second around the event, per proxy and retry mode: client errors, and the share of
    all attempts that went to the backend in trouble."""
    ev0, ev1 = p["event_at"], p["event_at"] + p["event_for"]
    start, end = max(0, ev0 - 5), p["duration"]
    seconds = range(start, end)
    out = []
    for retries in p["retries"].split():
        rows = []
        for proxy in [x for x in PROXY_ORDER if x in p["only"].split()]:
            entries = analyses.get((situation, proxy, retries))
            if not entries:
                continue
            c = combine([a for _, a in entries])
            errors = [c["per_bucket"].get(b, 0) for b in seconds]
            per = c["attempts_per_second"]
            share = []
            for b in seconds:
                total = sum(series.get(b, 0) for series in per.values())
                share.append(per.get(last, {}).get(b, 0) / total if total else 0)
            rows.append((PROXY_LABEL[proxy].replace("`", ""), errors, share))
        if not rows:
            continue
        top = max((max(e) for _, e, _ in rows), default=0) or 1
        width = max(len(name) for name, _, _ in rows) + 2
        axis = "".join(str(b // 10 % 10) if b % 10 == 0 else ("'" if b % 5 == 0 else " ") for b in seconds)
        marks = "".join("^" if ev0 <= b < ev1 else " " for b in seconds)
        out.append(
            f"Per second from t = {start} s to {end} s, retries {retries} (the event runs from {ev0} s to "
            f"{ev1} s, marked `^`; `·` = none). **errors**: requests due in that second that failed, bar "
            f"height relative to the largest value in the block ({top:,.0f}/s). **{last}**: {last}'s share "
            f"of the attempts that arrived at the backends in that second (full bar = 50 % or more; a fair "
            f"share is {100 / p['backends']:.0f} %)."
        )
        out.append("")
        out.append("```")
        out.append(f"{'t (s)':{width + 7}}{axis}")
        out.append(f"{'':{width + 7}}{marks}")
        for name, errors, share in rows:
            total = sum(errors)
            during = sum(v for b, v in zip(seconds, errors) if ev0 <= b < ev1)
            out.append(f"{name:{width}}errors {sparkline(errors, top)}  {total:,.0f} in all, "
                       f"{during:,.0f} during the event, peak {max(errors):,.0f}/s")
            mean_share = sum(v for b, v in zip(seconds, share) if ev0 <= b < ev1) / max(1, ev1 - ev0)
            after = [v for b, v in zip(seconds, share) if b >= ev1]
            out.append(f"{'':{width}}{last + ' %':7}{sparkline(share, 0.5)}  {100 * mean_share:.1f} % during "
                       f"the event, {100 * (sum(after) / len(after) if after else 0):.1f} % after it")
        out.append("```")
        out.append("")
    return out


def cpu_table():
    """{pid: (ppid, ticks)} for every process now (utime + stime from /proc/PID/stat)."""
    out = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        out[int(d)] = (int(fields[1]), int(fields[11]) + int(fields[12]))
    return out


def cmd_snapshot(path):
    with open(path, "w") as f:
        for pid, (ppid, ticks) in cpu_table().items():
            f.write(f"{pid} {ppid} {ticks}\n")


def cmd_foreign(start_path, end_path, root):
    def load(path):
        with open(path) as f:
            return {int(p): (int(pp), int(t)) for p, pp, t in (line.split() for line in f)}

    start, end = load(start_path), load(end_path)
    parents = {pid: ppid for pid, (ppid, _) in {**start, **end}.items()}

    def ours(pid):
        seen = set()
        while pid and pid not in seen:
            if pid == root:
                return True
            seen.add(pid)
            pid = parents.get(pid, 0)
        return False

    ticks = 0
    for pid, (_, t) in end.items():
        if pid == os.getpid() or ours(pid):
            continue
        ticks += t - start[pid][1] if pid in start else t
    print(f"{ticks / os.sysconf('SC_CLK_TCK'):.2f}")


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "oneline":
        cmd_oneline(sys.argv[2])
    elif len(sys.argv) == 3 and sys.argv[1] == "snapshot":
        cmd_snapshot(sys.argv[2])
    elif len(sys.argv) == 5 and sys.argv[1] == "foreign":
        cmd_foreign(sys.argv[2], sys.argv[3], int(sys.argv[4]))
    elif len(sys.argv) == 5 and sys.argv[1] == "report":
        cmd_report(sys.argv[2], sys.argv[3], sys.argv[4])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
