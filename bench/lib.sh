# shellcheck shell=bash
# Shell helpers shared by the benchmark scripts (sourced, not run): logging, cleanup of what a
# script started, free ports, background processes, waiting for a port or a "listening" line,
# CPU accounting from /proc, parsing wrk output, and a warning for a binary older than the source. The sourcing script sets STARTED_PIDS=(), HAD_FAILURE, WORK and
# KEEP_WORK; optional: BENCH_TAG (log prefix, "bench"), WAIT_PORT_S (startup wait, 10 s).

log() { printf '[%s %s] %s\n' "${BENCH_TAG:-bench}" "$(date +%H:%M:%S)" "$*" >&2; }

die() { log "ERROR: $*"; exit 1; }

# The first input of the binary $1 (of the repo at $2) newer than it, relative to the repo, or
# nothing: a benchmark names the commit it ran at, which says nothing of an older binary. The
# inputs are the files cargo's dep-info ($1.d) lists (every source compiled in, included files
# too) and the workspace's Cargo.toml and Cargo.lock; without dep-info, every crate's src/.
newer_source() {
    local bin=$1 repo=$2 newer
    newer=$({
        if [[ -f $bin.d ]]; then
            sed 's/^[^:]*: //' "$bin.d" | tr ' ' '\n'
        else
            find "$repo/crates" -path '*/src/*' -type f
        fi
        printf '%s\n' "$repo/Cargo.toml" "$repo/Cargo.lock"
    } | while read -r f; do
        if [[ -n $f && $f -nt $bin ]]; then
            echo "$f"
            break
        fi
    done || true)
    [[ -z $newer ]] || echo "${newer#"$repo"/}"
}

# Warns (and returns the note to add to the binary's description) when $1 predates the source.
stale_binary_note() {
    local newer
    newer=$(newer_source "$1" "$2")
    [[ -n $newer ]] || return 0
    log "WARNING: $1 was built before $newer changed: rebuild it"
    echo ", but the binary is older than $newer"
}

# TERM what we started, wait up to 5 s, then KILL whatever is left, children too.
cleanup() {
    local rc=$? pid all=()
    trap - EXIT INT TERM
    for pid in "${STARTED_PIDS[@]}"; do
        all+=("$pid")
        mapfile -t -O "${#all[@]}" all < <(pgrep -P "$pid" 2>/dev/null || true)
    done
    for pid in "${STARTED_PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for _ in $(seq 50); do
        local alive=0
        for pid in "${all[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
        ((alive)) || break
        sleep 0.1
    done
    for pid in "${all[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    if ((rc != 0 || HAD_FAILURE)) || [[ $KEEP_WORK == 1 ]]; then
        log "configs, logs and tool outputs kept in $WORK"
    else
        rm -rf "$WORK"
    fi
    exit "$rc"
}

# Print N distinct free TCP ports on 127.0.0.1 (all bound at once, so no duplicates).
free_ports() {
    python3 - "$1" <<'EOF'
import socket, sys
socks = [socket.socket() for _ in range(int(sys.argv[1]))]
for s in socks:
    s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in socks))
EOF
}

start_bg() {
    local logfile=$1
    shift
    "$@" >"$logfile" 2>&1 &
    STARTED_PID=$!
    STARTED_PIDS+=("$STARTED_PID")
}

# Wait for a line "listening X" in LOGFILE and print X; fail if PID died meanwhile.
wait_listening() {
    local pid=$1 what=$2 logfile=$3 line
    for _ in $(seq 300); do
        line=$(grep -m1 '^listening ' "$logfile" 2>/dev/null || true)
        if [[ -n $line ]]; then
            echo "${line#listening }"
            return 0
        fi
        kill -0 "$pid" 2>/dev/null || { cat "$logfile" >&2; die "$what exited during startup"; }
        sleep 0.1
    done
    cat "$logfile" >&2
    die "$what did not start listening within 30 s"
}

# Wait until 127.0.0.1:PORT accepts connections; fail if PID died meanwhile.
wait_port() {
    local port=$1 pid=$2 what=$3 logfile=$4
    for _ in $(seq $((${WAIT_PORT_S:-10} * 10))); do
        if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then return 0; fi
        kill -0 "$pid" 2>/dev/null || { cat "$logfile" >&2; die "$what exited during startup"; }
        sleep 0.1
    done
    cat "$logfile" >&2
    die "$what did not listen on port $port within ${WAIT_PORT_S:-10} s"
}

# Sum of utime+stime (fields 14 and 15 of /proc/PID/stat, in clock ticks) of PIDs.
cpu_ticks() {
    local total=0 pid stat f
    for pid in "$@"; do
        stat=$(cat "/proc/$pid/stat" 2>/dev/null) || continue
        read -ra f <<<"${stat##*) }" # drop "pid (comm) "; f[0] is field 3
        total=$((total + f[11] + f[12]))
    done
    echo "$total"
}

# CPU ticks of a process plus its waited-for children (utime+stime+cutime+cstime).
ticks_with_children() {
    local stat f
    stat=$(<"/proc/$1/stat")
    read -ra f <<<"${stat##*) }"
    echo $((f[11] + f[12] + f[13] + f[14]))
}

# "busy total steal" jiffies of CPU N ("" = all CPUs) from /proc/stat.
core_jiffies() {
    awk -v cpu="cpu$1" '$1 == cpu { print $2 + $3 + $4 + $7 + $8, $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9, $9 }' /proc/stat
}

# Parse wrk output. Prints "rps p50_ms p99_ms requests errors".
parse_wrk() {
    awk '
        function ms(v) {          # wrk prints 812.00us / 1.20ms / 1.01s / 1.00m
            if (v ~ /us$/) return v / 1000
            if (v ~ /ms$/) return v + 0
            if (v ~ /m$/)  return v * 60000
            if (v ~ /s$/)  return v * 1000
            return v + 0
        }
        $1 == "50%" { p50 = ms($2) }
        $1 == "99%" { p99 = ms($2) }
        / requests in / { req = $1 }
        /^Requests\/sec:/ { rps = $2 }
        /Non-2xx or 3xx responses:/ { err += $NF }
        /Socket errors:/ { gsub(/,/, ""); err += $4 + $6 + $8 + $10 }
        END { printf "%s %.3f %.3f %s %d\n", (rps == "" ? "nan" : rps), p50, p99, (req == "" ? 0 : req), err }
    ' "$1"
}
