"""Chat template choice: each family renders conversations prefix by prefix (so replies are masked
right), a family whose markers the vocabulary lacks is one line, and a run trained with a chosen
template is served and exported with it - the served prompt is the trained prompt, token for token -
while a run whose tokenizer lost it is refused."""

from __future__ import annotations

import pytest

from brewslm.errors import ConfigError
from brewslm.inference.chat_templates import FAMILIES, set_chat_template
from brewslm.inference.encoding import chat_segments, encode
from brewslm.tasks.rendering import conversation
from helpers.tiny_model import build_tiny_tokenizer, tiny_model_dir  # noqa: F401  (tiny_model_dir: a fixture)

MESSAGES = [
    {"role": "system", "content": "Be brief."},
    {"role": "user", "content": "hi there"},
    {"role": "assistant", "content": "hello"},
    {"role": "user", "content": "and then?"},
    {"role": "assistant", "content": "then we part."},
]


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_every_family_renders_prefix_by_prefix_and_masks_only_the_replies(family) -> None:
    tokenizer = build_tiny_tokenizer()
    tokenizer.add_special_tokens({"additional_special_tokens": sorted({m for f in FAMILIES.values() for m in f[1]})})
    assert set_chat_template(tokenizer, family) == family
    rendered = conversation(MESSAGES, train="all")
    trained = "".join(text for text, keep in chat_segments(rendered, tokenizer) if keep)
    assert "hello" in trained and "then we part." in trained and "hi there" not in trained and "Be brief" not in trained
    for marker in FAMILIES[family][1]:
        assert marker in tokenizer.apply_chat_template(MESSAGES, tokenize=False)
    example = encode(rendered, tokenizer, 4096)
    assert tokenizer.decode([t for t, keep in zip(example.input_ids, example.trained) if keep]).startswith("hello")


def test_a_family_the_vocabulary_lacks_is_one_line_and_model_keeps_or_adds_chatml(tmp_path) -> None:
    tokenizer = build_tiny_tokenizer()  # has the ChatML markers only
    with pytest.raises(ConfigError, match=r"chat_template llama3: '<\|start_header_id\|>' is not one token"):
        set_chat_template(tokenizer, "llama3")
    assert set_chat_template(tokenizer, "model") == "model"
    tokenizer.chat_template = None
    assert set_chat_template(tokenizer, "model") == "chatml (the model has none)"
    with pytest.raises(ConfigError, match="does not exist"):
        set_chat_template(tokenizer, str(tmp_path / "missing.jinja"))


PLAIN_TEMPLATE = (
    "{% for m in messages %}{{ '### ' + m['role'] + ':\n' + m['content'] + '<|im_end|>\n' }}{% endfor %}"
    "{% if add_generation_prompt %}{{ '### assistant:\n' }}{% endif %}"
)


def test_an_unknown_choice_is_a_config_error() -> None:
    from brewslm.options import build_options
    from brewslm.training.config import TrainConfig

    with pytest.raises(ConfigError, match="chat_template must be one of model, chatml, qwen, llama3, gemma, phi"):
        build_options(TrainConfig, {"dataset": "d", "chat_template": "vicuna"})


def test_plain_models_are_evaluated_and_served_with_the_chosen_template(tiny_model_dir, tmp_path) -> None:
    from brewslm.evaluation.model_refs import load_model, resolve_model
    from brewslm.serving.served import ServedModels

    template = tmp_path / "plain.jinja"
    template.write_text(PLAIN_TEMPLATE, encoding="utf-8")
    _, tokenizer = load_model(resolve_model(str(tiny_model_dir)), "cpu", str(template))
    assert tokenizer.chat_template == PLAIN_TEMPLATE
    served = ServedModels.load([str(tiny_model_dir)], device="cpu", chat_template=str(template))
    model = served.get(served.ids()[0])
    assert model.tokenizer.decode(model.chat_prompt_ids(MESSAGES[:2])).endswith("### assistant:\n")
    assert ServedModels.load([str(tiny_model_dir)], device="cpu").get(served.ids()[0]).tokenizer.chat_template != (
        PLAIN_TEMPLATE
    )  # the default: the model's own
