"""`scripts/bench peers`: the same streamed chat completion, side by side in one run, sent by wrk
on loopback straight to a fake OpenAI (nginx answering a fixed streamed body), through Modelgate
on SQLite and on PostgreSQL (selected, charged, streamed, analytics written; durable commits), and
through the LiteLLM proxy (PyPI, no database, charges nothing); at 1 and 64 connections, 200
users rotated. Then `GET /api/models` beside `GET /healthz`. Prints one table with ratios.

    scripts/bench peers [--duration S] [--connections 64] [--skip-litellm]
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from clusterlib import Instance, Postgres, free_port, stop_process, token  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
USERS = 200
CHAT_BODY = '{"model":"gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"Say hello"}]}'
LITELLM_KEY = "sk-bench-master-key"


def upstream_body():
    """What the fake OpenAI streams: a role chunk, two words, the finish with usage, [DONE]."""
    base = {"id": "chatcmpl-bench", "object": "chat.completion.chunk", "created": 1, "model": "gpt-4o-mini"}
    deltas = [({"role": "assistant", "content": ""}, None), ({"content": "Hello"}, None), ({"content": " there"}, None), ({}, "stop")]
    chunks = [dict(base, choices=[{"index": 0, "delta": d, "finish_reason": f}]) for d, f in deltas]
    chunks[-1]["usage"] = {"prompt_tokens": 9, "completion_tokens": 2, "total_tokens": 11}
    return "".join(f"data: {json.dumps(c, separators=(',', ':'))}\n\n" for c in chunks) + "data: [DONE]\n\n"


class FakeUpstream:
    """nginx with one worker answering every request with the streamed body (keep-alive on)."""

    def __init__(self, folder):
        self.folder = os.path.join(folder, "upstream")
        os.makedirs(self.folder)
        self.port = free_port()
        body = upstream_body().replace("\\", "\\\\").replace("'", "\\'")
        temp = "".join(f"  {kind}_temp_path {self.folder}/{kind};\n" for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
        conf = (f"daemon off;\nworker_processes 1;\npid {self.folder}/nginx.pid;\nerror_log {self.folder}/error.log warn;\n"
                f"events {{ worker_connections 4096; }}\nhttp {{\n  access_log off;\n  keepalive_requests 1000000;\n{temp}"
                f"  server {{\n    listen 127.0.0.1:{self.port};\n    location / {{\n      default_type text/event-stream;\n"
                f"      return 200 '{body}';\n    }}\n  }}\n}}\n")
        path = os.path.join(self.folder, "nginx.conf")
        with open(path, "w") as f:
            f.write(conf)
        self.process = subprocess.Popen([shutil.which("nginx") or "/usr/sbin/nginx", "-c", path])
        wait_until(f"http://127.0.0.1:{self.port}/", "POST")

    def stop(self):
        self.process.terminate()
        self.process.wait()


def wait_until(url, method="GET", headers=None, timeout=120):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            request = urllib.request.Request(url, method=method, headers=headers or {}, data=b"{}" if method == "POST" else None)
            with urllib.request.urlopen(request, timeout=2) as reply:
                if reply.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, OSError):
            time.sleep(0.2)
    raise SystemExit(f"{url} did not answer")


class LiteLLM:
    """The LiteLLM proxy from PyPI in the bench's own venv (installed on first use), no database."""

    def __init__(self, folder, upstream_port):
        venv = os.path.join(ROOT, ".bench-venv")
        binary = os.path.join(venv, "bin", "litellm")
        if not os.path.exists(binary):
            print("installing the LiteLLM proxy into .bench-venv (PyPI, a few minutes)", flush=True)
            subprocess.run([sys.executable, "-m", "venv", venv], check=True)
            subprocess.run([os.path.join(venv, "bin", "pip"), "install", "-q", "litellm[proxy]"], check=True)
        version = subprocess.run([os.path.join(venv, "bin", "python"), "-c", "import importlib.metadata as m; print(m.version('litellm'))"],
                                 capture_output=True, text=True).stdout.strip()
        self.version = version
        self.port = free_port()
        config = os.path.join(folder, "litellm.yaml")
        with open(config, "w") as f:
            f.write("model_list:\n  - model_name: gpt-4o-mini\n    litellm_params:\n      model: openai/gpt-4o-mini\n"
                    f"      api_base: http://127.0.0.1:{upstream_port}/v1\n      api_key: sk-fake\n")
        env = dict(os.environ, LITELLM_MASTER_KEY=LITELLM_KEY, LITELLM_LOG="ERROR")
        self.log = open(os.path.join(folder, "litellm.log"), "w")
        self.process = subprocess.Popen([binary, "--config", config, "--port", str(self.port), "--num_workers", "2"],
                                        env=env, stdout=self.log, stderr=subprocess.STDOUT)
        wait_until(f"http://127.0.0.1:{self.port}/health/liveliness")
        time.sleep(3)  # its workers finish starting; their start-up would eat the CPU measured

    def stop(self):
        stop_process(self.process)


WRK_SCRIPT = """
local tokens = {}
for line in io.lines("%(tokens)s") do tokens[#tokens + 1] = line end
local i = 0
wrk.method = "%(method)s"
%(body)s
wrk.headers["Content-Type"] = "application/json"
request = function()
  i = i + 1
  wrk.headers["Authorization"] = "Bearer " .. tokens[(i %% #tokens) + 1]
  return wrk.format(nil, "%(path)s")
end
done = function(summary, latency, requests)
  io.write(string.format('RESULT {"p50": %%f, "p99": %%f, "requests": %%d, "seconds": %%f, "status_errors": %%d, "socket_errors": %%d}\\n',
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, summary.requests, summary.duration / 1e6,
    summary.errors.status, summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
"""


def wrk(folder, base, path, tokens, connections, duration, method="POST"):
    tokens_path = os.path.join(folder, f"tokens-{abs(hash(tuple(tokens)))}.txt")
    with open(tokens_path, "w") as f:
        f.write("\n".join(tokens) + "\n")
    script = os.path.join(folder, "load.lua")
    body = f"wrk.body = '{CHAT_BODY}'" if method == "POST" else ""
    with open(script, "w") as f:
        f.write(WRK_SCRIPT % {"tokens": tokens_path, "method": method, "body": body, "path": path})
    threads = 1 if connections == 1 else 2
    out = subprocess.run(["wrk", f"-t{threads}", f"-c{connections}", f"-d{duration}s", "--timeout", "10s", "-s", script, base],
                         capture_output=True, text=True, check=True).stdout
    line = next(line for line in out.splitlines() if line.startswith("RESULT "))
    result = json.loads(line[len("RESULT "):])
    result["rps"] = result["requests"] / result["seconds"]
    return result


def modelgate(binary, folder, name, database_url, upstream_port):
    instance = Instance(binary, folder, name, database_url, upstream_port)
    # The per-user limits stay on (their writes are part of every message), raised so that 200
    # users at thousands of messages a second are not refused; the log is quiet as in production.
    instance.env.update(MODELGATE_USER_RPM="100000", MODELGATE_USER_MAX_STREAMS="64", MODELGATE_LOG_LEVEL="warning",
                        MODELGATE_PROVIDER_FIRST_BYTE_TIMEOUT="30")
    instance.start()
    base = f"http://127.0.0.1:{instance.port}"
    request = urllib.request.Request(base + "/api/admin/settings/free-daily-limit", method="PUT", data=b'{"limit": 100000000}',
                                     headers={"Authorization": "Bearer " + token("bench-admin@example.com", admin=True),
                                              "Content-Type": "application/json"})
    urllib.request.urlopen(request).read()
    return instance, base


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("binary")
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--skip-litellm", action="store_true")
    args = parser.parse_args()
    folder = tempfile.mkdtemp(prefix="modelgate-peers-")
    os.chmod(folder, 0o755)
    users = [token(f"bench-user-{n}@example.com", ttl=7200) for n in range(USERS)]
    started = []
    results = {}
    try:
        upstream = FakeUpstream(folder)
        started.append(upstream)
        direct_base = f"http://127.0.0.1:{upstream.port}"
        postgres = Postgres(folder)
        started.append(postgres)
        durability = postgres.sql("SELECT current_setting('fsync'), current_setting('synchronous_commit')")[0]
        targets = [("direct to the fake upstream (nginx)", direct_base, "/v1/chat/completions", users)]
        for name, url in (("SQLite", "sqlite:" + os.path.join(folder, "bench.sqlite")), ("PostgreSQL", postgres.url)):
            instance, base = modelgate(args.binary, folder, f"modelgate-{name.lower()}", url, upstream.port)
            started.append(instance)
            targets.append((f"through Modelgate, {name}", base, "/v1/chat/completions", users))
        if not args.skip_litellm:
            litellm = LiteLLM(folder, upstream.port)
            started.append(litellm)
            targets.append((f"through LiteLLM {litellm.version} (no database)", f"http://127.0.0.1:{litellm.port}", "/v1/chat/completions", [LITELLM_KEY]))
        for connections in (1, args.connections):
            for label, base, path, tokens in targets:
                wrk(folder, base, path, tokens, connections, 2)  # warm-up: connections, caches, JIT of the proxy
                results[(label, connections)] = wrk(folder, base, path, tokens, connections, args.duration)
                print(f"  {label}, {connections} connection(s): {results[(label, connections)]}", flush=True)
        sqlite_base = targets[1][1]
        for connections in (1, args.connections):
            for path in ("/api/models", "/healthz"):
                results[(path, connections)] = wrk(folder, sqlite_base, path, users, connections, args.duration, method="GET")
        report(targets, results, args, durability)
        errors = sum(r["status_errors"] + r["socket_errors"] for r in results.values())
        if errors:
            raise SystemExit(f"{errors} requests failed: the figures above are not valid")
    finally:
        for process in reversed(started):
            if isinstance(process, Instance):
                process.terminate(timeout=30)
            else:
                process.stop()
        shutil.rmtree(folder, ignore_errors=True)


def report(targets, results, args, durability):
    direct_label = targets[0][0]
    print()
    print(f"Streamed chat completion, {USERS} users rotated, wrk {args.duration} s per row after a 2 s warm-up.")
    print("Modelgate: per-user limits on (raised), message charged and its analytics events written in the same commit;")
    print(f"SQLite in WAL with synchronous = FULL (fsync per group commit); PostgreSQL fsync = {durability[0]}, "
          f"synchronous_commit = {durability[1]}; only the capacity counters (request windows, open-call slots) commit without")
    print("waiting for the disk (no fsync on SQLite, synchronous_commit = off on their PostgreSQL connections).")
    print()
    print("| path | connections | p50 ms | p99 ms | req/s | p50 over direct | req/s vs LiteLLM |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for connections in (1, args.connections):
        direct = results[(direct_label, connections)]
        litellm = next((results[(t[0], connections)] for t in targets if t[0].startswith("through LiteLLM")), None)
        for label, *_ in targets:
            r = results[(label, connections)]
            over = "—" if label == direct_label else f"+{r['p50'] - direct['p50']:.2f} ms"
            ratio = f"{r['rps'] / litellm['rps']:.1f}×" if litellm and label != direct_label else "—"
            print(f"| {label} | {connections} | {r['p50']:.2f} | {r['p99']:.2f} | {r['rps']:,.0f} | {over} | {ratio} |")
    print()
    print("| request (Modelgate, SQLite) | connections | p50 ms | p99 ms | req/s |")
    print("|---|---:|---:|---:|---:|")
    for connections in (1, args.connections):
        for path in ("/api/models", "/healthz"):
            r = results[(path, connections)]
            print(f"| `GET {path}` | {connections} | {r['p50']:.2f} | {r['p99']:.2f} | {r['rps']:,.0f} |")


if __name__ == "__main__":
    main()
