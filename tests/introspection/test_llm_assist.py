"""LLM assist: the teacher's answer is parsed leniently, validated strictly and gated like any
proposal; the real Hugging Face teacher path runs on the tiny random model."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from brewslm.introspection import ACCEPT_THRESHOLD, ChoosingTeacher, HFTeacher, Teacher, introspect_profile, profile_rows
from brewslm.introspection.llm_assist import (
    ANSWER_CHARS,
    AnswerError,
    build_prompt,
    first_json_object,
    parse_answer,
)
from brewslm.mappers import list_mappers

pytestmark = pytest.mark.usefixtures("isolated_registry")

# Field names no toy sniffer recognises, so only the teacher can find the labelled mapping.
HARD_ROWS = [{"utterance": f"please {verb} my card", "intent_code": verb, "n": i}
             for i, verb in enumerate(("freeze", "cancel", "renew") * 10)]


class ScriptedTeacher:
    name = "scripted"

    def __init__(self, answer: str):
        self.answer = answer
        self.prompts: list[str] = []

    def complete(self, prompt: str) -> str:
        self.prompts.append(prompt)
        return self.answer


def assist(answer: str, rows=HARD_ROWS):
    teacher = ScriptedTeacher(answer)
    result = introspect_profile(profile_rows(rows), locator="memory", llm_assist=True, teacher=teacher)
    return result, teacher


def test_a_good_answer_is_gated_and_accepted() -> None:
    result, teacher = assist('{"mapper_id": "toy_label", "field_map": {"utterance": "text", "intent_code": "label"}}')
    assert result.accepted is not None
    assert result.accepted.mapper_id == "toy_label" and result.accepted.confidence >= ACCEPT_THRESHOLD
    assert result.proposals[0] is result.accepted
    assert result.accepted.evidence[0] == "proposed by the teacher model (scripted)"
    assert any(e.startswith("dry run: 30/30") for e in result.accepted.evidence)
    report = result.llm_assist
    assert report["verdict"] == "accepted" and report["teacher"] == "scripted"
    assert report["proposal"]["mapper_id"] == "toy_label"
    assert report["asked"]["sample_rows_shown"] == 3
    assert "toy_label" in report["asked"]["mappers"]
    assert json.loads(json.dumps(result.to_dict()))["accepted"]["mapper_id"] == "toy_label"
    assert len(teacher.prompts) == 1


def test_unknown_mapper_id_is_rejected_not_trusted() -> None:
    result, _ = assist('{"mapper_id": "intent_magic", "field_map": {"utterance": "text"}}')
    assert result.accepted is None
    assert result.llm_assist["verdict"] == "rejected"
    assert "unknown mapper 'intent_magic'" in result.llm_assist["reason"]
    assert result.llm_assist["proposal"]["confidence"] == 0.0
    assert all(p.mapper_id != "intent_magic" for p in result.proposals)


def test_nonexistent_field_is_rejected() -> None:
    result, _ = assist('{"mapper_id": "toy_label", "field_map": {"sentence": "text", "intent_code": "label"}}')
    assert result.accepted is None
    assert "source field 'sentence' is not in the data" in result.llm_assist["reason"]


def test_non_json_answer_is_rejected() -> None:
    result, _ = assist("I think this is a classification dataset about bank cards.")
    assert result.accepted is None
    assert result.llm_assist["verdict"] == "rejected"
    assert result.llm_assist["reason"] == "unusable answer: the answer contains no JSON object"
    assert result.llm_assist["proposal"] is None
    assert result.llm_assist["raw_answer"].startswith("I think")


def test_a_proposal_that_maps_badly_is_rejected_by_the_dry_run() -> None:
    rows = [{"utterance": f"u{i}", "intent_code": None if i % 2 else "x"} for i in range(20)]
    result, _ = assist('{"mapper_id": "toy_label", "field_map": {"utterance": "text", "intent_code": "label"}}', rows)
    assert result.accepted is None
    assert "below 0.8" in result.llm_assist["reason"]
    assert result.llm_assist["proposal"]["confidence"] < ACCEPT_THRESHOLD


def test_chatter_and_code_fences_around_the_json_are_ignored() -> None:
    answer = ('Sure! Here is the mapping {not json}:\n```json\n{"mapper_id": "toy_label", "field_map": '
              '{"utterance": "text", "intent_code": "label"}}\n```\nHope it helps {"mapper_id": "toy_plain"}')
    result, _ = assist(answer)
    assert result.accepted is not None and result.accepted.mapper_id == "toy_label"


def test_a_reversed_field_map_is_read_the_right_way_round() -> None:
    result, _ = assist("{'mapper_id': 'toy_label', 'field_map': {'text': 'utterance', 'label': 'intent_code'}}")
    assert result.accepted is not None
    assert result.accepted.field_map == {"utterance": "text", "intent_code": "label"}
    assert any("read it reversed" in e for e in result.accepted.evidence)


@pytest.mark.parametrize(("answer", "message"), [
    ('{"field_map": {"utterance": "text"}}', 'no "mapper_id" string'),
    ('{"mapper_id": "toy_label"}', 'no non-empty "field_map" object'),
    ('{"mapper_id": "toy_label", "field_map": {}}', 'no non-empty "field_map" object'),
    ('{"mapper_id": "toy_label", "field_map": {"utterance": ["text"]}}', "strings"),
    ('{"mapper_id": 7, "field_map": {"utterance": "text"}}', 'no "mapper_id" string'),
])
def test_strict_validation_of_the_parsed_answer(answer: str, message: str) -> None:
    profile = profile_rows(HARD_ROWS)
    with pytest.raises(AnswerError, match=message):
        parse_answer(answer, profile, {m.id: m for m in list_mappers()})
    result, _ = assist(answer)
    assert result.accepted is None and message in result.llm_assist["reason"]


def test_first_json_object() -> None:
    assert first_json_object('x {"a": {"b": 1}} {"c": 2}') == {"a": {"b": 1}}
    assert first_json_object("[1, 2] then {'k': 'v'}") == {"k": "v"}
    with pytest.raises(AnswerError):
        first_json_object("{ never closed")


def test_the_prompt_shows_the_catalogue_and_truncated_rows() -> None:
    rows = [{"utterance": "word " * 200, "intent_code": "x", "tags": list(range(50))}] * 5
    prompt = build_prompt(profile_rows(rows), list_mappers())
    assert "- toy_label (toy_labels): A text field and a label field become a labelled example. Fields: text*, label*" in prompt
    assert "- utterance: string, 100%" in prompt
    assert "… 46 more" in prompt
    assert len(prompt) < 6000
    assert prompt.rstrip().endswith('"field_map": {"<dataset field>": "<canonical field>"}}')


def test_a_long_answer_is_truncated_in_the_report() -> None:
    result, _ = assist("x" * (ANSWER_CHARS + 500))
    assert len(result.llm_assist["raw_answer"]) == ANSWER_CHARS + 1


def test_scripted_teacher_satisfies_the_protocol() -> None:
    assert isinstance(ScriptedTeacher(""), Teacher)
    assert isinstance(HFTeacher(), Teacher)


# --- guided answers: the teacher ranks options, the answer is built from its choices -------------

class ScriptedChooser(ScriptedTeacher):
    """Answers its n-th ``choose`` call with the option starting with ``script[n]``."""

    def __init__(self, *script: str):
        super().__init__("unused")
        self.script = list(script)
        self.calls: list[tuple[str, list[str]]] = []

    def choose(self, prompt: str, answer_prefix: str, options) -> int:
        want = self.script[len(self.calls)]
        self.calls.append((answer_prefix, list(options)))
        return next(i for i, option in enumerate(options) if option.startswith(want))


def test_a_choosing_teacher_builds_a_well_formed_answer() -> None:
    teacher = ScriptedChooser("toy_label", 'utterance":', 'intent_code":')
    result = introspect_profile(profile_rows(HARD_ROWS), llm_assist=True, teacher=teacher)
    report = result.llm_assist
    assert report["mode"] == "guided"
    assert json.loads(report["raw_answer"]) == {
        "mapper_id": "toy_label", "field_map": {"utterance": "text", "intent_code": "label"}}
    assert result.accepted is not None and result.accepted.mapper_id == "toy_label"
    assert teacher.prompts == []  # never asked to write free text
    prefixes = [prefix for prefix, _ in teacher.calls]
    assert prefixes[0] == '{"mapper_id": "'
    assert prefixes[1].endswith('"field_map": {"') and prefixes[2].endswith('"text", "')
    mapper_options = teacher.calls[0][1]
    assert 'toy_label"' in mapper_options and 'toy_plain"' in mapper_options
    assert 'utterance": "label"' not in teacher.calls[2][1]  # a field is used once
    assert teacher.calls[1][1] == ['utterance": "text"', 'intent_code": "text"', 'n": "text"']


def test_a_choosing_teacher_cannot_force_a_bad_map_through_the_gate() -> None:
    teacher = ScriptedChooser("toy_label", 'n":', 'intent_code":')  # a number as the text
    result = introspect_profile(profile_rows(HARD_ROWS), llm_assist=True, teacher=teacher)
    assert result.accepted is None
    assert result.llm_assist["verdict"] == "rejected"
    assert "no sample row maps cleanly" in result.llm_assist["reason"]


def test_choosing_teachers_satisfy_the_protocol() -> None:
    assert isinstance(ScriptedChooser(), ChoosingTeacher)
    assert isinstance(HFTeacher(), ChoosingTeacher)
    assert not isinstance(ScriptedTeacher(""), ChoosingTeacher)


# --- the real Hugging Face teacher path on the tiny random model --------------------------------

def test_hf_teacher_guided_with_a_tiny_random_model(tiny_model_dir: Path) -> None:
    result = introspect_profile(profile_rows(HARD_ROWS), llm_assist=True, teacher=str(tiny_model_dir))
    report = result.llm_assist
    assert report["used"] is True and report["teacher"] == str(tiny_model_dir) and report["mode"] == "guided"
    answer = json.loads(report["raw_answer"])  # well-formed by construction, whatever the weights
    assert answer["mapper_id"] in {m.id for m in list_mappers()}
    assert set(answer["field_map"]) <= {"utterance", "intent_code", "n"}
    gated = report["proposal"]
    assert (report["verdict"] == "accepted") == (gated["confidence"] >= ACCEPT_THRESHOLD)
    assert (result.accepted is not None) == (report["verdict"] == "accepted")
    json.dumps(result.to_dict())


def test_hf_teacher_free_text_from_a_tiny_random_model_is_rejected_cleanly(tiny_model_dir: Path) -> None:
    teacher = HFTeacher(str(tiny_model_dir), guided=False, max_new_tokens=24)
    result = introspect_profile(profile_rows(HARD_ROWS), llm_assist=True, teacher=teacher)
    report = result.llm_assist
    assert report["mode"] == "free" and isinstance(report["raw_answer"], str)
    assert report["verdict"] == "rejected" and result.accepted is None
    json.dumps(result.to_dict())


def test_hf_teacher_choose_ranks_by_likelihood(tiny_model_dir: Path) -> None:
    teacher = HFTeacher(str(tiny_model_dir))
    options = ["alpha", "beta", "a much longer option that costs more probability"]
    first = teacher.choose("Pick one.", "Answer: ", options)
    assert 0 <= first < len(options)
    assert teacher.choose("Pick one.", "Answer: ", options) == first  # deterministic
    assert teacher.choose("Pick one.", "Answer: ", ["only"]) == 0


def test_hf_teacher_generates_within_its_token_budget(tiny_model_dir: Path) -> None:
    teacher = HFTeacher(str(tiny_model_dir), max_new_tokens=8)
    answer = teacher.complete("Which mapper fits? Answer in JSON.")
    assert isinstance(answer, str)
    tokenizer = teacher._tokenizer
    assert len(tokenizer(answer, add_special_tokens=False)["input_ids"]) <= 8 + 2  # re-tokenising may merge/split
    assert teacher.complete("Which mapper fits? Answer in JSON.") == answer  # greedy: deterministic


def test_hf_teacher_bad_path_is_a_clear_error(tmp_path: Path) -> None:
    from brewslm.errors import ConfigError

    with pytest.raises(ConfigError, match="does not exist"):
        introspect_profile(profile_rows(HARD_ROWS), llm_assist=True, teacher=str(tmp_path / "missing-model"))


def test_hf_teacher_option_scores_match_a_plain_forward_pass(tiny_model_dir: Path) -> None:
    """The cached, batched scoring equals scoring each full text from scratch."""
    import torch

    teacher = HFTeacher(str(tiny_model_dir))
    options = ['toy_label"', 'toy_plain", "x": 1', "{", 'a much longer option, with "quotes" and 123']
    for prefix in ('{"mapper_id": "', '{"mapper_id": "toy_label", "field_map": {"'):  # the cache grows
        got = teacher.option_logprobs("Pick a mapper.", prefix, options)
        context = teacher._chat_text("Pick a mapper.") + prefix
        n = len(teacher._ids(context))
        for option, score in zip(options, got):
            full = teacher._ids(context + option)
            with torch.no_grad():
                logps = torch.log_softmax(teacher._model(input_ids=torch.tensor([full])).logits[0].float(), dim=-1)
            start = n if full[:n] == teacher._ids(context) else n - 1
            expected = sum(logps[i - 1, full[i]].item() for i in range(start, len(full)))
            assert score == pytest.approx(expected, abs=1e-3), option


@pytest.mark.slow
def test_embedded_smollm2_as_the_teacher() -> None:
    """The default teacher end to end: converted SmolLM2, guided answer, the same gate."""
    result = introspect_profile(profile_rows(HARD_ROWS), llm_assist=True)
    report = result.llm_assist
    assert report["teacher"] == "embedded SmolLM2-135M-Instruct" and report["mode"] == "guided"
    answer = json.loads(report["raw_answer"])
    assert answer["mapper_id"] in {m.id for m in list_mappers()}
    assert (result.accepted is not None) == (report["verdict"] == "accepted")
    print(f"SmolLM2 teacher: {report['raw_answer']} -> {report['verdict']} ({report['reason']})")


# --- corroboration: the proposed mapper's own sniffer judges the teacher's names ---------------

def test_a_generic_mapper_from_the_teacher_is_not_backed_by_its_sniffer() -> None:
    result, _ = assist('{"mapper_id": "toy_plain", "field_map": {"utterance": "text"}}')
    assert result.accepted is None
    assert result.llm_assist["reason"].startswith("the mapper's own sniffer does not back it (0.55)")
    evidence = result.llm_assist["proposal"]["evidence"]
    assert "with the teacher's names (utterance as 'text') the mapper's own sniffer gives 0.55" in evidence


def test_a_sniffer_that_finds_no_fit_rejects_the_teacher_proposal() -> None:
    result, _ = assist('{"mapper_id": "toy_crashing", "field_map": {"utterance": "text", "intent_code": "label"}}')
    assert result.accepted is None
    assert "still finds no fit" in result.llm_assist["reason"]


def test_a_failing_sniffer_rejects_the_teacher_proposal() -> None:
    result, _ = assist('{"mapper_id": "toy_broken_sniff", "field_map": {"utterance": "text"}}')
    assert result.accepted is None
    assert "failed on the sample: RuntimeError: sniffer bug" in result.llm_assist["reason"]


def test_renaming_keeps_other_fields_and_avoids_collisions() -> None:
    from brewslm.introspection.llm_assist import _renamed_rows

    rows = [{"utterance": "hi", "text": "shadowed", "doc": {"tag": "x", "other": 1}, "n": 1}]
    assert _renamed_rows(rows, {"utterance": "text", "doc.tag": "label"}) == [{"n": 1, "text": "hi", "label": "x"}]
