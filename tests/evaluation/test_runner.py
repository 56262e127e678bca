"""The evaluation service end to end on the tiny random model: a LoRA run trained here, evaluated
against its own base (adapter switched off) by label scoring and by generation; reports,
predictions that re-score to the same metrics, gates, and the one-line errors."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path
from typing import Any, Iterator

import pytest

from brewslm.errors import ConfigError
from brewslm.evaluation import evaluate, load_eval_config, score_files
from brewslm.evaluation.baselines import Baseline, BaselineUnavailable
from brewslm.evaluation.model_refs import resolve_baseline, resolve_model
from brewslm.evaluation.progress import StderrEvalProgress
from helpers.tiny_model import save_tiny_causal_lm
from helpers.workspace import shared_workspace

SENTIMENT = [
    ("a wonderful, moving film", "positive"),
    ("I loved every minute of it", "positive"),
    ("brilliant acting and a great story", "positive"),
    ("the best movie this year", "positive"),
    ("a dull, lifeless mess", "negative"),
    ("I want my two hours back", "negative"),
    ("boring and far too long", "negative"),
    ("the worst script I have read", "negative"),
]
QA = [
    ("What is the capital of France?", "Paris"),
    ("What colour is the sky?", "blue"),
    ("How many legs does a dog have?", "four"),
    ("Which animal jumps over the dog?", "the fox"),
]


@pytest.fixture(scope="module")
def space(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """A private workspace with a sentiment and a QA dataset, the tiny model, and a 2-step LoRA run
    on the sentiment data (built once for the module)."""
    from brewslm.ingestion import ImportSpec, run_import
    from brewslm.storage.datasets import open_dataset
    from brewslm.training import build_config, train

    with shared_workspace(tmp_path_factory, "eval-runner") as root:

        def load(dataset: str, rows: list[dict], mapper: str, split: str, field_map: dict | None = None) -> None:
            path = root / f"{dataset}-{split}.jsonl"
            path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
            run_import(
                ImportSpec(locator=f"jsonl:{path}", mapper_id=mapper, dataset=dataset, split=split, field_map=field_map)
            )

        load("sentiment", [{"text": t, "label": label} for t, label in SENTIMENT], "label_to_classification", "train")
        load(
            "sentiment",
            [{"text": t + "!", "label": label} for t, label in SENTIMENT],
            "label_to_classification",
            "test",
        )
        load("qa", [{"question": q, "answer": a} for q, a in QA], "qa_pair_passthrough", "test")
        load(
            "prefs",
            [
                {"prompt": f"Say hi to {name}", "chosen": f"Hello {name}!", "rejected": "Go away."}
                for name in ("Ann", "Bo", "Cy")
            ],
            "preference_pair",
            "test",
        )
        load(
            "chats",
            [
                {
                    "messages": [
                        {"role": "user", "content": f"Hi, I am {name}"},
                        {"role": "assistant", "content": f"Hello {name}, how can I help?"},
                    ]
                }
                for name in ("Ann", "Bo", "Cy")
            ],
            "chat_messages_passthrough",
            "test",
        )
        load(
            "texts",
            [{"text": f"The quick brown fox {i} jumps over the lazy dog."} for i in range(3)],
            "text_only",
            "test",
        )
        load(
            "fields",
            [{"text": f"Order {i} from Acme ships on Monday", "order": i, "company": "Acme"} for i in range(3)],
            "kv_to_structured",
            "test",
            {"text": "text", "order": "target.order", "company": "target.company"},
        )
        model_dir = save_tiny_causal_lm(root / "tiny")
        config = build_config(
            {
                "dataset": "sentiment",
                "base_model": str(model_dir),
                "max_steps": 2,
                "batch_size": 4,
                "max_seq_len": 128,
                "lora": {"r": 4},
                "log_every": 1000,
                "output_dir": str(root / "run"),
            }
        )
        run_dir = train(config, progress=lambda event: None).run_dir
        yield {
            "root": root,
            "model_dir": model_dir,
            "run_dir": Path(run_dir),
            "with_subtasks": with_subtasks(open_dataset("sentiment").path, root / "sentiment-subtasks"),
        }


def with_subtasks(version: Path, copy: Path) -> Path:
    """A copy of a dataset version folder whose test rows carry a ``subtask`` (no mapper writes one
    yet; a dataset version folder is a valid ``dataset`` by path)."""
    shutil.copytree(version, copy)
    rows = [json.loads(line) for line in (copy / "test.jsonl").read_text(encoding="utf-8").splitlines()]
    for row in rows:
        row["subtask"] = "short" if len(row["text"]) < 26 else "long"
    (copy / "test.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return copy


def config_for(space: dict[str, Any], **fields: Any):
    fields.setdefault("model", str(space["run_dir"]))
    fields.setdefault("dataset", "sentiment")
    fields.setdefault("bootstrap_samples", 50)
    fields.setdefault("max_seq_len", 128)
    return load_eval_config(**fields)


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def test_label_scoring_run_against_its_base(space: dict[str, Any]) -> None:
    events: list[dict] = []
    result = evaluate(
        config_for(
            space,
            dataset=str(space["with_subtasks"]),
            gates=["accuracy >= 0", "lift.macro_f1 > 5"],
            out_dir=str(space["root"] / "out-labels"),
        ),
        progress=events.append,
    )
    report = result.report
    assert report["task"] == "classification" and report["strategy"] == "label_scoring"
    assert report["dataset"]["examples"] == 8 and report["dataset"]["split"] == "test"
    assert report["models"]["tuned"]["kind"] == "run"
    assert report["models"]["base"]["adapter_disabled_from"] == str(space["run_dir"])
    assert set(report["metrics"]["tuned"]) >= {"macro_f1", "accuracy", "length_ratio"}
    assert set(report["lift"]["macro_f1"]) >= {"base", "tuned", "lift", "ci_low", "ci_high"}
    assert set(report["by_subtask"]["tuned"]) == {"short", "long"}
    assert report["breakdown"]["tuned"]["labels"] == ["negative", "positive"]
    assert [g["passed"] for g in report["gates"]] == [True, False] and result.passed is False

    for name in ("json", "markdown", "html", "predictions_tuned", "predictions_base"):
        assert result.paths[name].is_file(), name
    assert json.loads(result.paths["json"].read_text())["passed"] is False
    rows = read_jsonl(result.paths["predictions_tuned"])
    assert [r["index"] for r in rows] == list(range(8)) and rows[0]["subtask"] in ("short", "long")
    assert rows[0]["prediction"]["label"] in ("negative", "positive") and rows[0]["gold"] == rows[0]["record"]["label"]
    assert sum(rows[0]["scores"]["probabilities"].values()) == pytest.approx(1.0)
    assert rows[0]["input"][-1]["role"] == "user"
    assert any(e["event"] == "predict" and e["done"] == e["total"] == 8 for e in events)

    # the saved predictions re-score, without a model, to the report's metrics
    for model in ("tuned", "base"):
        rescored = score_files(
            "classification",
            None,
            result.paths[f"predictions_{model}"],
            dataset=str(space["with_subtasks"]),
            bootstrap_samples=50,
        )
        assert rescored["metrics"] == report["metrics"][model]
        assert rescored["intervals"] == report["intervals"][model]
        assert rescored["by_subtask"] == report["by_subtask"][model]
    with pytest.raises(ConfigError, match="dataset 'qa' is qa, not classification"):
        score_files("classification", None, result.paths["predictions_tuned"], dataset="qa")


def test_adapter_off_baseline_equals_the_base_model_evaluated_alone(space: dict[str, Any]) -> None:
    with_run = evaluate(config_for(space, bootstrap_samples=0, out_dir=str(space["root"] / "out-a")))
    alone = evaluate(
        config_for(space, model=str(space["model_dir"]), bootstrap_samples=0, out_dir=str(space["root"] / "out-b"))
    )
    assert alone.report["models"]["base"] is None and alone.report["lift"] is None
    base_rows = read_jsonl(with_run.paths["predictions_base"])
    alone_rows = read_jsonl(alone.paths["predictions_tuned"])
    for a, b in zip(base_rows, alone_rows):
        assert a["prediction"] == b["prediction"]
        for label, value in a["scores"]["logprobs"].items():
            assert value == pytest.approx(b["scores"]["logprobs"][label], abs=1e-4)


def test_generation_task_and_default_out_dir(space: dict[str, Any]) -> None:
    result = evaluate(
        config_for(space, model=str(space["model_dir"]), dataset="qa", max_new_tokens=6, gates=["exact_match <= 1"])
    )
    report = result.report
    assert report["task"] == "qa" and report["strategy"] == "generation" and report["passed"] is True
    assert result.out_dir.parent == space["root"] / "home" / "evals" and result.out_dir.name.startswith("qa-test-")
    rows = read_jsonl(result.paths["predictions_tuned"])
    assert len(rows) == 4 and all(isinstance(r["raw"], str) and r["scores"]["tokens"] <= 6 for r in rows)
    assert (
        score_files("qa", None, result.paths["predictions_tuned"], bootstrap_samples=0)["metrics"]
        == report["metrics"]["tuned"]
    )
    with pytest.raises(ConfigError, match="option 'constrained': qa replies have no JSON schema"):
        evaluate(config_for(space, model=str(space["model_dir"]), dataset="qa", constrained=True))


def test_sampled_rows_and_strategy_generation_for_classification(space: dict[str, Any]) -> None:
    result = evaluate(
        config_for(
            space,
            strategy="generation",
            max_examples=3,
            max_new_tokens=4,
            baseline="none",
            out_dir=str(space["root"] / "out-gen"),
        )
    )
    assert result.report["dataset"]["examples"] == 3 and result.report["dataset"]["rows_in_split"] == 8
    assert result.report["models"]["base"] is None and "unparseable_rate" in result.report["metrics"]["tuned"]


def test_preference_scores_carry_the_base_as_reference(space: dict[str, Any]) -> None:
    tiny = str(space["model_dir"])
    result = evaluate(
        config_for(
            space,
            model=tiny,
            baseline=tiny,
            dataset="prefs",
            bootstrap_samples=0,
            out_dir=str(space["root"] / "out-prefs"),
        )
    )
    assert result.report["strategy"] == "preference" and result.report["models"]["base"]["kind"] == "model"
    tuned = read_jsonl(result.paths["predictions_tuned"])
    base = read_jsonl(result.paths["predictions_base"])
    for t, b in zip(tuned, base):
        assert t["prediction"]["ref_chosen_logprob"] == pytest.approx(b["prediction"]["chosen_logprob"])
        assert t["prediction"]["chosen_logprob"] == pytest.approx(b["prediction"]["chosen_logprob"], abs=1e-5)
        assert "ref_chosen_logprob" not in b["prediction"]
    assert result.report["lift"]["preference_accuracy"]["lift"] == pytest.approx(0.0)


def test_perplexity_and_the_judge_on_chat(space: dict[str, Any]) -> None:
    tiny = str(space["model_dir"])
    result = evaluate(
        config_for(
            space,
            model=tiny,
            baseline=tiny,
            dataset="chats",
            judge=True,
            max_new_tokens=4,
            bootstrap_samples=0,
            out_dir=str(space["root"] / "out-chat"),
        )
    )
    report = result.report
    assert report["strategy"] == "perplexity" and "perplexity" in report["lower_is_better"]
    # the same weights on both sides: identical replies, which the judge scores exactly 0.5 (a tie)
    assert report["judge"]["tie_rate"] == 1.0 and report["judge"]["examples"] == 3
    assert report["judge"]["judge_model"] == space["model_dir"].name
    rows = read_jsonl(result.paths["predictions_tuned"])
    assert all(r["scores"]["judge_win_probability"] == pytest.approx(0.5) and isinstance(r["raw"], str) for r in rows)
    nll = sum(r["prediction"]["nll"] for r in rows)
    tokens = sum(r["prediction"]["tokens"] for r in rows)
    assert report["metrics"]["tuned"]["perplexity"] == pytest.approx(math.exp(nll / tokens))


def test_language_modeling_perplexity_has_no_judge(space: dict[str, Any]) -> None:
    tiny = str(space["model_dir"])
    result = evaluate(
        config_for(space, model=tiny, dataset="texts", bootstrap_samples=0, out_dir=str(space["root"] / "out-text"))
    )
    assert result.report["task"] == "language_modeling" and result.report["metrics"]["tuned"]["perplexity"] > 1
    with pytest.raises(
        ConfigError, match="option 'judge' needs chat prompts to answer; language_modeling rows are raw"
    ):
        evaluate(config_for(space, model=tiny, baseline=tiny, dataset="texts", judge=True))
    with pytest.raises(ConfigError, match="'tiny' is not a run with a known base; pass --baseline MODEL"):
        evaluate(config_for(space, model=tiny, dataset="chats", judge=True))


def test_constrained_generation_for_field_match(space: dict[str, Any]) -> None:
    result = evaluate(
        config_for(
            space,
            model=str(space["model_dir"]),
            dataset="fields",
            constrained=True,
            max_new_tokens=24,
            bootstrap_samples=0,
            out_dir=str(space["root"] / "out-fields"),
        )
    )
    assert result.report["task"] == "structured_extraction" and result.report["scoring_mode"] == "field_match"
    rows = read_jsonl(result.paths["predictions_tuned"])
    # a constrained reply that ends by itself is a complete document of the schema
    for row in rows:
        if row["scores"]["finished"]:
            assert isinstance(json.loads(row["raw"]), dict) and row["prediction"] is not None
        else:
            assert row["raw"].lstrip().startswith("{")


def test_baseline_resolution(space: dict[str, Any]) -> None:
    run = resolve_model(str(space["run_dir"]))
    assert run.kind == "run" and run.is_lora_run
    assert resolve_baseline(config_for(space, baseline="none"), run) is None
    explicit = resolve_baseline(config_for(space, baseline=str(space["model_dir"])), run)
    assert explicit is not None and explicit.adapter_of == run  # its own base: the adapter is switched off
    plain = resolve_model(str(space["model_dir"]))
    assert plain.kind == "model" and resolve_baseline(config_for(space, model=str(space["model_dir"])), plain) is None


@pytest.mark.parametrize(
    "fields, message",
    [
        ({"gates": ["macro_f1 >> 0.8"]}, "macro_f1 >> 0.8"),
        ({"split": "validation"}, "has no 'validation' rows; splits with rows: train (8), test (8)"),
        ({"strategy": "perplexity"}, "classification is scored by label_scoring or generation, not perplexity"),
        ({"constrained": True}, "option 'constrained' applies to generation"),
        ({"judge": True}, "option 'judge' compares free replies"),
        ({"dataset": "qa"}, "was trained on a classification dataset but dataset 'qa' is qa"),
    ],
)
def test_user_errors_are_one_line(space: dict[str, Any], fields: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as info:
        evaluate(config_for(space, **fields))
    assert message in str(info.value) and "\n" not in str(info.value)


def test_a_bad_gate_fails_before_any_model_loads(space: dict[str, Any]) -> None:
    with pytest.raises(ConfigError, match="not-a-gate"):
        evaluate(config_for(space, model="/no/such/model", dataset="missing", gates=["not-a-gate"]))


# --- cheap baselines ---------------------------------------------------------------------------------


class WordVote(Baseline):
    """Each train word votes for its labels; the evaluated rows (the train texts with a '!') are
    recognised by their words, so this beats the tiny 2-step fine-tune."""

    name, title, task = "word_vote", "word vote", "classification"

    def fit(self, records, handler):
        self.votes: dict[str, dict[str, int]] = {}
        for record in records:
            for word in record["text"].lower().split():
                self.votes.setdefault(word, {}).setdefault(record["label"], 0)
                self.votes[word][record["label"]] += 1
        self.fitted = {"words": len(self.votes)}
        return self

    def predict(self, records):
        out = []
        for record in records:
            tally: dict[str, int] = {}
            for word in record["text"].lower().replace("!", "").split():
                for label, n in self.votes.get(word, {}).items():
                    tally[label] = tally.get(label, 0) + n
            out.append(max(sorted(tally), key=tally.get) if tally else None)
        return out


class AlwaysPositive(Baseline):
    name, title, task = "always_positive", "always 'positive'", "classification"

    def fit(self, records, handler):
        return self

    def predict(self, records):
        return ["positive"] * len(records)


class NeedsMoreRows(Baseline):
    name, title, task = "needs_more_rows", "needs a thousand rows", "classification"

    def fit(self, records, handler):
        raise BaselineUnavailable(f"{self.name}: {len(records)} train rows, fewer than the 1000 it needs")

    def predict(self, records):
        raise AssertionError("never fitted")


@pytest.fixture
def test_baselines() -> Iterator[None]:
    """Classification's cheap baselines are these three (the registry restored afterwards)."""
    from brewslm.evaluation import baselines

    with baselines.REGISTRY.replaced({}):
        for cls in (AlwaysPositive, NeedsMoreRows, WordVote):
            baselines.register_baseline(cls)
        yield


def test_cheap_baselines_beside_the_models(space: dict[str, Any], test_baselines: None) -> None:
    from brewslm.evaluation.aggregate import paired_lift
    from brewslm.evaluation.runner import plan_evaluation
    from brewslm.evaluation.scoring import score_all, statistics

    config = config_for(
        space,
        gates=["lift_vs_baseline.macro_f1 > 0", "baseline.macro_f1 >= 0.5"],
        out_dir=str(space["root"] / "out-baselines"),
    )
    result = evaluate(config)
    report = result.report
    # the strongest by the headline is the report's baseline, fitted on the 8 train rows
    assert report["models"]["baseline"] == {
        "name": "word_vote",
        "title": "word vote",
        "fitted": {"words": 36},
        "kind": "baseline",
        "fitted_on": {"split": "train", "examples": 8},
    }
    assert report["baselines_skipped"] is None
    entries = report["baselines"]
    assert list(entries) == ["always_positive", "needs_more_rows", "word_vote"]
    assert entries["needs_more_rows"]["unavailable"] == "needs_more_rows: 8 train rows, fewer than the 1000 it needs"
    assert entries["always_positive"]["metrics"]["macro_f1"] == pytest.approx(1 / 3)
    assert entries["word_vote"]["metrics"]["macro_f1"] == report["metrics"]["baseline"]["macro_f1"] == 1.0
    assert all(entry["seconds"] >= 0 for entry in entries.values())

    # the same numbers as fitting, predicting and scoring it directly, with the same bootstrap
    plan = plan_evaluation(config)
    train = list(plan.dataset.iter_records("train"))
    scored = score_all(plan.handler, plan.rows.records, WordVote().fit(train, plan.handler).predict(plan.rows.records))
    direct = statistics(plan.handler, scored, plan.rows.subtasks, samples=50, confidence=0.95, seed=0)
    assert report["metrics"]["baseline"] == direct["metrics"] and report["intervals"]["baseline"] == direct["intervals"]
    tuned_rows = read_jsonl(result.paths["predictions_tuned"])
    tuned = score_all(plan.handler, plan.rows.records, [r["prediction"] for r in tuned_rows])
    assert report["lift_vs_baseline"] == paired_lift(plan.handler, tuned, scored, samples=50, seed=0, confidence=0.95)

    # its predictions file re-scores to its metrics, like the models'
    rescored = score_files(
        "classification", None, result.paths["predictions_baseline"], dataset="sentiment", bootstrap_samples=50
    )
    assert rescored["metrics"] == report["metrics"]["baseline"]
    assert report["predictions"]["baseline"] == "predictions_baseline.jsonl"

    # the tiny fine-tune does not beat it: the gate fails, and the report says so first
    assert report["metrics"]["tuned"]["macro_f1"] < 1.0
    lift_gate, baseline_gate = report["gates"]
    assert lift_gate["passed"] is False and lift_gate["value"] == report["lift_vs_baseline"]["macro_f1"]["lift"]
    assert baseline_gate["passed"] is True and result.passed is False
    markdown = result.paths["markdown"].read_text(encoding="utf-8").splitlines()
    assert (
        markdown[2].startswith("**The cheap baseline (word vote, fitted in ") and "beats this fine-tune" in markdown[2]
    )
    assert "Do not ship this fine-tune" in markdown[2]


def test_cheap_baselines_skipped_with_a_reason(space: dict[str, Any], test_baselines: None) -> None:
    on_train = evaluate(
        config_for(
            space,
            split="train",
            baseline="none",
            bootstrap_samples=0,
            gates=["lift_vs_baseline.macro_f1 > 0"],
            out_dir=str(space["root"] / "out-on-train"),
        )
    )
    report = on_train.report
    assert "the evaluated split is train" in report["baselines_skipped"]
    assert report["models"]["baseline"] is None and report["metrics"]["baseline"] is None
    assert report["lift_vs_baseline"] is None and report["baselines"] == {}
    assert "predictions_baseline" not in on_train.paths
    assert "the evaluated split is train" in report["gates"][0]["reason"]
    switched_off = evaluate(
        config_for(
            space, baseline="none", bootstrap_samples=0, cheap_baselines=False, out_dir=str(space["root"] / "out-off")
        )
    )
    assert "switched off (cheap_baselines=false)" in switched_off.report["baselines_skipped"]
    no_train = evaluate(
        config_for(
            space,
            model=str(space["model_dir"]),
            dataset="prefs",
            bootstrap_samples=0,
            out_dir=str(space["root"] / "out-no-train"),
        )
    )
    assert no_train.report["baselines_skipped"] == "no cheap baseline is registered for dpo"


def test_a_dataset_without_train_rows_has_no_baseline(space: dict[str, Any]) -> None:
    from brewslm.evaluation import baselines

    assert baselines.baseline_classes("qa"), "the qa baselines are registered"
    result = evaluate(
        config_for(
            space,
            model=str(space["model_dir"]),
            dataset="qa",
            max_new_tokens=2,
            max_examples=2,
            bootstrap_samples=0,
            out_dir=str(space["root"] / "out-qa"),
        )
    )
    assert result.report["baselines_skipped"] == "dataset 'qa' v1 has no train rows to fit a cheap baseline on"


def write(path: Path, rows: list[Any]) -> Path:
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows), encoding="utf-8")
    return path


def test_score_files_with_a_gold_file(tmp_path: Path) -> None:
    gold = write(
        tmp_path / "gold.jsonl",
        [{"text": "good", "label": "pos"}, {"text": "bad", "label": "neg"}, {"text": "meh", "label": "neg"}],
    )
    pred = write(tmp_path / "pred.jsonl", [{"prediction": "pos"}, {"prediction": "pos"}, {"prediction": "neg"}])
    result = score_files("classification", gold, pred, bootstrap_samples=0)
    assert result["examples"] == 3 and result["metrics"]["accuracy"] == pytest.approx(2 / 3)
    assert result["headline"] == "macro_f1" and result["intervals"] == {}


@pytest.mark.parametrize(
    "gold_rows, pred_rows, message",
    [
        (
            [{"text": "a", "label": "x"}],
            [{"prediction": "x"}, {"prediction": "y"}],
            "gold.jsonl has 1 records but {pred} has 2 predictions",
        ),
        ([{"text": "a", "label": "x"}], ['{"prediction": "x"'], "pred.jsonl line 1: not valid JSON"),
        ([{"text": "a", "label": "x"}], [{"label": "x"}], 'pred.jsonl line 1: no "prediction" key'),
        ([{"text": "a"}], [{"prediction": "x"}], "gold.jsonl line 1: classification record field 'label'"),
        ([{"text": "a", "label": "x"}], ["[1, 2]"], "pred.jsonl line 1: a JSON list, expected an object"),
    ],
)
def test_score_files_errors_name_the_file_and_line(tmp_path: Path, gold_rows, pred_rows, message) -> None:
    gold, pred = write(tmp_path / "gold.jsonl", gold_rows), write(tmp_path / "pred.jsonl", pred_rows)
    with pytest.raises(ConfigError) as info:
        score_files("classification", gold, pred)
    assert message.format(pred=pred) in str(info.value) and "\n" not in str(info.value)


def test_score_files_without_gold_needs_records(tmp_path: Path) -> None:
    pred = write(tmp_path / "pred.jsonl", [{"prediction": "x"}])
    with pytest.raises(ConfigError, match='line 1: no "record" to score against; pass --gold FILE'):
        score_files("classification", None, pred)


def test_stderr_progress_lines(capsys: pytest.CaptureFixture) -> None:
    progress = StderrEvalProgress(interval=60)
    progress({"event": "info", "message": "evaluating x"})
    for done in (1, 2, 3):
        progress(
            {
                "event": "predict",
                "model": "tuned",
                "phase": "label_scoring",
                "done": done,
                "total": 3,
                "examples_per_s": 2.0,
                "eta_s": (3 - done) / 2,
            }
        )
    progress({"event": "unknown"})
    lines = capsys.readouterr().err.splitlines()
    assert lines == [
        "evaluating x",
        "tuned label_scoring: 1/3 examples | 2.0 examples/s | ETA 0m01s",
        "tuned label_scoring: 3/3 examples | 2.0 examples/s",
    ]
