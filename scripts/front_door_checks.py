"""Checks Modelgate's other front doors with the official SDKs, as their users call them.

    python front_door_checks.py anthropic BASE TOKEN MODEL          # BASE = Modelgate's root, TOKEN = a user's bearer token
    python front_door_checks.py anthropic-limited BASE TOKEN MODEL  # MODEL's daily limit is used up: the SDK gets a 429, no retry
    python front_door_checks.py responses BASE TOKEN MODEL          # the openai SDK's Responses API; BASE = Modelgate's /v1
    python front_door_checks.py responses-stored BASE TOKEN MODEL [END_USER]  # chained, retrieved, deleted; prints "ids FIRST SECOND THIRD"
    python front_door_checks.py responses-foreign BASE TOKEN MODEL ID [END_USER]  # another caller's stored response is a NotFoundError
    python front_door_checks.py responses-parse BASE TOKEN MODEL    # responses.parse with pydantic models, a tool result after previous_response_id
    python front_door_checks.py responses-agents BASE TOKEN MODEL   # the OpenAI Agents SDK: a tool-using agent chained by previous_response_id

END_USER: TOKEN is a service key; its end user is named in `user` when creating, in X-Modelgate-User otherwise.

Exits non-zero on the first failed check; prints one line per check that passed.
"""
import asyncio
import sys

import anthropic
import openai
import pydantic
from openai.lib._tools import pydantic_responses_function_tool

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
    shaped = raises(lambda: client.messages.create(model=model, max_tokens=8, messages=[{"role": "user", "content": "Hi"}],
                                                   extra_body={"output_format": {"type": "json_schema", "schema": {"type": "object"}}}),
                    anthropic.BadRequestError)
    check("anthropic output_format refused by name", shaped is not None and "output_format" in shaped.message, repr(shaped and shaped.body))
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
    # What the Codex CLI sends: no storing, the whole history, its include and cache key; streamed. Gemini
    # cannot be told to call one tool at a time, so it is sent with parallel calls allowed.
    codex = dict(model=model, instructions="You are a coding agent.", store=False, stream=True, include=["reasoning.encrypted_content"],
                 parallel_tool_calls=False, tool_choice="auto", prompt_cache_key="thread-1", tools=[FUNCTION],
                 input=[{"type": "message", "role": "user", "content": [{"type": "input_text", "text": "Hello"}]}])
    if model.startswith("gemini"):
        serial = raises(lambda: client.responses.create(**codex), openai.BadRequestError)
        check("responses parallel_tool_calls false refused by name for Gemini", serial is not None and serial.param == "parallel_tool_calls",
              repr(serial and serial.body))
        codex["parallel_tool_calls"] = True
    events = list(client.responses.create(**codex))
    check("responses a Codex-shaped request", events[-1].type == "response.completed" and events[-1].response.store is False
          and all(item.type != "reasoning" for item in events[-1].response.output), repr(events[-1]))
    included = raises(lambda: client.responses.create(model=model, input="Hi", include=["message.output_text.logprobs"]), openai.BadRequestError)
    check("responses other include refused by name", included is not None and included.param == "include", repr(included and included.body))
    templated = raises(lambda: client.responses.create(model=model, input="Hi", prompt={"id": "pmpt_1"}), openai.BadRequestError)
    check("responses prompt template refused by name", templated is not None and templated.param == "prompt", repr(templated and templated.body))

    missing = raises(lambda: client.responses.create(model="no-such-model", input="Hi"), openai.NotFoundError)
    check("responses unknown model → NotFoundError", missing is not None and missing.code == "model_not_found", repr(missing))
    hosted = raises(lambda: client.responses.create(model=model, input="Hi", tools=[{"type": "web_search"}]), openai.BadRequestError)
    check("responses built-in tool refused by name", hosted is not None and hosted.param == "tools.0.type", repr(hosted and hosted.body))
    chained = raises(lambda: client.responses.create(model=model, input="Hi", previous_response_id="resp_x"), openai.NotFoundError)
    check("responses unknown previous_response_id → NotFoundError", chained.code == "response_not_found", repr(chained))


def callers(end_user):
    """How a service key names its end user: `user` in a create body, the header where there is no body."""
    if end_user is None:
        return {}, {}
    return {"user": end_user}, {"extra_headers": {"X-Modelgate-User": end_user}}


def check_responses_stored(base, token, model, end_user=None):
    client = openai.OpenAI(base_url=base, api_key=token, max_retries=0)
    as_user, named = callers(end_user)
    first = client.responses.create(model=model, instructions="Be brief.", input="My name is Ada.", **as_user)
    check("responses stored by default", first.store is True and first.status == "completed" and first.output_text != "", repr(first))
    second = client.responses.create(model=model, instructions="Answer kindly.", input="What is my name?", previous_response_id=first.id,
                                     **as_user)
    check("responses previous_response_id continued", second.previous_response_id == first.id and second.store is True
          and second.output_text != "", repr(second))
    with client.responses.stream(model=model, input="Once more.", previous_response_id=second.id, **as_user) as stream:
        third = stream.get_final_response()
    check("responses streamed continuation stored", third.store is True and third.previous_response_id == second.id
          and third.output_text != "", repr(third))

    fetched = client.responses.retrieve(first.id, **named)
    check("responses.retrieve", fetched.id == first.id and fetched.output_text == first.output_text and fetched.model == first.model
          and fetched.instructions == "Be brief." and fetched.usage.total_tokens == first.usage.total_tokens, repr(fetched))
    replayed = client.responses.retrieve(third.id, **named)
    check("responses.retrieve of a streamed response", replayed.output_text == third.output_text and replayed.status == "completed"
          and replayed.previous_response_id == second.id, repr(replayed))

    check("responses.delete", client.responses.delete(first.id, **named) is None)
    gone = raises(lambda: client.responses.retrieve(first.id, **named), openai.NotFoundError)
    check("responses deleted → NotFoundError", gone.code == "response_not_found", repr(gone))
    raises(lambda: client.responses.delete(first.id, **named), openai.NotFoundError)
    check("responses deleted twice → NotFoundError", True)
    fourth = client.responses.create(model=model, input="Still there?", previous_response_id=second.id, **as_user)
    check("responses chain outlives its deleted start", fourth.status == "completed" and fourth.output_text != "", repr(fourth))

    unstored = client.responses.create(model=model, input="Forget this.", store=False, **as_user)
    check("responses store false", unstored.store is False and unstored.output_text != "", repr(unstored))
    raises(lambda: client.responses.retrieve(unstored.id, **named), openai.NotFoundError)
    raises(lambda: client.responses.create(model=model, input="Hi", previous_response_id=unstored.id, **as_user), openai.NotFoundError)
    check("responses store false kept nothing", True)
    print(f"ids {first.id} {second.id} {third.id}")


def check_responses_foreign(base, token, model, response_id, end_user=None):
    """Another caller's stored response answers exactly as an id that never was."""
    client = openai.OpenAI(base_url=base, api_key=token, max_retries=0)
    as_user, named = callers(end_user)
    calls = {
        "retrieve": lambda id: client.responses.retrieve(id, **named),
        "delete": lambda id: client.responses.delete(id, **named),
        "previous_response_id": lambda id: client.responses.create(model=model, input="Hi", previous_response_id=id, **as_user),
    }
    for name, call in calls.items():
        missing = raises(lambda: call(response_id), openai.NotFoundError)
        unknown = raises(lambda: call("resp_neverwas"), openai.NotFoundError)
        check(f"responses another caller's {name} → NotFoundError", missing.code == "response_not_found"
              and missing.message.replace(response_id, "ID") == unknown.message.replace("resp_neverwas", "ID"), repr(missing.body))


class Forecast(pydantic.BaseModel):
    city: str
    degrees: int


class GetWeather(pydantic.BaseModel):
    """Weather of a city"""
    city: str


def check_responses_parse(base, token, model):
    client = openai.OpenAI(base_url=base, api_key=token, max_retries=0)
    parsed = client.responses.parse(model=model, input="Forecast for Paris?", text_format=Forecast)
    check("responses.parse text_format", isinstance(parsed.output_parsed, Forecast) and parsed.output_parsed.city != "", repr(parsed))
    with client.responses.stream(model=model, input="Forecast for Paris?", text_format=Forecast) as stream:
        streamed = stream.get_final_response()
    check("responses.stream text_format", isinstance(streamed.output_parsed, Forecast), repr(streamed))
    tool = pydantic_responses_function_tool(GetWeather)
    called = client.responses.parse(model=model, input="Weather in Paris?", tools=[tool], tool_choice={"type": "function", "name": "GetWeather"})
    call = next((item for item in called.output if item.type == "function_call"), None)
    check("responses.parse pydantic tool", call is not None and isinstance(call.parsed_arguments, GetWeather)
          and call.parsed_arguments.city != "", repr(called))
    answered = client.responses.parse(model=model, tools=[tool], previous_response_id=called.id,
                                      input=[{"type": "function_call_output", "call_id": call.call_id, "output": "Sunny, 21 C"}])
    check("responses function_call_output after previous_response_id", "Sunny" in answered.output_text, repr(answered))



def check_responses_agents(base, token, model):
    import agents

    @agents.function_tool
    def get_weather(city: str) -> str:
        """Weather of a city"""
        return f"Sunny, 21 C in {city}"

    async def run():
        agents.set_tracing_disabled(True)
        agents.set_default_openai_client(openai.AsyncOpenAI(base_url=base, api_key=token, max_retries=0), use_for_tracing=False)
        agents.set_default_openai_api("responses")
        agent = agents.Agent(name="Coach", instructions="Be brief.", model=model, tools=[get_weather])
        # The tool result goes back as the only new item, after the stored call that asked for it.
        first = await agents.Runner.run(agent, "Weather in Paris?", auto_previous_response_id=True)
        check("agents tool round trip on stored responses", "Sunny" in str(first.final_output) and first.last_response_id,
              repr(first.final_output))
        second = await agents.Runner.run(agent, "And in Rome?", previous_response_id=first.last_response_id)
        check("agents run continued from last_response_id", "Sunny" in str(second.final_output), repr(second.final_output))

    asyncio.run(run())


if __name__ == "__main__":
    mode = sys.argv[1]
    if mode == "anthropic":
        check_anthropic(*sys.argv[2:5])
    elif mode == "anthropic-limited":
        check_anthropic_limited(*sys.argv[2:5])
    elif mode == "responses":
        check_responses(*sys.argv[2:5])
    elif mode == "responses-stored":
        check_responses_stored(*sys.argv[2:6])
    elif mode == "responses-foreign":
        check_responses_foreign(*sys.argv[2:7])
    elif mode == "responses-parse":
        check_responses_parse(*sys.argv[2:5])
    elif mode == "responses-agents":
        check_responses_agents(*sys.argv[2:5])
    else:
        sys.exit(f"unknown mode {mode}")
