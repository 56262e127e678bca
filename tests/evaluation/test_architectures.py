"""Evaluation works on every architecture BrewSLM supports (Llama, Qwen2, Qwen3, Gemma 2, Gemma 3,
Phi-3, Mistral - tiny random models from ``helpers.tiny_architectures``): label scoring equals a
plain forward pass (sliding windows, soft-capping, fused projections and peft adapters included),
and ``evaluate`` writes a report by label scoring and by generation."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterator

import pytest

from brewslm.evaluation import evaluate, load_eval_config
from helpers.tiny_architectures import ARCHITECTURES, ATTENTIONS, TinyArchitectureDirs, tiny_architecture_dirs  # noqa: F401
from helpers.workspace import shared_workspace
from inference.scoring_models import full_forward_logprob, with_lora

from .test_runner import SENTIMENT

LABELS = ["negative", "positive", "mixed feelings"]
TEXTS = [
    "a fine film",
    "dull and far too long for anyone to sit through",
    "ok",
    "the quick brown fox jumps over the lazy dog",
]


@pytest.mark.parametrize("attention", ATTENTIONS)
@pytest.mark.parametrize("name", ARCHITECTURES)
def test_label_scores_equal_a_plain_forward_pass(
    name: str, attention: str | None, tiny_architecture_dirs: TinyArchitectureDirs
) -> None:
    from brewslm.inference.label_scoring import score_labels
    from brewslm.inference.prompts import full_prompt_ids, reply_ids
    from brewslm.tasks import get_task_profile
    from brewslm.tasks.rendering import RenderContext

    model, tokenizer = tiny_architecture_dirs.load(name, attention)
    profile, context = get_task_profile("classification"), RenderContext(labels=tuple(sorted(LABELS)))
    rendered = [profile.render({"text": text, "label": "positive"}, context) for text in TEXTS]
    for scored in (model.eval(), with_lora(model)):
        expected = []
        for item in rendered:
            prompt = full_prompt_ids(item, tokenizer)
            expected.append(
                {
                    label: full_forward_logprob(scored, prompt + reply, len(prompt))
                    for label, reply in zip(LABELS, reply_ids(item, tokenizer, LABELS))
                }
            )
        for batch_size in (1, 3):  # one prompt per forward (the whole prefix cached) and several
            scores = score_labels(scored, tokenizer, rendered, LABELS, batch_size=batch_size)
            for got, want in zip(scores, expected):
                assert got.logprobs == pytest.approx(want, abs=1e-4), (batch_size, type(scored).__name__)


@pytest.fixture(scope="module")
def space(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A private workspace holding the runner tests' sentiment rows as a test split."""
    from brewslm.ingestion import ImportSpec, run_import

    with shared_workspace(tmp_path_factory, "eval-architectures") as root:
        source = root / "sentiment.jsonl"
        source.write_text(
            "".join(json.dumps({"text": t, "label": label}) + "\n" for t, label in SENTIMENT[::2]), encoding="utf-8"
        )
        run_import(
            ImportSpec(
                locator=f"jsonl:{source}", mapper_id="label_to_classification", dataset="sentiment", split="test"
            )
        )
        yield root


@pytest.mark.parametrize("name", ARCHITECTURES)
def test_evaluate_by_label_scoring_and_by_generation(
    name: str, space: Path, tiny_architecture_dirs: TinyArchitectureDirs
) -> None:
    for strategy in ("label_scoring", "generation"):
        result = evaluate(
            load_eval_config(
                model=str(tiny_architecture_dirs[name]),
                dataset="sentiment",
                strategy=strategy,
                max_new_tokens=4,
                bootstrap_samples=0,
                baseline="none",
                max_seq_len=192,
                cheap_baselines=False,
                out_dir=str(space / f"{name}-{strategy}"),
            )
        )
        report: dict[str, Any] = result.report
        assert report["task"] == "classification" and report["strategy"] == strategy
        assert report["dataset"]["examples"] == 4
        assert 0.0 <= report["metrics"]["tuned"]["accuracy"] <= 1.0
        assert json.loads(result.paths["json"].read_text(encoding="utf-8"))["strategy"] == strategy
