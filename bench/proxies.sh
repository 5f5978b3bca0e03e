#!/usr/bin/env bash
# bench/proxies.sh — HTTP data-plane benchmark: Switchyard vs nginx vs HAProxy in front of one fast backend.
#
# One run starts a backend (a dedicated nginx returning a 13-byte body) and three
# proxies in front of it, then for each proxy measures:
#   * resident memory (VmRSS summed over its processes) before and while
#     IDLE_CONNS idle keep-alive connections are open (bench/idle_conns.py) --
#     first, while the proxies are fresh: after a load run, freed buffers sit in
#     the allocator and new connections reuse them, hiding their real cost;
#   * HTTP/1.1 keep-alive load with wrk (64 connections) and h2c prior-knowledge
#     load with h2load (64 connections x 10 streams): requests/s, p50/p99 latency,
#     CPU microseconds per request of the proxy (utime+stime from /proc/PID/stat of
#     all its processes, before and after the run), and how busy the proxy's
#     core and the load core were (to see which side was the bottleneck).
# Each load measurement is repeated REPEAT times (interleaved across proxies) and
# the median is reported, with ratios to nginx, as a Markdown table on stdout and
# in bench/out/proxies-<date>.md (raw per-run numbers in the .tsv next to it).
#
# Pinning (2-core machine): every proxy runs on core 0 (only one is under load at
# a time); load generators, the backend and the idle-connection client run on
# core 1. The backend shares core 1 with the load generator so that core 0 only
# ever runs the proxy under test.
#
# Usage:   bash bench/proxies.sh
# Options (environment variables):
#   DURATION=10        seconds per load run
#   REPEAT=3           runs per (proxy, protocol); the median is reported
#   WORKERS=1          worker processes/threads of every proxy
#   IDLE_CONNS=10000   idle keep-alive connections for the memory test
#   WARMUP=1           seconds of warm-up (and sanity check) per proxy and protocol
#   NGINX_KEEPALIVE=64 idle upstream connections nginx keeps (`keepalive` in upstream)
#   ONLY="nginx haproxy switchyard"   subset of proxies to run (nginx is the ratio base)
#   SWITCHYARD_BIN=target/release/switchyard   skipped with a message if missing
#   KEEP_WORK=1        keep the temp dir with configs and tool outputs
#
# Needs root only to apt-get install missing tools (nginx, haproxy, wrk,
# nghttp2-client). Uses only 127.0.0.1 and free ports; every process it starts
# is stopped on exit, also on failure or Ctrl-C.

set -euo pipefail

DURATION=${DURATION:-10}
REPEAT=${REPEAT:-3}
WORKERS=${WORKERS:-1}
IDLE_CONNS=${IDLE_CONNS:-10000}
WARMUP=${WARMUP:-1}
NGINX_KEEPALIVE=${NGINX_KEEPALIVE:-64}
SWITCHYARD_BIN=${SWITCHYARD_BIN:-target/release/switchyard}
KEEP_WORK=${KEEP_WORK:-0}
ONLY=${ONLY:-nginx haproxy switchyard}

PROXY_CPU=0          # core for the proxy under test
LOAD_CPU=1           # core for wrk / h2load / backend / idle client
WRK_CONNS=64
H2_CONNS=64
H2_STREAMS=10

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$REPO"
BENCH="$REPO/bench"

# Shared helpers (log, die, cleanup, free_ports, start_bg, wait_port, CPU accounting).
# shellcheck source=bench/lib.sh
source "$REPO/bench/lib.sh"
STAMP=$(date +%Y-%m-%d-%H%M%S)
OUT_DIR="$BENCH/out"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/switchyard-bench.XXXXXX")
RUNS_TSV="$WORK/runs.tsv"
IDLE_TSV="$WORK/idle.tsv"
CLK_TCK=$(getconf CLK_TCK)

STARTED_PIDS=()              # every background process we started (for cleanup)
declare -A PROXY_PID=()      # proxy name -> main (master) pid
declare -A PORT_H1=()        # proxy name -> port for HTTP/1.1
declare -A PORT_H2=()        # proxy name -> port for h2c (same as h1 for switchyard)
declare -A BROKEN=()         # "name/proto" -> reason, when the sanity check failed
PROXIES=()                   # proxies that are running, in report order
SKIPPED_MSG=""
HAD_FAILURE=0

# ---------------------------------------------------------------- cleanup ---

trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ------------------------------------------------------------------ setup ---

# Install what is missing from Debian's packages.
ensure_tools() {
    local missing=()
    command -v nginx >/dev/null || missing+=(nginx)
    command -v haproxy >/dev/null || missing+=(haproxy)
    command -v wrk >/dev/null || missing+=(wrk)
    command -v h2load >/dev/null || missing+=(nghttp2-client)
    command -v taskset >/dev/null || missing+=(util-linux)
    command -v pgrep >/dev/null || missing+=(procps)
    command -v python3 >/dev/null || missing+=(python3)
    if ((${#missing[@]})); then
        log "installing: ${missing[*]}"
        apt-get -o DPkg::Lock::Timeout=600 update -qq
        DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq "${missing[@]}" >&2
    fi
    ((WORKERS >= 1)) || die "WORKERS must be >= 1"
    [[ $(nproc) -ge 2 ]] || die "need 2 cores (proxy on core $PROXY_CPU, load on core $LOAD_CPU)"
}

# Raise the open-files limit (inherited by every process we start). 65536 if
# allowed, else the hard limit; it must fit IDLE_CONNS plus headroom.
raise_nofile() {
    ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
    NOFILE=$(ulimit -n)
    ((NOFILE >= IDLE_CONNS + 1000)) || die "open-files limit $NOFILE too low for IDLE_CONNS=$IDLE_CONNS"
    log "open-files limit: $NOFILE"
}

# version_ge A B: true when version A >= B.
version_ge() { [[ "$(printf '%s\n%s\n' "$1" "$2" | sort -V | head -n1)" == "$2" ]]; }

tool_versions() {
    NGINX_VERSION=$(nginx -v 2>&1 | sed -n 's|.*nginx/\([0-9.]*\).*|\1|p')
    HAPROXY_VERSION=$(haproxy -v 2>&1 | sed -n 's/^HAProxy version \([^ ]*\).*/\1/p')
    WRK_VERSION=$( (wrk -v 2>&1 || true) | sed -n 's/^wrk \([^ ]*\).*/\1/p' | head -n1) # wrk -v exits 1
    H2LOAD_VERSION=$(h2load --version 2>&1 | sed -n 's/^h2load //p')
    log "nginx $NGINX_VERSION, haproxy $HAPROXY_VERSION, wrk $WRK_VERSION, h2load $H2LOAD_VERSION"
}

# --------------------------------------------------------- process helpers ---

# All pids of a proxy, one per line: its main process plus direct children
# (nginx workers). Threads are accounted in their process's /proc/PID/stat and status.
proxy_pids() {
    local main=${PROXY_PID[$1]}
    echo "$main"
    pgrep -P "$main" || true
}

# Sum of VmRSS in KiB.
rss_kib() {
    local files=() pid
    for pid in "$@"; do files+=("/proc/$pid/status"); done
    awk '/^VmRSS:/ { s += $2 } END { print s + 0 }' "${files[@]}" 2>/dev/null
}

# ---------------------------------------------------------------- servers ---

# The backend: a dedicated nginx (1 worker, core LOAD_CPU) answering every
# request with 200 "hello, world\n" (13 bytes), HTTP/1.1 keep-alive only.
start_backend() {
    local dir="$WORK/backend"
    mkdir -p "$dir"
    cat >"$dir/nginx.conf" <<EOF
# Benchmark backend: fixed 13-byte answer, keep-alive, no logging.
worker_processes 1;
worker_rlimit_nofile $NOFILE;
pid $dir/nginx.pid;
error_log $dir/error.log warn;
events { worker_connections 20000; }
http {
    access_log off;
    keepalive_requests 1000000;   # never recycle the proxies' upstream connections
    keepalive_timeout 300s;
    server {
        listen 127.0.0.1:$BACKEND_PORT backlog=4096;
        default_type text/plain;
        location / { return 200 "hello, world\n"; }
    }
}
EOF
    nginx_check "$dir" "backend nginx"
    start_bg "$dir/stdout.log" taskset -c "$LOAD_CPU" \
        nginx -p "$dir/" -c "$dir/nginx.conf" -e "$dir/error.log" -g 'daemon off;'
    BACKEND_PID=$STARTED_PID
    PROXY_PID[backend]=$BACKEND_PID # for proxy_pids (CPU accounting); not in PROXIES
    wait_port "$BACKEND_PORT" "$BACKEND_PID" "backend nginx" "$dir/error.log"
    http_check "$BACKEND_PORT" || die "backend does not answer GET / correctly"
    log "backend: nginx on 127.0.0.1:$BACKEND_PORT (core $LOAD_CPU)"
}

# nginx -t on a generated config.
nginx_check() {
    local dir=$1 what=$2
    nginx -t -p "$dir/" -c "$dir/nginx.conf" -e "$dir/error.log" -g 'daemon off;' >"$dir/check.log" 2>&1 ||
        { cat "$dir/check.log" >&2; die "$what: nginx -t failed"; }
}

# nginx proxy: proxy_pass to an upstream keepalive pool; one plain HTTP/1.1
# listener and one h2c (prior knowledge) listener, since nginx cannot serve both
# on one plain-text port.
start_nginx() {
    local dir="$WORK/nginx" h1 h2 h2_listen
    read -r h1 h2 <<<"$(free_ports 2)"
    if version_ge "$NGINX_VERSION" 1.25.1; then
        h2_listen="listen 127.0.0.1:$h2 backlog=4096; http2 on;"
    else
        h2_listen="listen 127.0.0.1:$h2 http2 backlog=4096;"
    fi
    mkdir -p "$dir"
    cat >"$dir/nginx.conf" <<EOF
# Benchmark proxy: nginx $NGINX_VERSION, $WORKERS worker(s), upstream keepalive pool.
worker_processes $WORKERS;
worker_rlimit_nofile $((NOFILE < 30000 ? NOFILE : 30000));
pid $dir/nginx.pid;
error_log $dir/error.log warn;
events { worker_connections 20000; }
http {
    access_log off;
    keepalive_requests 1000000;   # default 1000 would make nginx close wrk's connections
    keepalive_timeout 75s;
    upstream b {
        server 127.0.0.1:$BACKEND_PORT;
        keepalive $NGINX_KEEPALIVE;
        keepalive_requests 1000000;
    }
    server {
        listen 127.0.0.1:$h1 backlog=4096;
        location / {
            proxy_pass http://b;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
        }
    }
    server {
        $h2_listen
        location / {
            proxy_pass http://b;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
        }
    }
}
EOF
    nginx_check "$dir" "nginx proxy"
    start_bg "$dir/stdout.log" taskset -c "$PROXY_CPU" \
        nginx -p "$dir/" -c "$dir/nginx.conf" -e "$dir/error.log" -g 'daemon off;'
    register_proxy nginx "$STARTED_PID" "$h1" "$h2" "$dir/error.log"
}

# HAProxy: one frontend with a plain HTTP/1.1 bind and an h2c bind, no health
# checks, no logging, connection reuse to the backend.
start_haproxy() {
    local dir="$WORK/haproxy" h1 h2
    read -r h1 h2 <<<"$(free_ports 2)"
    mkdir -p "$dir"
    cat >"$dir/haproxy.cfg" <<EOF
# Benchmark proxy: HAProxy $HAPROXY_VERSION, $WORKERS thread(s).
global
    nbthread $WORKERS
    maxconn 30000
    # maxconn 30000 wants ~60000 fds; where the hard RLIMIT_NOFILE is lower,
    # warn instead of refusing to start (the idle test needs only IDLE_CONNS).
    no strict-limits

defaults
    mode http
    maxconn 30000
    timeout connect 5s
    timeout client 30s
    timeout server 30s
    timeout http-keep-alive 30s
    http-reuse always

frontend fe
    bind 127.0.0.1:$h1
    bind 127.0.0.1:$h2 proto h2
    default_backend be

backend be
    server s1 127.0.0.1:$BACKEND_PORT
EOF
    haproxy -c -f "$dir/haproxy.cfg" >"$dir/check.log" 2>&1 ||
        { cat "$dir/check.log" >&2; die "haproxy -c failed"; }
    start_bg "$dir/haproxy.log" taskset -c "$PROXY_CPU" haproxy -db -f "$dir/haproxy.cfg"
    register_proxy haproxy "$STARTED_PID" "$h1" "$h2" "$dir/haproxy.log"
}

# Switchyard: HTTP/1.1 and h2c on the same port; workers from SWITCHYARD_WORKERS.
start_switchyard() {
    local dir="$WORK/switchyard" port
    if [[ ! -x $SWITCHYARD_BIN ]]; then
        SKIPPED_MSG="skipped: $SWITCHYARD_BIN not found"
        log "SKIPPING switchyard: $SWITCHYARD_BIN does not exist or is not executable" \
            "(build it with 'cargo build --release' or set SWITCHYARD_BIN)"
        printf 'switchyard\t-\t-\t-\t-\t-\t-\t-\t-\t-\t-\t%s\n' "$SKIPPED_MSG" >>"$RUNS_TSV"
        return 0
    fi
    read -r port <<<"$(free_ports 1)"
    mkdir -p "$dir"
    cat >"$dir/switchyard.yaml" <<EOF
# Benchmark proxy: Switchyard, $WORKERS worker thread(s) (SWITCHYARD_WORKERS).
listeners:
  - name: public
    address: 127.0.0.1:$port
access_log:
  to: "off"
routes:
  - name: all
    proxy:
      cluster: backend
clusters:
  - name: backend
    endpoints:
      - address: 127.0.0.1:$BACKEND_PORT
EOF
    start_bg "$dir/switchyard.log" env SWITCHYARD_WORKERS="$WORKERS" \
        taskset -c "$PROXY_CPU" "$SWITCHYARD_BIN" run -c "$dir/switchyard.yaml"
    register_proxy switchyard "$STARTED_PID" "$port" "$port" "$dir/switchyard.log"
}

# Wait for a proxy's ports, check it forwards correctly, and remember it.
register_proxy() {
    local name=$1 pid=$2 h1=$3 h2=$4 logfile=$5
    wait_port "$h1" "$pid" "$name" "$logfile"
    wait_port "$h2" "$pid" "$name" "$logfile"
    http_check "$h1" || die "$name does not proxy GET / correctly on port $h1"
    PROXY_PID[$name]=$pid
    PORT_H1[$name]=$h1
    PORT_H2[$name]=$h2
    PROXIES+=("$name")
    log "$name: pids $(proxy_pids "$name" | paste -sd' '), h1 127.0.0.1:$h1, h2c 127.0.0.1:$h2 (core $PROXY_CPU)"
}

# GET / over HTTP/1.1 must return 200 "hello, world\n".
http_check() {
    python3 - "$1" <<'EOF'
import http.client, sys
c = http.client.HTTPConnection("127.0.0.1", int(sys.argv[1]), timeout=5)
c.request("GET", "/")
r = c.getresponse()
body = r.read()
if r.status != 200 or body != b"hello, world\n":
    sys.exit(f"unexpected response: {r.status} {body[:200]!r}")
EOF
}

# ------------------------------------------------------------ load tools ---

# wrk, HTTP/1.1 keep-alive, bounded by -d.
run_wrk() {
    local port=$1 seconds=$2 out=$3
    taskset -c "$LOAD_CPU" wrk -t1 -c"$WRK_CONNS" -d"${seconds}s" --latency \
        "http://127.0.0.1:$port/" >"$out" 2>&1 || true
}

# h2load, h2c with prior knowledge (the default for http:// URLs), bounded by -D.
# --log-file writes one line per request: start (us since epoch), status, duration (us).
run_h2load() {
    local port=$1 seconds=$2 out=$3 reqlog=$4
    taskset -c "$LOAD_CPU" h2load -c"$H2_CONNS" -m"$H2_STREAMS" -t1 -D "$seconds" \
        --log-file="$reqlog" "http://127.0.0.1:$port/" >"$out" 2>&1 || true
}

# Parse h2load output; p50/p99 come from the per-request log, since h2load
# itself prints only min/max/mean/sd. Prints "rps p50_ms p99_ms requests errors".
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

# One bounded load run of PROTO (h1 = wrk, h2c = h2load) against proxy NAME,
# with CPU counters read just before and just after the load tool:
#   the proxy's ticks; how busy the load core was; and "other" CPU = everything
#   busy on the machine that is not the proxy, the backend, or this shell and
#   its children (the load tool), plus steal -- i.e. noise from outside.
# Prints "rps p50_ms p99_ms requests errors cpu_ticks wall_seconds load_core_pct other_cpu_pct".
load_run() {
    local name=$1 proto=$2 seconds=$3 tag=$4 me=$BASHPID pids bpids t0 t1 s0 s1 c0 c1 a0 a1 b0 b1 o0 o1 res
    local out="$WORK/$name-$proto-$tag.out" reqlog="$WORK/$name-$proto-$tag.reqlog"
    mapfile -t pids < <(proxy_pids "$name")
    mapfile -t bpids < <(proxy_pids backend)
    a0=$(core_jiffies "")
    o0=$(ticks_with_children "$me")
    b0=$(cpu_ticks "${bpids[@]}")
    t0=$(cpu_ticks "${pids[@]}")
    s0=$(date +%s.%N)
    c0=$(core_jiffies "$LOAD_CPU")
    if [[ $proto == h1 ]]; then
        run_wrk "${PORT_H1[$name]}" "$seconds" "$out"
    else
        run_h2load "${PORT_H2[$name]}" "$seconds" "$out" "$reqlog"
    fi
    t1=$(cpu_ticks "${pids[@]}")
    s1=$(date +%s.%N)
    c1=$(core_jiffies "$LOAD_CPU")
    b1=$(cpu_ticks "${bpids[@]}")
    o1=$(ticks_with_children "$me")
    a1=$(core_jiffies "")
    if [[ $proto == h1 ]]; then res=$(parse_wrk "$out"); else res=$(parse_h2load "$out" "$reqlog"); fi
    echo "$res $((t1 - t0)) $(awk -v a="$s0" -v b="$s1" 'BEGIN { print b - a }')" \
        "$(awk -v c0="$c0" -v c1="$c1" 'BEGIN { split(c0, a, " "); split(c1, b, " ");
            printf "%.0f", (b[2] > a[2]) ? 100 * (b[1] - a[1]) / (b[2] - a[2]) : 0 }')" \
        "$(awk -v a0="$a0" -v a1="$a1" -v ours=$(((t1 - t0) + (b1 - b0) + (o1 - o0))) \
            -v hz="$CLK_TCK" -v s0="$s0" -v s1="$s1" 'BEGIN { split(a0, x, " "); split(a1, y, " ");
            other = (y[1] - x[1]) - ours + (y[3] - x[3]); if (other < 0) other = 0;
            printf "%.0f", 100 * other / hz / (s1 - s0) }')"
}

# --------------------------------------------------------------- measure ---

# Warm-up + sanity check per proxy and protocol: must complete requests without errors.
warm_up() {
    local name proto rps p50 p99 req err ticks secs load_pct other_pct
    for name in "${PROXIES[@]}"; do
        for proto in h1 h2c; do
            read -r rps p50 p99 req err ticks secs load_pct other_pct <<<"$(load_run "$name" "$proto" "$WARMUP" warmup)"
            if [[ $req == 0 || $err != 0 ]]; then
                BROKEN[$name/$proto]="warm-up: $req requests, $err errors (see $WORK/$name-$proto-warmup.out)"
                HAD_FAILURE=1
                log "WARNING: $name $proto ${BROKEN[$name/$proto]}; not measuring it"
            else
                log "warm-up $name $proto: $req requests ok"
            fi
        done
    done
}

# REPEAT rounds; in each round every (protocol, proxy) pair runs once, so slow
# drifts of the noisy machine hit all proxies alike.
measure_load() {
    local rep proto name rps p50 p99 req err ticks secs load_pct other_pct cpu_us cpu_pct
    printf 'proxy\tproto\trep\trps\tp50_ms\tp99_ms\trequests\tcpu_us_per_req\tproxy_cpu_pct\tload_core_pct\tother_cpu_pct\terrors\n' >"$RUNS_TSV.tmp"
    cat "$RUNS_TSV" >>"$RUNS_TSV.tmp" 2>/dev/null || true # keep "skipped" rows
    mv "$RUNS_TSV.tmp" "$RUNS_TSV"
    for rep in $(seq "$REPEAT"); do
        for proto in h1 h2c; do
            for name in "${PROXIES[@]}"; do
                [[ -z ${BROKEN[$name/$proto]:-} ]] || continue
                noise_check
                read -r rps p50 p99 req err ticks secs load_pct other_pct <<<"$(load_run "$name" "$proto" "$DURATION" "rep$rep")"
                if ((req > 0)); then
                    cpu_us=$(awk -v t="$ticks" -v hz="$CLK_TCK" -v n="$req" 'BEGIN { printf "%.2f", t * 1e6 / hz / n }')
                else
                    cpu_us=nan
                fi
                cpu_pct=$(awk -v t="$ticks" -v hz="$CLK_TCK" -v s="$secs" 'BEGIN { printf "%.0f", 100 * t / hz / s }')
                printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$proto" "$rep" \
                    "$rps" "$p50" "$p99" "$req" "$cpu_us" "$cpu_pct" "$load_pct" "$other_pct" "$err" >>"$RUNS_TSV"
                log "rep $rep/$REPEAT $name $proto: $rps req/s, p50 ${p50} ms, p99 ${p99} ms," \
                    "$cpu_us us/req, proxy core ${cpu_pct}%, load core ${load_pct}%, other ${other_pct}%, errors $err"
                if ((other_pct > 10)); then
                    NOISE_NOTES+=" rep $rep $name $proto: other work took ${other_pct}% of a core;"
                    log "WARNING: other work on the machine took ${other_pct}% of a core during this run"
                fi
                ((err == 0)) || HAD_FAILURE=1
            done
        done
    done
}

# RSS of each proxy before and while IDLE_CONNS idle keep-alive HTTP/1.1
# connections are open (bench/idle_conns.py, on core LOAD_CPU).
measure_idle() {
    local name pids before after ready release ipid irc summary opened alive
    printf 'proxy\tconns\trss_before_kib\trss_after_kib\tkib_per_conn\talive\n' >"$IDLE_TSV"
    for name in "${PROXIES[@]}"; do
        ready="$WORK/idle-$name.ready"
        release="$WORK/idle-$name.release"
        sleep 1 # let the previous proxy's idle connections wind down
        mapfile -t pids < <(proxy_pids "$name")
        before=$(rss_kib "${pids[@]}")
        start_bg "$WORK/idle-$name.out" taskset -c "$LOAD_CPU" python3 "$BENCH/idle_conns.py" \
            --port "${PORT_H1[$name]}" -n "$IDLE_CONNS" --ready-file "$ready" --release-file "$release"
        ipid=$STARTED_PID
        for _ in $(seq 1500); do
            [[ -e $ready ]] && break
            kill -0 "$ipid" 2>/dev/null || break
            sleep 0.1
        done
        [[ -e $ready ]] || { cat "$WORK/idle-$name.out" >&2; die "idle_conns.py for $name did not get ready"; }
        sleep 2 # settle, then sample while the connections are held
        mapfile -t pids < <(proxy_pids "$name")
        after=$(rss_kib "${pids[@]}")
        touch "$release"
        irc=0
        wait "$ipid" || irc=$?
        summary=$(tail -n1 "$WORK/idle-$name.out")
        opened=$(sed -n 's/.*opened=\([0-9]*\).*/\1/p' <<<"$summary")
        alive=$(sed -n 's/.*alive_at_release=\([0-9]*\).*/\1/p' <<<"$summary")
        if ((irc != 0)); then
            HAD_FAILURE=1
            log "WARNING: $name idle test: $summary"
        fi
        printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "${opened:-0}" "$before" "$after" \
            "$(awk -v a="$after" -v b="$before" -v n="${opened:-0}" 'BEGIN { if (n > 0) printf "%.2f", (a - b) / n; else print "nan" }')" \
            "${alive:-0}" >>"$IDLE_TSV"
        log "idle $name: RSS ${before} KiB -> ${after} KiB with ${opened:-0} conns ($summary)"
    done
}

# The machine has 2 cores: anything else running skews the results. Warn (and
# note it in the report) when a build is running (checked before every run) or,
# with `noise_check start`, when the CPUs are more than 10 % busy over one second
# before anything of ours runs.
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
        a=$(core_jiffies "") # "" = the all-CPUs line
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

# ---------------------------------------------------------------- report ---

report() {
    local md="$OUT_DIR/proxies-$STAMP.md" cmd
    # The exact command: the main options always, the others when not default.
    cmd="DURATION=$DURATION REPEAT=$REPEAT WORKERS=$WORKERS IDLE_CONNS=$IDLE_CONNS"
    [[ $WARMUP == 1 ]] || cmd+=" WARMUP=$WARMUP"
    [[ $NGINX_KEEPALIVE == 64 ]] || cmd+=" NGINX_KEEPALIVE=$NGINX_KEEPALIVE"
    [[ $ONLY == "nginx haproxy switchyard" ]] || cmd+=" ONLY=\"$ONLY\""
    [[ $SWITCHYARD_BIN == target/release/switchyard ]] || cmd+=" SWITCHYARD_BIN=$SWITCHYARD_BIN"
    mkdir -p "$OUT_DIR"
    {
        echo "## Proxy benchmark $STAMP"
        echo
        echo "- Command: \`$cmd bash bench/proxies.sh\`"
        echo "- Host: $(nproc) cores ($(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n1)), kernel $(uname -r), load average at start: $LOADAVG_START, at end: $(cut -d' ' -f1-3 /proc/loadavg)"
        [[ -z $NOISE_NOTES ]] || echo "- **Noise warning:**$NOISE_NOTES"
        echo "- Pinning: proxy under test on core $PROXY_CPU; wrk/h2load, backend nginx and idle client on core $LOAD_CPU"
        echo "- nginx proxy: upstream \`keepalive $NGINX_KEEPALIVE\`; HAProxy: \`http-reuse always\` (idle server connections not capped)"
        echo "- Idle-connection memory is measured first, on freshly started proxies (before any load)"
        echo "- Versions: nginx $NGINX_VERSION, HAProxy $HAPROXY_VERSION, wrk $WRK_VERSION, h2load (nghttp2) $H2LOAD_VERSION, switchyard: ${SWITCHYARD_DESC}"
        echo "- Load: wrk -t1 -c$WRK_CONNS -d${DURATION}s --latency; h2load -c$H2_CONNS -m$H2_STREAMS -t1 -D $DURATION (p50/p99 from --log-file); $WORKERS worker(s) per proxy; GET / -> 13-byte body"
        echo
        python3 "$BENCH/report.py" table "$RUNS_TSV" "$IDLE_TSV"
    } >"$md"
    cp "$RUNS_TSV" "$OUT_DIR/proxies-$STAMP.tsv"
    cat "$md"
    log "written: ${md#"$REPO"/} (raw runs: bench/out/proxies-$STAMP.tsv)"
}

# ------------------------------------------------------------------ main ---

main() {
    ensure_tools
    raise_nofile
    tool_versions
    LOADAVG_START=$(cut -d' ' -f1-3 /proc/loadavg)
    log "work dir $WORK; DURATION=$DURATION REPEAT=$REPEAT WORKERS=$WORKERS IDLE_CONNS=$IDLE_CONNS; load average $LOADAVG_START"
    noise_check start
    : >"$RUNS_TSV"

    read -r BACKEND_PORT <<<"$(free_ports 1)"
    start_backend
    [[ " $ONLY " != *" nginx "* ]] || start_nginx
    [[ " $ONLY " != *" haproxy "* ]] || start_haproxy
    [[ " $ONLY " != *" switchyard "* ]] || start_switchyard
    ((${#PROXIES[@]})) || die "no proxy to benchmark (ONLY=$ONLY)"
    if [[ " $ONLY " != *" switchyard "* ]]; then
        SWITCHYARD_DESC="not run (ONLY)"
    elif [[ -x $SWITCHYARD_BIN ]]; then
        SWITCHYARD_DESC="$SWITCHYARD_BIN ($("$SWITCHYARD_BIN" --version 2>/dev/null | head -n1 || echo 'version unknown')$(stale_binary_note "$SWITCHYARD_BIN" "$REPO"))"
    else
        SWITCHYARD_DESC="$SKIPPED_MSG"
    fi

    measure_idle # first: on fresh proxies (see the header comment)
    warm_up
    measure_load
    report
}

main "$@"
