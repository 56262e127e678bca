"""rag_qa's faithfulness=llm_judge through the evaluation service on the tiny random model: the
judge (the baseline by default) rates every answer sentence with the passages and the answer, the
verdicts are saved in the predictions file and a re-score without a model reproduces the metrics;
a missing judge, edited predictions and an unknown scorer are one-line errors."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterator

import pytest

from brewslm.base_models import load_causal_lm
from brewslm.errors import ConfigError
from brewslm.evaluation import evaluate, load_eval_config, score_files
from brewslm.evaluation.baselines import Baseline
from brewslm.inference import judge_support
from brewslm.inference.grounding import SupportClaim
from helpers.tiny_model import save_tiny_causal_lm
from helpers.workspace import shared_workspace

PASSAGES = [
    "The Eiffel Tower was completed in 1889 for the World's Fair in Paris.",
    "Gustave Eiffel's company designed and built the tower.",
]
ROWS = [
    {"question": "When was the tower completed?", "passages": PASSAGES, "answer": "1889"},
    {"question": "Who built the tower?", "passages": PASSAGES, "answer": "Gustave Eiffel's company"},
    {"question": "How tall is the tower?", "passages": PASSAGES, "answer": ""},
]
JUDGED = {"faithfulness": "llm_judge"}


@pytest.fixture(scope="module")
def space(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    from brewslm.ingestion import ImportSpec, run_import

    with shared_workspace(tmp_path_factory, "eval-judged") as root:
        path = root / "rag.jsonl"
        path.write_text("".join(json.dumps(r) + "\n" for r in ROWS), encoding="utf-8")
        run_import(
            ImportSpec(
                locator=f"jsonl:{path}",
                mapper_id="rag_passthrough",
                dataset="rag",
                split="test",
                field_map={"question": "question", "passages": "context", "answer": "answer"},
            )
        )
        yield {"root": root, "model_dir": save_tiny_causal_lm(root / "tiny")}


def config_for(space: dict[str, Any], **fields: Any):
    tiny = str(space["model_dir"])
    return load_eval_config(
        **{
            "model": tiny,
            "baseline": tiny,
            "dataset": "rag",
            "max_new_tokens": 24,
            "max_seq_len": 256,
            "bootstrap_samples": 0,
            "handler_options": JUDGED,
            "temperature": 1.0,
            **fields,
        }
    )  # sampled: greedy replies of the random model are blank


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def test_judged_faithfulness_end_to_end_and_rescored(space: dict[str, Any]) -> None:
    events: list[dict] = []
    result = evaluate(config_for(space, out_dir=str(space["root"] / "out")), progress=events.append)
    tuned = result.report["metrics"]["tuned"]
    rows = read_jsonl(result.paths["predictions_tuned"])
    judged = [r for r in rows if r["judge_support"]["claims"]]
    assert judged, "the tiny model's replies should hold checkable sentences"
    assert any(e.get("model") == "judge" and e.get("phase") == "faithfulness of tuned" for e in events)

    # the judge (the baseline, by default) was asked about each sentence with the passages and the answer
    model, tokenizer = load_causal_lm(str(space["model_dir"]), device="cpu")
    for row in judged:
        assert row["judge_support"]["judge_model"] == space["model_dir"].name
        record, claims = row["record"], row["judge_support"]["claims"]
        asked = [
            SupportClaim(record["question"], tuple(record["passages"]), row["prediction"], c["sentence"])
            for c in claims
        ]
        assert judge_support(model, tokenizer, asked, max_seq_len=256) == pytest.approx(
            [c["support"] for c in claims], abs=1e-5
        )
        assert row["detail"]["faithfulness"] == pytest.approx(sum(c["support"] for c in claims) / len(claims))
    answered = [r for r in rows if "faithfulness" in r["detail"]]
    assert tuned["faithfulness"] == pytest.approx(sum(r["detail"]["faithfulness"] for r in answered) / len(answered))
    # the same weights on both sides: the same replies, the same verdicts
    assert result.report["metrics"]["base"]["faithfulness"] == pytest.approx(tuned["faithfulness"], abs=1e-6)

    # re-scoring the saved predictions without a model gives the report's numbers
    rescored = score_files(
        "rag_qa", None, result.paths["predictions_tuned"], options=JUDGED, dataset="rag", bootstrap_samples=0
    )
    assert rescored["metrics"] == tuned

    # verdicts missing or no longer matching the answer: one line naming the file and the line
    first = rows.index(judged[0]) + 1
    missing = [{k: v for k, v in r.items() if k != "judge_support"} for r in rows]
    with pytest.raises(ConfigError, match=rf"missing.jsonl line {first}: no judge verdicts") as error:
        score_files("rag_qa", None, write_jsonl(space["root"] / "missing.jsonl", missing), options=JUDGED)
    assert "\n" not in str(error.value)
    edited = [dict(r) for r in rows]
    edited[first - 1]["prediction"] = "Something else entirely happened in Rome."
    with pytest.raises(ConfigError, match=rf"edited.jsonl line {first}: the saved judge verdicts are for other"):
        score_files("rag_qa", None, write_jsonl(space["root"] / "edited.jsonl", edited), options=JUDGED)
    # the lexical scorer still re-scores the same file (it ignores the verdicts)
    assert (
        score_files("rag_qa", None, result.paths["predictions_tuned"], bootstrap_samples=0)["metrics"]["f1"]
        == tuned["f1"]
    )


def test_a_judged_evaluation_needs_a_judge(space: dict[str, Any]) -> None:
    with pytest.raises(ConfigError, match="faithfulness=llm_judge needs a judge model.*pass judge_model=MODEL"):
        evaluate(config_for(space, baseline="none"))
    result = evaluate(
        config_for(
            space,
            baseline="none",
            judge_model=str(space["model_dir"]),
            max_new_tokens=8,
            out_dir=str(space["root"] / "out-judge-model"),
        )
    )
    assert result.report["models"]["base"] is None
    assert all(
        r["judge_support"]["judge_model"] == space["model_dir"].name
        for r in read_jsonl(result.paths["predictions_tuned"])
    )


def test_an_unknown_faithfulness_scorer_fails_before_any_model_loads(space: dict[str, Any]) -> None:
    with pytest.raises(ConfigError) as error:
        evaluate(config_for(space, handler_options={"faithfulness": "nli"}))
    assert (
        str(error.value) == "handler option faithfulness='nli' is not available for rag_qa; scorers: lexical, llm_judge"
    )


class FirstSentence(Baseline):
    """Answers every question with its first passage's first sentence (a claim for the judge)."""

    name, title, task = "first_sentence", "the first passage's first sentence", "rag_qa"

    def fit(self, records, handler):
        return self

    def predict(self, records):
        return [record["passages"][0].split(". ")[0] for record in records]


def test_the_cheap_baselines_answers_are_judged_too(space: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    """A judged scorer rates the cheap baseline's answers with the same judge: its predictions
    file carries the verdicts and re-scores to the report's baseline metrics."""
    from brewslm.evaluation import baselines
    from brewslm.ingestion import ImportSpec, run_import

    with baselines.REGISTRY.replaced({}):  # the real ones set aside for this test
        baselines.register_baseline(FirstSentence)

        for split, suffix in (("train", ""), ("test", " Tell me.")):
            path = space["root"] / f"rag-{split}.jsonl"
            path.write_text(
                "".join(json.dumps({**r, "question": r["question"] + suffix}) + "\n" for r in ROWS), encoding="utf-8"
            )
            run_import(
                ImportSpec(
                    locator=f"jsonl:{path}",
                    mapper_id="rag_passthrough",
                    dataset="rag-split",
                    split=split,
                    field_map={"question": "question", "passages": "context", "answer": "answer"},
                )
            )
        result = evaluate(config_for(space, dataset="rag-split", out_dir=str(space["root"] / "out-baseline")))
        report = result.report
        assert report["models"]["baseline"]["name"] == "first_sentence", report["baselines"]
        rows = read_jsonl(result.paths["predictions_baseline"])
        assert all("judge_support" in row for row in rows)
        assert all(row["judge_support"]["claims"] for row in rows)
        rescored = score_files(
            "rag_qa",
            None,
            result.paths["predictions_baseline"],
            dataset="rag-split",
            options=JUDGED,
            bootstrap_samples=0,
        )
        assert rescored["metrics"] == report["metrics"]["baseline"]
