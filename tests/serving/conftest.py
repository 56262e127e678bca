"""Fixtures the serving tests share: a private workspace, a tiny base model, LoRA runs trained
over that one base (so several adapters share it), and a real uvicorn server on a loopback port.

- ``serving_space`` (package): the private workspace (``BREWSLM_HOME``) the runs and datasets
  live in, for all serving tests; its ``root`` is a scratch folder.
- ``served_base_dir`` (package): the tiny random Llama with unit-variance embeddings and
  layers at scale 2/sqrt(fan_in) (``lively``): at the usual 0.02 init every next-token
  distribution is near-uniform, LoRA barely moves it and the model greedily repeats the prompt's
  last token, so replies would not differ between prompts or between an adapter and its base.
- ``tiny_runs`` (package): ``tiny_runs.train(name, task_rows, mapper, field_map=None)`` imports
  the rows as dataset ``name`` (train split) and trains a short LoRA run on ``served_base_dir``;
  returns the run folder (cached per name). Any task the mappers know can get a run this way.
- ``sentiment_run`` / ``qa_run`` (package): two finished LoRA runs over the same base -
  classification (labels negative/positive) and qa.
- ``tool_call_run`` (package): a LoRA tool_call run over the same base that has learnt its few
  conversations by heart (``TOOL_CALL_ASKS``: a call of ``get_time``, its answer after the tool
  result, and a direct "Hello!"), so both kinds of reply can be served and checked.
- ``serve``: ``brewslm.serving.local.running_server`` - ``with serve(app) as base_url: ...``
  runs the app under uvicorn on a free loopback port in a thread.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping, Sequence

import pytest

from brewslm.serving.local import running_server
from evaluation.test_runner import QA, SENTIMENT
from helpers.workspace import shared_workspace
from inference.scoring_models import tiny_model, tiny_tokenizer
from inference.test_generation import lively


@pytest.fixture(scope="package")
def serving_space(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A private workspace for the whole serving test package (runs are trained once)."""
    with shared_workspace(tmp_path_factory, "serving") as root:
        yield root


@pytest.fixture(scope="package")
def served_base_dir(serving_space: Path) -> Path:
    """The tiny random Llama + ChatML tokenizer, weights at a lively scale (see the module notes)."""
    path = serving_space / "tiny-base"
    tokenizer = tiny_tokenizer()
    model = lively(tiny_model(tokenizer, seed=0), seed=0)
    model.save_pretrained(str(path))
    tokenizer.save_pretrained(str(path))
    return path


class TinyRuns:
    """Short LoRA runs over one base model, trained on rows imported here (one dataset per run)."""

    def __init__(self, root: Path, base_dir: Path):
        self.root = root
        self.base_dir = base_dir
        self._runs: dict[str, Path] = {}

    def train(
        self,
        name: str,
        rows: Sequence[Mapping[str, Any]],
        mapper: str,
        field_map: Mapping[str, str] | None = None,
        **fields: Any,
    ) -> Path:
        """Import ``rows`` with ``mapper`` as dataset ``name`` and train run ``name`` on it (once per
        name); ``fields`` override the TrainConfig defaults below."""
        if name in self._runs:
            return self._runs[name]
        from brewslm.ingestion import ImportSpec, run_import
        from brewslm.training import build_config, train

        source = self.root / f"{name}.jsonl"
        source.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
        run_import(
            ImportSpec(
                locator=f"jsonl:{source}",
                mapper_id=mapper,
                dataset=name,
                split="train",
                field_map=dict(field_map) if field_map else None,
            )
        )
        config = {
            "dataset": name,
            "base_model": str(self.base_dir),
            "max_steps": 6,
            "batch_size": 4,
            "max_seq_len": 128,
            "learning_rate": 2e-2,
            "lora": {"r": 4, "alpha": 8},
            "log_every": 1000,
            "output_dir": str(self.root / "runs" / name),
            **fields,
        }
        run_dir = Path(train(build_config(config), progress=lambda event: None).run_dir)
        self._runs[name] = run_dir
        return run_dir


@pytest.fixture(scope="package")
def tiny_runs(serving_space: Path, served_base_dir: Path) -> TinyRuns:
    return TinyRuns(serving_space, served_base_dir)


@pytest.fixture(scope="package")
def sentiment_run(tiny_runs: TinyRuns) -> Path:
    """A finished LoRA classification run (labels: negative, positive) over ``served_base_dir``."""
    return tiny_runs.train(
        "sentiment", [{"text": t, "label": label} for t, label in SENTIMENT], "label_to_classification"
    )


@pytest.fixture(scope="package")
def qa_run(tiny_runs: TinyRuns) -> Path:
    """A finished LoRA qa run over the same base as ``sentiment_run``."""
    return tiny_runs.train("qa", [{"question": q, "answer": a} for q, a in QA], "qa_pair_passthrough")


TIME_TOOL = {
    "type": "function",
    "function": {
        "name": "get_time",
        "description": "The time now.",
        "parameters": {"type": "object", "properties": {}},
    },
}
TIME_RESULT = '{"time": "12:00"}'
TOOL_CALL_ASKS = ("What time is it?", "Time please?", "What is the time now?", "Tell me the time.")
GREETINGS = ("Say hello", "Say hello please", "Greet me")


def tool_call_rows() -> list[dict[str, Any]]:
    """OpenAI-shaped conversations (the tool_call_passthrough mapper's first shape): each time
    question is answered by a get_time call, then - after its result - by "It is 12:00."; each
    greeting by "Hello!" without a call."""
    call = {"id": "c1", "type": "function", "function": {"name": "get_time", "arguments": "{}"}}
    rows = [
        {
            "messages": [
                {"role": "user", "content": ask},
                {"role": "assistant", "content": None, "tool_calls": [call]},
                {"role": "tool", "tool_call_id": "c1", "content": TIME_RESULT},
                {"role": "assistant", "content": "It is 12:00."},
            ],
            "tools": [TIME_TOOL],
        }
        for ask in TOOL_CALL_ASKS
    ]
    rows += [
        {
            "messages": [{"role": "user", "content": ask}, {"role": "assistant", "content": "Hello!"}],
            "tools": [TIME_TOOL],
        }
        for ask in GREETINGS
    ]
    return rows


@pytest.fixture(scope="package")
def tool_call_run(tiny_runs: TinyRuns) -> Path:
    """A LoRA tool_call run over ``served_base_dir`` that knows ``tool_call_rows`` by heart (a
    rank as wide as the tiny model and enough steps: the tools' system prompt is ~300 tokens)."""
    return tiny_runs.train(
        "tools",
        tool_call_rows(),
        "tool_call_passthrough",
        max_steps=80,
        max_seq_len=512,
        batch_size=7,
        learning_rate=3e-2,
        lora={"r": 32, "alpha": 32},
    )


@pytest.fixture(scope="session")
def serve() -> Callable[..., Any]:
    """``with serve(app) as base_url:`` - the app under uvicorn on a free loopback port."""
    return running_server
