"""Every evaluation option, in one typed object shared by the CLI, the Python API and the web UI.

    config = load_eval_config("eval.yaml", overrides=["max_examples=200"], model="reviews-lora-...",
                              dataset="reviews", gates=["macro_f1 >= 0.85", "lift.macro_f1 > 0"])

``EvalConfig`` rides on the training config's option machinery (``brewslm.training.config``): a
YAML file, then keyword fields, then ``KEY=VALUE`` overrides; an unknown key is a one-line
``ConfigError`` with a did-you-mean; each field's description is its ``--help`` text.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar, Iterable, Literal, Optional

from pydantic import Field, field_validator

from brewslm.inference.chat_templates import check_choice
from brewslm.options import build_options, load_options, update_options
from brewslm.training.config import TrackingOptions

NO_BASELINE = "none"
"""``baseline: none`` evaluates the model alone (no lift)."""


class EvalConfig(TrackingOptions):
    """One evaluation: a model (and its base) scored on one split of a dataset."""

    options_help: ClassVar[str] = "brewslm eval --help"
    options_label: ClassVar[str] = "eval config"

    # what to evaluate, on what
    model: str = Field(
        description="The model to evaluate: a training run folder or run name (its adapter or weights), an exported "
        "or other local model folder, a .gguf file or a hub id.",
    )
    baseline: Optional[str] = Field(
        None,
        description="The model the lift is measured against, on the same rows: a run, model folder, .gguf or hub id; "
        "'none' evaluates the model alone (unset: a run's or an exported run's base model, with a LoRA run's adapter "
        "switched off so one model is loaded; no baseline for other models).",
    )
    dataset: str = Field(description="Dataset name in the workspace, or the path of a dataset version folder.")
    dataset_version: Optional[int] = Field(None, ge=1, description="Dataset version (unset: the current one).")
    split: Literal["train", "validation", "test"] = Field(
        "test", description="Split to evaluate on (held-out gold rows)."
    )
    max_examples: Optional[int] = Field(
        None,
        ge=1,
        description="Evaluate a seeded random sample of this many rows, kept in file order (unset: all rows).",
    )
    seed: int = Field(0, description="Seed for the row sample, sampling at temperature > 0 and the bootstrap.")

    # how predictions are made
    strategy: Optional[Literal["label_scoring", "generation", "preference", "perplexity"]] = Field(
        None,
        description="label_scoring (classification: the likelihood of each label), generation (decode, then parse), "
        "preference (log-probs of chosen vs rejected) or perplexity (unset: the task's default).",
    )
    max_new_tokens: Optional[int] = Field(
        None, ge=1, description="Generation budget per example (unset: the task's default)."
    )
    temperature: float = Field(0.0, ge=0, description="Sampling temperature for generation; 0 is greedy.")
    constrained: bool = Field(
        False,
        description="Constrain generation to the task's JSON schema (field_match records, tool calls), so every reply "
        "parses; compare valid-JSON rates with and without.",
    )
    batch_size: int = Field(8, ge=1, description="Examples per forward pass.")
    max_seq_len: int = Field(
        2048, ge=16, description="Longest prompt in tokens; longer prompts lose tokens from the middle, as in training."
    )
    device: Optional[str] = Field(None, description="cpu, cuda, cuda:1... (unset: CUDA when available, else CPU).")

    cheap_baselines: bool = Field(
        True,
        description="Also fit the task's cheap baselines (TF-IDF + logistic regression, a CRF, a cue rule...) on the "
        "dataset's train split, score them on the same rows with the same scorer, and compare the fine-tune with the "
        "strongest ('lift_vs_baseline'); false skips them. Skipped with a reason when the evaluated split is train.",
    )

    # statistics and gates
    bootstrap_samples: int = Field(
        1000, ge=0, description="Bootstrap resamples for the confidence intervals (0: no intervals)."
    )
    confidence: float = Field(0.95, gt=0, lt=1, description="Confidence level of the bootstrap intervals.")
    gates: list[str] = Field(
        default_factory=list,
        description="Conditions the evaluation must meet, e.g. 'macro_f1 >= 0.85', 'lift.macro_f1 > 0', "
        "'lift.macro_f1.ci_low > 0', 'base.accuracy < 0.9'; the command exits 1 when one fails.",
    )
    handler_options: dict[str, Any] = Field(
        default_factory=dict,
        description="Options of the task's scorer, e.g. {normalize_case: false} for field_match or {beta: 0.1} for dpo.",
    )

    # LLM-as-judge (chat_sft, language_modeling; rag_qa faithfulness)
    judge: bool = Field(
        False,
        description="chat_sft / language_modeling: also generate replies with both models and report the win rate of "
        "the model over the baseline, judged pairwise by a local model (both presentation orders, to cancel position bias).",
    )
    judge_model: Optional[str] = Field(
        None,
        description="The judge, for 'judge' and for rag_qa's handler option faithfulness=llm_judge: a model folder, "
        ".gguf or hub id (unset: the baseline model).",
    )

    # output
    out_dir: Optional[str] = Field(
        None,
        description="Folder for report.json/.md/.html and the predictions (unset: <run>/eval/<dataset>-<split>-<time> "
        "for a run, else <BREWSLM_HOME>/evals/<dataset>-<split>-<time>).",
    )

    chat_template: str = Field(
        "model",
        description="Turn format of plain models (the base, or a tuned model folder that is not a run): "
        "model (its own; ChatML when it has none), chatml, llama3, qwen, gemma, phi or a .jinja file. A run always "
        "renders with the template it trained with.",
    )

    @field_validator("chat_template")
    @classmethod
    def _known_template(cls, choice: str) -> str:

        return check_choice(choice)

    @field_validator("gates", mode="before")
    @classmethod
    def _one_gate_is_a_list(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value

    @field_validator("baseline", "judge_model", "model", mode="after")
    @classmethod
    def _not_blank(cls, value: Optional[str]) -> Optional[str]:
        if value is not None and not value.strip():
            raise ValueError("is empty; name a run, a model folder or a hub id")
        return value.strip() if value is not None else None

    @property
    def skips_baseline(self) -> bool:
        return (self.baseline or "").lower() == NO_BASELINE

    def to_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json")

    def to_yaml(self) -> str:
        import yaml

        return yaml.safe_dump(self.to_dict(), sort_keys=False, allow_unicode=True)


def build_eval_config(data: dict[str, Any]) -> EvalConfig:
    """Validate a dict of options into an ``EvalConfig``; errors are one-line ``ConfigError``s."""
    return build_options(EvalConfig, data)


def load_eval_config(path: str | Path | None = None, overrides: Iterable[str] = (), **fields: Any) -> EvalConfig:
    """Options from a YAML file, then keyword ``fields`` (None ones ignored), then ``key=value``
    overrides (later wins)."""
    return load_options(EvalConfig, path, overrides, fields)


def update_eval_config(config: EvalConfig, overrides: Iterable[str] = (), **fields: Any) -> EvalConfig:
    return update_options(config, overrides, fields)


__all__ = ["NO_BASELINE", "EvalConfig", "build_eval_config", "load_eval_config", "update_eval_config"]
