"""Checks Modelgate's fakes and its OpenAI-compatible API with the official Python SDKs.

    python sdk_checks.py fakes BASE              # BASE = the fake provider server, e.g. http://127.0.0.1:PORT
    python sdk_checks.py modelgate BASE TOKEN    # BASE = Modelgate's /v1, TOKEN = a user's bearer token
    python sdk_checks.py modelgate-features BASE TOKEN MODEL   # tools, structured output, images, sampling through MODEL
    python sdk_checks.py modelgate-limited BASE TOKEN MODEL    # a daily-limit 429 with the SDK's default retries
    python sdk_checks.py stripe-fake BASE        # BASE = the fake Stripe server
    python sdk_checks.py stripe-fake-billing BASE  # plans on the fake Stripe; prints "ids SUBSCRIPTION PRICE SESSION"
    python sdk_checks.py stripe-events FILE SECRET SUBSCRIPTION PRICE  # FILE = [{"payload", "header"}], the fake's events
    python sdk_checks.py stripe-sign FILE SECRET TIMESTAMP     # prints the SDK's Stripe-Signature for FILE
    python sdk_checks.py stripe-verify FILE HEADER SECRET      # checks our header with the SDK
    python sdk_checks.py stripe-encoding BODY PARAMS           # our form BODY = the SDK's encoding of PARAMS (JSON)
    python sdk_checks.py posthog-fake BASE       # BASE = the fake PostHog (up): two events, printed uuids
    python sdk_checks.py posthog-fake-down BASE  # the fake PostHog switched down: the SDK sees a 503

Exits non-zero on the first failed check; prints one line per check that passed. The Stripe modes
are in sdk_checks_stripe.py.
"""
import sys


def check(name, condition, detail=""):
    if not condition:
        print(f"FAIL {name} {detail}")
        sys.exit(1)
    print(f"ok {name}")


def raises(call, error_type):
    try:
        call()
    except error_type as error:
        return error
    except Exception as error:  # noqa: BLE001 - report what was raised instead
        print(f"FAIL expected {error_type.__name__}, got {type(error).__name__}: {error}")
        sys.exit(1)
    print(f"FAIL expected {error_type.__name__}, nothing raised")
    sys.exit(1)


def check_openai_fake(base):
    import openai
    client = openai.OpenAI(base_url=f"{base}/openai/v1", api_key="sk-test", max_retries=0)
    messages = [{"role": "user", "content": "Hi"}]
    whole = client.chat.completions.create(model="gpt-4o-mini", messages=messages)
    check("openai unary", whole.choices[0].message.content == "Hello there" and whole.usage.total_tokens == 14)
    chunks = list(client.chat.completions.create(
        model="gpt-4o-mini", messages=messages, stream=True, stream_options={"include_usage": True}))
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    check("openai stream", text == "Hello there" and chunks[-1].choices == [] and chunks[-1].usage.total_tokens == 14)
    check("openai models", [m.id for m in client.models.list()] == ["gpt-4o-mini"])
    check_openai_fake_tools(client)
    raises(lambda: client.chat.completions.create(model="rate-limited", messages=messages), openai.RateLimitError)
    check("openai 429 → RateLimitError", True)
    raises(lambda: client.chat.completions.create(model="server-error", messages=messages), openai.InternalServerError)
    check("openai 500 → InternalServerError", True)


WEATHER_TOOL = {"type": "function", "function": {
    "name": "get_weather", "description": "Weather in a city",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"], "additionalProperties": False}}}
PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="


def check_openai_fake_tools(client):
    import json
    with client.chat.completions.stream(model="gpt-4o-mini", messages=[{"role": "user", "content": "Weather in Paris?"}],
                                        tools=[WEATHER_TOOL]) as stream:
        final = stream.get_final_completion()
    call = final.choices[0].message.tool_calls[0]
    check("openai tool call stream", final.choices[0].finish_reason == "tool_calls" and call.function.name == "get_weather"
          and json.loads(call.function.arguments) == {"city": "Paris"}, str(final))


def check_anthropic_fake(base):
    import anthropic
    client = anthropic.Anthropic(base_url=f"{base}/anthropic", api_key="sk-ant-test", max_retries=0)
    with client.messages.stream(model="claude-3-5-haiku-latest", max_tokens=256,
                                messages=[{"role": "user", "content": "Hi"}]) as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_message()
    check("anthropic stream", text == "Hello there")
    check("anthropic usage", (final.stop_reason, final.usage.input_tokens, final.usage.cache_read_input_tokens, final.usage.output_tokens)
          == ("end_turn", 8, 4, 2))
    tool = {"name": "get_weather", "input_schema": WEATHER_TOOL["function"]["parameters"]}
    with client.messages.stream(model="claude-3-5-haiku-latest", max_tokens=256, tools=[tool],
                                messages=[{"role": "user", "content": "Weather in Paris?"}]) as stream:
        final = stream.get_final_message()
    use = [block for block in final.content if block.type == "tool_use"]
    check("anthropic tool_use stream", final.stop_reason == "tool_use" and use and use[0].name == "get_weather"
          and use[0].input == {"city": "Paris"}, str(final))
    error = raises(lambda: client.messages.create(model="overloaded", max_tokens=10,
                                                  messages=[{"role": "user", "content": "Hi"}]), anthropic.OverloadedError)
    check("anthropic 529 → OverloadedError", error.status_code == 529)


def check_gemini_fake(base):
    from google import genai
    from google.genai import errors, types
    client = genai.Client(api_key="k", http_options=types.HttpOptions(base_url=f"{base}/google", api_version="v1beta"))
    chunks = list(client.models.generate_content_stream(
        model="gemini-1.5-pro", contents="Hi",
        config=types.GenerateContentConfig(system_instruction="Be brief.", max_output_tokens=256)))
    check("gemini stream", "".join(c.text for c in chunks) == "Hello there")
    check("gemini finish", chunks[-1].candidates[0].finish_reason == "STOP")
    check("gemini usage", chunks[-1].usage_metadata.candidates_token_count == 2)
    declaration = types.FunctionDeclaration(name="get_weather", parameters_json_schema=WEATHER_TOOL["function"]["parameters"])
    chunks = list(client.models.generate_content_stream(
        model="gemini-1.5-pro", contents="Weather in Paris?", config=types.GenerateContentConfig(tools=[types.Tool(function_declarations=[declaration])])))
    parts = [part for chunk in chunks for part in chunk.candidates[0].content.parts if part.function_call]
    check("gemini function call stream", len(parts) == 1 and parts[0].function_call.name == "get_weather"
          and parts[0].function_call.args == {"city": "Paris"} and parts[0].thought_signature is not None, str(chunks))
    error = raises(lambda: list(client.models.generate_content_stream(model="rate-limited", contents="Hi")), errors.ClientError)
    check("gemini 429 → ClientError", error.code == 429 and error.status == "RESOURCE_EXHAUSTED")


def check_modelgate(base, token):
    import openai
    client = openai.OpenAI(base_url=base, api_key=token, max_retries=0)
    ids = [m.id for m in client.models.list()]
    check("modelgate models", "auto" in ids and "gpt-4o-mini" in ids, str(ids))
    messages = [{"role": "user", "content": "Hi"}]
    chunks = list(client.chat.completions.create(
        model="auto", messages=messages, stream=True, stream_options={"include_usage": True}))
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    check("modelgate stream auto", text == "Hello there" and chunks[-1].usage.total_tokens == 14, text)
    # Modelgate's extra usage fields reach the SDK's object: 8 uncached × $0.15 + 4 cached × $0.075
    # + 2 out × $0.60 per million = 2.7 micro-dollars, rounded up.
    usage = chunks[-1].usage
    check("modelgate usage cost", (getattr(usage, "cost_micros", None), getattr(usage, "estimated", None)) == (3, False), str(usage))
    whole = client.chat.completions.create(model="gpt-4o-mini", messages=messages)
    check("modelgate unary", whole.choices[0].message.content == "Hello there" and whole.model == "gpt-4o-mini")
    error = raises(lambda: client.chat.completions.create(model="auto", messages=messages), openai.RateLimitError)
    check("modelgate 429 → RateLimitError", error.code == "rate_limited" and error.status_code == 429)
    error = raises(lambda: client.chat.completions.create(model="claude-3-opus-x", messages=messages), openai.NotFoundError)
    check("modelgate unknown model → NotFoundError", error.code == "model_not_found")


def check_modelgate_features(base, token, model):
    """Everything an agent or app sends, through one catalog model, with the official SDK."""
    import json
    import openai
    from pydantic import BaseModel
    client = openai.OpenAI(base_url=base, api_key=token, max_retries=0)
    question = [{"role": "user", "content": "Weather in Paris?"}]
    with client.chat.completions.stream(model=model, messages=question, tools=[WEATHER_TOOL]) as stream:
        final = stream.get_final_completion()
    message = final.choices[0].message
    calls = message.tool_calls or []
    check(f"{model} tool call streamed", final.choices[0].finish_reason == "tool_calls" and len(calls) == 1
          and calls[0].function.name == "get_weather" and json.loads(calls[0].function.arguments) == {"city": "Paris"}, str(final))
    follow_up = question + [message.model_dump(exclude_none=True), {"role": "tool", "tool_call_id": calls[0].id, "content": "18C"}]
    answer = client.chat.completions.create(model=model, messages=follow_up, tools=[WEATHER_TOOL])
    check(f"{model} tool result answered", answer.choices[0].message.content == "The tool said: 18C", str(answer))

    class Weather(BaseModel):
        city: str
        celsius: int
    parsed = client.chat.completions.parse(model=model, messages=question, response_format=Weather)
    check(f"{model} json_schema parses", parsed.choices[0].message.parsed == Weather(city="Paris", celsius=1), str(parsed))
    image = client.chat.completions.create(model=model, messages=[{"role": "user", "content": [
        {"type": "text", "text": "What is on this plate?"},
        {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG}"}}]}])
    check(f"{model} image accepted", image.choices[0].message.content == "Hello there", str(image))
    tuned = client.chat.completions.create(model=model, messages=question, max_tokens=50, temperature=0.5, stop=["END"])
    check(f"{model} sampling accepted", tuned.choices[0].finish_reason == "stop", str(tuned))
    error = raises(lambda: client.chat.completions.create(model=model, messages=question, n=2), openai.BadRequestError)
    check(f"{model} n=2 refused by name", error.code == "unsupported_parameter" and error.param == "n", str(error))


def check_modelgate_limited(base, token, model):
    """The SDK with its default retries: a daily-limit refusal is asked once, not three times."""
    import openai
    client = openai.OpenAI(base_url=base, api_key=token)
    error = raises(lambda: client.chat.completions.create(model=model, messages=[{"role": "user", "content": "Hi"}]), openai.RateLimitError)
    check("daily limit → RateLimitError without retries", error.code == "rate_limited"
          and error.response.headers.get("x-should-retry") == "false", str(error))


def check_posthog_fake(base):
    from posthog import Posthog
    errors = []
    client = Posthog("phc_testkey", host=base, flush_at=1, max_retries=0, sync_mode=True,
                     on_error=lambda error, batch: errors.append(error))
    first = client.capture("model_selected", distinct_id="user_42",
                           properties={"modelId": "claude-3-opus", "personaId": "fitness", "isDefault": False, "isOverride": True})
    second = client.capture("model_message_sent", distinct_id="user_42",
                            properties={"modelId": "claude-3-opus", "personaId": "fitness", "isTrialMessage": True})
    client.flush()
    client.shutdown()
    check("posthog batches accepted", not errors and first and second, str(errors))
    print(f"uuids {first} {second}")


def check_posthog_fake_down(base):
    from posthog import Posthog
    errors = []
    client = Posthog("phc_testkey", host=base, flush_at=1, max_retries=0,
                     on_error=lambda error, batch: errors.append(error))
    client.capture("model_selected", distinct_id="user_42", properties={"modelId": "gpt-4o"})
    client.flush()
    client.shutdown()
    check("posthog 503 → APIError", len(errors) == 1 and getattr(errors[0], "status", None) == 503, str(errors))


if __name__ == "__main__":
    mode = sys.argv[1]
    if mode == "fakes":
        check_openai_fake(sys.argv[2])
        check_anthropic_fake(sys.argv[2])
        check_gemini_fake(sys.argv[2])
    elif mode == "modelgate":
        check_modelgate(sys.argv[2], sys.argv[3])
    elif mode == "modelgate-features":
        check_modelgate_features(*sys.argv[2:5])
    elif mode == "modelgate-limited":
        check_modelgate_limited(*sys.argv[2:5])
    elif mode == "posthog-fake":
        check_posthog_fake(sys.argv[2])
    elif mode == "posthog-fake-down":
        check_posthog_fake_down(sys.argv[2])
    elif mode.startswith("stripe-"):
        import sdk_checks_stripe
        stripe_modes = {"stripe-fake": sdk_checks_stripe.check_stripe_fake, "stripe-fake-billing": sdk_checks_stripe.check_stripe_fake_billing,
                        "stripe-events": sdk_checks_stripe.check_stripe_events, "stripe-sign": sdk_checks_stripe.stripe_sign,
                        "stripe-encoding": sdk_checks_stripe.stripe_encoding, "stripe-verify": sdk_checks_stripe.stripe_verify}
        if mode not in stripe_modes:
            sys.exit(f"unknown mode {mode}")
        stripe_modes[mode](*sys.argv[2:])
    else:
        sys.exit(f"unknown mode {mode}")
