"""Checks the Messages API's extras (extended thinking, cache_control, count_tokens) with the official anthropic SDK.

    python messages_extras_checks.py fake BASE                  # BASE = the fake provider server: its Anthropic answers as Anthropic's do
    python messages_extras_checks.py anthropic BASE TOKEN MODEL  # BASE = Modelgate's root, MODEL an Anthropic model
    python messages_extras_checks.py other BASE TOKEN MODEL      # MODEL of another provider (OpenAI, Gemini)

Exits non-zero on the first failed check; prints one line per check that passed.
"""
import sys

import anthropic

from sdk_checks import check, raises

THINKING = {"type": "enabled", "budget_tokens": 1024}
TOOL = {"name": "get_weather", "description": "Weather of a city",
        "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}
# Anthropic's documented test string: the model answers a redacted thinking block.
REDACTING = "ANTHROPIC_MAGIC_STRING_TRIGGER_REDACTED_THINKING_46C9A13E193C177646C7398A98432ECCCE4C1253D5E2D82641AC0E52CC2876CB"
MARKED = [{"type": "text", "text": "You are a patient coach. " * 40, "cache_control": {"type": "ephemeral"}}]


def check_thinking(client, model, name):
    message = client.messages.create(model=model, max_tokens=2048, thinking=THINKING, messages=[{"role": "user", "content": "Hello"}])
    kinds = [block.type for block in message.content]
    check(f"{name} thinking create", kinds == ["thinking", "text"] and message.content[0].signature != ""
          and message.content[0].thinking != "" and message.content[1].text != "", repr(message))
    check(f"{name} thinking counted as output", message.usage.output_tokens >= 30, repr(message.usage))
    with client.messages.stream(model=model, max_tokens=2048, thinking=THINKING, messages=[{"role": "user", "content": "Hello"}]) as stream:
        events = [event.type for event in stream]
        final = stream.get_final_message()
    check(f"{name} thinking stream", [block.type for block in final.content] == ["thinking", "text"]
          and final.content[0].signature == message.content[0].signature and final.content[0].thinking == message.content[0].thinking
          and "thinking" in events and "signature" in events and "text" in events, repr(final))
    return message


def check_thinking_with_tools(client, model, name):
    with client.messages.stream(model=model, max_tokens=2048, thinking=THINKING, tools=[TOOL],
                                messages=[{"role": "user", "content": "Weather in Paris?"}]) as stream:
        called = stream.get_final_message()
    check(f"{name} thinking then tool_use", [block.type for block in called.content] == ["thinking", "tool_use"], repr(called))
    use = called.content[1]
    history = [{"role": "user", "content": "Weather in Paris?"}, {"role": "assistant", "content": [block.model_dump() for block in called.content]},
               {"role": "user", "content": [{"type": "tool_result", "tool_use_id": use.id, "content": "Sunny, 21 C"}]}]
    answered = client.messages.create(model=model, max_tokens=2048, thinking=THINKING, tools=[TOOL], messages=history)
    check(f"{name} thinking block passed back with its signature", answered.content[-1].type == "text" and "Sunny" in answered.content[-1].text,
          repr(answered))
    altered = [dict(block) for block in history[1]["content"]]
    altered[0]["signature"] = "forged"
    refused = raises(lambda: client.messages.create(model=model, max_tokens=2048, thinking=THINKING, tools=[TOOL],
                                                    messages=[history[0], {"role": "assistant", "content": altered}, history[2]]),
                     anthropic.APIStatusError)
    check(f"{name} an altered signature is refused", refused.status_code >= 400, repr(refused))


def check_redacted(client, model, name):
    redacted = client.messages.create(model=model, max_tokens=2048, thinking=THINKING, messages=[{"role": "user", "content": REDACTING}])
    check(f"{name} redacted_thinking", [block.type for block in redacted.content] == ["redacted_thinking", "text"]
          and redacted.content[0].data != "", repr(redacted))
    with client.messages.stream(model=model, max_tokens=2048, thinking=THINKING, messages=[{"role": "user", "content": REDACTING}]) as stream:
        final = stream.get_final_message()
    check(f"{name} redacted_thinking stream", final.content[0].type == "redacted_thinking" and final.content[0].data == redacted.content[0].data,
          repr(final))
    again = client.messages.create(model=model, max_tokens=2048, thinking=THINKING, messages=[
        {"role": "user", "content": REDACTING}, {"role": "assistant", "content": [block.model_dump() for block in redacted.content]},
        {"role": "user", "content": "Thanks"}])
    check(f"{name} redacted_thinking passed back", again.content[-1].type == "text", repr(again))


def check_cache(client, model, name):
    message = client.messages.create(model=model, max_tokens=64, system=MARKED, messages=[{"role": "user", "content": "Hello"}])
    usage = message.usage
    check(f"{name} cache_control usage", usage.cache_creation_input_tokens == 1024 and usage.cache_read_input_tokens == 4
          and usage.input_tokens == 12, repr(usage))
    with client.messages.stream(model=model, max_tokens=64, system=MARKED, messages=[{"role": "user", "content": "Hello"}]) as stream:
        streamed = stream.get_final_message().usage
    check(f"{name} cache_control usage streamed", streamed.cache_creation_input_tokens == 1024 and streamed.cache_read_input_tokens == 4, repr(streamed))


def check_fake(base):
    client = anthropic.Anthropic(base_url=f"{base}/anthropic", api_key="sk-ant-test", max_retries=0)
    check_thinking(client, "claude-sonnet-4-5", "fake")
    check_thinking_with_tools(client, "claude-sonnet-4-5", "fake")
    check_redacted(client, "claude-sonnet-4-5", "fake")
    check_cache(client, "claude-sonnet-4-5", "fake")
    counted = client.messages.count_tokens(model="claude-sonnet-4-5", system="Be brief.", tools=[TOOL],
                                           messages=[{"role": "user", "content": "Hello"}])
    check("fake count_tokens", counted.input_tokens == 1 + 10 + 3 + 7, repr(counted))


def check_anthropic_model(base, token, model):
    client = anthropic.Anthropic(base_url=base, api_key=token, max_retries=0)
    check_thinking(client, model, "modelgate")
    check_thinking_with_tools(client, model, "modelgate")
    check_redacted(client, model, "modelgate")
    check_cache(client, model, "modelgate")
    raw = client.messages.with_raw_response.count_tokens(model=model, system="Be brief.", messages=[
        {"role": "user", "content": "Hello there, coach"}, {"role": "assistant", "content": "Hi"}, {"role": "user", "content": "How are you?"}])
    counted = raw.parse()
    check("modelgate count_tokens is Anthropic's count", counted.input_tokens == 1 + 30 + 7
          and raw.headers.get("x-modelgate-estimated") == "false", repr(counted))
    one_hour = raises(lambda: client.messages.create(model=model, max_tokens=64, messages=[{"role": "user", "content": [
        {"type": "text", "text": "Hello", "cache_control": {"type": "ephemeral", "ttl": "1h"}}]}]), anthropic.BadRequestError)
    check("modelgate one-hour cache refused by name", one_hour.body["error"]["message"].startswith("messages.0.content.0.cache_control.ttl:"),
          repr(one_hour.body))


def check_other_model(base, token, model):
    client = anthropic.Anthropic(base_url=base, api_key=token, max_retries=0)
    refused = raises(lambda: client.messages.create(model=model, max_tokens=2048, thinking=THINKING, messages=[{"role": "user", "content": "Hi"}]),
                     anthropic.BadRequestError)
    provider = "google" if model.startswith("gemini") else "openai"
    check(f"{model} thinking refused by name", refused.body["error"]["code"] == "unsupported_parameter"
          and refused.body["error"]["message"].startswith("thinking:") and f"({provider})" in refused.body["error"]["message"], repr(refused.body))
    plain = client.messages.create(model=model, max_tokens=64, thinking={"type": "disabled"}, system=MARKED,
                                   messages=[{"role": "user", "content": [{"type": "text", "text": "Hello", "cache_control": {"type": "ephemeral"}}]}])
    check(f"{model} cache_control taken as a hint", plain.content[0].type == "text" and plain.usage.cache_creation_input_tokens == 0, repr(plain))
    raw = client.messages.with_raw_response.count_tokens(model=model, messages=[{"role": "user", "content": "Hello there, coach"}])
    counted = raw.parse()
    check(f"{model} count_tokens is an estimate, said so", counted.input_tokens == (len("Hello there, coach") + 3) // 4
          and raw.headers.get("x-modelgate-estimated") == "true", repr(counted))


if __name__ == "__main__":
    mode = sys.argv[1]
    if mode == "fake":
        check_fake(sys.argv[2])
    elif mode == "anthropic":
        check_anthropic_model(*sys.argv[2:5])
    elif mode == "other":
        check_other_model(*sys.argv[2:5])
    else:
        sys.exit(f"unknown mode {mode}")
