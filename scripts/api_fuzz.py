"""Schemathesis over openapi.yaml against a real Modelgate, as a user, as an admin and as a
signed-in browser session (cookie + CSRF token, so page forms are reached).

    python api_fuzz.py MODELGATE_BINARY [--examples N] [--seed S]

Each identity gets a fresh Modelgate (SQLite in a temp folder, demo responder for chat, payments
off) so one run's admin changes never leak into the next. Checks: no server error (a 503 only where
openapi.yaml documents a configured-off feature, listed in schemathesis.toml), status codes, content
types and response schemas as documented. Prints the operations each run reached; exits non-zero on
any failure or when an operation of the spec was never called.
"""
import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

import yaml

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from clusterlib import free_port, stop_process  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SECRET = "api-fuzz-secret-api-fuzz-secret-0123456789"


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


class Modelgate:
    """One `modelgate serve --demo` on a free loopback port with its own SQLite file."""

    def __init__(self, binary, folder):
        self.binary, self.folder = binary, folder
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.env = dict(os.environ, MODELGATE_JWT_SECRET=SECRET, MODELGATE_LOG_LEVEL="error",
                        MODELGATE_STRIPE_WEBHOOK_SECRET="whsec_api_fuzz",
                        MODELGATE_DATABASE_URL=f"sqlite:{folder}/modelgate.sqlite")
        self.log = open(f"{folder}/server.log", "w")
        self.process = subprocess.Popen([binary, "serve", "--demo", "--port", str(self.port)], env=self.env,
                                        stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                with urllib.request.urlopen(self.base + "/readyz", timeout=1) as reply:
                    if reply.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, OSError):
                time.sleep(0.2)
        raise SystemExit(f"Modelgate did not become ready on {self.base}")

    def token(self, email, admin=False):
        command = [self.binary, "token", "--email", email] + (["--admin"] if admin else [])
        return subprocess.check_output(command, env=self.env, text=True).strip()

    def session(self, token):
        """Signs in like a browser: the token is posted, the page that asks gives a one-time code and
        its double-submit cookie, the code is posted back; then the CSRF token of /settings."""
        opener = urllib.request.build_opener(NoRedirect)

        def redirect(request):
            try:
                opener.open(request)
            except urllib.error.HTTPError as answer:
                if answer.code == 303:
                    return answer.headers
            raise SystemExit(f"{request.full_url} did not redirect")

        form = {"Content-Type": "application/x-www-form-urlencoded"}
        asked = redirect(urllib.request.Request(self.base + "/login", data=f"token={token}".encode(), headers=form))
        page = opener.open(self.base + asked["Location"])
        html = page.read().decode()
        sign_in = page.headers["Set-Cookie"].split(";")[0]
        code = re.search(r'name="code" value="([^"]+)"', html).group(1)
        csrf = re.search(r'name="signInCSRF" value="([^"]+)"', html).group(1)
        signed_in = redirect(urllib.request.Request(self.base + "/login", data=f"signInCSRF={csrf}&code={code}".encode(),
                                                    headers={**form, "Cookie": sign_in}))
        cookie = next(c for c in signed_in.get_all("Set-Cookie") if c.startswith("modelgate_session=")).split(";")[0]
        page = urllib.request.Request(self.base + "/settings", headers={"Cookie": cookie})
        html = urllib.request.urlopen(page).read().decode()
        csrf = re.search(r'name="csrf-token" content="([^"]+)"', html).group(1)
        return cookie, csrf

    def alive(self):
        return self.process.poll() is None

    def stop(self):
        stop_process(self.process)
        self.log.close()


def spec_with_csrf(folder, csrf):
    """The spec as a browser session sees it: every authenticated operation uses the session
    cookie (no bearer header is generated), and the page forms' `_csrf` is the session's token."""
    with open(os.path.join(ROOT, "openapi.yaml")) as f:
        spec = yaml.safe_load(f)
    spec["security"] = [{"session": []}]
    for item in spec["paths"].values():
        for operation in item.values():
            if isinstance(operation, dict) and operation.get("security"):
                operation["security"] = [{"session": []}]
    form = spec["components"]["requestBodies"]["PageForm"]["content"]["application/x-www-form-urlencoded"]["schema"]
    form["properties"]["_csrf"] = {"type": "string", "enum": [csrf]}
    # Signing out would end the session the rest of this run fuzzes with; the bearer runs reach them.
    for signs_out in ("/logout", "/logout/everywhere"):
        del spec["paths"][signs_out]
    path = os.path.join(folder, "openapi-session.yaml")
    with open(path, "w") as f:
        yaml.safe_dump(spec, f, sort_keys=False)
    return path


def run_schemathesis(name, spec, base, headers, args, folder):
    report = os.path.join(folder, f"{name}.ndjson")
    command = [os.path.join(os.path.dirname(sys.executable), "schemathesis"), "run", spec, "--url", base,
               "--checks", "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance",
               "--max-examples", str(args.examples), "--seed", str(args.seed), "--workers", "1",
               "--phases", "examples,coverage,fuzzing", "--suppress-health-check", "all", "--max-redirects", "0",
               "--request-timeout", "20", "--generation-database", "none", "--report", "ndjson", "--report-ndjson-path", report, "--continue-on-failure"]
    for header in headers:
        command += ["--header", header]
    print(f"\n== schemathesis as {name}", flush=True)
    status = subprocess.call(command, cwd=ROOT)
    return status, reached(report)


def reached(report):
    """The operations schemathesis sent at least one request to, from its ndjson events."""
    labels = set()
    with open(report) as events:
        for line in events:
            for match in re.finditer(r'"label": ?"((?:GET|POST|PUT|PATCH|DELETE) [^"]+)"', line):
                labels.add(match.group(1))
    return labels


def spec_operations():
    with open(os.path.join(ROOT, "openapi.yaml")) as f:
        spec = yaml.safe_load(f)
    return {f"{method.upper()} {path}" for path, item in spec["paths"].items()
            for method in item if method in ("get", "post", "put", "patch", "delete")}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("binary")
    parser.add_argument("--examples", type=int, default=30)
    parser.add_argument("--seed", type=int, default=20261128)
    args = parser.parse_args()
    failed = []
    covered = set()
    identities = [
        ("user", lambda mg, folder: (os.path.join(ROOT, "openapi.yaml"), [f"Authorization: Bearer {mg.token('fuzz-user@example.com')}"])),
        ("admin", lambda mg, folder: (os.path.join(ROOT, "openapi.yaml"), [f"Authorization: Bearer {mg.token('fuzz-admin@example.com', admin=True)}"])),
        ("session", lambda mg, folder: session_identity(mg, folder)),
    ]
    for name, identity in identities:
        folder = tempfile.mkdtemp(prefix=f"modelgate-fuzz-{name}-")
        modelgate = Modelgate(args.binary, folder)
        try:
            spec, headers = identity(modelgate, folder)
            status, operations = run_schemathesis(name, spec, modelgate.base, headers, args, folder)
            covered |= operations
            print(f"{name}: reached {len(operations)} operations: {', '.join(sorted(operations))}")
            if status != 0:
                failed.append(f"{name}: schemathesis exited {status}")
            if not modelgate.alive():
                failed.append(f"{name}: the server died")
        finally:
            modelgate.stop()
            if not failed:
                shutil.rmtree(folder, ignore_errors=True)
            else:
                print(f"server log kept in {folder}/server.log")
    missing = spec_operations() - covered
    if missing:
        failed.append(f"operations never reached: {', '.join(sorted(missing))}")
    print(f"\nreached {len(covered)} of {len(spec_operations())} operations of openapi.yaml")
    if failed:
        print("API FUZZ FAILED:\n  " + "\n  ".join(failed))
        sys.exit(1)
    print("api fuzz: 0 server errors, 0 undocumented statuses, content types and schemas as documented")


def session_identity(modelgate, folder):
    cookie, csrf = modelgate.session(modelgate.token("fuzz-admin@example.com", admin=True))
    return spec_with_csrf(folder, csrf), [f"Cookie: {cookie}", f"X-CSRF-Token: {csrf}"]


if __name__ == "__main__":
    main()
