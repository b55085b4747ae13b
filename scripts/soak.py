"""A soak: steady chat load against one Modelgate (the release binary, SQLite with durable
commits, a fake OpenAI on loopback) for N minutes, printing once a minute its resident memory,
open file descriptors, and the minute's requests and latency percentiles. After the first two
minutes (warm-up) memory and descriptors must stay flat: growth beyond 10 % (memory) or 20
descriptors fails it, as a leak would.

    scripts/bench soak --minutes 20     (or: python scripts/soak.py BINARY --minutes N)
"""
import argparse
import os
import statistics
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from clusterlib import FakeOpenAI, Instance, token  # noqa: E402
import http.client  # noqa: E402
import json  # noqa: E402

WORKERS = 16


def rss_mb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def descriptors(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("binary")
    parser.add_argument("--minutes", type=int, default=20)
    args = parser.parse_args()
    folder = tempfile.mkdtemp(prefix="modelgate-soak-")
    fake = FakeOpenAI()
    instance = Instance(os.path.abspath(args.binary), folder, "soak", f"sqlite:{folder}/modelgate.sqlite", fake.port)
    instance.env.update(MODELGATE_LOG_LEVEL="warning")
    instance.start()
    users = [f"soak-{n}@example.com" for n in range(10000)]
    tokens = [token(user, ttl=args.minutes * 60 + 3600) for user in users]
    latencies, lock, running = [], threading.Lock(), [True]

    def work(worker):
        n = worker
        while running[0]:
            n += WORKERS
            started = time.perf_counter()
            connection = http.client.HTTPConnection("127.0.0.1", instance.port, timeout=30)
            try:
                connection.request("POST", "/api/chat", json.dumps({"message": "Hi", "personaId": "career"}),
                                   {"Authorization": f"Bearer {tokens[n % len(tokens)]}", "Content-Type": "application/json"})
                reply = connection.getresponse()
                reply.read()
                ok = reply.status == 200
            except OSError:
                ok = False
            finally:
                connection.close()
            with lock:
                latencies.append((time.perf_counter() - started, ok))

    threads = [threading.Thread(target=work, args=(w,), daemon=True) for w in range(WORKERS)]
    for thread in threads:
        thread.start()
    pid = instance.process.pid
    print(f"soak: {args.minutes} min, {WORKERS} clients, SQLite in WAL with synchronous=FULL (a commit is on disk before it is acknowledged; group commit), "
          f"binary {args.binary}")
    print("| minute | requests | failed | p50 ms | p99 ms | RSS MB | open fds |")
    print("|---|---|---|---|---|---|---|")
    samples = []
    for minute in range(1, args.minutes + 1):
        time.sleep(60)
        with lock:
            window, latencies[:] = list(latencies), []
        times = sorted(t for t, _ in window)
        failed = sum(1 for _, ok in window if not ok)
        p50 = statistics.median(times) * 1000 if times else 0
        p99 = times[int(len(times) * 0.99) - 1] * 1000 if len(times) >= 100 else 0
        sample = (rss_mb(pid), descriptors(pid))
        samples.append(sample)
        print(f"| {minute} | {len(window)} | {failed} | {p50:.1f} | {p99:.1f} | {sample[0]:.1f} | {sample[1]} |", flush=True)
    running[0] = False
    for thread in threads:
        thread.join(30)
    status, _ = instance.terminate(timeout=60)
    fake.stop()
    failures = []
    if len(samples) > 3:
        warm = samples[1]
        worst_rss = max(s[0] for s in samples[2:])
        worst_fds = max(s[1] for s in samples[2:])
        if worst_rss > warm[0] * 1.10:
            failures.append(f"resident memory grew from {warm[0]:.1f} MB after warm-up to {worst_rss:.1f} MB")
        if worst_fds > warm[1] + 20:
            failures.append(f"open descriptors grew from {warm[1]} after warm-up to {worst_fds}")
    if status != 0:
        failures.append(f"the server did not stop cleanly on SIGTERM (exit {status})")
    if failures:
        print("SOAK FAILED:\n  " + "\n  ".join(failures))
        sys.exit(1)
    print("soak: memory and descriptors flat after warm-up; stopped cleanly")


if __name__ == "__main__":
    main()
