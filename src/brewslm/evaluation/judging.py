"""The local judges an evaluation may run: the pairwise judge (tuned vs base replies) and the
grounding judge of rag_qa's ``faithfulness: llm_judge``.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Mapping

from brewslm import inference as api
from brewslm.evaluation.config import EvalConfig
from brewslm.evaluation.handlers import EvalHandler
from brewslm.evaluation.model_refs import LoadedModel, load_model, resolve_model
from brewslm.evaluation.predicting import Predicted, max_new_tokens_for, progress_ticker
from brewslm.evaluation.progress import EvalProgress
from brewslm.evaluation.rows import EvalRows


def judge_replies(
    config: EvalConfig,
    handler: EvalHandler,
    rows: EvalRows,
    tuned: LoadedModel,
    base: LoadedModel,
    progress: EvalProgress | None,
) -> tuple[dict[str, Any], list[str], list[str], list[float]]:
    """Both models answer every prompt; a local judge says which reply is better, in both orders."""

    prompts = [r.prompt for r in rows.rendered]
    replies = {}
    for loaded, label in ((tuned, "tuned"), (base, "base")):
        with loaded.active():
            replies[label] = [
                g.text
                for g in api.generate(
                    loaded.model,
                    loaded.tokenizer,
                    rows.rendered,
                    max_new_tokens=max_new_tokens_for(config, handler),
                    temperature=config.temperature,
                    seed=config.seed,
                    batch_size=config.batch_size,
                    max_seq_len=config.max_seq_len,
                    progress=progress_ticker(progress, label, "replies for the judge"),
                )
            ]
    judge = load_judge(config, base)
    with judge.active():
        wins = api.judge_pairwise(
            judge.model,
            judge.tokenizer,
            prompts,
            replies["tuned"],
            replies["base"],
            batch_size=config.batch_size,
            max_seq_len=config.max_seq_len,
            progress=progress_ticker(progress, "judge", "pairwise"),
        )
    section = {**api.win_rates(wins), "judge_model": judge.ref.name}
    return section, replies["tuned"], replies["base"], list(wins)


def load_judge(config: EvalConfig, base: LoadedModel | None) -> LoadedModel:
    """The local judge: ``config.judge_model``, else the baseline as already loaded (a LoRA run's
    base is the run with its adapter off). ``plan_evaluation`` refused a judge with neither."""
    if config.judge_model:
        judge_ref = resolve_model(config.judge_model)
        return LoadedModel(judge_ref, *load_model(judge_ref, config.device))
    assert base is not None, "plan_evaluation refuses a judged evaluation without a judge or a baseline"
    return base


def judge_predictions(
    config: EvalConfig,
    handler: EvalHandler,
    rows: EvalRows,
    predicted: Mapping[str, list[Predicted]],
    judge: LoadedModel,
    progress: EvalProgress | None,
) -> dict[str, list[Predicted]]:
    """Judged handlers (rag_qa's ``faithfulness: llm_judge``): the judge rates what the handler
    asks about each prediction (``judge_claims``); the verdicts ride on the predictions, and so into
    the predictions files, where a re-score finds them."""

    judged = {}
    for label, values in predicted.items():
        claims = [handler.judge_claims(record, p.prediction) for record, p in zip(rows.records, values)]
        with judge.active():
            support = iter(
                api.judge_support(
                    judge.model,
                    judge.tokenizer,
                    [c for row in claims for c in row],
                    batch_size=config.batch_size,
                    max_seq_len=config.max_seq_len,
                    progress=progress_ticker(progress, "judge", f"faithfulness of {label}"),
                )
            )
        judged[label] = [
            dataclasses.replace(
                p,
                judge_support={
                    "judge_model": judge.ref.name,
                    "claims": [{"sentence": claim.sentence, "support": next(support)} for claim in row],
                },
            )
            for p, row in zip(values, claims)
        ]
    return judged


__all__ = [
    "judge_predictions",
    "judge_replies",
    "load_judge",
]
