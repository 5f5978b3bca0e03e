#!/usr/bin/env bash
# bench/graphql.sh — federated GraphQL: Switchyard vs Apollo Gateway in front of the same subgraphs.
#
# One run starts the movie graph's three subgraphs as processes (`switchyard subgraph`:
# movies, productions, talent from crates/graphql/tests/fixtures/movies, one instance each)
# and two gateways in front of the very same subgraph processes:
#   * Switchyard: a `graphql:` route on the fixture's supergraph, one cluster per subgraph;
#   * Apollo Gateway: @apollo/gateway with the same supergraph as a static `supergraphSdl`,
#     served by @apollo/server's standalone server under NODE_ENV=production
#     (bench/graphql/gateway.mjs; `npm ci` there when node_modules is missing), twice:
#     `apollo` as shipped (subgraph calls through its default fetcher, make-fetch-happen) and
#     `apollo-fetch` with Node's built-in fetch (undici) as the fetcher, a common tuning.
# Apollo Router is not included: it is not published on npm, and the @apollo/rover npm
# package only downloads it at run time from Apollo's servers, which this machine cannot reach.
#
# Before measuring, each query is sent to both gateways and the answers must be the same JSON
# (same data, same key order, no errors; the demo query must also equal the fixture's
# demo.expected.json), else the script stops with both answers.
#
# Queries (POST JSON, HTTP/1.1 keep-alive, h2load --h1 with a fixed number of connections,
# one request in flight on each: 32 = under load, 1 = latency of one request at a time):
#   demo     { movie(id: "2") { title production { name } cast { name movies { title } } } }
#            4 subgraph fetches: movies, then talent and productions in parallel, then movies
#   simple   { movies { id title } }     1 subgraph fetch
# Reported per (query, connections, gateway), medians of REPEAT runs (rounds interleave gateways and
# queries so that slow drifts of the noisy machine hit both alike): requests/s, p50/p99
# latency (from h2load's per-request log), CPU microseconds per request of the gateway
# process (utime+stime from /proc/PID/stat before and after the run, all its threads),
# CPU microseconds per request of the three subgraphs together, how busy the gateway's core
# and the load core were, and ratios Switchyard / Apollo Gateway. Markdown on stdout and
# in bench/out/graphql-<date>.md (raw per-run numbers in the .tsv next to it).
#
# Pinning (2-core machine): the gateway under test runs on core 0 (only one is under load at
# a time); h2load AND the three subgraphs share core 1 (there is no third core). When the
# load core is near 100 % busy, requests/s measures core 1, not the gateway: the gateway's
# CPU per request is then the number to compare (the report says which runs were so).
#
# Usage:   bash bench/graphql.sh          (about 6 minutes)
# Options (environment variables):
#   DURATION=8         seconds per load run
#   REPEAT=3           runs per (query, connections, gateway); the median is reported
#   WARMUP=5           seconds of warm-up per (query, gateway) before measuring (Node's JIT
#                      needs a few seconds: with 1 s Apollo Gateway measured ~35 % slower)
#   CONNS="32 1"       HTTP/1.1 connections of h2load, one load run per value
#   WORKERS=1          Switchyard worker threads (SWITCHYARD_WORKERS); Node runs JS on one thread
#   LATENCY_MS=0       added by every subgraph to every answer
#   QUERIES="demo simple"
#   ONLY="switchyard apollo apollo-fetch"    gateways to run (ratios need switchyard)
#   SWITCHYARD_BIN=target/release/switchyard   (also provides `subgraph`)
#   KEEP_WORK=1        keep the temp dir with configs, logs and tool outputs
#   MIN_AVAILABLE_MIB=3072   stop when less memory than this is left: the subgraphs' memory
#                      grows ~9 KiB per request they serve (about 10 GB over a default run)
#
# Needs root only to apt-get install missing tools (nghttp2-client, nodejs, npm). Uses only
# 127.0.0.1 and free ports; every process it starts is stopped on exit, also on failure or
# Ctrl-C.

set -euo pipefail

DURATION=${DURATION:-8}
REPEAT=${REPEAT:-3}
WARMUP=${WARMUP:-5}
CONNS=${CONNS:-32 1}
WORKERS=${WORKERS:-1}
LATENCY_MS=${LATENCY_MS:-0}
QUERIES=${QUERIES:-demo simple}
ONLY=${ONLY:-switchyard apollo apollo-fetch}
SWITCHYARD_BIN=${SWITCHYARD_BIN:-target/release/switchyard}
KEEP_WORK=${KEEP_WORK:-0}

GATEWAY_CPU=0        # core for the gateway under test
LOAD_CPU=1           # core for h2load and the subgraphs

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$REPO"
BENCH="$REPO/bench"
WAIT_PORT_S=30

# Shared helpers (log, die, cleanup, free_ports, start_bg, wait_port, CPU accounting).
# shellcheck source=bench/lib.sh
source "$REPO/bench/lib.sh"
NODE_DIR="$BENCH/graphql"
FIXTURE="$REPO/crates/graphql/tests/fixtures/movies"
SUBGRAPH_NAMES=(movies productions talent)
STAMP=$(date +%Y-%m-%d-%H%M%S)
OUT_DIR="$BENCH/out"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/switchyard-bench-graphql.XXXXXX")
RUNS_TSV="$WORK/runs.tsv"
CLK_TCK=$(getconf CLK_TCK)

STARTED_PIDS=()              # every background process we started (for cleanup)
declare -A GW_PID=()         # gateway name -> pid
declare -A GW_PORT=()        # gateway name -> port
declare -A SG_PID=()         # subgraph name -> pid
declare -A SG_ADDR=()        # subgraph name -> host:port
declare -A SENT=()           # query -> requests answered so far (all gateways, warm-ups too)
GATEWAYS=()                  # gateways that are running, in report order
HAD_FAILURE=0

# ---------------------------------------------------------------- cleanup ---

trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ------------------------------------------------------------------ setup ---

ensure_tools() {
    local missing=()
    command -v h2load >/dev/null || missing+=(nghttp2-client)
    command -v taskset >/dev/null || missing+=(util-linux)
    command -v pgrep >/dev/null || missing+=(procps)
    command -v python3 >/dev/null || missing+=(python3)
    if [[ " $ONLY " == *" apollo"* ]]; then
        command -v node >/dev/null || missing+=(nodejs)
        command -v npm >/dev/null || missing+=(npm)
    fi
    if ((${#missing[@]})); then
        log "installing: ${missing[*]}"
        apt-get -o DPkg::Lock::Timeout=600 update -qq
        DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq "${missing[@]}" >&2
    fi
    [[ $(nproc) -ge 2 ]] || die "need 2 cores (gateway on core $GATEWAY_CPU, load on core $LOAD_CPU)"
    [[ -x $SWITCHYARD_BIN ]] ||
        die "$SWITCHYARD_BIN not found: build it with 'cargo build --release -p switchyard' (it also runs the subgraphs)"
    "$SWITCHYARD_BIN" subgraph --help >/dev/null 2>&1 ||
        die "$SWITCHYARD_BIN has no 'subgraph' command: rebuild it"
    if [[ " $ONLY " == *" apollo"* && ! -d $NODE_DIR/node_modules/@apollo/gateway ]]; then
        log "npm ci in bench/graphql"
        (cd "$NODE_DIR" && npm ci --no-audit --no-fund >&2)
    fi
}

tool_versions() {
    H2LOAD_VERSION=$(h2load --version 2>&1 | sed -n 's/^h2load //p')
    SWITCHYARD_DESC="$("$SWITCHYARD_BIN" --version 2>/dev/null | head -n1), binary built $(date -r "$SWITCHYARD_BIN" '+%Y-%m-%d %H:%M'), HEAD $(git -C "$REPO" log -1 --format=%h 2>/dev/null || echo '?') at the run"
    if [[ " $ONLY " == *" apollo"* ]]; then
        NODE_VERSION=$(node --version)
        # shellcheck disable=SC2016  # JavaScript, not shell
        APOLLO_VERSIONS=$(cd "$NODE_DIR" && node -e '
            const v = (p) => require(`./node_modules/${p}/package.json`).version;
            console.log(`@apollo/gateway ${v("@apollo/gateway")}, @apollo/server ${v("@apollo/server")}, graphql ${v("graphql")}`);')
    else
        NODE_VERSION="-"
        APOLLO_VERSIONS="not run (ONLY)"
    fi
    log "h2load $H2LOAD_VERSION; $SWITCHYARD_DESC; node $NODE_VERSION, $APOLLO_VERSIONS"
}

# --------------------------------------------------------- process helpers ---

# Sum of VmRSS in KiB.
rss_kib() {
    local files=() pid
    for pid in "$@"; do files+=("/proc/$pid/status"); done
    awk '/^VmRSS:/ { s += $2 } END { print s + 0 }' "${files[@]}" 2>/dev/null
}

# The subgraphs' memory grows with every request they serve (testkit's Subgraph retains about
# 9 KiB per request: ~1 GB per 100,000 subgraph requests, ~10 GB over a default run). Stop
# before the machine runs short rather than let the OOM killer pick a process.
MIN_AVAILABLE_MIB=${MIN_AVAILABLE_MIB:-3072}
memory_check() {
    local avail
    avail=$(awk '/^MemAvailable:/ { print int($2 / 1024) }' /proc/meminfo)
    if ((avail < MIN_AVAILABLE_MIB)); then
        die "only $avail MiB of memory left (subgraphs hold $(($(rss_kib "${SG_PID[@]}") / 1024)) MiB); use a shorter DURATION or fewer REPEAT"
    fi
}

# ---------------------------------------------------------------- servers ---

# The three subgraphs, each its own process on core LOAD_CPU.
start_subgraphs() {
    local name addr
    mkdir -p "$WORK/subgraphs"
    for name in "${SUBGRAPH_NAMES[@]}"; do
        start_bg "$WORK/subgraphs/$name.log" taskset -c "$LOAD_CPU" "$SWITCHYARD_BIN" subgraph \
            --name "$name" --sdl "$FIXTURE/$name.graphql" --data "$FIXTURE/$name.json" \
            --listen 127.0.0.1:0 --latency-ms "$LATENCY_MS"
        SG_PID[$name]=$STARTED_PID
        addr=$(wait_listening "$STARTED_PID" "subgraph $name" "$WORK/subgraphs/$name.log")
        SG_ADDR[$name]=$addr
        log "subgraph $name: pid ${SG_PID[$name]}, $addr (core $LOAD_CPU)"
    done
}

start_switchyard() {
    local dir="$WORK/switchyard" port
    read -r port <<<"$(free_ports 1)"
    mkdir -p "$dir"
    cat >"$dir/switchyard.yaml" <<EOF
# Benchmark gateway: Switchyard, $WORKERS worker thread(s) (SWITCHYARD_WORKERS).
listeners:
  - name: public
    address: 127.0.0.1:$port
access_log:
  to: "off"
routes:
  - name: graphql
    match: { path: { exact: /graphql } }
    graphql:
      supergraph: "$FIXTURE/supergraph.graphql"
      subgraphs: { movies: graph-movies, productions: graph-productions, talent: graph-talent }
clusters:
  - name: graph-movies
    endpoints: [ { address: "${SG_ADDR[movies]}" } ]
  - name: graph-productions
    endpoints: [ { address: "${SG_ADDR[productions]}" } ]
  - name: graph-talent
    endpoints: [ { address: "${SG_ADDR[talent]}" } ]
EOF
    "$SWITCHYARD_BIN" check "$dir/switchyard.yaml" >"$dir/check.log" 2>&1 ||
        { cat "$dir/check.log" >&2; die "switchyard check failed"; }
    start_bg "$dir/switchyard.log" env SWITCHYARD_WORKERS="$WORKERS" RUST_LOG=warn \
        taskset -c "$GATEWAY_CPU" "$SWITCHYARD_BIN" run -c "$dir/switchyard.yaml"
    register_gateway switchyard "$STARTED_PID" "$port" "$dir/switchyard.log"
}

# start_apollo NAME FETCHER: Apollo Gateway with subgraph calls through FETCHER (stock|native).
start_apollo() {
    local gw=$1 fetcher=$2 dir="$WORK/$1" port name args=()
    read -r port <<<"$(free_ports 1)"
    mkdir -p "$dir"
    for name in "${SUBGRAPH_NAMES[@]}"; do args+=(--subgraph "$name=http://${SG_ADDR[$name]}/graphql"); done
    start_bg "$dir/gateway.log" env NODE_ENV=production taskset -c "$GATEWAY_CPU" \
        node "$NODE_DIR/gateway.mjs" --port "$port" --supergraph "$FIXTURE/supergraph.graphql" \
        --fetcher "$fetcher" "${args[@]}"
    wait_listening "$STARTED_PID" "$gw" "$dir/gateway.log" >/dev/null
    register_gateway "$gw" "$STARTED_PID" "$port" "$dir/gateway.log"
}

register_gateway() {
    local name=$1 pid=$2 port=$3 logfile=$4
    wait_port "$port" "$pid" "$name" "$logfile"
    GW_PID[$name]=$pid
    GW_PORT[$name]=$port
    GATEWAYS+=("$name")
    log "$name: pid $pid, http://127.0.0.1:$port/graphql (core $GATEWAY_CPU)"
}

# ---------------------------------------------------------------- queries ---

write_bodies() {
    python3 - "$WORK" <<'EOF'
import json, sys
queries = {
    "demo": '{ movie(id: "2") { title production { name } cast { name movies { title } } } }',
    "simple": "{ movies { id title } }",
}
for name, query in queries.items():
    with open(f"{sys.argv[1]}/{name}.json", "w") as f:
        f.write(json.dumps({"query": query}))
EOF
}

# Subgraph fetches a query takes (every gateway plans these; see the .apollo-plan.txt fixtures).
fetches_of() { case $1 in demo) echo 4 ;; simple) echo 1 ;; *) echo 0 ;; esac; }

# Every gateway's answer to every query must be the same JSON: same data, same key order, no
# errors; demo must also equal the fixture's expected result. Stops the run otherwise.
verify_answers() {
    local q
    for q in $QUERIES; do
        # shellcheck disable=SC2046  # one word per gateway: name=port
        python3 - "$WORK/$q.json" "$FIXTURE/queries/$q.expected.json" "$WORK/answers-$q" \
            $(for g in "${GATEWAYS[@]}"; do echo "$g=${GW_PORT[$g]}"; done) <<'EOF' || die "answers to the $q query differ (see above)"
import json, os, sys, urllib.request
body_path, expected_path, out_prefix = sys.argv[1:4]
gateways = [a.split("=", 1) for a in sys.argv[4:]]
body = open(body_path, "rb").read()
answers = {}
for name, port in gateways:
    req = urllib.request.Request(f"http://127.0.0.1:{port}/graphql", data=body,
                                 headers={"content-type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            raw, status = r.read(), r.status
    except urllib.error.HTTPError as e:
        raw, status = e.read(), e.code
    open(f"{out_prefix}-{name}.json", "wb").write(raw)
    try:
        parsed = json.loads(raw)
    except ValueError:
        sys.exit(f"{name}: HTTP {status}, not JSON: {raw[:500]!r}")
    canon = json.dumps(parsed, separators=(",", ":"))
    print(f"  {name}: HTTP {status}, {len(raw)} bytes: {canon[:160]}{'...' if len(canon) > 160 else ''}", file=sys.stderr)
    if status != 200 or parsed.get("errors") or parsed.get("data") is None:
        sys.exit(f"{name}: HTTP {status}, answer with errors or no data: {canon}")
    answers[name] = canon
if os.path.exists(expected_path):
    expected = json.dumps(json.load(open(expected_path)), separators=(",", ":"))
    for name, canon in answers.items():
        if canon != expected:
            sys.exit(f"{name} differs from {expected_path}:\n  got      {canon}\n  expected {expected}")
if len(set(answers.values())) > 1:
    sys.exit("MISMATCH:\n" + "\n".join(f"  {n}: {c}" for n, c in answers.items()))
EOF
        log "query $q: the same JSON from ${GATEWAYS[*]}"
        SENT[$q]=$(( ${SENT[$q]:-0} + ${#GATEWAYS[@]} ))
    done
}

# ------------------------------------------------------------ load runs ---

# h2load over HTTP/1.1 with CONNS connections, POST of the query's JSON body, bounded by -D.
run_h2load() {
    local port=$1 query=$2 conns=$3 seconds=$4 out=$5 reqlog=$6
    taskset -c "$LOAD_CPU" h2load --h1 -c"$conns" -t1 -D "$seconds" \
        -d "$WORK/$query.json" -H 'content-type: application/json' \
        --log-file="$reqlog" "http://127.0.0.1:$port/graphql" >"$out" 2>&1 || true
}

# Prints "rps p50_ms p99_ms requests errors" from h2load's output and per-request log.
parse_h2load() {
    local out=$1 reqlog=$2 rps req err p50 p99
    read -r rps req err < <(awk '
        /^finished in/ { rps = $4 }
        /^requests:/ { done = $6; err += $10 + $12 + $14 }   # failed, errored, timeout
        /^status codes:/ { err += $7 + $9 }                    # 4xx, 5xx
        END { print (rps == "" ? "nan" : rps), (done == "" ? 0 : done), err + 0 }
    ' "$out")
    read -r p50 p99 _ < <(python3 "$BENCH/report.py" percentiles "$reqlog")
    rm -f "$reqlog"
    echo "$rps $p50 $p99 $req $err"
}

# One bounded run of QUERY over CONNS connections against gateway NAME, with CPU counters read just before and
# after h2load. Prints "rps p50 p99 requests errors gw_ticks sg_ticks seconds load_core_pct
# other_cpu_pct"; "other" = busy CPU of the machine that is not the gateway, the subgraphs or
# this shell's children (h2load), plus steal: noise from outside.
load_run() {
    local name=$1 query=$2 conns=$3 seconds=$4 tag=$5 me=$BASHPID sg t0 t1 g0 g1 s0 s1 c0 c1 a0 a1 o0 o1 res
    local out="$WORK/$name-$query-c$conns-$tag.out" reqlog="$WORK/$name-$query-c$conns-$tag.reqlog"
    sg=("${SG_PID[@]}")
    a0=$(core_jiffies "")
    o0=$(ticks_with_children "$me")
    s0=$(cpu_ticks "${sg[@]}")
    g0=$(cpu_ticks "${GW_PID[$name]}")
    t0=$(date +%s.%N)
    c0=$(core_jiffies "$LOAD_CPU")
    run_h2load "${GW_PORT[$name]}" "$query" "$conns" "$seconds" "$out" "$reqlog"
    g1=$(cpu_ticks "${GW_PID[$name]}")
    t1=$(date +%s.%N)
    c1=$(core_jiffies "$LOAD_CPU")
    s1=$(cpu_ticks "${sg[@]}")
    o1=$(ticks_with_children "$me")
    a1=$(core_jiffies "")
    res=$(parse_h2load "$out" "$reqlog")
    echo "$res $((g1 - g0)) $((s1 - s0)) $(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')" \
        "$(awk -v c0="$c0" -v c1="$c1" 'BEGIN { split(c0, a, " "); split(c1, b, " ");
            printf "%.0f", (b[2] > a[2]) ? 100 * (b[1] - a[1]) / (b[2] - a[2]) : 0 }')" \
        "$(awk -v a0="$a0" -v a1="$a1" -v ours=$(((g1 - g0) + (s1 - s0) + (o1 - o0))) \
            -v hz="$CLK_TCK" -v t0="$t0" -v t1="$t1" 'BEGIN { split(a0, x, " "); split(a1, y, " ");
            other = (y[1] - x[1]) - ours + (y[3] - x[3]); if (other < 0) other = 0;
            printf "%.0f", 100 * other / hz / (t1 - t0) }')"
}

# Warm-up per (query, gateway) with the first CONNS value: must complete requests without
# errors (JIT, caches, connection pools).
warm_up() {
    local q name rps p50 p99 req err rest conns
    read -r conns _ <<<"$CONNS"
    for q in $QUERIES; do
        for name in "${GATEWAYS[@]}"; do
            read -r rps p50 p99 req err rest <<<"$(load_run "$name" "$q" "$conns" "$WARMUP" warmup)"
            SENT[$q]=$(( ${SENT[$q]:-0} + req ))
            if [[ $req == 0 || $err != 0 ]]; then
                tail -n 20 "$WORK/$name-$q-c$conns-warmup.out" >&2
                die "warm-up of $name with the $q query: $req requests, $err errors"
            fi
            log "warm-up $name $q: $req requests ok ($rps req/s)"
        done
    done
}

measure() {
    local rep q c name rps p50 p99 req err gt st secs load_pct other_pct gw_us sg_us gw_pct
    printf 'gateway\tquery\tconns\trep\trps\tp50_ms\tp99_ms\trequests\tcpu_us_per_req\tsubgraph_cpu_us_per_req\tgateway_cpu_pct\tload_core_pct\tother_cpu_pct\terrors\n' >"$RUNS_TSV"
    for rep in $(seq "$REPEAT"); do
        for c in $CONNS; do
            for q in $QUERIES; do
                for name in "${GATEWAYS[@]}"; do
                    noise_check
                    memory_check
                    read -r rps p50 p99 req err gt st secs load_pct other_pct <<<"$(load_run "$name" "$q" "$c" "$DURATION" "rep$rep")"
                    SENT[$q]=$(( ${SENT[$q]:-0} + req ))
                    gw_us=$(awk -v t="$gt" -v hz="$CLK_TCK" -v n="$req" 'BEGIN { if (n > 0) printf "%.1f", t * 1e6 / hz / n; else print "nan" }')
                    sg_us=$(awk -v t="$st" -v hz="$CLK_TCK" -v n="$req" 'BEGIN { if (n > 0) printf "%.1f", t * 1e6 / hz / n; else print "nan" }')
                    gw_pct=$(awk -v t="$gt" -v hz="$CLK_TCK" -v s="$secs" 'BEGIN { printf "%.0f", 100 * t / hz / s }')
                    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$q" "$c" "$rep" \
                        "$rps" "$p50" "$p99" "$req" "$gw_us" "$sg_us" "$gw_pct" "$load_pct" "$other_pct" "$err" >>"$RUNS_TSV"
                    log "rep $rep/$REPEAT $name $q c$c: $rps req/s, p50 $p50 ms, p99 $p99 ms, gateway $gw_us us/req" \
                        "(core ${gw_pct}%), subgraphs $sg_us us/req, load core ${load_pct}%, other ${other_pct}%, errors $err"
                    if ((other_pct > 10)); then
                        NOISE_NOTES+=" rep $rep $name $q c$c: other work took ${other_pct}% of a core;"
                        log "WARNING: other work on the machine took ${other_pct}% of a core during this run"
                    fi
                    if ((err != 0)); then
                        HAD_FAILURE=1
                        log "WARNING: $err errors; see $WORK/$name-$q-c$c-rep$rep.out"
                    fi
                done
            done
        done
    done
}

# A build or a busy machine skews the results: note it (checked before every run; with
# `noise_check start`, also whether the CPUs are more than 10 % busy over one second).
NOISE_NOTES=""
noise_check() {
    local busy
    # shellcheck disable=SC2009  # pgrep -x warns about patterns longer than 15 chars
    busy=$(ps -eo comm= | grep -cxE 'rustc|cargo|cc|cc1|ld|ld.lld|mold' || true)
    if ((busy > 0)); then
        NOISE_NOTES+=" $(date +%H:%M:%S): $busy compiler process(es) running;"
        log "WARNING: a build (cargo/rustc/cc/ld) is running; numbers will be noisy"
    fi
    if [[ ${1:-} == start ]]; then
        local a b pct
        a=$(core_jiffies "")
        sleep 1
        b=$(core_jiffies "")
        pct=$(awk -v a="$a" -v b="$b" 'BEGIN { split(a, x, " "); split(b, y, " ");
            printf "%.0f", (y[2] > x[2]) ? 100 * (y[1] - x[1]) / (y[2] - x[2]) : 0 }')
        if ((pct > 10)); then
            NOISE_NOTES+=" $(date +%H:%M:%S): CPUs ${pct}% busy before start;"
            log "WARNING: the CPUs are ${pct}% busy before we start; numbers will be noisy"
        fi
    fi
}

# Stop the subgraphs and compare the requests they served with what the queries need
# (4 fetches per demo query, 1 per simple one): every gateway must plan the same fetches.
subgraph_totals() {
    local name pid line served=0 expected=0 q
    for name in "${SUBGRAPH_NAMES[@]}"; do
        pid=${SG_PID[$name]}
        kill -TERM "$pid" 2>/dev/null || true
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        line=$(grep -m1 '"requests"' "$WORK/subgraphs/$name.log" || echo '{}')
        served=$((served + $(python3 -c 'import json,sys; print(json.loads(sys.argv[1]).get("requests", 0))' "$line")))
    done
    for q in $QUERIES; do expected=$((expected + ${SENT[$q]:-0} * $(fetches_of "$q"))); done
    SUBGRAPH_NOTE="subgraph requests served: $served; answered gateway requests x fetches per query: $expected"
    log "$SUBGRAPH_NOTE"
}

# ---------------------------------------------------------------- report ---

report() {
    local md="$OUT_DIR/graphql-$STAMP.md" cmd name
    cmd="DURATION=$DURATION REPEAT=$REPEAT CONNS=\"$CONNS\" WORKERS=$WORKERS"
    [[ $WARMUP == 5 ]] || cmd+=" WARMUP=$WARMUP"
    [[ $LATENCY_MS == 0 ]] || cmd+=" LATENCY_MS=$LATENCY_MS"
    [[ $QUERIES == "demo simple" ]] || cmd+=" QUERIES=\"$QUERIES\""
    [[ $ONLY == "switchyard apollo apollo-fetch" ]] || cmd+=" ONLY=\"$ONLY\""
    [[ $SWITCHYARD_BIN == target/release/switchyard ]] || cmd+=" SWITCHYARD_BIN=$SWITCHYARD_BIN"
    mkdir -p "$OUT_DIR"
    {
        echo "## GraphQL federation benchmark $STAMP"
        echo
        echo "- Command: \`$cmd bash bench/graphql.sh\`"
        echo "- Host: $(nproc) cores ($(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n1)), kernel $(uname -r), load average at start: $LOADAVG_START, at end: $(cut -d' ' -f1-3 /proc/loadavg)"
        [[ -z $NOISE_NOTES ]] || echo "- **Noise warning:**$NOISE_NOTES"
        echo "- Pinning: gateway under test on core $GATEWAY_CPU; h2load and the three subgraph processes (\`switchyard subgraph\`, one each) share core $LOAD_CPU"
        echo "- Switchyard: $SWITCHYARD_DESC, $WORKERS worker thread(s); Apollo Gateway: node $NODE_VERSION, $APOLLO_VERSIONS, NODE_ENV=production, static supergraphSdl; \`apollo\` = as shipped (make-fetch-happen for subgraph calls), \`apollo-fetch\` = Node's built-in fetch as the fetcher"
        echo "- Load: h2load $H2LOAD_VERSION \`--h1 -cN -t1 -D $DURATION\` with N = ${CONNS// /, } connections, POST JSON (p50/p99 from --log-file); ${WARMUP}s warm-up per (query, gateway); medians of $REPEAT runs; subgraph latency ${LATENCY_MS} ms"
        echo "- Answers checked before measuring: identical JSON from every gateway (demo also equal to the fixture's expected result)"
        echo "- Memory (VmRSS after the runs):$(for name in "${GATEWAYS[@]}"; do printf ' %s %s MiB;' "$name" "$((RSS_END[$name] / 1024))"; done) the three subgraphs $SUBGRAPH_RSS_MIB MiB (they grow ~9 KiB per request served)"
        echo "- Check: $SUBGRAPH_NOTE"
        echo
        python3 "$NODE_DIR/report.py" "$RUNS_TSV"
    } >"$md"
    cp "$RUNS_TSV" "$OUT_DIR/graphql-$STAMP.tsv"
    cat "$md"
    log "written: ${md#"$REPO"/} (raw runs: bench/out/graphql-$STAMP.tsv)"
}

# ------------------------------------------------------------------ main ---

main() {
    local name
    ensure_tools
    tool_versions
    LOADAVG_START=$(cut -d' ' -f1-3 /proc/loadavg)
    log "work dir $WORK; DURATION=$DURATION REPEAT=$REPEAT CONNS=\"$CONNS\" WORKERS=$WORKERS; load average $LOADAVG_START"
    noise_check start
    write_bodies
    start_subgraphs
    [[ " $ONLY " != *" switchyard "* ]] || start_switchyard
    [[ " $ONLY " != *" apollo "* ]] || start_apollo apollo stock
    [[ " $ONLY " != *" apollo-fetch "* ]] || start_apollo apollo-fetch native
    ((${#GATEWAYS[@]})) || die "no gateway to benchmark (ONLY=$ONLY)"
    verify_answers
    warm_up
    measure
    declare -gA RSS_END=()
    for name in "${GATEWAYS[@]}"; do RSS_END[$name]=$(rss_kib "${GW_PID[$name]}"); done
    SUBGRAPH_RSS_MIB=$(($(rss_kib "${SG_PID[@]}") / 1024))
    subgraph_totals
    report
}

main "$@"
