"""Checks Modelgate's embeddings with the official SDKs, as their users call them.

    python embedding_checks.py fakes BASE                    # BASE = the fake provider server: openai and google-genai parse its embeddings
    python embedding_checks.py modelgate BASE TOKEN MODEL DIMENSIONS   # BASE = Modelgate's /v1; MODEL an embedding model
                                                             # of DIMENSIONS by default; four calls are answered

Exits non-zero on the first failed check; prints one line per check that passed.
"""
import base64
import struct
import sys

from sdk_checks import check, raises

TEXTS = ["hello world", "embeddings for everyone"]


def fake_vector(text, dimensions):
    """The fake providers' vector of `text` (FakeEmbeddings.vector): sixteenths, exact in float32."""
    seed = sum(text.encode())
    return [((seed + j) % 17 - 8) / 16 for j in range(dimensions)]


def floats(encoded):
    raw = base64.b64decode(encoded)
    return list(struct.unpack(f"<{len(raw) // 4}f", raw))


def check_fakes(base):
    import openai
    from google import genai
    from google.genai import types
    client = openai.OpenAI(base_url=f"{base}/openai/v1", api_key="sk-test", max_retries=0)
    # No encoding_format: the SDK asks base64 and decodes it.
    default = client.embeddings.create(model="text-embedding-3-small", input=TEXTS)
    check("openai fake embeddings (SDK default base64)", [d.embedding for d in default.data] == [fake_vector(t, 1536) for t in TEXTS]
          and [d.index for d in default.data] == [0, 1] and default.usage.prompt_tokens == 5, repr(default.usage))
    plain = client.embeddings.create(model="text-embedding-3-small", input=TEXTS, encoding_format="float", dimensions=256)
    check("openai fake embeddings float, dimensions", [d.embedding for d in plain.data] == [fake_vector(t, 256) for t in TEXTS])
    tokens = client.embeddings.create(model="text-embedding-3-small", input=[[1, 2, 3]], encoding_format="float")
    check("openai fake token array", len(tokens.data) == 1 and tokens.usage.prompt_tokens == 3)
    raises(lambda: client.embeddings.create(model="text-embedding-ada-002", input=TEXTS, dimensions=8), openai.BadRequestError)
    check("openai fake refuses dimensions on a fixed-size model", True)
    raises(lambda: client.embeddings.create(model="rate-limited", input=TEXTS), openai.RateLimitError)
    check("openai fake embeddings 429 → RateLimitError", True)

    together = openai.OpenAI(base_url=f"{base}/together/v1", api_key="tg-test", max_retries=0)
    answered = together.embeddings.create(model="BAAI/bge-base-en-v1.5", input=TEXTS, encoding_format="float")
    check("together fake embeddings", [d.embedding for d in answered.data] == [fake_vector(t, 768) for t in TEXTS])

    gemini = genai.Client(api_key="k", http_options=types.HttpOptions(base_url=f"{base}/google", api_version="v1beta"))
    reply = gemini.models.embed_content(model="gemini-embedding-001", contents=TEXTS,
                                        config=types.EmbedContentConfig(output_dimensionality=768))
    check("gemini fake batchEmbedContents", [e.values for e in reply.embeddings] == [fake_vector(t, 768) for t in TEXTS], repr(reply)[:300])
    whole = gemini.models.embed_content(model="gemini-embedding-001", contents="hello world")
    check("gemini fake default size", len(whole.embeddings) == 1 and whole.embeddings[0].values == fake_vector("hello world", 3072))


def check_modelgate(base, token, model, dimensions):
    import openai
    dimensions = int(dimensions)
    client = openai.OpenAI(base_url=base, api_key=token, max_retries=0)
    listed = {m.id: m for m in client.models.list()}
    check("models list says the kind", getattr(listed[model], "kind", None) == "embedding"
          and getattr(listed["gpt-4o-mini"], "kind", None) == "chat", repr(listed.get(model)))

    expected = [fake_vector(t, dimensions) for t in TEXTS]
    default = client.embeddings.create(model=model, input=TEXTS)
    check("embeddings, the SDK's default (base64)", [d.embedding for d in default.data] == expected
          and [d.index for d in default.data] == [0, 1] and default.model == model and default.object == "list", repr(default)[:300])
    check("embeddings usage", default.usage.prompt_tokens > 0 and default.usage.total_tokens == default.usage.prompt_tokens, repr(default.usage))
    plain = client.embeddings.create(model=model, input=TEXTS, encoding_format="float")
    check("embeddings as floats", [d.embedding for d in plain.data] == expected)
    asked = client.embeddings.create(model=model, input=TEXTS, encoding_format="base64")
    check("embeddings as base64 strings", [floats(d.embedding) for d in asked.data] == expected, repr(asked.data[0])[:200])
    one = client.embeddings.create(model=model, input="hello world", dimensions=256, encoding_format="float")
    check("embeddings with dimensions", [d.embedding for d in one.data] == [fake_vector("hello world", 256)])

    error = raises(lambda: client.embeddings.create(model="gpt-4o-mini", input=TEXTS), openai.BadRequestError)
    check("a chat model is refused by name", error.code == "model_kind_mismatch" and "gpt-4o-mini" in error.message, error.message)
    error = raises(lambda: client.embeddings.create(model=model, input=[]), openai.BadRequestError)
    check("an empty input is refused", error.code == "invalid_body" and error.param == "input", error.message)
    error = raises(lambda: client.chat.completions.create(model=model, messages=[{"role": "user", "content": "Hi"}]), openai.BadRequestError)
    check("chat completions refuse an embedding model", error.code == "model_kind_mismatch", error.message)


if __name__ == "__main__":
    mode = sys.argv[1]
    if mode == "fakes":
        check_fakes(sys.argv[2])
    elif mode == "modelgate":
        check_modelgate(*sys.argv[2:6])
    else:
        print(f"unknown mode {mode}")
        sys.exit(2)
