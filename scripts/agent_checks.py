"""A real agent client from PyPI, the OpenAI Agents SDK, runs a scripted task through Modelgate.

    python agent_checks.py BASE KEY END_USER MODEL [stream]

BASE is Modelgate's origin (http://127.0.0.1:PORT), KEY a service key, END_USER the end user the
agent acts for (OpenAI's `user` field, through the SDK's model settings). The agent has two tools
and must call the one the task needs, read its result and answer with it. The SDK speaks the
Responses API, with its tracing switched off (it would post traces to OpenAI). Exits non-zero on
the first failed check.
"""
import asyncio
import sys

from sdk_checks import check


async def run(base, key, end_user, model, stream):
    from agents import Agent, ModelSettings, OpenAIResponsesModel, Runner, function_tool, set_tracing_disabled
    from openai import AsyncOpenAI
    set_tracing_disabled(True)
    booked = []

    @function_tool
    def book_session(day: str) -> str:
        """Book a coaching session on the given day."""
        booked.append(day)
        return f"Session booked for {day}, 9am"

    @function_tool
    def cancel_session(day: str) -> str:
        """Cancel the coaching session on the given day."""
        raise AssertionError("the task never asks to cancel")

    client = AsyncOpenAI(base_url=f"{base}/v1", api_key=key, max_retries=0)
    agent = Agent(name="Scheduler", instructions="You book coaching sessions with your tools.",
                  model=OpenAIResponsesModel(model=model, openai_client=client),
                  model_settings=ModelSettings(extra_args={"user": end_user}, tool_choice="book_session"),
                  tools=[book_session, cancel_session], reset_tool_choice=True)
    task = "Book my next coaching session."
    if stream:
        result = Runner.run_streamed(agent, task)
        kinds = [event.type async for event in result.stream_events()]
        check("agent streamed its run", "raw_response_event" in kinds and "run_item_stream_event" in kinds, str(set(kinds)))
    else:
        result = await Runner.run(agent, task)
    check("agent called the tool the task needs, once", len(booked) == 1, str(booked))
    check("agent answered with the tool's result", "Session booked for" in str(result.final_output), str(result.final_output))
    usage = result.context_wrapper.usage
    check("agent saw two model calls with usage", usage.requests == 2 and usage.input_tokens > 0 and usage.output_tokens > 0, str(usage))


if __name__ == "__main__":
    base, key, end_user, model = sys.argv[1:5]
    asyncio.run(run(base, key, end_user, model, stream=sys.argv[5:] == ["stream"]))
