#!/usr/bin/env bash
# bench/fleet.sh — balancing under trouble: Switchyard's balancers vs nginx least_conn vs
# HAProxy leastconn, in front of a fleet of real backend processes on loopback.
#
# Every run starts a fresh fleet of BACKENDS backends (`switchyard backend`: each request
# takes LATENCY_MS under a concurrency limit of LIMIT, 503 at once beyond it, and reports its
# utilization in `endpoint-load-metrics`), one proxy in front of them, and an open-loop load
# (`switchyard loadgen`: request i is due at t0 + i/RATE whatever happened to the others;
# latency counts from that moment; exactly RATE x DURATION requests; each fails after
# TIMEOUT). The last backend, b6 with the default 6, is the one in trouble:
#
#   slow       b6 is 3x slower (3 x LATENCY_MS) throughout
#   sinkhole   b6 answers 503 in about 1 ms from t=EVENT_AT for EVENT_FOR seconds, then heals
#   busy       the offered load is about 80 % of the fleet's capacity (BUSY_RATE) and b6 is
#              weak: half the concurrency limit of the others, so half their capacity
#   late       b6 starts at t=EVENT_AT and is 4x slower for its first EVENT_FOR seconds;
#              Switchyard learns of it from its discovery file, which this script rewrites
#              then; nginx and HAProxy have it in their config from the start, and fail to
#              connect to it until it starts (what they would see in practice)
#
# Proxies (ONLY): Switchyard with `balancer:` edge, round_robin, least_request, peak_ewma;
# nginx `least_conn`; HAProxy `balance leastconn`. Each with retries on (one retry on
# another server for connect failures, resets and 502/503/504) and off (RETRIES), and the
# passive health checks a careful operator would configure (nginx max_fails/fail_timeout,
# HAProxy observe layer7 + on-error mark-down, Switchyard's default outlier detection).
#
# Reported per (situation, proxy, retries): client-visible error rate, upstream attempts per
# request (sum of the backends' counters / requests sent), p50/p99/p99.9 latency of every
# request, each backend's share of the attempts, how often the proxy took a server out, and
# for the sinkhole and late situations errors per second around the event. Markdown on
# stdout and in bench/out/fleet-<date>.md; per-run data (CSV of every request, backend
# counters, generated configs, proxy logs) in bench/out/fleet-<date>/.
#
# Pinning (2-core machine): the proxy runs on core 0 alone; the load generator and all the
# backends on core 1.
#
# Usage:   bash bench/fleet.sh            (about 30 minutes)
#          QUICK=1 bash bench/fleet.sh    (8 s runs, events at 3 s for 3 s: about 10 minutes)
# Options (environment variables):
#   DURATION=30          seconds of load per run (QUICK=1: 8)
#   EVENT_AT=10          when the sinkhole turns sick / the late backend starts (QUICK=1: 3)
#   EVENT_FOR=10         how long the sickness / the late backend's slowness lasts (QUICK=1: 3)
#   BACKENDS=6           backends in the fleet (the last one is in trouble)
#   LATENCY_MS=10        service time of a request on a healthy backend
#   LIMIT=8              concurrency limit of a backend (capacity = LIMIT / LATENCY)
#   RATE=2400            requests/s offered in slow, sinkhole and late (50 % of 6 x 800)
#   BUSY_RATE=3520       requests/s offered in busy (80 % of 5 x 800 + 400)
#   TIMEOUT=2            seconds before the load generator gives up on a request
#   CONNECTIONS=256      most client connections (requests in flight) of the load generator
#   WARMUP=1             seconds of load at the run's rate through the proxy before t0
#                        (0: none): a fresh process on this VM pays for every page it first
#                        touches (about 10 us each), which stalled the first 100-300 ms of
#                        every proxy's runs; not counted in any figure
#   REPEAT=1             runs per (situation, proxy, retries); medians are reported
#   NOISE_CPU=5          a run is noisy when processes not ours used more than this much CPU
#                        (% of one core) during it, or a build or benchmark was running,
#   NOISE_STEAL=3        or the hypervisor took more than this % of the two cores' time
#                        (steal time in /proc/stat: other VMs on the host),
#   NOISE_LAG=20         or the load generator fell more than this many ms behind its
#                        schedule (the host stalled it: the load was not the one asked for)
#   RETRY_NOISY=2        re-run a noisy run up to this many times at the end; the report uses
#                        the quiet runs of a cell when it has any (and marks cells without)
#   SITUATIONS="slow sinkhole busy late"
#   ONLY="edge round_robin least_request peak_ewma nginx haproxy"
#   RETRIES="on off"
#   SWITCHYARD_BIN=target/release/switchyard   (also provides `backend` and `loadgen`)
#   RETRY_BUDGET=1       Switchyard's retry budget with retries on: 1 = one retry for every
#                        request, the policy nginx and HAProxy get (the gateway's default
#                        is 0.2, a retry-storm guard the peers do not have)
#   SWITCHYARD_EXTRA=    one more line of YAML for Switchyard's cluster, for experiments
#                        (e.g. 'edge: {k_util: 0}'); the report says when it is set
#   KEEP_WORK=1          keep the temp dir (it is copied to bench/out anyway)
#
# Needs root only to apt-get install missing tools (nginx, haproxy). Uses only 127.0.0.1
# and free ports; every process it starts is stopped when its run ends, and on exit, also
# on failure or Ctrl-C.

set -euo pipefail

QUICK=${QUICK:-0}
RETRY_BUDGET=${RETRY_BUDGET:-1}
if [[ $QUICK == 1 ]]; then
    DURATION=${DURATION:-8}
    EVENT_AT=${EVENT_AT:-3}
    EVENT_FOR=${EVENT_FOR:-3}
else
    DURATION=${DURATION:-30}
    EVENT_AT=${EVENT_AT:-10}
    EVENT_FOR=${EVENT_FOR:-10}
fi
BACKENDS=${BACKENDS:-6}
LATENCY_MS=${LATENCY_MS:-10}
LIMIT=${LIMIT:-8}
RATE=${RATE:-2400}
BUSY_RATE=${BUSY_RATE:-3520}
TIMEOUT=${TIMEOUT:-2}
CONNECTIONS=${CONNECTIONS:-256}
WARMUP=${WARMUP:-1}
REPEAT=${REPEAT:-1}
NOISE_CPU=${NOISE_CPU:-5}
NOISE_STEAL=${NOISE_STEAL:-3}
NOISE_LAG=${NOISE_LAG:-20}
RETRY_NOISY=${RETRY_NOISY:-2}
SITUATIONS=${SITUATIONS:-slow sinkhole busy late}
ONLY=${ONLY:-edge round_robin least_request peak_ewma nginx haproxy}
RETRIES=${RETRIES:-on off}
SWITCHYARD_BIN=${SWITCHYARD_BIN:-target/release/switchyard}
SWITCHYARD_EXTRA=${SWITCHYARD_EXTRA:-}
KEEP_WORK=${KEEP_WORK:-0}

PROXY_CPU=0          # core for the proxy under test
LOAD_CPU=1           # core for the load generator and every backend
STARTUP=$((3 + WARMUP)) # seconds from starting a run's processes to its t0 (warm-up included)

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$REPO"
BENCH="$REPO/bench"
BENCH_TAG=fleet

# Shared helpers (log, die, cleanup, free_ports, start_bg, wait_port, CPU accounting).
# shellcheck source=bench/lib.sh
source "$REPO/bench/lib.sh"
STAMP=$(date +%Y-%m-%d-%H%M%S)
OUT_DIR="$BENCH/out"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/switchyard-fleet.XXXXXX")
RUNS_TSV="$WORK/runs.tsv"

declare -A LIVE=()   # pid -> 1 for every process of ours still running (for cleanup)
HAD_FAILURE=0

# ---------------------------------------------------------------- cleanup ---

# Stop every process we started and have not stopped yet (nginx masters take their
# workers down): TERM, up to 5 s, then KILL, children too.
cleanup() {
    local rc=$? pid all=()
    trap - EXIT INT TERM
    for pid in "${!LIVE[@]}"; do
        all+=("$pid")
        mapfile -t -O "${#all[@]}" all < <(pgrep -P "$pid" 2>/dev/null || true)
    done
    for pid in "${!LIVE[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for _ in $(seq 50); do
        local alive=0
        for pid in "${all[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
        ((alive)) || break
        sleep 0.1
    done
    for pid in "${all[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    if ((rc != 0 || HAD_FAILURE)) || [[ $KEEP_WORK == 1 ]]; then
        log "work dir kept: $WORK"
    else
        rm -rf "$WORK"
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ------------------------------------------------------------------ setup ---

ensure_tools() {
    local missing=()
    command -v nginx >/dev/null || missing+=(nginx)
    command -v haproxy >/dev/null || missing+=(haproxy)
    command -v taskset >/dev/null || missing+=(util-linux)
    command -v pgrep >/dev/null || missing+=(procps)
    command -v python3 >/dev/null || missing+=(python3)
    if ((${#missing[@]})); then
        log "installing: ${missing[*]}"
        apt-get -o DPkg::Lock::Timeout=600 update -qq
        DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq "${missing[@]}" >&2
    fi
    [[ $(nproc) -ge 2 ]] || die "need 2 cores (proxy on core $PROXY_CPU, load and backends on core $LOAD_CPU)"
    [[ -x $SWITCHYARD_BIN ]] ||
        die "$SWITCHYARD_BIN not found: build it with 'cargo build --release -p switchyard' or set SWITCHYARD_BIN"
    "$SWITCHYARD_BIN" loadgen --help >/dev/null 2>&1 ||
        die "$SWITCHYARD_BIN has no 'loadgen' command (rebuild it)"
    ((BACKENDS >= 2)) || die "BACKENDS must be >= 2"
    ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
}

tool_versions() {
    NGINX_VERSION=$(nginx -v 2>&1 | sed -n 's|.*nginx/\([0-9.]*\).*|\1|p')
    HAPROXY_VERSION=$(haproxy -v 2>&1 | sed -n 's/^HAProxy version \([^ ]*\).*/\1/p')
    SWITCHYARD_VERSION=$("$SWITCHYARD_BIN" --version 2>/dev/null | head -n1)
    SWITCHYARD_COMMIT=$(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo unknown)
    if [[ -n $(git -C "$REPO" status --porcelain -- crates 2>/dev/null) ]]; then
        SWITCHYARD_COMMIT+=" + uncommitted changes"
    fi
    SWITCHYARD_COMMIT+=$(stale_binary_note "$SWITCHYARD_BIN" "$REPO")
    log "nginx $NGINX_VERSION, haproxy $HAPROXY_VERSION, $SWITCHYARD_VERSION ($SWITCHYARD_COMMIT)"
}

# --------------------------------------------------------- process helpers ---

# Start a command in the background (stdout and stderr to files); its pid in STARTED_PID.
start_bg() {
    local out=$1 err=$2
    shift 2
    "$@" >"$out" 2>"$err" &
    STARTED_PID=$!
    LIVE[$STARTED_PID]=1
}

# TERM a process of ours and wait (up to 10 s, then KILL) until it has exited.
stop_pid() {
    local pid=$1
    [[ -n ${LIVE[$pid]:-} ]] || return 0
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 100); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    unset "LIVE[$pid]"
}

# Wait for a backend's "listening ADDRESS" line.
wait_listening() {
    local out=$1 err=$2 pid=$3
    for _ in $(seq 100); do
        grep -q '^listening ' "$out" 2>/dev/null && return 0
        kill -0 "$pid" 2>/dev/null || { cat "$err" >&2; die "backend exited during startup ($out)"; }
        sleep 0.05
    done
    die "backend did not start within 5 s ($out)"
}

# "busy total" jiffies of one CPU from /proc/stat (busy = user+nice+system+irq+softirq).
core_jiffies() {
    awk -v cpu="cpu$1" '$1 == cpu { print $2 + $3 + $4 + $7 + $8, $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9 }' /proc/stat
}

# "steal total" jiffies of both cores together.
steal_jiffies() {
    awk '$1 == "cpu0" || $1 == "cpu1" { s += $9; t += $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9 } END { print s, t }' /proc/stat
}

core_pct() {
    awk -v c0="$1" -v c1="$2" 'BEGIN { split(c0, a, " "); split(c1, b, " ");
        printf "%.0f", (b[2] > a[2]) ? 100 * (b[1] - a[1]) / (b[2] - a[2]) : 0 }'
}

now() { date +%s.%N; }

# Sleep until Unix time T (no-op if it has passed).
sleep_until() {
    local left
    left=$(awk -v t="$1" -v n="$(now)" 'BEGIN { d = t - n; printf "%.3f", (d > 0 ? d : 0) }')
    sleep "$left"
}

# Other work on this 2-core machine skews the numbers: note builds and other benchmarks
# running now (in NOISE, empty when there are none). The CPU that processes not ours use
# during a run is measured too (run_one).
noise_check() {
    local busy
    # shellcheck disable=SC2009  # pgrep -x warns about patterns longer than 15 chars
    busy=$(ps -eo comm= | grep -cxE 'rustc|cargo|cc|cc1|cc1plus|ld|ld.lld|mold|wrk|h2load' || true)
    NOISE=""
    ((busy == 0)) || NOISE="${busy} build/benchmark process(es) running; "
}

# ---------------------------------------------------------------- backends ---

# Start backend number I (1-based) of the current run on port P with extra arguments.
start_backend() {
    local i=$1 port=$2
    shift 2
    local name="b$i"
    start_bg "$RUN_DIR/$name.out" "$RUN_DIR/$name.err" taskset -c "$LOAD_CPU" \
        "$BIN" backend --listen "127.0.0.1:$port" --name "$name" --report-utilization \
        --report-every 1s "$@"
    BACKEND_PID[i]=$STARTED_PID
    wait_listening "$RUN_DIR/$name.out" "$RUN_DIR/$name.err" "$STARTED_PID"
}

# The arguments that make backend I what the situation needs (all but the late one's).
backend_args() {
    local situation=$1 i=$2 latency=$LATENCY_MS limit=$LIMIT extra=()
    if ((i == BACKENDS)); then
        case $situation in
            slow) latency=$((3 * LATENCY_MS)) ;;
            sinkhole) extra=(--sick-from "${EVENT_AT}s" --sick-for "${EVENT_FOR}s") ;;
            busy) limit=$((LIMIT / 2)) ;;
        esac
    fi
    echo --latency "${latency}ms" --concurrency-limit "$limit" --t0 "$T0" "${extra[@]}"
}

# The late backend starts at t=EVENT_AT and is slow from then on for EVENT_FOR.
late_backend_args() {
    echo --latency "${LATENCY_MS}ms" --concurrency-limit "$LIMIT" --t0 "$T0" \
        --slow-factor 4 --slow-from "${EVENT_AT}s" --slow-for "${EVENT_FOR}s"
}

# Switchyard's discovery file: a YAML list of endpoints, replaced by rename.
write_endpoints() {
    local file=$1 n=$2 i
    for ((i = 1; i <= n; i++)); do
        echo "- { address: \"127.0.0.1:${BPORT[$i]}\" }"
    done >"$file.tmp"
    mv "$file.tmp" "$file"
}

# ----------------------------------------------------------------- proxies ---

# Switchyard, SWITCHYARD_WORKERS=1, balancer $1, retries $2 (on/off). In the late situation
# the cluster has the first BACKENDS-1 endpoints statically (a gateway that already knows its
# fleet) and follows the discovery file, which gains the late one at t=EVENT_AT.
start_switchyard() {
    local balancer=$1 retries=$2 late=$3 i n=$BACKENDS
    local cfg="$RUN_DIR/switchyard.yaml"
    ((late)) && n=$((BACKENDS - 1))
    {
        echo "# Generated by bench/fleet.sh: balancer $balancer, retries $retries."
        echo "listeners:"
        echo "  - name: public"
        echo "    address: 127.0.0.1:$PROXY_PORT"
        echo "access_log:"
        echo "  to: \"off\""
        echo "routes:"
        echo "  - name: all"
        echo "    proxy:"
        echo "      cluster: fleet"
        echo "clusters:"
        echo "  - name: fleet"
        echo "    balancer: $balancer"
        echo "    connect_timeout: 1s"
        [[ -z $SWITCHYARD_EXTRA ]] || echo "    $SWITCHYARD_EXTRA"
        if [[ $retries == on ]]; then
            echo "    retries: { attempts: 1, budget: $RETRY_BUDGET, on: [connect_failure, reset, \"502\", \"503\", \"504\"] }"
        else
            echo "    retries: { attempts: 0 }"
        fi
        echo "    endpoints:"
        for ((i = 1; i <= n; i++)); do echo "      - address: 127.0.0.1:${BPORT[$i]}"; done
        if ((late)); then
            write_endpoints "$RUN_DIR/endpoints.yaml" "$n"
            echo "    discovery:"
            echo "      file: $RUN_DIR/endpoints.yaml"
        fi
    } >"$cfg"
    "$BIN" check "$cfg" >"$RUN_DIR/check.log" 2>&1 ||
        { cat "$RUN_DIR/check.log" >&2; die "switchyard check failed"; }
    start_bg "$RUN_DIR/proxy.out" "$RUN_DIR/proxy.log" env SWITCHYARD_WORKERS=1 \
        taskset -c "$PROXY_CPU" "$BIN" run -c "$cfg"
    PROXY_PID=$STARTED_PID
}

# nginx, 1 worker, least_conn, upstream keepalive; passive health max_fails=3
# fail_timeout=10s; retries on = proxy_next_upstream_tries 2 (one retry on another server),
# off = 1 (the same failure conditions still count against max_fails).
start_nginx() {
    local retries=$1 i tries=2 dir="$RUN_DIR/nginx"
    [[ $retries == on ]] || tries=1
    mkdir -p "$dir"
    {
        echo "# Generated by bench/fleet.sh: nginx least_conn, retries $retries."
        echo "worker_processes 1;"
        echo "pid $dir/nginx.pid;"
        echo "error_log $dir/error.log warn;"
        echo "events { worker_connections 8192; }"
        echo "http {"
        echo "    access_log off;"
        echo "    keepalive_requests 1000000;"
        echo "    keepalive_timeout 75s;"
        echo "    upstream fleet {"
        echo "        least_conn;"
        for ((i = 1; i <= BACKENDS; i++)); do
            echo "        server 127.0.0.1:${BPORT[$i]} max_fails=3 fail_timeout=10s;"
        done
        echo "        keepalive 64;"
        echo "        keepalive_requests 1000000;"
        echo "    }"
        echo "    server {"
        echo "        listen 127.0.0.1:$PROXY_PORT backlog=4096;"
        echo "        location / {"
        echo "            proxy_pass http://fleet;"
        echo "            proxy_http_version 1.1;"
        echo "            proxy_set_header Connection \"\";"
        echo "            proxy_connect_timeout 1s;"
        echo "            proxy_next_upstream error timeout http_502 http_503 http_504;"
        echo "            proxy_next_upstream_tries $tries;"
        echo "        }"
        echo "    }"
        echo "}"
    } >"$dir/nginx.conf"
    nginx -t -p "$dir/" -c "$dir/nginx.conf" -e "$dir/error.log" -g 'daemon off;' >"$dir/check.log" 2>&1 ||
        { cat "$dir/check.log" >&2; die "nginx -t failed"; }
    start_bg "$RUN_DIR/proxy.out" "$RUN_DIR/proxy.log" taskset -c "$PROXY_CPU" \
        nginx -p "$dir/" -c "$dir/nginx.conf" -e "$dir/error.log" -g 'daemon off;'
    PROXY_PID=$STARTED_PID
}

# HAProxy, 1 thread, leastconn. Passive health is `observe layer7` + `on-error mark-down`
# (10 bad responses in a row take a server down), which HAProxy only runs on servers with
# `check`: so a TCP-connect check every 2 s is on (it is also what brings a server back),
# with `slowstart 90s` (Switchyard edge's warm-up window) for servers coming back up.
# Retries on = `retries 1` + `option redispatch 1` (the retry goes to another server) on
# connect failures, empty responses, timeouts and 502/503/504; off = `retries 0`.
start_haproxy() {
    local retries=$1 i cfg="$RUN_DIR/haproxy.cfg"
    {
        echo "# Generated by bench/fleet.sh: HAProxy leastconn, retries $retries."
        echo "global"
        echo "    nbthread 1"
        echo "    maxconn 8192"
        echo ""
        echo "defaults"
        echo "    mode http"
        echo "    maxconn 8192"
        echo "    timeout connect 1s"
        echo "    timeout client 30s"
        echo "    timeout server 30s"
        echo "    timeout http-keep-alive 30s"
        echo "    http-reuse always"
        if [[ $retries == on ]]; then
            echo "    retries 1"
            echo "    option redispatch 1"
            echo "    retry-on conn-failure empty-response response-timeout 502 503 504"
        else
            echo "    retries 0"
            echo "    retry-on none"
        fi
        echo ""
        echo "frontend fe"
        echo "    bind 127.0.0.1:$PROXY_PORT"
        echo "    default_backend fleet"
        echo ""
        echo "backend fleet"
        echo "    balance leastconn"
        echo "    default-server check inter 2s fall 3 rise 2 observe layer7 error-limit 10 on-error mark-down slowstart 90s"
        for ((i = 1; i <= BACKENDS; i++)); do
            echo "    server b$i 127.0.0.1:${BPORT[$i]}"
        done
    } >"$cfg"
    haproxy -c -f "$cfg" >"$RUN_DIR/check.log" 2>&1 ||
        { cat "$RUN_DIR/check.log" >&2; die "haproxy -c failed"; }
    start_bg "$RUN_DIR/proxy.out" "$RUN_DIR/proxy.log" taskset -c "$PROXY_CPU" haproxy -db -f "$cfg"
    PROXY_PID=$STARTED_PID
}

# How often the proxy took a server out of rotation during the run, and how often it had
# none left (from its log). Prints "downs none_left".
down_events() {
    local proxy=$1 downs none
    case $proxy in
        nginx)
            downs=$(grep -c 'upstream server temporarily disabled' "$RUN_DIR/nginx/error.log" || true)
            none=$(grep -c 'no live upstreams' "$RUN_DIR/nginx/error.log" || true)
            ;;
        haproxy)
            downs=$(grep -c 'is DOWN' "$RUN_DIR/proxy.log" || true)
            none=$(grep -c 'has no server available' "$RUN_DIR/proxy.log" || true)
            ;;
        *)
            # Outlier detection ejects at most 10 % of a cluster (at least one endpoint), and
            # below half available every endpoint counts again (panic mode): never none.
            downs=$(grep -c 'ejected after consecutive failures' "$RUN_DIR/proxy.log" || true)
            none=-
            ;;
    esac
    echo "${downs:-0} ${none:-0}"
}

# ------------------------------------------------------------------- a run ---

# The run's rate through the proxy for WARMUP seconds, before t0: the processes touch
# the memory their connections need before the measured schedule starts. The backends'
# counters at t0 are subtracted in the report, so warm-up requests count nowhere.
warm_up() {
    local rate=$1
    [[ $WARMUP == 0 ]] && return
    taskset -c "$LOAD_CPU" "$BIN" loadgen --url "http://127.0.0.1:$PROXY_PORT/" \
        --rate "$rate" --duration "${WARMUP}s" --timeout "${TIMEOUT}s" \
        --connections "$CONNECTIONS" --out "$RUN_DIR/warmup.csv" \
        >"$RUN_DIR/warmup.json" 2>"$RUN_DIR/warmup.err" ||
        log "WARNING: warm-up load failed: $(tail -n2 "$RUN_DIR/warmup.err")"
}

# One run: fresh backends, one proxy, the load, then the counters. Sets RUN_NOISY to 1 when
# other work on the machine may have skewed it.
run_one() {
    local situation=$1 proxy=$2 retries=$3 rep=$4
    local rate=$RATE i n=$BACKENDS late=0 c0 c1 p0 p1 s0 steal joined="" lg_pid downs none t_start foreign lag
    [[ $situation == busy ]] && rate=$BUSY_RATE
    [[ $situation == late ]] && late=1 && n=$((BACKENDS - 1))
    RUN_DIR="$WORK/runs/$situation-$proxy-$retries-$rep"
    rm -rf "$RUN_DIR"
    mkdir -p "$RUN_DIR"
    read -ra ports <<<"$(free_ports $((BACKENDS + 1)))"
    PROXY_PORT=${ports[0]}
    BPORT=()
    for ((i = 1; i <= BACKENDS; i++)); do BPORT[i]=${ports[i]}; done
    BACKEND_PID=()
    noise_check
    local noise=$NOISE

    T0=$(awk -v n="$(now)" -v s="$STARTUP" 'BEGIN { printf "%.3f", n + s }')
    for ((i = 1; i <= n; i++)); do
        # shellcheck disable=SC2046  # word splitting of the argument list is intended
        start_backend "$i" "${BPORT[$i]}" $(backend_args "$situation" "$i")
    done
    case $proxy in
        nginx) start_nginx "$retries" ;;
        haproxy) start_haproxy "$retries" ;;
        *) start_switchyard "$proxy" "$retries" "$late" ;;
    esac
    wait_port "$PROXY_PORT" "$PROXY_PID" "$proxy" "$RUN_DIR/proxy.log"
    warm_up "$rate"
    if awk -v t="$T0" -v n="$(now)" 'BEGIN { exit !(n > t) }'; then
        log "WARNING: startup took longer than ${STARTUP}s; the run starts late"
        noise+="startup late; "
    fi

    python3 "$BENCH/fleet_report.py" snapshot "$WORK/cpu.start"
    t_start=$(now)
    c0=$(core_jiffies "$PROXY_CPU")
    c1=$(core_jiffies "$LOAD_CPU")
    s0=$(steal_jiffies)
    start_bg "$RUN_DIR/loadgen.json" "$RUN_DIR/loadgen.err" taskset -c "$LOAD_CPU" \
        "$BIN" loadgen --url "http://127.0.0.1:$PROXY_PORT/" --rate "$rate" \
        --duration "${DURATION}s" --timeout "${TIMEOUT}s" --connections "$CONNECTIONS" \
        --t0 "$T0" --out "$RUN_DIR/requests.csv"
    lg_pid=$STARTED_PID
    if ((late)); then
        sleep_until "$(awk -v t="$T0" -v e="$EVENT_AT" 'BEGIN { printf "%.3f", t + e }')"
        # shellcheck disable=SC2046
        start_backend "$BACKENDS" "${BPORT[$BACKENDS]}" $(late_backend_args)
        [[ $proxy == nginx || $proxy == haproxy ]] || write_endpoints "$RUN_DIR/endpoints.yaml" "$BACKENDS"
        joined=$(awk -v t="$T0" -v n="$(now)" 'BEGIN { printf "%.2f", n - t }')
    fi
    local lg_rc=0
    wait "$lg_pid" || lg_rc=$?
    unset "LIVE[$lg_pid]"
    p0=$(core_pct "$c0" "$(core_jiffies "$PROXY_CPU")")
    p1=$(core_pct "$c1" "$(core_jiffies "$LOAD_CPU")")
    steal=$(core_pct "$s0" "$(steal_jiffies)")
    python3 "$BENCH/fleet_report.py" snapshot "$WORK/cpu.end"
    # CPU used during the run by processes that do not descend from this script, in % of
    # one core.
    foreign=$(awk -v s="$(python3 "$BENCH/fleet_report.py" foreign "$WORK/cpu.start" "$WORK/cpu.end" $$)" \
        -v a="$t_start" -v b="$(now)" 'BEGIN { printf "%.0f", 100 * s / (b - a) }')

    stop_pid "$PROXY_PID"
    for i in "${!BACKEND_PID[@]}"; do stop_pid "${BACKEND_PID[$i]}"; done
    read -r downs none <<<"$(down_events "$proxy")"
    noise_check
    noise+=$NOISE
    ((foreign <= NOISE_CPU)) || noise+="other processes used ${foreign}% of a core; "
    ((steal <= NOISE_STEAL)) || noise+="${steal}% of CPU time stolen by the hypervisor; "
    lag=$(python3 -c 'import json, sys; print(round(json.load(open(sys.argv[1])).get("dispatch_lag_max_ms", 0)))' \
        "$RUN_DIR/loadgen.json" 2>/dev/null || echo 0)
    ((lag <= NOISE_LAG)) || noise+="the load generator fell ${lag} ms behind; "
    RUN_NOISY=0
    [[ -z $noise ]] || RUN_NOISY=1
    if ((lg_rc != 0)) || [[ ! -s $RUN_DIR/loadgen.json ]]; then
        HAD_FAILURE=1
        log "WARNING: loadgen failed in $RUN_DIR (rc $lg_rc): $(tail -n3 "$RUN_DIR/loadgen.err")"
    fi
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$situation" "$proxy" "$retries" "$rep" \
        "$rate" "${RUN_DIR#"$WORK"/}" "$p0" "$p1" "$foreign" "$steal" "$downs" "$none" "${joined:--}" "${noise:--}" >>"$RUNS_TSV"
    log "$situation / $proxy / retries $retries / rep $rep: $(python3 "$BENCH/fleet_report.py" oneline "$RUN_DIR")," \
        "proxy core ${p0}%, load core ${p1}%, others ${foreign}%, steal ${steal}%, downs $downs${noise:+, NOISY: $noise}"
}

# ------------------------------------------------------------------ main ---

main() {
    ensure_tools
    tool_versions
    local loadavg_start situation proxy retries rep total=0 done=0 noisy=() again=() round key
    # The binary under test, copied: a rebuild in the tree during the run must not change it.
    BIN="$WORK/switchyard"
    cp "$SWITCHYARD_BIN" "$BIN"
    loadavg_start=$(cut -d' ' -f1-3 /proc/loadavg)
    for situation in $SITUATIONS; do
        case $situation in slow | sinkhole | busy | late) ;; *) die "unknown situation $situation" ;; esac
    done
    for proxy in $ONLY; do
        case $proxy in edge | round_robin | least_request | peak_ewma | random | nginx | haproxy) ;;
            *) die "unknown proxy $proxy" ;;
        esac
    done
    total=$((REPEAT * $(wc -w <<<"$SITUATIONS") * $(wc -w <<<"$RETRIES") * $(wc -w <<<"$ONLY")))
    log "work dir $WORK; $total runs of ${DURATION}s; load average $loadavg_start"
    printf 'situation\tproxy\tretries\trep\trate\tdir\tproxy_core_pct\tload_core_pct\tforeign_cpu_pct\tsteal_pct\tdowns\tnone_left\tjoined_at\tnoise\n' >"$RUNS_TSV"
    python3 - "$WORK/params.json" "$SWITCHYARD_EXTRA" <<EOF
import json, sys
json.dump({
    "stamp": "$STAMP", "duration": $DURATION, "event_at": $EVENT_AT, "event_for": $EVENT_FOR,
    "backends": $BACKENDS, "latency_ms": $LATENCY_MS, "limit": $LIMIT, "rate": $RATE,
    "busy_rate": $BUSY_RATE, "timeout": $TIMEOUT, "connections": $CONNECTIONS, "warmup": $WARMUP,
    "repeat": $REPEAT, "quick": $QUICK, "noise_cpu": $NOISE_CPU, "noise_steal": $NOISE_STEAL, "noise_lag": $NOISE_LAG,
    "switchyard_extra": sys.argv[2], "retry_budget": "$RETRY_BUDGET",
    "situations": "$SITUATIONS", "only": "$ONLY", "retries": "$RETRIES",
    "nginx": "$NGINX_VERSION", "haproxy": "$HAPROXY_VERSION",
    "switchyard": "$SWITCHYARD_VERSION ($SWITCHYARD_COMMIT)",
    "host": "$(nproc) cores ($(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n1)), kernel $(uname -r)",
    "loadavg_start": "$loadavg_start",
}, open(sys.argv[1], "w"))
EOF
    # Interleaved: within a repeat and situation, every proxy runs once per retry mode, so
    # slow drifts of the shared machine hit them alike.
    for rep in $(seq "$REPEAT"); do
        for situation in $SITUATIONS; do
            for retries in $RETRIES; do
                for proxy in $ONLY; do
                    done=$((done + 1))
                    log "run $done/$total: $situation / $proxy / retries $retries / rep $rep"
                    run_one "$situation" "$proxy" "$retries" "$rep"
                    ((RUN_NOISY == 0)) || noisy+=("$situation $proxy $retries $rep")
                done
            done
        done
    done
    # Runs that other work on the machine may have skewed, again (as repeat "N.2", "N.3", ...).
    for ((round = 2; round <= RETRY_NOISY + 1 && ${#noisy[@]} > 0; round++)); do
        again=("${noisy[@]}")
        noisy=()
        log "re-running ${#again[@]} noisy run(s), round $((round - 1)) of $RETRY_NOISY"
        for key in "${again[@]}"; do
            read -r situation proxy retries rep <<<"$key"
            run_one "$situation" "$proxy" "$retries" "$rep.$round"
            ((RUN_NOISY == 0)) || noisy+=("$situation $proxy $retries $rep")
        done
    done

    local md="$OUT_DIR/fleet-$STAMP.md" settings=""
    [[ -z $SWITCHYARD_EXTRA ]] || settings=" SWITCHYARD_EXTRA='$SWITCHYARD_EXTRA'"
    mkdir -p "$OUT_DIR"
    python3 "$BENCH/fleet_report.py" report "$WORK" \
        "QUICK=$QUICK DURATION=$DURATION REPEAT=$REPEAT RETRY_BUDGET=$RETRY_BUDGET WARMUP=$WARMUP NOISE_LAG=$NOISE_LAG$settings bash bench/fleet.sh" "$(cut -d' ' -f1-3 /proc/loadavg)" >"$md"
    rm -f "$BIN" "$WORK/cpu.start" "$WORK/cpu.end"
    cp -r "$WORK" "$OUT_DIR/fleet-$STAMP"
    cat "$md"
    log "written: ${md#"$REPO"/} (per-run data: bench/out/fleet-$STAMP/)"
}

main "$@"
