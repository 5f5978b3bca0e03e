#!/usr/bin/env bash
# bench/policies.sh — what gateway policies cost: the same load through one Switchyard to the
# same backend, on a route with no policies and on routes with policy chains, in one run.
#
# Routes (all to one `switchyard backend`):
#   plain        no policies
#   key+limit    api_key, then a local rate limit keyed by the key (set high: it never refuses)
#   jwt+limit    jwt (HS256; one token, so every check after the first is a cache hit), authorize
#                (a scope), then a local rate limit keyed by claim:sub
#   key+redis    api_key, then a rate limit shared through Redis (skipped without redis-server)
#   key+limit+openapi  key+limit, then request validation against the 130-operation OpenAPI
#                document of the policy tests (GET /movies?limit=10&sort=-year: path and query)
# For each route, REPEAT times, interleaved:
#   * wrk -c64 for DURATION s: requests/s, p99, and the gateway's CPU microseconds per request
#     (utime+stime from /proc before and after);
#   * wrk -c1 for DURATION s: p50/p99 of one request at a time, i.e. the latency a policy adds.
# Medians, with ratios and differences to `plain`, go to stdout and bench/out/policies-<date>.md.
#
# Pinning (2 cores): the gateway (1 worker thread) on core 0; wrk, the backend and Redis on core 1.
#
# Usage:   bash bench/policies.sh
# Options: DURATION=8  REPEAT=3  SWITCHYARD_BIN=target/release/switchyard  KEEP_WORK=1
# Uses only 127.0.0.1 and free ports; everything it starts is stopped on exit.

set -euo pipefail

DURATION=${DURATION:-8}
REPEAT=${REPEAT:-3}
SWITCHYARD_BIN=${SWITCHYARD_BIN:-target/release/switchyard}
KEEP_WORK=${KEEP_WORK:-0}
PROXY_CPU=0
LOAD_CPU=1
BENCH_TAG=policies

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$REPO"
# shellcheck source=bench/lib.sh
source "$REPO/bench/lib.sh"

STARTED_PIDS=()
HAD_FAILURE=0
WORK=$(mktemp -d /tmp/switchyard-bench-policies.XXXXXX)
trap cleanup EXIT INT TERM

[[ -x $SWITCHYARD_BIN ]] || die "$SWITCHYARD_BIN not found (cargo build --release)"
command -v wrk >/dev/null || die "wrk is needed (apt-get install wrk)"

API_KEY=bench-key-0123456789
KEY_HASH=$(printf %s "$API_KEY" | "$SWITCHYARD_BIN" hash-key)
SECRET=bench-secret-that-is-at-least-32-bytes-long
TOKEN=$(python3 - "$SECRET" <<'PY'
import base64, hashlib, hmac, json, sys, time
b64 = lambda b: base64.urlsafe_b64encode(b).rstrip(b"=").decode()
head = b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
body = b64(json.dumps({"sub": "bench", "iss": "bench", "scope": "read", "exp": int(time.time()) + 86400}).encode())
sig = b64(hmac.new(sys.argv[1].encode(), f"{head}.{body}".encode(), hashlib.sha256).digest())
print(f"{head}.{body}.{sig}")
PY
)

ROUTES=(plain key+limit jwt+limit key+limit+openapi)
SPEC="$REPO/crates/policy/tests/fixtures/openapi/studio.yaml"
REDIS_ROUTE=""
read -r BACKEND_PORT GW_PORT REDIS_PORT <<<"$(free_ports 3)"
if command -v redis-server >/dev/null; then
    start_bg "$WORK/redis.log" taskset -c "$LOAD_CPU" redis-server --bind 127.0.0.1 \
        --port "$REDIS_PORT" --save "" --appendonly no
    wait_port "$REDIS_PORT" "$STARTED_PID" redis-server "$WORK/redis.log"
    ROUTES+=(key+redis)
    REDIS_ROUTE="  - name: key-redis
    match: { path: { prefix: /key-redis } }
    policies: [keys, shared-limit]
    proxy: { cluster: backend }"
else
    log "redis-server not found: the key+redis route is skipped"
fi

start_bg "$WORK/backend.log" taskset -c "$LOAD_CPU" "$SWITCHYARD_BIN" backend \
    --listen "127.0.0.1:$BACKEND_PORT" --name b
wait_listening "$STARTED_PID" backend "$WORK/backend.log" >/dev/null

cat >"$WORK/switchyard.yaml" <<YAML
listeners: [ { name: public, address: "127.0.0.1:$GW_PORT" } ]
access_log: { to: "off" }
policies:
  - name: keys
    api_key: { keys: [ { id: bench, hash: "$KEY_HASH" } ], forward_id: x-api-key-id }
  - name: key-limit
    rate_limit: { requests: 1000000000, per: 1s, key: [api_key] }
  - name: users
    jwt: { algorithms: [HS256], keys: [ { secret: "$SECRET" } ], issuers: [bench], forward_claims: { sub: x-user } }
  - name: readers
    authorize: { scopes: { any_of: [read] } }
  - name: user-limit
    rate_limit: { requests: 1000000000, per: 1s, key: ["claim:sub"] }
  - name: studio
    openapi: { spec: "$SPEC" }
  - name: shared-limit
    rate_limit: { requests: 1000000000, per: 1s, key: [api_key], redis: { url: "redis://127.0.0.1:$REDIS_PORT", timeout: 100ms, on_failure: deny } }
routes:
  - name: plain
    match: { path: { prefix: /plain } }
    proxy: { cluster: backend }
  - name: key-limit
    match: { path: { prefix: /key-limit } }
    policies: [keys, key-limit]
    proxy: { cluster: backend }
  - name: jwt-limit
    match: { path: { prefix: /jwt-limit } }
    policies: [users, readers, user-limit]
    proxy: { cluster: backend }
  - name: key-limit-openapi
    match: { path: { prefix: /movies } }
    policies: [keys, key-limit, studio]
    proxy: { cluster: backend }
$REDIS_ROUTE
clusters:
  - name: backend
    endpoints: [ { address: "127.0.0.1:$BACKEND_PORT" } ]
YAML
start_bg "$WORK/switchyard.log" env SWITCHYARD_WORKERS=1 \
    taskset -c "$PROXY_CPU" "$SWITCHYARD_BIN" run -c "$WORK/switchyard.yaml"
GW_PID=$STARTED_PID
wait_port "$GW_PORT" "$GW_PID" switchyard "$WORK/switchyard.log"

path_of() {
    case $1 in
        plain) echo /plain ;;
        key+limit) echo /key-limit ;;
        jwt+limit) echo /jwt-limit ;;
        key+redis) echo /key-redis ;;
        key+limit+openapi) echo "/movies?limit=10&sort=-year" ;;
    esac
}
headers_of() {
    case $1 in
        key+limit | key+redis | key+limit+openapi) echo "x-api-key: $API_KEY" ;;
        jwt+limit) echo "authorization: Bearer $TOKEN" ;;
        *) echo "x-bench: plain" ;;
    esac
}

# Sanity: every route answers 200 with its credentials and 401 without (plain: 200).
for route in "${ROUTES[@]}"; do
    url="http://127.0.0.1:$GW_PORT$(path_of "$route")"
    ok=$(curl -s -o /dev/null -w '%{http_code}' -H "$(headers_of "$route")" "$url")
    [[ $ok == 200 ]] || die "$route answered $ok with its credentials"
    if [[ $route != plain ]]; then
        refused=$(curl -s -o /dev/null -w '%{http_code}' "$url")
        [[ $refused == 401 ]] || die "$route answered $refused without credentials"
    fi
done

TICK_US=$((1000000 / $(getconf CLK_TCK)))
RUNS="$WORK/runs.tsv"
: >"$RUNS"
for round in $(seq "$REPEAT"); do
    for route in "${ROUTES[@]}"; do
        url="http://127.0.0.1:$GW_PORT$(path_of "$route")"
        header=$(headers_of "$route")
        before=$(cpu_ticks "$GW_PID")
        taskset -c "$LOAD_CPU" wrk -t1 -c64 -d"${DURATION}s" --latency -H "$header" "$url" >"$WORK/wrk64.out" 2>&1 || true
        after=$(cpu_ticks "$GW_PID")
        read -r rps _ p99 requests errors <<<"$(parse_wrk "$WORK/wrk64.out")"
        ((errors == 0)) || { HAD_FAILURE=1; log "$route: $errors errors under load"; }
        cpu_us=$(awk -v t=$((after - before)) -v us="$TICK_US" -v n="$requests" 'BEGIN { printf "%.2f", (n > 0 ? t * us / n : 0) }')
        taskset -c "$LOAD_CPU" wrk -t1 -c1 -d"${DURATION}s" --latency -H "$header" "$url" >"$WORK/wrk1.out" 2>&1 || true
        read -r _ one_p50 one_p99 _ _ <<<"$(parse_wrk "$WORK/wrk1.out")"
        printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$route" "$round" "$rps" "$p99" "$cpu_us" "$one_p50" "$one_p99" >>"$RUNS"
        log "round $round $route: $rps req/s, p99 $p99 ms, $cpu_us us CPU/req; one at a time p50 $one_p50 ms p99 $one_p99 ms"
    done
done

mkdir -p bench/out
REPORT="bench/out/policies-$(date +%Y-%m-%d-%H%M%S).md"
python3 - "$RUNS" "$DURATION" "$REPEAT" "${ROUTES[@]}" >"$REPORT" <<'PY'
import statistics, sys
runs, duration, repeat, routes = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
rows = {}
for line in open(runs):
    route, _, rps, p99, cpu, p50_1, p99_1 = line.split("\t")
    rows.setdefault(route, []).append(tuple(map(float, (rps, p99, cpu, p50_1, p99_1))))
med = {r: [statistics.median(c) for c in zip(*v)] for r, v in rows.items()}
base = med["plain"]
print(f"Gateway policies, {repeat} rounds of {duration} s per route and load, medians; gateway on 1 core.\n")
print("| route | req/s (64 conns) | vs plain | p99 (64 conns) | CPU per request | vs plain | p50 one at a time | p99 one at a time | added p99 |")
print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
for r in routes:
    rps, p99, cpu, p50_1, p99_1 = med[r]
    print(f"| {r} | {rps:,.0f} | {rps / base[0]:.2f}x | {p99:.2f} ms | {cpu:.1f} us | {cpu / base[2]:.2f}x "
          f"| {p50_1 * 1000:.0f} us | {p99_1 * 1000:.0f} us | {(p99_1 - base[4]) * 1000:+.0f} us |")
PY
cat "$REPORT"
log "report: $REPORT"
