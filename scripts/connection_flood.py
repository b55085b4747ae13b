"""Idle and slow connections against a real Modelgate: they never stop a new client being served,
and the server closes each one after its idle timeout (small here: MODELGATE_IDLE_TIMEOUT=10).

    python connection_flood.py MODELGATE_BINARY [--connections N]

Opens N (10,000) TCP connections and keeps them silent, one in ten having sent half a request
head (a slowloris client); then a new client asks for /healthz. Afterwards it watches every socket
(epoll) and checks that each was closed by the server and none before it had been idle for the
timeout: a connection's life is counted from before its connect() began to after its close was
seen, so it can only be longer than the server's count, never shorter, on any machine. Times are
printed, never asserted (they belong in the benchmark); exits non-zero on any failure. The client process holds the
sockets, the server another process, so neither hits its file limit.
"""
import argparse
import os
import resource
import selectors
import shutil
import socket
import sys
import tempfile
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from api_fuzz import Modelgate  # noqa: E402

IDLE_TIMEOUT = 10


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("binary")
    parser.add_argument("--connections", type=int, default=10_000)
    args = parser.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    os.environ.update(MODELGATE_IDLE_TIMEOUT=str(IDLE_TIMEOUT), MODELGATE_MAX_CONNECTIONS=str(args.connections + 1000))
    folder = tempfile.mkdtemp(prefix="modelgate-flood-")
    modelgate = Modelgate(args.binary, folder)
    failures = []
    sockets, connecting_at, opened, lifetimes = [], [], [], {}
    selector = selectors.DefaultSelector()

    def watch(timeout):
        """Notes each connection the server has closed (end of file or reset) and when."""
        for key, _ in selector.select(timeout=timeout):
            try:
                data = key.fileobj.recv(4096)
            except (ConnectionResetError, BrokenPipeError):
                data = b""
            if data == b"" and opened[key.data]:
                lifetimes[key.data] = time.monotonic() - connecting_at[key.data]
                selector.unregister(key.fileobj)

    try:
        # Connect them all at once (non-blocking), so all are open together well within the timeout.
        started = time.monotonic()
        for index in range(args.connections):
            connection = socket.socket()
            connection.setblocking(False)
            connecting_at.append(time.monotonic())
            connection.connect_ex(("127.0.0.1", modelgate.port))
            sockets.append(connection)
            opened.append(False)
            selector.register(connection, selectors.EVENT_WRITE, index)
        while not all(opened) and time.monotonic() - started < 120:
            for key, _ in selector.select(timeout=0.5):
                opened[key.data] = True
                if key.data % 10 == 0:
                    key.fileobj.send(b"GET /healthz HTTP/1.1\r\nHost: flood\r\n")  # the head never ends
                selector.modify(key.fileobj, selectors.EVENT_READ, key.data)
        if not all(opened):
            failures.append("not every connection could be opened")
        print(f"opened {len(sockets)} idle connections in {time.monotonic() - started:.1f} s")

        asked = time.monotonic()
        try:
            with urllib.request.urlopen(modelgate.base + "/healthz", timeout=60) as reply:
                status = reply.status
        except OSError as error:
            status = f"no answer ({error})"
        print(f"a new client was served {status} in {(time.monotonic() - asked) * 1000:.0f} ms")
        if status != 200:
            failures.append(f"the new client was not served: {status}")

        # Generous: the check is that every connection is closed, not how soon.
        deadline = time.monotonic() + IDLE_TIMEOUT + 120
        while len(lifetimes) < len(sockets) and time.monotonic() < deadline:
            watch(0.2)
        still_open = len(sockets) - len(lifetimes)
        shortest, longest = (min(lifetimes.values()), max(lifetimes.values())) if lifetimes else (0, 0)
        print(f"closed by the server: {len(lifetimes)} of {len(sockets)}, after {shortest:.1f} to {longest:.1f} s (timeout {IDLE_TIMEOUT} s)")
        if still_open:
            failures.append(f"{still_open} idle connections were never closed")
        if lifetimes and shortest < IDLE_TIMEOUT:
            failures.append(f"a connection was closed after {shortest:.2f} s, before it had been idle for the timeout")
        if not modelgate.alive():
            failures.append("the server died")
    finally:
        for connection in sockets:
            connection.close()
        modelgate.stop()
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    if failures:
        print("CONNECTION FLOOD FAILED:\n  " + "\n  ".join(failures) + f"\nserver log kept in {folder}/server.log")
        sys.exit(1)
    shutil.rmtree(folder, ignore_errors=True)
    print("connection flood: every idle and slow connection was closed by the server, none before the timeout; a new client was served")


if __name__ == "__main__":
    main()
