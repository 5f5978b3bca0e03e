#!/usr/bin/env bash
# bench/graphql_federation.sh — the federation gateways benchmark: Switchyard vs hive-router vs
# Hive Gateway on four subgraphs (accounts, inventory, products, reviews) and one deeply nested
# query with an ~80 KB answer, in the shape of The Guild's graphql-gateways-benchmark.
#
# The graph: crates/graphql/tests/fixtures/federation/ (SDLs, data from generate.py, supergraph.graphql composed
# with crates/graphql/tests/fixtures/tools/compose.mjs, the query and its expected answer).
# Each subgraph is a `switchyard subgraph` process; every gateway gets its OWN four subgraph
# processes (all on the load core, idle while another gateway is measured), so that the
# requests each subgraph set served can be counted per gateway at the end.
#
# Gateways, one under load at a time, each as its documentation recommends for production:
#   * switchyard:   a `graphql:` route, one cluster per subgraph, access log off,
#                   SWITCHYARD_WORKERS=$WORKERS, release build (target/release/switchyard);
#   * hive-router:  The Guild's Rust router (crates.io `hive-router`, binary `hive_router`,
#                   `cargo +nightly install hive-router --locked --features graphiql --root
#                   bench/.tools`: it needs rustc >= 1.97, and its default build runs npm for a
#                   Laboratory UI package that npm does not serve; `graphiql` swaps that page for
#                   a static GraphiQL one, nothing else), http.workers: $WORKERS,
#                   log level error, Laboratory off, supergraph from a file; everything else
#                   default (among it: in-flight de-duplication of identical subgraph requests:
#                   concurrent client requests share one subgraph call when it is the same);
#   * hive-router-nodedupe: the same with `traffic_shaping.all.dedupe_enabled: false`, so that
#                   every client request makes its own subgraph calls, as Switchyard's do;
#   * hive-gateway: `@graphql-hive/gateway` (npm, bench/graphql/package.json) under
#                   NODE_ENV=production, `supergraph FILE --jit`, one process (--fork 1),
#                   bench/graphql/hive-gateway.config.mjs (errors-only logging, no GraphiQL);
#                   its subgraph executor also de-duplicates identical in-flight requests by
#                   default, and it batches the entity fetches of one plan step per subgraph.
# hive-router and Hive Gateway read the subgraph URLs from the supergraph: they get a copy with
# the placeholder URLs (http://NAME.invalid/graphql) replaced by their subgraphs' addresses.
#
# Before measuring, the query goes to every gateway and each answer must be exactly
# crates/graphql/tests/fixtures/federation/queries/federation.expected.json (same JSON, same key order, no
# errors), else the script stops and keeps both.
#
# Load: h2load --h1 with a fixed number of connections (CONNS), one request in flight on each,
# POST JSON; medians of REPEAT runs of DURATION seconds; rounds interleave the gateways. Reported
# per (connections, gateway): requests/s, p50/p99 latency (from h2load's per-request log),
# CPU µs per request of the gateway process (all threads) and of its four subgraphs, how busy
# the gateway's core and the load core were, noise from other work; per gateway: peak memory
# (VmHWM of the gateway process) and subgraph requests per gateway request; ratios to
# hive-router; and whether Switchyard meets the target (req/s >= hive-router's, p99 <=
# hive-router's) at each connection count. Markdown on stdout and in
# bench/out/graphql-federation-<date>.md (raw runs in the .tsv next to it).
#
# Before every run the script waits until all the processes it started are idle (the gateway
# measured before may still be draining requests cut off at the end of its run).
#
# Pinning (2 cores): the gateway under test on core 0; h2load and the subgraphs on core 1.
# When core 1 is saturated, requests/s measures core 1 rather than the gateway; the gateway's
# CPU per request is then the figure to compare (the report marks such runs).
#
# Usage:   bash bench/graphql_federation.sh          (about 4.5 minutes)
# Options (environment variables):
#   DURATION=8  REPEAT=3  WARMUP=5  CONNS="32 1"
#   WORKERS=1          Switchyard workers / hive-router http.workers (Node runs JS on one thread)
#   LATENCY_MS=0       added by every subgraph to every answer
#   ONLY="switchyard hive-router hive-router-nodedupe hive-gateway"
#   SWITCHYARD_BIN=target/release/switchyard     (also runs the subgraphs)
#   HIVE_ROUTER_BIN=bench/.tools/bin/hive_router
#   SWITCHYARD_MAX_COST=1000000  the route's limits.max_cost: the default 100000 refuses this query
#                      (estimated cost 107812), so the benchmark raises it (the check still runs)
#   SWITCHYARD_DEDUPE=true  the route's dedupe (identical concurrent subgraph calls shared)
#   PERF=0             1: after the runs, `perf record -g` Switchyard for DURATION s under the
#                      first CONNS value and add its top symbols to the report
#   KEEP_WORK=1        keep the temp dir with configs, logs and tool outputs
#
# Needs root only to apt-get install missing tools. Uses only 127.0.0.1 and free ports; every
# process it starts is stopped on exit, also on failure or Ctrl-C.

set -euo pipefail

DURATION=${DURATION:-8}
REPEAT=${REPEAT:-3}
WARMUP=${WARMUP:-5}
CONNS=${CONNS:-32 1}
WORKERS=${WORKERS:-1}
LATENCY_MS=${LATENCY_MS:-0}
ONLY=${ONLY:-switchyard hive-router hive-router-nodedupe hive-gateway}
SWITCHYARD_BIN=${SWITCHYARD_BIN:-target/release/switchyard}
HIVE_ROUTER_BIN=${HIVE_ROUTER_BIN:-bench/.tools/bin/hive_router}
SWITCHYARD_MAX_COST=${SWITCHYARD_MAX_COST:-1000000}
SWITCHYARD_DEDUPE=${SWITCHYARD_DEDUPE:-true}
PERF=${PERF:-0}
KEEP_WORK=${KEEP_WORK:-0}

GATEWAY_CPU=0        # core for the gateway under test
LOAD_CPU=1           # core for h2load and the subgraphs

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$REPO"
BENCH="$REPO/bench"
WAIT_PORT_S=60

# Shared helpers (log, die, cleanup, free_ports, start_bg, wait_port, CPU accounting).
# shellcheck source=bench/lib.sh
source "$REPO/bench/lib.sh"
NODE_DIR="$BENCH/graphql"
GRAPH="$REPO/crates/graphql/tests/fixtures/federation"
QUERY_FILE="$GRAPH/queries/federation.graphql"
EXPECTED="$GRAPH/queries/federation.expected.json"
SUBGRAPH_NAMES=(accounts inventory products reviews)
STAMP=$(date +%Y-%m-%d-%H%M%S)
OUT_DIR="$BENCH/out"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/switchyard-bench-federation.XXXXXX")
RUNS_TSV="$WORK/runs.tsv"
GATEWAYS_TSV="$WORK/gateways.tsv"
CLK_TCK=$(getconf CLK_TCK)

STARTED_PIDS=()              # every background process we started (for cleanup)
declare -A GW_PID=()         # gateway -> pid
declare -A GW_PORT=()        # gateway -> port
declare -A GW_DESC=()        # gateway -> version and settings, for the report
declare -A SG_PIDS=()        # gateway -> "pid pid pid pid" of its subgraphs
declare -A SG_ADDR=()        # "gateway/subgraph" -> host:port
declare -A SENT=()           # gateway -> requests answered (verify, warm-up, runs)
GATEWAYS=()                  # gateways that are running, in report order
HAD_FAILURE=0

# ---------------------------------------------------------------- cleanup ---

trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ------------------------------------------------------------------ setup ---

wants() { [[ " $ONLY " == *" $1 "* ]]; }

ensure_tools() {
    local missing=()
    command -v h2load >/dev/null || missing+=(nghttp2-client)
    command -v taskset >/dev/null || missing+=(util-linux)
    command -v pgrep >/dev/null || missing+=(procps)
    command -v python3 >/dev/null || missing+=(python3)
    if wants hive-gateway; then
        command -v node >/dev/null || missing+=(nodejs)
        command -v npm >/dev/null || missing+=(npm)
    fi
    if [[ $PERF == 1 ]]; then command -v perf >/dev/null || missing+=(linux-perf); fi
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
    if { wants hive-router || wants hive-router-nodedupe; } && [[ ! -x $HIVE_ROUTER_BIN ]]; then
        die "$HIVE_ROUTER_BIN not found: 'cargo +nightly install hive-router --locked --features graphiql --root bench/.tools' (rustc >= 1.97; see the header), or leave it out with ONLY"
    fi
    if wants hive-gateway && [[ ! -d $NODE_DIR/node_modules/@graphql-hive/gateway ]]; then
        log "npm ci in bench/graphql"
        (cd "$NODE_DIR" && npm ci --no-audit --no-fund >&2)
    fi
}

tool_versions() {
    H2LOAD_VERSION=$(h2load --version 2>&1 | sed -n 's/^h2load //p')
    GW_DESC[switchyard]="$("$SWITCHYARD_BIN" --version 2>/dev/null | head -n1), binary built $(date -r "$SWITCHYARD_BIN" '+%Y-%m-%d %H:%M'), HEAD $(git -C "$REPO" log -1 --format=%h 2>/dev/null || echo '?') at the run$(stale_binary_note "$SWITCHYARD_BIN" "$REPO"); SWITCHYARD_WORKERS=$WORKERS, access log off, limits.max_cost $SWITCHYARD_MAX_COST"
    if wants hive-router || wants hive-router-nodedupe; then
        # hive_router has no --version; the installed crate version is in cargo's install record.
        local v
        v=$(sed -n 's/.*"hive-router \([0-9][^ ]*\) (registry.*/\1/p' "$(dirname "$HIVE_ROUTER_BIN")/../.crates.toml" 2>/dev/null | head -n1)
        v="hive-router ${v:-?} (cargo install --features graphiql, binary built $(date -r "$HIVE_ROUTER_BIN" '+%Y-%m-%d %H:%M')); http.workers: $WORKERS, log level error, Laboratory off"
        GW_DESC[hive-router]="$v, otherwise defaults (subgraph request dedupe on)"
        GW_DESC[hive-router-nodedupe]="$v, traffic_shaping.all.dedupe_enabled: false"
    fi
    if wants hive-gateway; then
        # shellcheck disable=SC2016  # JavaScript, not shell
        GW_DESC[hive-gateway]="$(cd "$NODE_DIR" && node -e '
            const v = (p) => require(`./node_modules/${p}/package.json`).version;
            console.log(`@graphql-hive/gateway ${v("@graphql-hive/gateway")} (gateway-runtime ${v("@graphql-hive/gateway-runtime")}, graphql ${v("graphql")})`);'), node $(node --version), NODE_ENV=production, --jit, --fork 1, logging error"
    fi
    log "h2load $H2LOAD_VERSION"
    local g
    for g in $ONLY; do log "$g: ${GW_DESC[$g]:-?}"; done
}

# --------------------------------------------------------- process helpers ---

# KEY (VmRSS, VmHWM) of PID in KiB.
status_kib() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status" 2>/dev/null || echo 0; }

# The pids of PID and all its descendants (Node may start helper processes).
tree_pids() {
    local pid=$1 child
    echo "$pid"
    for child in $(pgrep -P "$pid" 2>/dev/null || true); do tree_pids "$child"; done
}

# ---------------------------------------------------------------- servers ---

# Four subgraph processes for gateway GW, on core LOAD_CPU.
start_subgraphs() {
    local gw=$1 name addr pids=()
    mkdir -p "$WORK/subgraphs-$gw"
    for name in "${SUBGRAPH_NAMES[@]}"; do
        start_bg "$WORK/subgraphs-$gw/$name.log" taskset -c "$LOAD_CPU" "$SWITCHYARD_BIN" subgraph \
            --name "$name" --sdl "$GRAPH/$name.graphql" --data "$GRAPH/$name.json" \
            --listen 127.0.0.1:0 --latency-ms "$LATENCY_MS"
        pids+=("$STARTED_PID")
        addr=$(wait_listening "$STARTED_PID" "subgraph $name for $gw" "$WORK/subgraphs-$gw/$name.log")
        SG_ADDR[$gw/$name]=$addr
    done
    SG_PIDS[$gw]="${pids[*]}"
    log "$gw's subgraphs: $(for name in "${SUBGRAPH_NAMES[@]}"; do printf '%s %s  ' "$name" "${SG_ADDR[$gw/$name]}"; done)(core $LOAD_CPU)"
}

# The supergraph with gateway GW's subgraph addresses instead of the placeholder URLs.
supergraph_for() {
    local gw=$1 out="$WORK/$1/supergraph.graphql" args=() name
    for name in "${SUBGRAPH_NAMES[@]}"; do
        args+=(-e "s|http://$name.invalid/graphql|http://${SG_ADDR[$gw/$name]}/graphql|")
    done
    sed "${args[@]}" "$GRAPH/supergraph.graphql" >"$out"
    ! grep -q '\.invalid/' "$out" || die "supergraph for $gw still has placeholder URLs"
    echo "$out"
}

start_switchyard() {
    local gw=switchyard dir="$WORK/switchyard" port name
    read -r port <<<"$(free_ports 1)"
    mkdir -p "$dir"
    {
        echo "# Benchmark gateway: Switchyard, $WORKERS worker thread(s) (SWITCHYARD_WORKERS)."
        echo "listeners:"
        echo "  - name: public"
        echo "    address: 127.0.0.1:$port"
        echo "access_log:"
        echo "  to: \"off\""
        echo "routes:"
        echo "  - name: graphql"
        echo "    match: { path: { exact: /graphql } }"
        echo "    graphql:"
        echo "      supergraph: \"$GRAPH/supergraph.graphql\""
        echo "      subgraphs: { $(for name in "${SUBGRAPH_NAMES[@]}"; do printf '%s: graph-%s, ' "$name" "$name"; done | sed 's/, $//') }"
        echo "      # The default max_cost (100000) refuses this query: its estimated cost is 107812"
        echo "      # (every list without first/last/limit counts 10x). The limit stays on, higher."
        echo "      limits: { max_cost: $SWITCHYARD_MAX_COST }"
        echo "      dedupe: $SWITCHYARD_DEDUPE"
        echo "clusters:"
        for name in "${SUBGRAPH_NAMES[@]}"; do
            echo "  - name: graph-$name"
            echo "    endpoints: [ { address: \"${SG_ADDR[$gw/$name]}\" } ]"
        done
    } >"$dir/switchyard.yaml"
    "$SWITCHYARD_BIN" check "$dir/switchyard.yaml" >"$dir/check.log" 2>&1 ||
        { cat "$dir/check.log" >&2; die "switchyard check failed"; }
    start_bg "$dir/switchyard.log" env SWITCHYARD_WORKERS="$WORKERS" RUST_LOG=warn \
        taskset -c "$GATEWAY_CPU" "$SWITCHYARD_BIN" run -c "$dir/switchyard.yaml"
    register_gateway "$gw" "$STARTED_PID" "$port" "$dir/switchyard.log"
}

# start_hive_router NAME: hive-router (defaults) or hive-router-nodedupe (dedupe off).
start_hive_router() {
    local gw=$1 dir="$WORK/$1" port supergraph dedupe=""
    read -r port <<<"$(free_ports 1)"
    mkdir -p "$dir"
    supergraph=$(supergraph_for "$gw")
    if [[ $gw == hive-router-nodedupe ]]; then
        dedupe=$'traffic_shaping:\n  all:\n    dedupe_enabled: false'
    fi
    cat >"$dir/router.config.yaml" <<EOF
# Benchmark gateway: hive-router, $WORKERS HTTP worker(s), production settings otherwise default.
supergraph:
  source: file
  path: "$supergraph"
http:
  host: 127.0.0.1
  port: $port
  workers: $WORKERS
log:
  level: error
laboratory:
  enabled: false
$dedupe
EOF
    # cwd = its dir: the router resolves relative paths from there and writes nothing else.
    start_bg "$dir/router.log" env -C "$dir" ROUTER_CONFIG_FILE_PATH="$dir/router.config.yaml" \
        taskset -c "$GATEWAY_CPU" "$REPO/$HIVE_ROUTER_BIN"
    register_gateway "$gw" "$STARTED_PID" "$port" "$dir/router.log"
}

start_hive_gateway() {
    local gw=hive-gateway dir="$WORK/hive-gateway" port supergraph
    read -r port <<<"$(free_ports 1)"
    mkdir -p "$dir"
    supergraph=$(supergraph_for "$gw")
    start_bg "$dir/gateway.log" env -C "$NODE_DIR" NODE_ENV=production taskset -c "$GATEWAY_CPU" \
        node "$NODE_DIR/node_modules/@graphql-hive/gateway/dist/bin.js" supergraph "$supergraph" \
        --jit --fork 1 -c "$NODE_DIR/hive-gateway.config.mjs" --host 127.0.0.1 --port "$port"
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

# ------------------------------------------------------------ the query ---

write_body() {
    python3 - "$QUERY_FILE" "$WORK/body.json" <<'EOF'
import json, sys
query = open(sys.argv[1]).read()
with open(sys.argv[2], "w") as f:
    f.write(json.dumps({"query": query, "operationName": "TestQuery"}))
EOF
}

# Every gateway's answer must be exactly the expected JSON (data, key order, no errors).
verify_answers() {
    # shellcheck disable=SC2046  # one word per gateway: name=port
    python3 - "$WORK/body.json" "$EXPECTED" "$WORK/answer" \
        $(for g in "${GATEWAYS[@]}"; do echo "$g=${GW_PORT[$g]}"; done) <<'EOF' || die "answers differ from the expected one (see above; answers kept in the work dir)"
import json, sys, urllib.request
body_path, expected_path, out_prefix = sys.argv[1:4]
body = open(body_path, "rb").read()
expected = json.dumps(json.load(open(expected_path)), separators=(",", ":"))
bad = []
for name, port in (a.split("=", 1) for a in sys.argv[4:]):
    req = urllib.request.Request(f"http://127.0.0.1:{port}/graphql", data=body,
                                 headers={"content-type": "application/json", "accept": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            raw, status = r.read(), r.status
    except urllib.error.HTTPError as e:
        raw, status = e.read(), e.code
    open(f"{out_prefix}-{name}.json", "wb").write(raw)
    try:
        canon = json.dumps(json.loads(raw), separators=(",", ":"))
    except ValueError:
        bad.append(f"{name}: HTTP {status}, not JSON: {raw[:300]!r}")
        continue
    same = canon == expected
    print(f"  {name}: HTTP {status}, {len(raw):,} bytes on the wire, {len(canon):,} compact, "
          f"{'equal to' if same else 'DIFFERENT from'} the expected answer", file=sys.stderr)
    if status != 200 or not same:
        first = next((i for i, (a, b) in enumerate(zip(canon, expected)) if a != b), min(len(canon), len(expected)))
        bad.append(f"{name}: HTTP {status}; first difference at byte {first}:\n"
                   f"    got      ...{canon[max(0, first - 80):first + 120]}\n"
                   f"    expected ...{expected[max(0, first - 80):first + 120]}")
if bad:
    sys.exit("\n".join(bad))
EOF
    local g
    for g in "${GATEWAYS[@]}"; do SENT[$g]=$((${SENT[$g]:-0} + 1)); done
    ANSWER_BYTES=$(python3 -c 'import json,sys; print(len(json.dumps(json.load(open(sys.argv[1])), separators=(",", ":"))))' "$EXPECTED")
    log "the same answer ($ANSWER_BYTES bytes of compact JSON, equal to ${EXPECTED#"$REPO"/}) from ${GATEWAYS[*]}"
}

# ------------------------------------------------------------ load runs ---

run_h2load() {
    local port=$1 conns=$2 seconds=$3 out=$4 reqlog=$5
    taskset -c "$LOAD_CPU" h2load --h1 -c"$conns" -t1 -D "$seconds" \
        -d "$WORK/body.json" -H 'content-type: application/json' -H 'accept: application/json' \
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
    [[ $KEEP_WORK == 1 ]] || rm -f "$reqlog"
    echo "$rps $p50 $p99 $req $err"
}

# One bounded run against gateway NAME with CONNS connections, CPU counters read just before and
# after. Prints "rps p50 p99 requests errors gw_ticks sg_ticks seconds load_core_pct other_pct".
load_run() {
    local name=$1 conns=$2 seconds=$3 tag=$4 me=$BASHPID t0 t1 g0 g1 s0 s1 c0 c1 a0 a1 o0 o1 res gw sg
    local out="$WORK/$name-c$conns-$tag.out" reqlog="$WORK/$name-c$conns-$tag.reqlog"
    mapfile -t gw < <(tree_pids "${GW_PID[$name]}")
    read -ra sg <<<"${SG_PIDS[$name]}"
    a0=$(core_jiffies "")
    o0=$(ticks_with_children "$me")
    s0=$(cpu_ticks "${sg[@]}")
    g0=$(cpu_ticks "${gw[@]}")
    t0=$(date +%s.%N)
    c0=$(core_jiffies "$LOAD_CPU")
    run_h2load "${GW_PORT[$name]}" "$conns" "$seconds" "$out" "$reqlog"
    g1=$(cpu_ticks "${gw[@]}")
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

warm_up() {
    local name rps p50 p99 req err rest conns
    read -r conns _ <<<"$CONNS"
    for name in "${GATEWAYS[@]}"; do
        settle
        read -r rps p50 p99 req err rest <<<"$(load_run "$name" "$conns" "$WARMUP" warmup)"
        SENT[$name]=$((${SENT[$name]:-0} + req))
        if [[ $req == 0 || $err != 0 ]]; then
            tail -n 20 "$WORK/$name-c$conns-warmup.out" >&2
            die "warm-up of $name: $req requests, $err errors"
        fi
        log "warm-up $name: $req requests ok ($rps req/s)"
    done
}

measure() {
    local rep c name rps p50 p99 req err gt st secs load_pct other_pct gw_us sg_us gw_pct
    printf 'gateway\tconns\trep\trps\tp50_ms\tp99_ms\trequests\tcpu_us_per_req\tsubgraph_cpu_us_per_req\tgateway_cpu_pct\tload_core_pct\tother_cpu_pct\terrors\n' >"$RUNS_TSV"
    for rep in $(seq "$REPEAT"); do
        for c in $CONNS; do
            for name in "${GATEWAYS[@]}"; do
                settle
                noise_check
                read -r rps p50 p99 req err gt st secs load_pct other_pct <<<"$(load_run "$name" "$c" "$DURATION" "rep$rep")"
                SENT[$name]=$((${SENT[$name]:-0} + req))
                gw_us=$(awk -v t="$gt" -v hz="$CLK_TCK" -v n="$req" 'BEGIN { if (n > 0) printf "%.1f", t * 1e6 / hz / n; else print "nan" }')
                sg_us=$(awk -v t="$st" -v hz="$CLK_TCK" -v n="$req" 'BEGIN { if (n > 0) printf "%.1f", t * 1e6 / hz / n; else print "nan" }')
                gw_pct=$(awk -v t="$gt" -v hz="$CLK_TCK" -v s="$secs" 'BEGIN { printf "%.0f", 100 * t / hz / s }')
                printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$c" "$rep" \
                    "$rps" "$p50" "$p99" "$req" "$gw_us" "$sg_us" "$gw_pct" "$load_pct" "$other_pct" "$err" >>"$RUNS_TSV"
                log "rep $rep/$REPEAT $name c$c: $rps req/s, p50 $p50 ms, p99 $p99 ms, gateway $gw_us us/req" \
                    "(core ${gw_pct}%), subgraphs $sg_us us/req, load core ${load_pct}%, other ${other_pct}%, errors $err"
                if ((other_pct > 10)); then
                    NOISE_NOTES+=" rep $rep $name c$c: other work took ${other_pct}% of a core;"
                    log "WARNING: other work on the machine took ${other_pct}% of a core during this run"
                fi
                if ((err != 0)); then
                    HAD_FAILURE=1
                    log "WARNING: $err errors; see $WORK/$name-c$c-rep$rep.out"
                fi
            done
        done
    done
}

# Wait (up to 15 s) until every process we started is idle: a gateway that was just measured may
# still be draining requests cut off at the end of its run (Hive Gateway under 32 connections
# queues for seconds) or collecting garbage, on the core the next gateway is measured on.
settle() {
    local pids=() pid a b
    for pid in "${STARTED_PIDS[@]}"; do mapfile -t -O "${#pids[@]}" pids < <(tree_pids "$pid"); done
    for _ in $(seq 50); do
        a=$(cpu_ticks "${pids[@]}")
        sleep 0.3
        b=$(cpu_ticks "${pids[@]}")
        ((b - a > 1)) || return 0
    done
    log "WARNING: the started processes did not go idle within 15 s"
}

# A build or a busy machine skews the results: note it.
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

# perf record (DWARF call graphs) of Switchyard under load at the first CONNS value; top symbols to PERF_TXT.
profile_switchyard() {
    local conns pid=${GW_PID[switchyard]}
    read -r conns _ <<<"$CONNS"
    PERF_TXT="$WORK/perf-switchyard.txt"
    settle
    log "perf record -g of switchyard (pid $pid) for $DURATION s under $conns connections"
    perf record --call-graph dwarf,16384 -F 499 -o "$WORK/perf.data" -p "$pid" -- sleep "$DURATION" >"$WORK/perf-record.log" 2>&1 &
    local perf_pid=$!
    STARTED_PIDS+=("$perf_pid")
    sleep 0.5
    local res req
    res=$(load_run switchyard "$conns" "$((DURATION - 1))" perf)
    read -r _ _ _ req _ <<<"$res"
    SENT[switchyard]=$((${SENT[switchyard]:-0} + req))
    wait "$perf_pid" || true
    perf report -i "$WORK/perf.data" --no-children --sort symbol --percent-limit 0.7 --stdio -g none \
        2>/dev/null | grep -v '^#' | grep -v '^$' | sed 's/[[:space:]]*-[[:space:]]*-[[:space:]]*$//' |
        head -n 40 >"$PERF_TXT" || true
    perf report -i "$WORK/perf.data" --no-children --sort dso --stdio -g none \
        2>/dev/null | grep -v '^#' | grep -v '^$' | sed 's/[[:space:]]*$//' | head -n 8 >"$WORK/perf-dso.txt" || true
}

# Peak memory per gateway, then stop the subgraphs and count what each gateway asked of them.
finish_gateways() {
    local name pid line served sgpid
    printf 'gateway\tpeak_rss_kib\trss_end_kib\tgateway_requests\tsubgraph_requests\n' >"$GATEWAYS_TSV"
    for name in "${GATEWAYS[@]}"; do
        local hwm=0 rss=0
        for pid in $(tree_pids "${GW_PID[$name]}"); do
            hwm=$((hwm + $(status_kib "$pid" VmHWM)))
            rss=$((rss + $(status_kib "$pid" VmRSS)))
        done
        served=0
        for sgpid in ${SG_PIDS[$name]}; do kill -TERM "$sgpid" 2>/dev/null || true; done
        for sgpid in ${SG_PIDS[$name]}; do
            for _ in $(seq 50); do kill -0 "$sgpid" 2>/dev/null || break; sleep 0.1; done
        done
        for line in "$WORK/subgraphs-$name"/*.log; do
            line=$(grep -m1 '"requests"' "$line" || echo '{}')
            served=$((served + $(python3 -c 'import json,sys; print(json.loads(sys.argv[1]).get("requests", 0))' "$line")))
        done
        printf '%s\t%s\t%s\t%s\t%s\n' "$name" "$hwm" "$rss" "${SENT[$name]:-0}" "$served" >>"$GATEWAYS_TSV"
        log "$name: peak RSS $((hwm / 1024)) MiB; ${SENT[$name]:-0} requests answered, its subgraphs served $served"
    done
}

# ---------------------------------------------------------------- report ---

report() {
    local md="$OUT_DIR/graphql-federation-$STAMP.md" cmd name
    cmd="DURATION=$DURATION REPEAT=$REPEAT CONNS=\"$CONNS\" WORKERS=$WORKERS"
    [[ $WARMUP == 5 ]] || cmd+=" WARMUP=$WARMUP"
    [[ $LATENCY_MS == 0 ]] || cmd+=" LATENCY_MS=$LATENCY_MS"
    [[ $ONLY == "switchyard hive-router hive-router-nodedupe hive-gateway" ]] || cmd+=" ONLY=\"$ONLY\""
    [[ $PERF == 0 ]] || cmd+=" PERF=$PERF"
    mkdir -p "$OUT_DIR"
    {
        echo "## GraphQL federation gateways benchmark $STAMP"
        echo
        echo "- Command: \`$cmd bash bench/graphql_federation.sh\`"
        echo "- Host: $(nproc) cores ($(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n1)), kernel $(uname -r), load average at start: $LOADAVG_START, at end: $(cut -d' ' -f1-3 /proc/loadavg)"
        [[ -z $NOISE_NOTES ]] || echo "- **Noise warning:**$NOISE_NOTES"
        echo "- Pinning: gateway under test on core $GATEWAY_CPU; h2load and the subgraph processes (\`switchyard subgraph\`, four per gateway) on core $LOAD_CPU"
        for name in "${GATEWAYS[@]}"; do echo "- $name: ${GW_DESC[$name]}"; done
        echo "- Query: crates/graphql/tests/fixtures/federation/queries/federation.graphql (\`TestQuery\`), answer $ANSWER_BYTES bytes of compact JSON, checked equal to the expected answer for every gateway before measuring"
        echo "- Load: h2load $H2LOAD_VERSION \`--h1 -cN -t1 -D $DURATION\` with N = ${CONNS// /, } connections, POST JSON (p50/p99 from --log-file); ${WARMUP}s warm-up per gateway; medians of $REPEAT runs; subgraph latency ${LATENCY_MS} ms"
        echo
        python3 "$NODE_DIR/report_federation.py" "$RUNS_TSV" "$GATEWAYS_TSV"
        if [[ -n ${PERF_TXT:-} && -s $PERF_TXT ]]; then
            echo
            echo "<details><summary>perf record --call-graph dwarf of Switchyard (self time by symbol, ≥ 0.7 %)</summary>"
            echo
            echo '```'
            cat "$WORK/perf-dso.txt"
            echo
            cat "$PERF_TXT"
            echo
            echo "Inclusive (callees included), Switchyard functions >= 3 %:"
            cat "$WORK/perf-children.txt" 2>/dev/null || true
            echo '```'
            echo
            echo "</details>"
        fi
    } >"$md"
    cp "$RUNS_TSV" "$OUT_DIR/graphql-federation-$STAMP.tsv"
    cp "$GATEWAYS_TSV" "$OUT_DIR/graphql-federation-$STAMP.gateways.tsv"
    cat "$md"
    log "written: ${md#"$REPO"/} (raw runs: bench/out/graphql-federation-$STAMP.tsv)"
}

# ------------------------------------------------------------------ main ---

main() {
    local g
    ensure_tools
    tool_versions
    LOADAVG_START=$(cut -d' ' -f1-3 /proc/loadavg)
    log "work dir $WORK; DURATION=$DURATION REPEAT=$REPEAT CONNS=\"$CONNS\" WORKERS=$WORKERS; load average $LOADAVG_START"
    noise_check start
    write_body
    for g in $ONLY; do
        case $g in
            switchyard) start_subgraphs "$g"; start_switchyard ;;
            hive-router | hive-router-nodedupe) start_subgraphs "$g"; start_hive_router "$g" ;;
            hive-gateway) start_subgraphs "$g"; start_hive_gateway ;;
            *) die "unknown gateway $g (ONLY)" ;;
        esac
    done
    ((${#GATEWAYS[@]})) || die "no gateway to benchmark (ONLY=$ONLY)"
    verify_answers
    warm_up
    measure
    if [[ $PERF == 1 && -n ${GW_PID[switchyard]:-} ]]; then profile_switchyard; fi
    finish_gateways
    report
}

main "$@"
