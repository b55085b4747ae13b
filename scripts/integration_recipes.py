"""The recipes of docs/integration.md, walked with the official openai SDK against a running Modelgate.

    python integration_recipes.py recipes BASE SERVICE_KEY WEBUI_KEY USER_KEY
    python integration_recipes.py end-users BASE SERVICE_KEY    # alice's quota and trials are hers, bob's are his

BASE is Modelgate's origin (http://127.0.0.1:PORT). Exits non-zero on the first failed check.
"""
import sys
from concurrent.futures import ThreadPoolExecutor

from sdk_checks import check


def client(base, key):
    import openai
    return openai.OpenAI(base_url=f"{base}/v1", api_key=key, max_retries=0)


def recipes(base, service_key, webui_key, user_key):
    import httpx
    # 1. An app's backend: one service key, the end user in OpenAI's `user` field.
    reply = client(base, service_key).chat.completions.create(
        model="gpt-4o-mini", user="alice", messages=[{"role": "user", "content": "Hi coach"}])
    check("recipe 1: app backend with a service key and user", reply.choices[0].message.content == "Hello there", str(reply))
    # 2. Open WebUI: one connection; Open WebUI forwards who the user is in its headers.
    headers = {"Authorization": f"Bearer {webui_key}", "X-OpenWebUI-User-Id": "8f2c-webui-user", "X-OpenWebUI-User-Name": "Ada",
               "X-OpenWebUI-User-Email": "ada@example.com", "X-OpenWebUI-User-Role": "user"}
    answer = httpx.post(f"{base}/v1/chat/completions", headers=headers, timeout=30,
                        json={"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Hi"}]})
    check("recipe 2: Open WebUI's forwarded user headers", answer.status_code == 200, answer.text)
    models = httpx.get(f"{base}/v1/models", headers=headers, timeout=30).json()["data"]
    check("recipe 2: Open WebUI lists names", any(m.get("name") == "GPT-4o mini" for m in models), str(models))
    # 3. A script with a user key.
    mine = client(base, user_key).chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "Hi"}])
    check("recipe 3: a script with a user key", mine.choices[0].message.content == "Hello there", str(mine))


def end_users(base, service_key):
    import httpx
    import openai
    sdk = client(base, service_key)
    question = [{"role": "user", "content": "Hi"}]

    def send(user):
        try:
            sdk.chat.completions.create(model="gpt-4o", user=user, messages=question)
            return "ok"
        except openai.RateLimitError as error:
            return error.code
        except openai.PermissionDeniedError as error:
            return error.code

    with ThreadPoolExecutor(max_workers=60) as pool:
        outcomes = list(pool.map(send, ["alice"] * 120))
    check("alice (entitled) gets exactly her 50 of 120 concurrent gpt-4o messages",
          outcomes.count("ok") == 50 and outcomes.count("rate_limited") == 70, str({o: outcomes.count(o) for o in set(outcomes)}))
    bob = [send("bob") for _ in range(3)]
    check("bob has his own two trial messages", bob == ["ok", "ok", "trial_exhausted"], str(bob))
    # History: each end user sees only their own conversations.
    for user in ("alice", "bob"):
        reply = httpx.post(f"{base}/api/chat", timeout=30, headers={"Authorization": f"Bearer {service_key}", "X-Modelgate-User": user},
                           json={"message": f"I am {user}", "personaId": "career", "modelId": "gpt-4o-mini"})
        check(f"{user} chats", reply.status_code == 200, reply.text)
    for user in ("alice", "bob"):
        listed = httpx.get(f"{base}/api/conversations", timeout=30,
                           headers={"Authorization": f"Bearer {service_key}", "X-Modelgate-User": user}).json()["data"]
        check(f"{user} sees only their own history", [c["title"] for c in listed] == [f"I am {user}"], str(listed))


if __name__ == "__main__":
    mode = sys.argv[1]
    if mode == "recipes":
        recipes(*sys.argv[2:6])
    elif mode == "end-users":
        end_users(*sys.argv[2:4])
    else:
        print(f"unknown mode {mode}")
        sys.exit(2)
