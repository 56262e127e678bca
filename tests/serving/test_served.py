"""Served models: LoRA runs over one base share it (and the base is served with adapters off),
prompts are the tokens training and evaluation use, ids are unique, and each task model carries
its profile, reply reader and (rag_qa) retriever."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
import torch

from brewslm.base_models import load_causal_lm
from brewslm.errors import ConfigError
from brewslm.export.bundle import resolve_bundle
from brewslm.inference.prompts import prompt_ids
from brewslm.retrieval import Chunk, write_chunks
from brewslm.serving.served import ModelNotFound, ServedModels
from brewslm.tasks.rendering import conversation


@pytest.fixture(scope="module")
def served(sentiment_run: Path, qa_run: Path) -> ServedModels:
    return ServedModels.load([str(sentiment_run), str(qa_run)])


def next_token_logits(model, ids: list[int]) -> torch.Tensor:
    with torch.no_grad():
        return model(input_ids=torch.tensor([ids])).logits[0, -1]


def test_adapters_share_one_base_which_is_served_with_adapters_off(served, served_base_dir):
    assert served.ids() == ["sentiment", "qa", served_base_dir.name]
    sentiment, qa, base = (served.get(i) for i in served.ids())
    assert sentiment.model is qa.model is base.model
    assert (sentiment.adapter, qa.adapter, base.adapter) == ("adapter_0", "adapter_1", None)
    assert base.adapters_off and sentiment.base_id == qa.base_id == base.id
    ids = base.chat_prompt_ids([{"role": "user", "content": "Classify: a dull, lifeless mess"}])
    logits = {}
    for model in (sentiment, qa, base):
        with model.active():
            logits[model.id] = next_token_logits(model.model, ids)
    plain, _ = load_causal_lm(str(served_base_dir))
    assert torch.allclose(logits[base.id], next_token_logits(plain, ids), atol=1e-5)
    assert not torch.allclose(logits["sentiment"], logits[base.id], atol=1e-3)
    assert not torch.allclose(logits["sentiment"], logits["qa"], atol=1e-3)
    # switching back and forth is stateless
    with sentiment.active():
        assert torch.allclose(next_token_logits(sentiment.model, ids), logits["sentiment"], atol=1e-6)


def test_naming_the_base_folder_serves_the_shared_copy(sentiment_run, served_base_dir):
    served = ServedModels.load([str(served_base_dir), str(sentiment_run)])
    assert served.ids() == [served_base_dir.name, "sentiment"]
    assert served.get(served_base_dir.name).model is served.get("sentiment").model
    assert served.get(None).id == served_base_dir.name  # the first spec is the default


def test_ids_are_unique_and_unknown_ids_name_what_is_served(served, sentiment_run):
    with pytest.raises(ConfigError, match="both named 'sentiment'"):
        ServedModels.load([str(sentiment_run), str(sentiment_run)])
    with pytest.raises(ConfigError, match="no model to serve"):
        ServedModels.load([])
    assert served.get(None).id == served.get("").id == "sentiment"
    with pytest.raises(ModelNotFound, match="'nope' is not served here; served models: sentiment, qa"):
        served.get("nope")


def test_prompts_are_the_tokens_training_and_evaluation_use(served):
    sentiment = served.get("sentiment")
    tokenizer = sentiment.tokenizer
    messages = [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "hi"},
        {"role": "assistant", "content": "hello"},
        {"role": "user", "content": "and?"},
    ]
    ids = sentiment.chat_prompt_ids(messages)
    assert ids == prompt_ids(
        conversation([*messages, {"role": "assistant", "content": "x"}], train="last"), tokenizer, 10_000
    )
    assert tokenizer.decode(ids) == tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)

    record = {"text": "a wonderful, moving film", "label": "negative"}  # any label: only the prompt counts
    rendered = sentiment.render(record)
    assert rendered.prompt == sentiment.profile.render({**record, "label": "positive"}, sentiment.context).prompt
    assert sentiment.task_prompt_ids(record) == prompt_ids(rendered, tokenizer, 128)
    long = {"text": "film " * 400, "label": "negative"}
    assert len(sentiment.task_prompt_ids(long, reserve=8)) == 128 - 8  # cut as training cuts
    assert sentiment.max_seq_len == 128 and sentiment.context_length == 8192
    assert sentiment.text_prompt_ids("The quick") == tokenizer("The quick", add_special_tokens=False)["input_ids"]


def test_task_parts(served, served_base_dir):
    sentiment, qa, base = (served.get(i) for i in served.ids())
    assert (sentiment.task, sentiment.profile.id, sentiment.reader.task) == ("classification",) * 3
    assert sentiment.context.labels == ("negative", "positive")
    assert sentiment.reader.candidate_labels() == ["negative", "positive"]
    assert qa.reader.parse(" Paris ", {"question": "q"}) == "Paris"
    assert (base.task, base.profile, base.reader, base.retriever) == (None, None, None, None)
    assert base.describe() == {
        "id": served_base_dir.name,
        "kind": "model",
        "task": None,
        "scoring_mode": None,
        "adapter": False,
        "base": None,
    }
    assert sentiment.describe()["base"] == served_base_dir.name


@pytest.mark.parametrize(
    "messages, message",
    [
        ([], "messages is empty"),
        ([{"content": "hi"}], r"messages\[0\] needs a 'role'"),
        ([{"role": "user", "content": ["a", "b"]}], r"messages\[0\].content must be a string"),
    ],
)
def test_bad_messages_are_one_line_errors(served, messages, message):
    with pytest.raises(ConfigError, match=message):
        served.get("sentiment").chat_prompt_ids(messages)


def test_records_missing_a_field_and_plain_models_say_what_to_do(served, served_base_dir):
    with pytest.raises(ConfigError, match="qa record needs field 'question' to be rendered"):
        served.get("qa").render({"text": "hi"})
    with pytest.raises(ConfigError, match="has no task"):
        served.get(served_base_dir.name).render({"text": "hi"})


def test_rag_bundles_get_a_retriever_over_their_chunks(qa_run, tmp_path):
    chunks = [
        Chunk("faq", 0, 0, 30, "Refunds take five working days."),
        Chunk("faq", 1, 31, 70, "Parcels ship from Leeds every Monday."),
    ]
    chunks_file = write_chunks(tmp_path / "chunks.jsonl", chunks)
    bundle = resolve_bundle(str(qa_run))
    bundle = replace(
        bundle,
        name="faq",
        serving=replace(
            bundle.serving, retrieval={"chunks_file": str(chunks_file), "mode": "bm25", "top_k": 1, "candidates": 10}
        ),
    )
    served = ServedModels.from_bundles([bundle]).get("faq")
    assert served.retriever.chunks == chunks
    assert served.retriever.search("when do parcels ship", 1)[0].index == 1
    missing = replace(bundle, serving=replace(bundle.serving, retrieval={"chunks_file": str(tmp_path / "gone.jsonl")}))
    with pytest.raises(ConfigError, match="gone.jsonl is missing"):
        ServedModels.from_bundles([missing])


def test_field_match_models_get_the_bundle_schema(tiny_runs):
    rows = [{"text": f"Order {i} from Acme ships on Monday", "order": i, "company": "Acme"} for i in range(4)]
    run = tiny_runs.train(
        "orders",
        rows,
        "kv_to_structured",
        {"text": "text", "order": "target.order", "company": "target.company"},
        max_steps=1,
    )
    served = ServedModels.load([str(run)]).get("orders")
    schema = served.serving.json_schema
    assert set(schema["properties"]) == {"order", "company"}
    assert served.reader.json_schema({"text": "x"}) == schema
    assert served.reader.parse(json.dumps({"order": 7, "company": "Acme"}), {"text": "x"}) == {
        "order": 7,
        "company": "Acme",
    }
