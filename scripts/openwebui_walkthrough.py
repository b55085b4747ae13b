"""Open WebUI in front of Modelgate, as a new operator sets it up (integration guide, recipe 2).

    python scripts/openwebui_walkthrough.py MODELGATE_BINARY OPEN_WEBUI_EXECUTABLE

Run by hand: Open WebUI with its dependencies is several gigabytes (`pip install open-webui==0.12.4`
into a venv of its own). It starts Modelgate on SQLite with a fake OpenAI, creates the service key
of the recipe, then Open WebUI twice on a fresh data folder: first without
BYPASS_MODEL_ACCESS_CONTROL (an account that is not Open WebUI's admin is refused the models), then
with the recipe's settings and connection header. Two accounts each spend their own two trial
messages of a premium model, and a title generated for a chat goes to the key's task budget, not to
the user. Prints one line per check; exits non-zero on the first failure.
"""
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from clusterlib import FakeOpenAI, Instance, free_port, stop_process, token  # noqa: E402
from sdk_checks import check  # noqa: E402


def call(method, url, bearer, body=None, headers=None):
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method, headers={
        "Authorization": f"Bearer {bearer}", "Content-Type": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=120) as reply:
            return reply.status, json.loads(reply.read() or b"null")
    except urllib.error.HTTPError as error:
        text = error.read()
        try:
            return error.code, json.loads(text)
        except ValueError:
            return error.code, text.decode(errors="replace")


class OpenWebUI:
    def __init__(self, executable, folder, modelgate, key, bypass):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        env = dict(os.environ, DATA_DIR=folder, WEBUI_SECRET_KEY="walkthrough-secret", OFFLINE_MODE="true",
                   ENABLE_OLLAMA_API="false", OPENAI_API_BASE_URL=f"{modelgate}/v1", OPENAI_API_KEY=key,
                   ENABLE_FORWARD_USER_INFO_HEADERS="true", DEFAULT_USER_ROLE="user", ENABLE_SIGNUP="true",
                   RAG_EMBEDDING_MODEL_AUTO_UPDATE="false", ENABLE_VERSION_UPDATE_CHECK="false")
        if bypass:
            env["BYPASS_MODEL_ACCESS_CONTROL"] = "true"
        os.makedirs(folder, exist_ok=True)
        self.log = open(os.path.join(folder, "open-webui.log"), "a")
        self.process = subprocess.Popen([executable, "serve", "--host", "127.0.0.1", "--port", str(self.port)],
                                        env=env, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.time() + 300
        while time.time() < deadline:
            try:
                with urllib.request.urlopen(f"{self.base}/health", timeout=2) as reply:
                    if reply.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, OSError):
                time.sleep(1)
        raise SystemExit(f"Open WebUI did not start: see {folder}/open-webui.log")

    def sign_up(self, name, admin=None):
        """The first account signs up (Open WebUI's admin); the admin adds the others as users."""
        form = {"name": name, "email": f"{name.lower()}@example.com", "password": "walkthrough-Pass-1"}
        if admin:
            status, body = call("POST", f"{self.base}/api/v1/auths/add", admin, dict(form, role="user"))
            check(f"Open WebUI's admin adds {name}", status == 200, str(body))
            status, body = call("POST", f"{self.base}/api/v1/auths/signin", "", {"email": form["email"], "password": form["password"]})
        else:
            status, body = call("POST", f"{self.base}/api/v1/auths/signup", "", form)
        check(f"Open WebUI account {name}", status == 200, str(body))
        return body["token"]

    def chat(self, account, model):
        return call("POST", f"{self.base}/api/chat/completions", account,
                    {"model": model, "stream": False, "messages": [{"role": "user", "content": "Plan my week"}]})

    def stop(self):
        stop_process(self.process)
        self.log.close()


def main(binary, executable):
    folder = tempfile.mkdtemp(prefix="openwebui-walkthrough-")
    provider = FakeOpenAI()
    modelgate = Instance(binary, folder, "modelgate", f"sqlite:{folder}/modelgate.sqlite", provider.port)
    modelgate.start()
    base = f"http://127.0.0.1:{modelgate.port}"
    admin = token("admin@example.com", admin=True)
    status, created = call("POST", f"{base}/api/admin/keys", admin, {
        "name": "open-webui", "kind": "service", "app": "webui", "forwardedUserHeaders": True,
        "limits": {"taskModel": "gpt-4o-mini", "taskDailyBudget": 50}})
    check("the recipe's service key", status == 201, str(created))
    key = created["key"]
    try:
        webui = OpenWebUI(executable, os.path.join(folder, "without-bypass"), base, key, bypass=False)
        try:
            ada = webui.sign_up("Ada", admin=webui.sign_up("Admin"))
            status, body = webui.chat(ada, "gpt-4o-mini")
            check("without BYPASS_MODEL_ACCESS_CONTROL an account that is not the admin gets 'Model not found'",
                  status in (400, 404) and "model not found" in json.dumps(body).lower(), f"{status} {body}")
        finally:
            webui.stop()
        webui = OpenWebUI(executable, os.path.join(folder, "with-recipe"), base, key, bypass=True)
        try:
            admin_account = webui.sign_up("Admin")
            accounts = {name: webui.sign_up(name, admin=admin_account) for name in ("Ada", "Grace")}
            status, models = call("GET", f"{webui.base}/api/models", accounts["Ada"])
            names = {m["id"]: m.get("name") for m in models.get("data", [])} if status == 200 else {}
            check("Open WebUI lists Modelgate's models with their names", names.get("gpt-4o") == "GPT-4o", str(names))

            def spend_trials(name):
                answers = [webui.chat(accounts[name], "gpt-4o")[0] for _ in range(3)]
                check(f"{name} has their own two trial messages of GPT-4o, then is refused", answers[:2] == [200, 200]
                      and answers[2] != 200, str(answers))

            def title():
                return call("POST", f"{webui.base}/api/v1/tasks/title/completions", accounts["Ada"],
                            {"model": "gpt-4o", "messages": [{"role": "user", "content": "Plan my week"}]})

            spend_trials("Ada")
            status, body = title()
            check("without the connection header a title is one of Ada's GPT-4o messages, refused once her trials are spent",
                  status != 200, f"{status} {body}")
            status, saved = call("POST", f"{webui.base}/openai/config/update", admin_account, {
                "ENABLE_OPENAI_API": True, "OPENAI_API_BASE_URLS": [f"{base}/v1"], "OPENAI_API_KEYS": [key],
                "OPENAI_API_CONFIGS": {"0": {"enable": True, "headers": {"X-Modelgate-Purpose": "{{TASK}}"}}}})
            check("the connection header X-Modelgate-Purpose: {{TASK}}", status == 200, str(saved))
            spend_trials("Grace")
            task_before = provider.requests
            status, body = title()
            check("with it the title is a task call the key's task model answers", status == 200 and provider.requests == task_before + 1,
                  f"{status} {body}")
            with sqlite3.connect(f"{folder}/modelgate.sqlite") as db:
                used = db.execute("SELECT COALESCE(SUM(used), 0) FROM key_task_usage").fetchone()[0]
                trials = dict(db.execute("SELECT e.external_id, SUM(t.trial_messages_used) FROM model_trials t JOIN end_users e ON e.user_id = t.user_id "
                                         "GROUP BY e.external_id").fetchall())
            check("the title was a task call on the key's budget", used >= 1, str(used))
            check("each account's trial messages are its own", sorted(trials.values()) == [2, 2], str(trials))
        finally:
            webui.stop()
    finally:
        modelgate.terminate()
        provider.stop()
    print(f"ok walkthrough (logs in {folder})")


if __name__ == "__main__":
    main(*sys.argv[1:3])
