"""Examples, class balance, batch plans and collation."""

from __future__ import annotations

import numpy as np
import pytest

from brewslm.errors import ConfigError
from brewslm.inference.batching import ExampleSet, collate, eval_batches, shared_prefix_length
from brewslm.inference.encoding import EncodedExample
from brewslm.tasks import get_task_profile
from brewslm.tasks.rendering import RenderContext
from brewslm.training.data import balance_classes, load_examples, plan_epoch
from helpers.tiny_model import build_tiny_tokenizer


def synthetic(lengths: list[int], reply: int = 2) -> ExampleSet:
    """Examples of the given lengths whose last ``reply`` tokens are trained (ids = position + 10)."""
    return ExampleSet.from_encoded(
        [EncodedExample(tuple(range(10, 10 + n)), tuple([False] * (n - reply) + [True] * reply)) for n in lengths]
    )


def test_examples_end_at_their_last_trained_token() -> None:
    examples = ExampleSet.from_encoded([EncodedExample((1, 2, 3, 4, 5), (False, False, True, False, False))])
    ids, trained = examples.example(0)
    assert ids.tolist() == [1, 2, 3] and trained.tolist() == [False, False, True]
    assert examples.input_length(0) == 2


def test_load_examples_streams_renders_and_reports() -> None:
    tokenizer = build_tiny_tokenizer()
    records = [{"text": f"review {i}", "label": "pos" if i % 3 else "neg"} for i in range(7)]
    examples = load_examples(
        iter(records), get_task_profile("classification"), RenderContext(), tokenizer, 256, class_field="label", limit=5
    )
    report = examples.report
    assert len(examples) == 5 and report.records == 5 and examples.classes == ["neg", "pos", "pos", "neg", "pos"]
    assert report.trained_tokens == int(examples.trained.sum()) and report.tokens == int(examples.lengths.sum())


def test_records_without_a_reply_are_skipped_and_counted() -> None:
    tokenizer = build_tiny_tokenizer()
    tools = [{"name": "f", "description": "", "parameters": {"type": "object", "properties": {}}}]
    records = [
        {
            "messages": [{"role": "user", "content": "call f"}],
            "tools": tools,
            "calls": [{"tool": "f", "arguments": {}}],
        },
        {"messages": [{"role": "user", "content": "hi"}], "tools": tools, "calls": [], "answer": None},
    ]
    examples = load_examples(records, get_task_profile("tool_call"), RenderContext(), tokenizer, 512)
    assert len(examples) == 1 and examples.report.skipped == {"no_completion": 1}


def test_upsampling_and_downsampling_balance_classes() -> None:
    classes = ["a"] * 6 + ["b"] * 2 + ["c"] * 1
    up, report = balance_classes(classes, "upsample", seed=0)
    assert report == {"mode": "upsample", "before": {"a": 6, "b": 2, "c": 1}, "after": {"a": 6, "b": 6, "c": 6}}
    assert sorted(np.bincount(up, minlength=9).tolist()[:6]) == [1] * 6  # the majority class unchanged
    assert np.array_equal(up, balance_classes(classes, "upsample", seed=0)[0])  # seeded
    down, report = balance_classes(classes, "downsample", seed=0)
    assert report["after"] == {"a": 1, "b": 1, "c": 1} and len(down) == 3 and 8 in down
    none, report = balance_classes(classes, "none", seed=0)
    assert report is None and none.tolist() == list(range(9))


def test_epoch_plans_are_pure_functions_of_seed_and_epoch() -> None:
    lengths = np.array([5 + (i * 7) % 40 for i in range(100)])
    args = dict(batch_size=8, batching="length_grouped", seed=3, max_seq_len=64)
    first = plan_epoch(lengths, np.arange(100), epoch=0, **args)
    assert first == plan_epoch(lengths, np.arange(100), epoch=0, **args)
    assert first != plan_epoch(lengths, np.arange(100), epoch=1, **args)
    assert sorted(i for batch in first for row in batch for i in row) == list(range(100))


def test_length_grouping_cuts_padding_and_puts_the_longest_batch_first() -> None:
    rng = np.random.default_rng(0)
    lengths = rng.integers(5, 200, size=400)

    def padding(plan) -> int:
        return sum(len(b) * max(lengths[r[0]] for r in b) - sum(lengths[r[0]] for r in b) for b in plan)

    grouped = plan_epoch(
        lengths, np.arange(400), batch_size=8, batching="length_grouped", seed=0, epoch=0, max_seq_len=256
    )
    padded = plan_epoch(lengths, np.arange(400), batch_size=8, batching="padded", seed=0, epoch=0, max_seq_len=256)
    assert padding(grouped) * 5 < padding(padded)
    assert max(lengths[r[0]] for r in grouped[0]) == lengths.max()


def test_packing_fills_rows_up_to_max_seq_len() -> None:
    lengths = np.array([11, 21, 31, 41, 6, 16])
    plan = plan_epoch(lengths, np.arange(6), batch_size=2, batching="packed", seed=0, epoch=0, max_seq_len=50)
    rows = [row for batch in plan for row in batch]
    assert sorted(i for row in rows for i in row) == list(range(6))
    assert all(sum(lengths[i] - 1 for i in row) <= 50 for row in rows)
    assert len(rows) < 6


def test_an_unknown_batching_is_an_error() -> None:
    with pytest.raises(ConfigError, match="unknown batching"):
        plan_epoch(np.array([3]), np.arange(1), batch_size=1, batching="sorted", seed=0, epoch=0, max_seq_len=8)


def test_collate_right_pads_and_points_at_the_trained_targets() -> None:
    examples = synthetic([5, 3])
    batch = collate(examples, [(0,), (1,)], pad_id=0)
    assert batch.input_ids.tolist() == [[10, 11, 12, 13], [10, 11, 0, 0]]
    assert batch.attention_mask is None and batch.position_ids is None  # right padding needs no mask
    # example 0 trains tokens 3, 4 (predicted at positions 2, 3); example 1 tokens 1, 2 (positions 0, 1)
    assert batch.target_index.tolist() == [2, 3, 4, 5] and batch.target_ids.tolist() == [13, 14, 11, 12]
    assert batch.tokens == 6 and batch.examples == 2 and batch.targets == 4


def test_collate_packed_rows_restart_positions_and_block_attention() -> None:
    examples = synthetic([4, 3])
    batch = collate(examples, [(0, 1)], pad_id=0)
    assert batch.input_ids.tolist() == [[10, 11, 12, 10, 11]]
    assert batch.position_ids.tolist() == [[0, 1, 2, 0, 1]]
    mask = batch.attention_mask[0, 0].int().tolist()
    assert mask == [
        [1, 0, 0, 0, 0],
        [1, 1, 0, 0, 0],
        [1, 1, 1, 0, 0],
        [0, 0, 0, 1, 0],
        [0, 0, 0, 1, 1],
    ]
    assert batch.target_index.tolist() == [1, 2, 3, 4] and batch.target_ids.tolist() == [12, 13, 11, 12]


def test_eval_batches_are_fixed_and_length_sorted() -> None:
    examples = synthetic([3, 9, 5, 7])
    assert eval_batches(examples, 2) == [[(1,), (3,)], [(2,), (0,)]]


def test_shared_prefix_stops_before_the_first_target() -> None:
    ids = np.array([[1] * 12 + [5, 6, 7], [1] * 12 + [5, 9, 0], [1] * 11 + [4, 5, 6, 7]])
    targets = np.full(ids.shape, -1)
    targets[0, 13:] = 1
    targets[1, 12:] = 1
    targets[2, 14:] = 1
    assert shared_prefix_length(ids, targets) == 11  # where row 2 differs
    targets[0, 9] = 1
    assert shared_prefix_length(ids, targets) == 9  # row 0 predicts from position 9 on
    targets[0, 7] = 1
    assert shared_prefix_length(ids, targets) == 0  # too short to be worth a separate pass
    assert shared_prefix_length(ids[:1], targets[:1]) == 0


def test_collate_marks_the_shared_prompt_prefix() -> None:
    tokenizer = build_tiny_tokenizer()
    records = [{"text": t, "label": "pos"} for t in ("one", "two words", "and three words")]
    examples = load_examples(records, get_task_profile("classification"), RenderContext(), tokenizer, 256)
    batch = collate(examples, [(0,), (1,), (2,)], pad_id=0, share_prefix=True)
    prefix = tokenizer.decode(batch.input_ids[0, : batch.prefix_len])
    assert prefix.endswith("Text:") or prefix.endswith("Text: ")
    assert collate(examples, [(0,), (1,)], pad_id=0).prefix_len == 0  # off unless asked for


TOOLS = [
    {
        "name": "lookup",
        "description": "Find an order",
        "parameters": {"type": "object", "properties": {"id": {"type": "string"}}},
    }
]
EVERY_PROFILE = [
    ("classification", {"text": "fine", "label": "pos"}, "pos"),
    (
        "structured_extraction",
        {"text": "Ada codes", "spans": [{"start": 0, "end": 3, "label": "PER"}]},
        '[{"text": "Ada", "label": "PER"}]',
    ),
    ("structured_extraction", {"text": "total 3", "target": {"total": 3}}, '{"total": 3}'),
    ("qa", {"question": "Who?", "answer": "Ada", "context": "Ada did."}, "Ada"),
    (
        "rag_qa",
        {"question": "When?", "passages": ["No dates here."], "answer": "", "is_refusal": True},
        "I don't have that information.",
    ),
    ("chat_sft", {"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "yo"}]}, "yo"),
    ("dpo", {"prompt": [{"role": "user", "content": "hi"}], "chosen": "hello", "rejected": "go"}, "hello"),
    (
        "tool_call",
        {
            "messages": [{"role": "user", "content": "order 7?"}],
            "tools": TOOLS,
            "calls": [{"tool": "lookup", "arguments": {"id": "7"}}],
        },
        '{"tool": "lookup", "arguments": {"id": "7"}}',
    ),
]


@pytest.mark.parametrize(
    "profile_id, record, reply", EVERY_PROFILE, ids=[f"{p}-{i}" for i, (p, _, _) in enumerate(EVERY_PROFILE)]
)
def test_every_profile_trains_exactly_its_reply(profile_id, record, reply) -> None:
    tokenizer = build_tiny_tokenizer()
    examples = load_examples([record], get_task_profile(profile_id), RenderContext(), tokenizer, 1024)
    ids, trained = examples.example(0)
    assert tokenizer.decode(ids[trained].tolist()) == reply + "<|im_end|>"


def test_sample_records_is_a_seeded_random_sample_in_stored_order() -> None:
    from brewslm.training.data import sample_records

    records = [{"i": i} for i in range(100)]
    picked = sample_records(iter(records), 10, seed=3)
    assert len(picked) == 10 and picked == sorted(picked, key=lambda r: r["i"])
    assert picked == sample_records(iter(records), 10, seed=3)
    assert picked != sample_records(iter(records), 10, seed=4)
    assert any(r["i"] >= 10 for r in picked)  # not simply the first ten: later records get picked too
    assert sample_records(records, None, seed=3) is records
    assert sample_records(iter(records[:5]), 10, seed=3) == records[:5]
