"""Checks that real OpenAI clients work against Modelgate unchanged: langchain-openai and the `llm` CLI.

    python client_checks.py langchain BASE TOKEN MODEL   # bind_tools, with_structured_output, stream
    python client_checks.py llm BASE TOKEN MODEL         # an extra OpenAI-compatible model: a prompt, --schema

BASE is Modelgate's /v1 and TOKEN a user's bearer token; the provider behind MODEL is a fake that
calls offered tools and answers structured-output requests with JSON that fits. Exits non-zero on
the first failed check; prints one line per check that passed.
"""
import json
import os
import subprocess
import sys
import tempfile

from sdk_checks import check


def check_langchain(base, token, model):
    from langchain_core.messages import ToolMessage
    from langchain_core.tools import tool
    from langchain_openai import ChatOpenAI
    from pydantic import BaseModel

    @tool
    def get_weather(city: str) -> str:
        """Weather in a city."""
        return "18C"

    class Weather(BaseModel):
        city: str
        celsius: int

    chat = ChatOpenAI(base_url=base, api_key=token, model=model, max_retries=0)
    question = "Weather in Paris?"
    called = chat.bind_tools([get_weather]).invoke(question)
    check(f"langchain {model} bind_tools", called.tool_calls and called.tool_calls[0]["name"] == "get_weather"
          and called.tool_calls[0]["args"] == {"city": "Paris"}, str(called))
    result = ToolMessage(content=get_weather.invoke(called.tool_calls[0]["args"]), tool_call_id=called.tool_calls[0]["id"])
    answer = chat.bind_tools([get_weather]).invoke([("user", question), called, result])
    check(f"langchain {model} tool result", answer.content == "The tool said: 18C", str(answer))
    structured = chat.with_structured_output(Weather).invoke(question)
    check(f"langchain {model} with_structured_output", structured == Weather(city="Paris", celsius=1), str(structured))
    text = "".join(chunk.content for chunk in chat.stream("Hi"))
    check(f"langchain {model} stream", text == "Hello there", text)


def check_llm(base, token, model):
    folder = tempfile.mkdtemp(prefix="llm-")
    with open(os.path.join(folder, "extra-openai-models.yaml"), "w") as f:
        f.write(f"- model_id: modelgate-{model}\n  model_name: {model}\n  api_base: {base}\n"
                "  api_key_name: modelgate\n  supports_schema: true\n  supports_tools: true\n")
    with open(os.path.join(folder, "keys.json"), "w") as f:
        json.dump({"modelgate": token}, f)
    env = dict(os.environ, LLM_USER_PATH=folder)
    binary = os.path.join(os.path.dirname(sys.executable), "llm")

    def run(*arguments):
        done = subprocess.run([binary, "-m", f"modelgate-{model}", *arguments], env=env, capture_output=True, text=True, timeout=60)
        check(f"llm {model} {' '.join(arguments[:-1]) or 'prompt'} exits 0", done.returncode == 0, done.stderr)
        return done.stdout.strip()

    check(f"llm {model} prompt", run("Hi") == "Hello there")
    answer = json.loads(run("--schema", "city str, celsius int", "Weather in Paris?"))
    check(f"llm {model} --schema", answer == {"city": "Paris", "celsius": 1}, str(answer))


if __name__ == "__main__":
    mode = sys.argv[1]
    if mode == "langchain":
        check_langchain(*sys.argv[2:5])
    elif mode == "llm":
        check_llm(*sys.argv[2:5])
    else:
        print(f"unknown mode {mode}")
        sys.exit(2)
