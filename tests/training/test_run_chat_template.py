"""A run keeps the chat template it trained with: served and exported with it
(``inference.chat_templates`` over a real training run; the training fixtures are here)."""

from __future__ import annotations

from pathlib import Path

import pytest

from brewslm.errors import ConfigError
from brewslm.inference.chat_templates import template_sha256
from brewslm.inference.encoding import encode
from brewslm.tasks.rendering import conversation
from inference.test_chat_templates import MESSAGES, PLAIN_TEMPLATE


def test_a_run_serves_and_exports_the_template_it_trained_with(sentiment, config_for, quiet, tmp_path) -> None:
    from brewslm.export.hf import export_hf
    from brewslm.serving.served import ServedModels
    from brewslm.storage.run_records import read_run
    from brewslm.training import train
    from brewslm.training.merge import load_trained

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
