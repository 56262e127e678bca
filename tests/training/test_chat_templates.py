"""Chat template choice: each family renders conversations prefix by prefix (so replies are masked
right), a family whose markers the vocabulary lacks is one line, and a run trained with a chosen
template is served and exported with it - the served prompt is the trained prompt, token for token -
while a run whose tokenizer lost it is refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from brewslm.errors import ConfigError
from brewslm.tasks.rendering import conversation
from brewslm.training.chat_templates import FAMILIES, set_chat_template, template_sha256
from brewslm.training.encoding import chat_segments, encode
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


def test_a_run_serves_and_exports_the_template_it_trained_with(sentiment, config_for, quiet, tmp_path) -> None:
    from brewslm.export.hf import export_hf
    from brewslm.serving.served import ServedModels
    from brewslm.training import train
    from brewslm.training.merge import load_trained
    from brewslm.training.run import read_run

    template = tmp_path / "plain.jinja"
    template.write_text(PLAIN_TEMPLATE, encoding="utf-8")
    result = train(config_for(sentiment, max_steps=1, chat_template=str(template)), progress=quiet)
    record = read_run(result.run_dir)
    assert record["chat_template"]["applied"] == str(template)

    served = ServedModels.load([str(result.run_dir)]).get(result.run_dir.name)
    assert template_sha256(served.tokenizer) == record["chat_template"]["sha256"]
    messages = MESSAGES[:4]
    trained = encode(
        conversation([*messages, {"role": "assistant", "content": "x"}], train="last"), served.tokenizer, 4096
    )
    prompt = served.chat_prompt_ids(messages)
    assert list(trained.input_ids[: len(prompt)]) == prompt and not any(trained.trained[: len(prompt)])
    assert served.tokenizer.decode(prompt).endswith("### assistant:\n")

    exported = export_hf(str(result.run_dir), tmp_path / "export")
    assert (Path(exported.out_dir) / "chat_template.jinja").read_text(encoding="utf-8").strip() == PLAIN_TEMPLATE

    (result.run_dir / "model" / "chat_template.jinja").write_text("{{ messages }}", encoding="utf-8")
    with pytest.raises(ConfigError, match="no longer carries the chat template the run trained with"):
        load_trained(result.run_dir)


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
