"""Every place that hands a model its key/value cache (training's shared prefix, label scoring,
batched generation, the LLM-assist teacher) uses the cache argument the installed transformers
takes, so none of them warns about a deprecated ``past_key_values`` (transformers 5 warns on the
argument and on reading the output field, on every train and eval)."""

from __future__ import annotations

import logging
import warnings
from types import SimpleNamespace

import pytest
import torch

from brewslm.base_models.kv_cache import cache_argument, output_cache
from brewslm.inference.forward import target_hidden
from brewslm.inference.generation import generate
from brewslm.inference.label_scoring import score_labels
from brewslm.introspection.llm_assist import HFTeacher
from brewslm.tasks import get_task_profile
from brewslm.tasks.rendering import RenderContext, single_turn
from helpers.tiny_model import build_tiny_model, build_tiny_tokenizer


class _Current(torch.nn.Module):
    def forward(self, input_ids=None, cache=None, use_cache=None):
        return None


class _Legacy(torch.nn.Module):
    def forward(self, input_ids=None, past_key_values=None, use_cache=None):
        return None


class _Wrapper(torch.nn.Module):  # a peft-style wrapper: forward(**kwargs), the real model inside
    def __init__(self, inner):
        super().__init__()
        self.inner = inner

    def get_base_model(self):
        return self.inner

    def forward(self, *args, **kwargs):
        return self.inner(*args, **kwargs)


@pytest.mark.parametrize(
    "model, name",
    [
        (_Current(), "cache"),
        (_Legacy(), "past_key_values"),
        (_Wrapper(_Current()), "cache"),
        (_Wrapper(_Legacy()), "past_key_values"),
    ],
)
def test_the_cache_goes_under_the_name_the_model_takes(model, name) -> None:
    cache = object()
    assert cache_argument(model, cache) == {name: cache}
    assert cache_argument(model, None) == {}  # no argument at all: even past_key_values=None warns


def test_the_updated_cache_is_read_from_the_field_the_output_has() -> None:
    from transformers.modeling_outputs import BaseModelOutputWithPast

    out = BaseModelOutputWithPast(last_hidden_state=torch.zeros(1))
    field = "cache" if "cache" in BaseModelOutputWithPast.__dataclass_fields__ else "past_key_values"
    setattr(out, field, "the cache")
    assert output_cache(out) == "the cache"
    assert output_cache(SimpleNamespace(past_key_values="old")) == "old"  # an output without a 'cache' field


@pytest.fixture
def deprecations():
    """The deprecation warnings transformers emits while the test runs: Python warnings, and the
    lines its logger writes (``warning_once``: its memory of lines already sent is cleared first)."""
    from transformers.utils import logging as hf_logging

    lines: list[str] = []
    handler = logging.Handler()
    handler.emit = lambda record: lines.append(record.getMessage())  # type: ignore[method-assign]
    logger = logging.getLogger("transformers")
    logger.addHandler(handler)
    clear = getattr(getattr(logging.Logger, "warning_once", None), "cache_clear", None)
    if clear is not None:
        clear()
    hf_logging.set_verbosity_warning()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield lambda: [
            line
            for line in lines + [str(w.message) for w in caught]
            if "past_key_values" in line or "deprecated" in line
        ]
    logger.removeHandler(handler)


def test_no_call_site_warns_about_a_deprecated_cache_argument(deprecations, tiny_model_dir) -> None:
    tokenizer = build_tiny_tokenizer()
    model = build_tiny_model(tokenizer)

    # training: rows sharing a prefix run it once and read it back from the cache
    ids = torch.randint(5, 100, (2, 12))
    ids[1, :6] = ids[0, :6]
    batch = SimpleNamespace(
        input_ids=ids, prefix_len=6, target_index=torch.tensor([7, 12 + 9]), attention_mask=None, position_ids=None
    )
    assert target_hidden(model, batch).shape[0] == 2

    # label scoring: a shared instruction prefix is cached and repeated for every row
    profile = get_task_profile("classification")
    context = RenderContext(labels=("no", "yes"))
    rendered = [profile.render({"text": text, "label": "yes"}, context) for text in ("a fine film", "a dull film")]
    assert len(score_labels(model, tokenizer, rendered, ["no", "yes"])) == 2

    # batched generation: prefill, then one token at a time from the cache
    assert (
        len(
            generate(
                model, tokenizer, [single_turn("hi", "x"), single_turn("a longer question", "x")], max_new_tokens=3
            )
        )
        == 2
    )

    # the LLM-assist teacher: a context cache extended, then copied for each option's tail
    teacher = HFTeacher(str(tiny_model_dir))
    teacher.choose("Pick one.", "Answer: ", ["alpha", "a much longer option", "beta gamma delta"])

    assert deprecations() == []
