"""A Modelgate cluster on loopback: a private PostgreSQL, N instances of the built binary, Debian's
nginx in front with ops/nginx/modelgate.conf, and a fake OpenAI that can be told to stall.
Used by scripts/cluster (by hand) and scripts/chaos (the fault suite)."""
import base64
import hashlib
import hmac
import http.server
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SECRET = "chaos-secret-chaos-secret-chaos-secret-0123"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def token(email, admin=False, ttl=3600):
    """An HS256 token as `modelgate token` makes it (the same secret), without a process per user."""
    def b64(data):
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()
    user = hashlib.sha256(("modelgate:" + email.lower()).encode()).digest()[:16]
    user = bytearray(user)
    user[6] = (user[6] & 0x0F) | 0x50
    user[8] = (user[8] & 0x3F) | 0x80
    h = user.hex()
    sub = f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"
    now = int(time.time())
    claims = {"sub": sub, "email": email, "role": "authenticated", "exp": now + ttl, "iat": now}
    if admin:
        claims["app_metadata"] = {"modelgate_role": "admin"}
    head = b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode()) + "." + b64(json.dumps(claims).encode())
    return head + "." + b64(hmac.new(SECRET.encode(), head.encode(), hashlib.sha256).digest())


class FakeOpenAI:
    """OpenAI's streamed chat completions: two words 50 ms apart, then usage. `stall` seconds
    delays the first byte of every answer (a provider that accepts and does not answer)."""

    def __init__(self):
        self.port = free_port()
        self.stall = 0.0
        self.requests = 0
        fake = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_POST(self):
                self.rfile.read(int(self.headers.get("Content-Length", "0")))
                fake.requests += 1
                if fake.stall:
                    time.sleep(fake.stall)
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Connection", "close")
                self.end_headers()
                base = {"id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": 1, "model": "gpt-4o-mini"}
                try:
                    for word in ("Hello", " there"):
                        chunk = dict(base, choices=[{"index": 0, "delta": {"content": word}, "finish_reason": None}])
                        self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
                        self.wfile.flush()
                        time.sleep(0.05)
                    end = dict(base, choices=[{"index": 0, "delta": {}, "finish_reason": "stop"}])
                    usage = dict(base, choices=[], usage={"prompt_tokens": 5, "completion_tokens": 2, "total_tokens": 7})
                    self.wfile.write(f"data: {json.dumps(end)}\n\ndata: {json.dumps(usage)}\n\ndata: [DONE]\n\n".encode())
                except (BrokenPipeError, ConnectionResetError):
                    pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self):
        self.server.shutdown()


def stop_process(process, timeout=20):
    """SIGTERM, then SIGKILL if it has not exited within `timeout` seconds."""
    process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def as_postgres(command):
    if os.getuid() == 0:
        return ["su", "postgres", "-s", "/bin/bash", "-c", command]
    return ["bash", "-c", command]


class Postgres:
    def __init__(self, folder):
        self.folder = os.path.join(folder, "pg")
        self.port = free_port()
        self.bin = sorted(d for d in (os.path.join("/usr/lib/postgresql", v, "bin") for v in os.listdir("/usr/lib/postgresql")))[-1]
        os.makedirs(self.folder)
        if os.getuid() == 0:
            shutil.chown(self.folder, "postgres", "postgres")
            os.chmod(folder, 0o755)
        self.url = f"postgres://postgres@127.0.0.1:{self.port}/postgres?tlsmode=disable"
        subprocess.run(as_postgres(f"{self.bin}/initdb -D {self.folder}/data -U postgres --auth=trust -E UTF8 --locale=C.UTF-8"),
                       check=True, stdout=subprocess.DEVNULL)
        self.start()

    def ctl(self, action, *options):
        opts = f"-o '-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c max_connections=500'"
        return subprocess.run(as_postgres(f"{self.bin}/pg_ctl -D {self.folder}/data -l {self.folder}/server.log -w {' '.join(options)} {opts} {action}"),
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode

    def start(self):
        assert self.ctl("start") == 0, "PostgreSQL did not start"

    def stop(self):
        self.ctl("stop", "-m fast")

    def restart(self):
        assert self.ctl("restart", "-m fast") == 0, "PostgreSQL did not restart"

    def sql(self, statement):
        """Rows of a query as lists of strings (psql, tab-separated)."""
        out = subprocess.run(as_postgres(f"{self.bin}/psql -h 127.0.0.1 -p {self.port} -U postgres -At -F '\t' -c \"{statement}\""),
                             check=True, capture_output=True, text=True).stdout
        return [line.split("\t") for line in out.splitlines() if line]


class Instance:
    def __init__(self, binary, folder, name, database_url, provider_port, grace=5):
        self.binary, self.name = binary, name
        self.port = free_port()
        self.log_path = os.path.join(folder, f"{name}.log")
        self.env = dict(os.environ, MODELGATE_JWT_SECRET=SECRET, MODELGATE_DATABASE_URL=database_url, MODELGATE_LOG_LEVEL="info",
                        MODELGATE_OPENAI_API_KEY="sk-fake", MODELGATE_OPENAI_BASE_URL=f"http://127.0.0.1:{provider_port}/v1",
                        MODELGATE_PROVIDER_FIRST_BYTE_TIMEOUT="2", MODELGATE_SHUTDOWN_GRACE=str(grace),
                        MODELGATE_USER_RPM="off", MODELGATE_USER_MAX_STREAMS="off")
        self.process = None

    def start(self, wait=True):
        self.log = open(self.log_path, "a")
        self.process = subprocess.Popen([self.binary, "serve", "--port", str(self.port)], env=self.env, stdout=self.log, stderr=subprocess.STDOUT)
        if wait:
            self.wait_ready()

    def wait_ready(self, timeout=60):
        deadline = time.time() + timeout
        while time.time() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/readyz", timeout=1) as reply:
                    if reply.status == 200:
                        return time.time()
            except (urllib.error.URLError, ConnectionError, OSError):
                time.sleep(0.1)
        raise SystemExit(f"{self.name} did not become ready")

    def alive(self):
        return self.process is not None and self.process.poll() is None

    def kill(self):
        self.process.kill()
        self.process.wait()

    def terminate(self, timeout=60):
        """SIGTERM; the exit status and how long it took (None when it did not stop in time)."""
        started = time.time()
        self.process.send_signal(signal.SIGTERM)
        try:
            status = self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            return None, time.time() - started
        return status, time.time() - started


class Nginx:
    """nginx in front, with ops/nginx/modelgate.conf: only its ports are rewritten."""

    def __init__(self, folder, instances):
        self.folder = os.path.join(folder, "nginx")
        os.makedirs(self.folder)
        os.chmod(self.folder, 0o755)
        self.port = free_port()
        with open(os.path.join(ROOT, "ops/nginx/modelgate.conf")) as f:
            site = f.read()
        servers = "".join(f"    server 127.0.0.1:{i.port} max_fails=0;\n" for i in instances)
        site = re.sub(r"(    server 127\.0\.0\.1:\d+ [^\n]*\n)+", servers, site)
        site = site.replace("listen 8080;", f"listen 127.0.0.1:{self.port};")
        temp = "".join(f"    {kind}_temp_path {self.folder}/{kind};\n" for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
        conf = (f"daemon off;\nworker_processes 1;\npid {self.folder}/nginx.pid;\nerror_log {self.folder}/error.log warn;\n"
                f"events {{ worker_connections 4096; }}\nhttp {{\n    access_log {self.folder}/access.log;\n{temp}{site}\n}}\n")
        self.conf = os.path.join(self.folder, "nginx.conf")
        with open(self.conf, "w") as f:
            f.write(conf)
        binary = shutil.which("nginx") or "/usr/sbin/nginx"
        self.process = subprocess.Popen([binary, "-c", self.conf], stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        self.base = f"http://127.0.0.1:{self.port}"
        deadline = time.time() + 20
        while time.time() < deadline:
            try:
                with urllib.request.urlopen(self.base + "/healthz", timeout=1):
                    return
            except (urllib.error.URLError, ConnectionError, OSError):
                time.sleep(0.1)
        raise SystemExit("nginx did not start")

    def stop(self):
        self.process.terminate()
        self.process.wait()


class Cluster:
    def __init__(self, binary, folder, instances=3, grace=5):
        self.folder = folder
        self.fake = FakeOpenAI()
        self.postgres = Postgres(folder)
        self.instances = [Instance(binary, folder, f"instance-{n + 1}", self.postgres.url, self.fake.port, grace) for n in range(instances)]
        # The first one migrates and seeds; the others find the schema in place.
        self.instances[0].start()
        for instance in self.instances[1:]:
            instance.start()
        self.nginx = Nginx(folder, self.instances)
        self.base = self.nginx.base

    def stop(self):
        self.nginx.stop()
        for instance in self.instances:
            if instance.alive():
                instance.terminate(timeout=30)
        self.postgres.stop()
        self.fake.stop()
