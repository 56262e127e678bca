"""The handler contract: a handler reads generated replies with its task profile's reader (parse,
json_schema, the reply budget, constrainability), the reader the server reads replies with."""

from __future__ import annotations

import pytest

from brewslm.evaluation.handlers import get_eval_handler, list_eval_handlers
from brewslm.tasks import get_task_profile
from brewslm.tasks.rendering import RenderContext

READ_BY_GENERATION = [("classification", None), ("qa", None), ("rag_qa", None), ("tool_call", None)]
READ_BY_GENERATION += [("structured_extraction", "span_set"), ("structured_extraction", "field_match")]


@pytest.mark.parametrize("task, mode", READ_BY_GENERATION)
def test_a_handler_reads_replies_with_its_task_profiles_reader(task, mode):
    context = RenderContext(labels=("no", "yes"), span_labels=("PER",))
    handler = get_eval_handler(task, mode, context=context)
    reader = get_task_profile(task).reply_reader(mode, context=context)
    assert type(handler.reader) is type(reader) and handler.reader.context is context
    assert handler.max_new_tokens == reader.max_new_tokens
    assert (handler.constrainable, handler.constraint_allows_text) == (
        reader.constrainable,
        reader.constraint_allows_text,
    )
    record = {"text": "Ann said yes.", "tools": [], "question": "q"}
    for reply in (" yes ", '[{"text": "Ann", "label": "PER"}]', '{"a": 1}', "no"):
        assert handler.parse(reply, record) == reader.parse(reply, record)
    assert handler.json_schema(record) == reader.json_schema(record)


def test_field_matchs_json_schema_option_is_the_readers_schema():
    schema = {"type": "object", "properties": {"order": {"type": "integer"}}}
    handler = get_eval_handler("structured_extraction", "field_match", options={"json_schema": schema})
    assert handler.schema == handler.reader.schema == handler.json_schema({}) == schema


def test_handlers_of_replies_scored_by_log_probabilities_have_no_reader():
    for handler_class in list_eval_handlers():
        handler = handler_class()
        if handler.task in ("chat_sft", "language_modeling", "dpo"):
            assert handler.reader is None and not handler.constrainable and handler.json_schema({}) is None
            with pytest.raises(NotImplementedError, match="does not score generated text"):
                handler.parse("text", {})
