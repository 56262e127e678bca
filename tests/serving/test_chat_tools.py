"""Tools in chat completions without a server: reading OpenAI's tools, tool choice and calls, the
three renderings (a template that takes ``tools``, the tool_call task's system message - with tool
results as text where the template refuses the ``tool`` role) and the template families' call forms."""

from __future__ import annotations

import pytest

from brewslm.inference.chat_templates import CHATML_TEMPLATE
from brewslm.serving.chat_tools import (
    INSTRUCTED,
    TEMPLATE,
    ChatPrompt,
    ToolChoice,
    Turn,
    chat_prompt,
    native_calls,
    read_calls,
    read_tool_choice,
    read_tools,
    takes_tools,
)
from brewslm.serving.errors import ApiError
from brewslm.serving.served import ServedModel
from inference.scoring_models import tiny_tokenizer

WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Weather of a city.",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
    },
}
# a Hermes-like template: tools in the system turn, calls as <tool_call> blocks
TOOLS_TEMPLATE = (
    "{%- if tools %}<|im_start|>system\n# Tools\n{%- for tool in tools %}\n{{ tool | tojson }}{%- endfor %}"
    "<|im_end|>\n{% endif %}"
    "{%- for message in messages %}"
    "{%- if message.tool_calls %}<|im_start|>assistant\n{%- for call in message.tool_calls %}"
    '<tool_call>{"name": "{{ call.function.name }}", "arguments": {{ call.function.arguments | tojson }}}</tool_call>'
    "{%- endfor %}<|im_end|>\n"
    "{%- else %}<|im_start|>{{ message.role }}\n{{ message.content }}<|im_end|>\n{% endif %}"
    "{%- endfor %}"
    "{%- if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)
NO_TOOL_ROLE = (
    "{% for message in messages %}{% if message.role == 'tool' %}{{ raise_exception('no tool role') }}{% endif %}"
    + CHATML_TEMPLATE[len("{% for message in messages %}") :]
)


def _plain(template: str) -> ServedModel:
    tokenizer = tiny_tokenizer()
    tokenizer.chat_template = template
    return ServedModel(id="plain", bundle=None, model=None, tokenizer=tokenizer)


def _text(served: ServedModel, ids: list[int]) -> str:
    return served.tokenizer.decode(ids)


HISTORY = [
    Turn("user", "Weather in Oslo?"),
    Turn("assistant", "", calls=({"id": "c1", "tool": "get_weather", "arguments": {"city": "Oslo"}},)),
    Turn("tool", '{"sky": "clear"}', tool_call_id="c1"),
]


def test_a_template_that_takes_tools_renders_them_and_the_calls() -> None:
    served = _plain(TOOLS_TEMPLATE)
    assert takes_tools(served.tokenizer) and not takes_tools(_plain(CHATML_TEMPLATE).tokenizer)
    tools = read_tools([WEATHER])
    prompt = chat_prompt(served, HISTORY, tools, read_tool_choice(None, tools), 16)
    assert prompt.style == TEMPLATE and prompt.offered == tools and prompt.prefix == ""
    text = _text(served, prompt.ids)
    assert '"name": "get_weather"' in text and "# Tools" in text
    assert '<tool_call>{"name": "get_weather", "arguments": {"city": "Oslo"}}</tool_call>' in text
    assert text.endswith("<|im_start|>tool\n" + '{"sky": "clear"}<|im_end|>\n<|im_start|>assistant\n')
    # its replies are read in the template's form and in the task's
    tagged = '<tool_call>{"name": "get_weather", "arguments": {"city": "Oslo"}}</tool_call>'
    assert prompt.calls(served, tagged) == [{"tool": "get_weather", "arguments": {"city": "Oslo"}}]
    assert prompt.calls(served, '{"tool": "get_weather", "arguments": {}}') == [
        {"tool": "get_weather", "arguments": {}}
    ]
    assert prompt.calls(served, "It is clear.") == []
    # tool_choice none: no tools shown, the calls in the history still rendered by the template
    unused = chat_prompt(served, HISTORY, tools, ToolChoice("none"), 16)
    assert not unused.reads_calls and "# Tools" not in _text(served, unused.ids)


def test_other_templates_get_the_tool_call_tasks_system_message() -> None:
    served = _plain(CHATML_TEMPLATE)
    tools = read_tools([WEATHER])
    prompt = chat_prompt(served, [Turn("system", "Be brief."), *HISTORY], tools, ToolChoice("auto"), 16)
    text = _text(served, prompt.ids)
    assert prompt.style == INSTRUCTED and text.startswith("<|im_start|>system\nBe brief.\n\nYou can call the tools")
    assert '{"tool": "get_weather", "arguments": {"city": "Oslo"}}' in text  # the earlier call, as the task renders it
    named = chat_prompt(served, HISTORY, tools, ToolChoice("function", "get_weather"), 16)
    assert named.prefix == '{"tool": "get_weather", "arguments":' and named.prefix_ids
    assert named.calls(served, ' {"city": "Rome"}}') == [{"tool": "get_weather", "arguments": {"city": "Rome"}}]
    # a template that refuses the tool role: the results are user text
    strict = _plain(NO_TOOL_ROLE)
    text = _text(strict, chat_prompt(strict, HISTORY, tools, ToolChoice("auto"), 16).ids)
    assert '<|im_start|>user\nTool results:\n{"sky": "clear"}<|im_end|>' in text


def test_native_call_forms() -> None:
    assert native_calls('{"name": "f", "parameters": {"x": 1}}') == [{"tool": "f", "arguments": {"x": 1}}]
    assert native_calls('[TOOL_CALLS] [{"name": "f", "arguments": "{\\"x\\": 2}"}, {"name": "g"}]') == [
        {"tool": "f", "arguments": {"x": 2}},
        {"tool": "g", "arguments": {}},
    ]
    assert native_calls(
        '<tool_call>\n{"name": "f", "arguments": {}}\n</tool_call>\n<tool_call>{"name": "g"}</tool_call>'
    ) == [
        {"tool": "f", "arguments": {}},
        {"tool": "g", "arguments": {}},
    ]
    for text in ("It is sunny.", '{"answer": 3}', '{"name": "f", "arguments": [1]}', "<tool_call>{broken</tool_call>"):
        assert native_calls(text) == []
    assert ChatPrompt([1]).calls(None, '{"tool": "f", "arguments": {}}') == []  # no tools offered: content


def _param(call) -> str:
    with pytest.raises(ApiError) as caught:
        call()
    assert caught.value.status == 400
    return caught.value.param


def test_requests_are_read_with_their_problems_named() -> None:
    assert read_tools(None) == [] and read_tool_choice(None, []) == ToolChoice("none")
    tools = read_tools([{"type": "function", "function": {"name": "f"}}])
    assert tools == [{"name": "f", "description": "", "parameters": {"type": "object", "properties": {}}}]
    assert read_tool_choice("auto", []) == ToolChoice("none")  # nothing to call
    assert read_tool_choice({"type": "function", "function": {"name": "f"}}, tools) == ToolChoice("function", "f")
    assert _param(lambda: read_tools([{"type": "function"}])) == "tools[0].function"
    assert _param(lambda: read_tool_choice("required", [])) == "tool_choice"
    assert _param(lambda: read_tool_choice({"type": "function"}, tools)) == "tool_choice"
    calls = read_calls([{"id": "c", "type": "function", "function": {"name": "f", "arguments": '{"a": 1}'}}], "m")
    assert calls == ({"id": "c", "tool": "f", "arguments": {"a": 1}},)
    assert (
        _param(lambda: read_calls([{"function": {"name": "f", "arguments": "[1]"}}], "m")) == "m[0].function.arguments"
    )
    assert _param(lambda: read_calls([{"function": {"arguments": "{}"}}], "m")) == "m[0].function.name"
