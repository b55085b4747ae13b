"""Checks Modelgate's other front doors with the official SDKs, as their users call them.

    python front_door_checks.py anthropic BASE TOKEN MODEL          # BASE = Modelgate's root, TOKEN = a user's bearer token
    python front_door_checks.py anthropic-limited BASE TOKEN MODEL  # MODEL's daily limit is used up: the SDK gets a 429, no retry
    python front_door_checks.py responses BASE TOKEN MODEL          # the openai SDK's Responses API; BASE = Modelgate's /v1

Exits non-zero on the first failed check; prints one line per check that passed.
"""
import sys

import anthropic
import openai

from sdk_checks import PNG, check, raises

TOOL = {"name": "get_weather", "description": "Weather of a city",
        "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}


def check_anthropic(base, token, model):
    # Claude Code's way (x-api-key) and the SDK's auth_token (Authorization: Bearer) both sign in.
    for client in (anthropic.Anthropic(base_url=base, api_key=token, max_retries=0),
                   anthropic.Anthropic(base_url=base, auth_token=token, max_retries=0)):
        message = client.messages.create(model=model, max_tokens=64, system=[{"type": "text", "text": "Be brief.",
                                         "cache_control": {"type": "ephemeral"}}], messages=[{"role": "user", "content": "Hello"}])
        check("anthropic message", message.type == "message" and message.role == "assistant" and message.content[0].type == "text"
              and message.content[0].text != "" and message.model == model, repr(message))
        check("anthropic stop reason and usage", message.stop_reason == "end_turn" and message.usage.output_tokens > 0
              and message.usage.input_tokens > 0, repr(message.usage))
    client = anthropic.Anthropic(base_url=base, api_key=token, max_retries=0)

    with client.messages.stream(model=model, max_tokens=64, messages=[{"role": "user", "content": "Hello"}]) as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_message()
    check("anthropic stream text", text != "" and final.content[0].text == text, repr(final))
    check("anthropic stream end", final.stop_reason == "end_turn" and final.usage.output_tokens > 0, repr(final))

    called = client.messages.create(model=model, max_tokens=64, tools=[TOOL], tool_choice={"type": "tool", "name": "get_weather"},
                                    messages=[{"role": "user", "content": "Weather in Paris?"}])
    use = next((block for block in called.content if block.type == "tool_use"), None)
    check("anthropic tool_use", called.stop_reason == "tool_use" and use is not None and use.name == "get_weather"
          and isinstance(use.input, dict) and "city" in use.input, repr(called))
    with client.messages.stream(model=model, max_tokens=64, tools=[TOOL], tool_choice={"type": "any"},
                                messages=[{"role": "user", "content": "Weather in Paris?"}]) as stream:
        streamed = stream.get_final_message()
    streamed_use = next((block for block in streamed.content if block.type == "tool_use"), None)
    check("anthropic streamed tool_use (input_json_delta)", streamed_use is not None and "city" in streamed_use.input, repr(streamed))
    answered = client.messages.create(model=model, max_tokens=64, tools=[TOOL], messages=[
        {"role": "user", "content": "Weather in Paris?"},
        {"role": "assistant", "content": [{"type": "tool_use", "id": use.id, "name": "get_weather", "input": use.input}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": use.id, "content": "Sunny, 21 C"}]},
    ])
    check("anthropic tool_result answered", answered.content[0].type == "text" and "Sunny" in answered.content[0].text, repr(answered))
    seen = client.messages.create(model=model, max_tokens=64, messages=[{"role": "user", "content": [
        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PNG}}, {"type": "text", "text": "What is this?"}]}])
    check("anthropic image", seen.content[0].type == "text" and seen.stop_reason == "end_turn", repr(seen))

    listed = client.models.list()
    check("anthropic models list", any(item.id == model for item in listed.data) and all(item.type == "model" for item in listed.data),
          repr(listed))

    counted = client.messages.count_tokens(model=model, messages=[{"role": "user", "content": "Hello there, coach"}])
    check("anthropic count_tokens", counted.input_tokens > 0, repr(counted))

    missing = raises(lambda: client.messages.create(model="no-such-model", max_tokens=8, messages=[{"role": "user", "content": "Hi"}]),
                     anthropic.NotFoundError)
    check("anthropic unknown model → NotFoundError", missing is not None and missing.body["error"]["code"] == "model_not_found",
          repr(missing and missing.body))
    refused = raises(lambda: client.messages.create(model=model, max_tokens=8, extra_body={"top_k": 5}, messages=[{"role": "user", "content": "Hi"}]),
                     anthropic.BadRequestError)
    check("anthropic top_k refused by name", refused is not None and "top_k" in refused.message, repr(refused and refused.body))
    denied = raises(lambda: anthropic.Anthropic(base_url=base, api_key="mg_live_nope", max_retries=0).messages.create(
        model=model, max_tokens=8, messages=[{"role": "user", "content": "Hi"}]), anthropic.AuthenticationError)
    check("anthropic bad key → AuthenticationError", denied is not None and denied.request_id is not None, repr(denied))


def check_anthropic_limited(base, token, model):
    client = anthropic.Anthropic(base_url=base, api_key=token)  # the SDK's default retries: x-should-retry must stop them
    limited = raises(lambda: client.messages.create(model=model, max_tokens=8, messages=[{"role": "user", "content": "Hi"}]),
                     anthropic.RateLimitError)
    check("anthropic 429 → RateLimitError", limited is not None and limited.body["error"]["type"] == "rate_limit_error"
          and limited.response.headers.get("x-should-retry") == "false", repr(limited and limited.body))


FUNCTION = {"type": "function", "name": "get_weather", "description": "Weather of a city", "strict": False,
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}


def check_responses(base, token, model):
    client = openai.OpenAI(base_url=base, api_key=token, max_retries=0)
    response = client.responses.create(model=model, instructions="Be brief.", input="Hello", max_output_tokens=64)
    check("responses create", response.object == "response" and response.status == "completed" and response.output_text != ""
          and response.model == model and response.usage.output_tokens > 0 and response.usage.total_tokens > 0, repr(response))

    with client.responses.stream(model=model, input=[{"role": "user", "content": [{"type": "input_text", "text": "Hello"}]}]) as stream:
        deltas = [event.delta for event in stream if event.type == "response.output_text.delta"]
        final = stream.get_final_response()
    check("responses stream", "".join(deltas) == final.output_text and final.output_text != "" and final.status == "completed", repr(final))

    called = client.responses.create(model=model, input="Weather in Paris?", tools=[FUNCTION], tool_choice={"type": "function", "name": "get_weather"})
    call = next((item for item in called.output if item.type == "function_call"), None)
    check("responses function_call", call is not None and call.name == "get_weather" and "city" in call.arguments, repr(called))
    with client.responses.stream(model=model, input="Weather in Paris?", tools=[FUNCTION], tool_choice="required") as stream:
        streamed = stream.get_final_response()
    streamed_call = next((item for item in streamed.output if item.type == "function_call"), None)
    check("responses streamed function_call", streamed_call is not None and "city" in streamed_call.arguments, repr(streamed))
    answered = client.responses.create(model=model, tools=[FUNCTION], input=[
        {"role": "user", "content": "Weather in Paris?"},
        {"type": "function_call", "call_id": call.call_id, "name": "get_weather", "arguments": call.arguments},
        {"type": "function_call_output", "call_id": call.call_id, "output": "Sunny, 21 C"},
    ])
    check("responses function_call_output answered", "Sunny" in answered.output_text, repr(answered))

    missing = raises(lambda: client.responses.create(model="no-such-model", input="Hi"), openai.NotFoundError)
    check("responses unknown model → NotFoundError", missing is not None and missing.code == "model_not_found", repr(missing))
    hosted = raises(lambda: client.responses.create(model=model, input="Hi", tools=[{"type": "web_search"}]), openai.BadRequestError)
    check("responses built-in tool refused by name", hosted is not None and hosted.param == "tools.0.type", repr(hosted and hosted.body))
    chained = raises(lambda: client.responses.create(model=model, input="Hi", previous_response_id="resp_x"), openai.BadRequestError)
    check("responses previous_response_id refused by name", chained is not None and chained.param == "previous_response_id", repr(chained))


if __name__ == "__main__":
    mode = sys.argv[1]
    if mode == "anthropic":
        check_anthropic(*sys.argv[2:5])
    elif mode == "anthropic-limited":
        check_anthropic_limited(*sys.argv[2:5])
    elif mode == "responses":
        check_responses(*sys.argv[2:5])
    else:
        sys.exit(f"unknown mode {mode}")
