#!/usr/bin/env bash
# bench/registry.sh — publish-to-serving time: from just before `switchyard registry publish`
# starts until the gateway answers with the change.
#
# Starts the movie graph's three subgraphs (`switchyard subgraph`, fixtures of
# crates/graphql/tests/fixtures/movies; `movies` serves Movie.year), a registry
# (`switchyard registry serve`, SQLite in a temp dir) and a gateway (`switchyard run`) whose
# GraphQL route takes its supergraph from the registry (`registry:` with the default poll of
# 1 s). Version 3 is the graph without Movie.year. Then RUNS times, after a random pause of
# 0-1 s (so the publish lands at a random point of the poll period): publish `movies` with
# Movie.year added (odd runs) or removed again (even runs), and poll the gateway every 10 ms
# until `{ movies { year } }` answers data (added) or a validation error (removed). Prints
# each elapsed time and min/median/max in milliseconds. Target (issue 6): under 2 s.
#
# MODE=embedded runs the registry inside the gateway instead (a top-level `registry:` in the
# gateway's config, no `switchyard registry serve`): the subgraphs are published to the
# gateway's own registry API after it starts, and the route is woken by each publish.
#
# Usage:   bash bench/registry.sh;  MODE=embedded bash bench/registry.sh
# Options: RUNS=5, MODE=remote|embedded, SWITCHYARD_BIN=target/release/switchyard, KEEP_WORK=1
# Uses only 127.0.0.1 and free ports; every process it starts is stopped on exit.

set -euo pipefail

RUNS=${RUNS:-5}
MODE=${MODE:-remote}
SWITCHYARD_BIN=${SWITCHYARD_BIN:-target/release/switchyard}
KEEP_WORK=${KEEP_WORK:-0}
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$REPO"
FIXTURE="$REPO/crates/graphql/tests/fixtures/movies"
BENCH_TAG=registry
STARTED_PIDS=()
HAD_FAILURE=0
WORK=$(mktemp -d /tmp/switchyard-registry-bench.XXXXXX)
# shellcheck source=bench/lib.sh
source "$REPO/bench/lib.sh"
trap cleanup EXIT INT TERM

[[ -x $SWITCHYARD_BIN ]] || die "$SWITCHYARD_BIN missing: cargo build --release -p switchyard"
command -v curl >/dev/null || die "curl is needed"

declare -A SG_ADDR
for name in movies productions talent; do
    start_bg "$WORK/$name.log" "$SWITCHYARD_BIN" subgraph --name "$name" \
        --sdl "$FIXTURE/$name.graphql" --data "$FIXTURE/$name.json" --listen 127.0.0.1:0
    SG_ADDR[$name]=$(wait_listening "$STARTED_PID" "subgraph $name" "$WORK/$name.log")
done
grep -v '^  year: Int$' "$FIXTURE/movies.graphql" >"$WORK/movies-without-year.graphql"

read -r REG_PORT GW_PORT <<<"$(free_ports 2)"
REGISTRY="http://127.0.0.1:$REG_PORT"
case $MODE in
remote)
    start_bg "$WORK/registry.log" "$SWITCHYARD_BIN" registry serve \
        --address "127.0.0.1:$REG_PORT" --store "sqlite:$WORK/registry.db"
    wait_port "$REG_PORT" "$STARTED_PID" registry "$WORK/registry.log"
    EMBEDDED="" SOURCE="url: \"$REGISTRY\", " ;;
embedded)
    EMBEDDED="registry: { address: 127.0.0.1:$REG_PORT, store: \"sqlite:$WORK/registry.db\" }"
    SOURCE="" ;;
*) die "MODE must be remote or embedded" ;;
esac

publish() { # NAME SDL-FILE
    "$SWITCHYARD_BIN" registry publish --registry "$REGISTRY" movies@prod --name "$1" \
        --url "http://${SG_ADDR[$1]}/graphql" --schema "$2" -m bench >>"$WORK/publish.log" 2>&1 ||
        { cat "$WORK/publish.log" >&2; die "publish $1 failed"; }
}
publish_all() {
    publish movies "$WORK/movies-without-year.graphql"
    publish productions "$FIXTURE/productions.graphql"
    publish talent "$FIXTURE/talent.graphql"
}
[[ $MODE == remote ]] && publish_all

cat >"$WORK/gateway.yaml" <<YAML
listeners:
  - name: public
    address: 127.0.0.1:$GW_PORT
access_log: { to: "off" }
$EMBEDDED
routes:
  - name: graphql
    match: { path: { exact: /graphql } }
    graphql:
      registry: { ${SOURCE}graph: movies, variant: prod }
clusters:
  - name: movies
    endpoints: [ { address: "${SG_ADDR[movies]}" } ]
  - name: productions
    endpoints: [ { address: "${SG_ADDR[productions]}" } ]
  - name: talent
    endpoints: [ { address: "${SG_ADDR[talent]}" } ]
YAML
start_bg "$WORK/gateway.log" env RUST_LOG=info "$SWITCHYARD_BIN" run -c "$WORK/gateway.yaml"
wait_port "$GW_PORT" "$STARTED_PID" gateway "$WORK/gateway.log"
if [[ $MODE == embedded ]]; then
    wait_port "$REG_PORT" "$STARTED_PID" "embedded registry" "$WORK/gateway.log"
    publish_all
fi

years() {
    curl -s -m 2 "http://127.0.0.1:$GW_PORT/graphql" -H 'content-type: application/json' \
        -d '{"query":"{ movies { year } }"}' || true
}
now_ms() { echo $(($(date +%s%N) / 1000000)); }

for _ in $(seq 200); do years | grep -q '"errors"' && break; sleep 0.01; done
years | grep -q '"errors"' || die "version 3 should not have Movie.year: $(years)"
TIMES=()
for run in $(seq "$RUNS"); do
    sleep "0.$(printf '%03d' $((RANDOM % 1000)))"
    if ((run % 2)); then sdl="$FIXTURE/movies.graphql" want='"year":1987'; what=added
    else sdl="$WORK/movies-without-year.graphql" want='"errors"'; what=removed; fi
    start=$(now_ms)
    publish movies "$sdl"
    until years | grep -q "$want"; do
        (($(now_ms) - start < 10000)) || die "run $run: change not served within 10 s"
        sleep 0.01
    done
    elapsed=$(($(now_ms) - start))
    TIMES+=("$elapsed")
    log "run $run: Movie.year $what, served after $elapsed ms"
done
sorted=$(printf '%s\n' "${TIMES[@]}" | sort -n)
min=$(head -1 <<<"$sorted") max=$(tail -1 <<<"$sorted")
median=$(sed -n "$(((RUNS + 1) / 2))p" <<<"$sorted")
echo "publish-to-serving ($MODE registry, poll 1s), $RUNS runs (ms): ${TIMES[*]}; min $min, median $median, max $max"
