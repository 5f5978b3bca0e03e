#!/usr/bin/env python3
"""Open N idle HTTP/1.1 keep-alive connections to a proxy and hold them (used by bench/proxies.sh).

Every connection sends one complete `GET / HTTP/1.1` request and reads the whole
response, so each one is a real, established, idle keep-alive HTTP connection
(not just a TCP handshake sitting in the accept queue). Connections are opened
with non-blocking sockets and a selector, at most --window at a time, so 10,000
connections take a few seconds without overflowing the listen backlog.

Handshake with the caller:
  1. once all connections are open (or failed), write a one-line summary to
     --ready-file;
  2. hold the connections until --release-file exists (or --hold-timeout
     seconds have passed), so the caller can measure the proxy's RSS;
  3. check that each connection is still open (the proxy did not close it), print
     a summary line to stdout, and close everything.

Exit status is 0 when every connection was opened and was still alive at release.
"""

import argparse
import os
import resource
import selectors
import socket
import sys
import time

REQUEST = b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: switchyard-bench-idle\r\n\r\n"


def raise_nofile(need):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = hard if hard != resource.RLIM_INFINITY else max(soft, need)
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < need:
        sys.exit(f"idle_conns: RLIMIT_NOFILE {soft} is too low for {need} connections")


def response_state(buf):
    """Return 'incomplete', 'done' (keep-alive response fully read) or an error string."""
    head_end = buf.find(b"\r\n\r\n")
    if head_end < 0:
        return "incomplete"
    lines = buf[:head_end].decode("latin-1").split("\r\n")
    parts = lines[0].split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/1.") or not parts[1].startswith("2"):
        return f"bad status line {lines[0]!r}"
    body = buf[head_end + 4 :]
    length = None
    chunked = False
    for line in lines[1:]:
        name, _, value = line.partition(":")
        name, value = name.strip().lower(), value.strip().lower()
        if name == "connection" and "close" in value:
            return "server sent Connection: close"
        if name == "content-length":
            length = int(value)
        if name == "transfer-encoding" and "chunked" in value:
            chunked = True
    if chunked:
        return "done" if body.endswith(b"0\r\n\r\n") else "incomplete"
    if length is None:
        return "response without Content-Length (not keep-alive capable)"
    return "done" if len(body) >= length else "incomplete"


def open_connections(host, port, count, window, timeout):
    """Open `count` keep-alive connections; return (list of idle sockets, errors dict)."""
    sel = selectors.DefaultSelector()
    idle = []
    errors = {}
    started = 0
    in_flight = 0
    deadline = time.monotonic() + timeout

    def fail(sock, why):
        nonlocal in_flight
        errors[why] = errors.get(why, 0) + 1
        sel.unregister(sock)
        sock.close()
        in_flight -= 1

    while len(idle) + sum(errors.values()) < count:
        while in_flight < window and started < count:
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setblocking(False)
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            rc = s.connect_ex((host, port))
            started += 1
            in_flight += 1
            if rc not in (0, 115):  # 115 = EINPROGRESS
                sel.register(s, selectors.EVENT_WRITE, None)
                fail(s, f"connect: {os.strerror(rc)}")
                continue
            # state: [phase, pending output, input buffer]
            sel.register(s, selectors.EVENT_WRITE, ["connect", REQUEST, b""])
        if time.monotonic() > deadline:
            for key in list(sel.get_map().values()):
                fail(key.fileobj, "timeout")
            break
        for key, _ in sel.select(timeout=1.0):
            s, st = key.fileobj, key.data
            try:
                if st[0] == "connect":
                    err = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                    if err:
                        fail(s, f"connect: {os.strerror(err)}")
                        continue
                    st[0] = "send"
                if st[0] == "send":
                    n = s.send(st[1])
                    st[1] = st[1][n:]
                    if not st[1]:
                        st[0] = "recv"
                        sel.modify(s, selectors.EVENT_READ, st)
                    continue
                data = s.recv(65536)
                if not data:
                    fail(s, "closed before full response")
                    continue
                st[2] += data
                state = response_state(st[2])
                if state == "done":
                    sel.unregister(s)
                    in_flight -= 1
                    idle.append(s)
                elif state != "incomplete":
                    fail(s, state)
            except (BlockingIOError, InterruptedError):
                pass
            except OSError as e:
                fail(s, f"{type(e).__name__}: {e.strerror}")
    sel.close()
    return idle, errors


def count_alive(socks):
    alive = 0
    for s in socks:
        try:
            data = s.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT)
            alive += 1 if data else 0  # b"" = peer closed; unexpected data still means open
        except BlockingIOError:
            alive += 1
        except OSError:
            pass
    return alive


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("-n", "--conns", type=int, default=10000)
    ap.add_argument("--window", type=int, default=200, help="connections being opened at once")
    ap.add_argument("--open-timeout", type=float, default=120.0)
    ap.add_argument("--ready-file", required=True)
    ap.add_argument("--release-file", required=True)
    ap.add_argument("--hold-timeout", type=float, default=120.0)
    args = ap.parse_args()

    raise_nofile(args.conns + 64)
    t0 = time.monotonic()
    idle, errors = open_connections(args.host, args.port, args.conns, args.window, args.open_timeout)
    took = time.monotonic() - t0
    failed = sum(errors.values())
    summary = f"opened={len(idle)} failed={failed} open_seconds={took:.2f}"
    if errors:
        summary += " errors=" + ";".join(f"{k} x{v}" for k, v in sorted(errors.items()))
    with open(args.ready_file + ".tmp", "w") as f:
        f.write(summary + "\n")
    os.rename(args.ready_file + ".tmp", args.ready_file)  # atomic: caller never sees half a line

    hold_until = time.monotonic() + args.hold_timeout
    while not os.path.exists(args.release_file) and time.monotonic() < hold_until:
        time.sleep(0.1)

    alive = count_alive(idle)
    print(f"{summary} alive_at_release={alive}", flush=True)
    for s in idle:
        s.close()
    return 0 if failed == 0 and alive == args.conns else 1


if __name__ == "__main__":
    sys.exit(main())
