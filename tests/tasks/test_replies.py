"""tasks.replies: reading a reply as JSON (lenient only about a code fence) and SQuAD's normal form of
an answer (hand-computed, and equal to the official SQuAD v2.0 script's)."""

from __future__ import annotations

import string

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from brewslm.errors import ConfigError
from brewslm.tasks import get_task_profile, list_task_profiles
from brewslm.tasks.rendering import RenderContext
from brewslm.tasks.replies import ReplyReader, answer_tokens, normalize_answer, parse_json_completion
from helpers.squad import official_normalize_answer

# --- the readers of each task profile --------------------------------------------------------------

READ = {
    ("classification", None): 32,
    ("structured_extraction", "span_set"): 384,
    ("structured_extraction", "field_match"): 256,
    ("tool_call", None): 256,
    ("qa", None): 128,
    ("rag_qa", None): 160,
}


@pytest.mark.parametrize("task, mode", list(READ))
def test_each_profile_names_the_reader_of_its_replies(task, mode):
    context = RenderContext(labels=("a", "b"))
    reader = get_task_profile(task).reply_reader(mode, context=context)
    assert isinstance(reader, ReplyReader) and (reader.task, reader.scoring_mode) == (task, mode)
    assert reader.max_new_tokens == READ[task, mode] and reader.context is context
    assert reader.constrainable == (task in ("structured_extraction", "tool_call"))
    assert reader.constraint_allows_text == (task == "tool_call")


def test_replies_scored_by_their_log_probabilities_have_no_reader():
    read = {profile.id for profile in list_task_profiles() if profile.readers}
    assert read == {task for task, _ in READ}
    for task in ("chat_sft", "language_modeling", "dpo"):
        assert get_task_profile(task).reply_reader() is None


def test_a_task_read_in_several_modes_needs_one():
    profile = get_task_profile("structured_extraction")
    with pytest.raises(ConfigError, match="span_set, field_match|field_match, span_set"):
        profile.reply_reader()
    with pytest.raises(ConfigError, match="no scoring mode 'spans'"):
        profile.reply_reader("spans")
    # a task read one way ignores a scoring mode it does not have
    assert get_task_profile("classification").reply_reader("anything").task == "classification"


# --- JSON replies ----------------------------------------------------------------------------------


def test_parse_plain_and_whitespace():
    parsed = parse_json_completion('  {"a": 1}\n')
    assert parsed.ok and parsed.value == {"a": 1} and not parsed.fenced and parsed.error is None


@pytest.mark.parametrize("text", ['```json\n{"a": 1}\n```', '```\n{"a": 1}```', '\n```JSON \n {"a": 1} \n```  '])
def test_parse_removes_a_surrounding_code_fence_and_says_so(text):
    parsed = parse_json_completion(text)
    assert parsed.ok and parsed.value == {"a": 1} and parsed.fenced


@pytest.mark.parametrize(
    "text",
    [
        'Here it is: {"a": 1}',  # prose around the JSON is not forgiven
        '{"a": 1,}',  # trailing comma
        "{'a': 1}",  # single quotes
        '{"a": NaN}',  # not JSON
        '{"a": 1} {"b": 2}',  # two documents
        '{"a": ',  # cut off
        "",
        "```json\n```",
    ],
)
def test_parse_rejects_everything_else(text):
    parsed = parse_json_completion(text)
    assert not parsed.ok and parsed.value is None and parsed.error


def test_parse_keeps_any_json_value():
    assert parse_json_completion("[1, 2]").value == [1, 2]
    assert parse_json_completion('"text"').value == "text"


# --- answers ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, expected",
    [
        ("The Denver Broncos.", "denver broncos"),
        ("  a   cat,  AN owl & the-end  ", "cat owl theend"),  # hyphen is punctuation: removed, not a space
        ("Theatre anthem", "theatre anthem"),  # articles only as whole words
        ("The", ""),
        ("", ""),
        ("Café \t\n Ünïcode", "café ünïcode"),
    ],
)
def test_normalize_answer(text, expected):
    assert normalize_answer(text) == expected


def test_answer_tokens():
    assert answer_tokens("The quick, brown fox.") == ["quick", "brown", "fox"]


# --- normalize_answer, fast, returns exactly the official script's strings -------------------------
# normalize_answer strips punctuation with one compiled character class and drops articles as whole
# tokens when every token is one run of word characters, else with the official regex; both paths
# are checked against official_normalize_answer (``helpers.squad``, verbatim from evaluate-v2.0.py).

# Characters where the two rules could part: ASCII punctuation (removed), Unicode punctuation and
# symbols (kept, and not word characters, so "\b" falls inside a token), the underscore (a word
# character, but punctuation), letters whose lower case grows a combining mark ("İ"), digits and
# numerals of other scripts, and whitespace of every kind.
_TRICKY_CHARS = string.punctuation + (
    "\u2014\u2013\u2026\u2019\u201c\u201d\u00ab\u00bb\u00bf\u00a1\u00b0\u00a7\u00b7\u2022\u20ac\u00a3"
    "\u00e9\u00df\u0130\u03a3\u0436\u4e2d\u00b2\u2460\u0663\u0301\u200b"
    " \t\n\r\x0b\x0c\u00a0\u2009\u3000\u2028\u0085"
)
_WORDS = [
    "a",
    "an",
    "the",
    "A",
    "An",
    "THE",
    "The",
    "theatre",
    "anna",
    "ant",
    "at",
    "x",
    "Paris",
    "Café",
    "1,000",
    "U.S.",
    "the\u2014end",
    "a\u2019s",
    "(the)",
    "the_end",
    "an-a",
    "\u0130stanbul",
    "th\u00e9",
]

_texts = st.one_of(
    st.text(alphabet=st.sampled_from(list(_TRICKY_CHARS + "aenthTHEAN xyz")), max_size=40),
    st.lists(st.sampled_from(_WORDS), max_size=12).map(" ".join),
    st.lists(st.one_of(st.sampled_from(_WORDS), st.sampled_from(list(_TRICKY_CHARS))), max_size=16).map("".join),
    st.text(max_size=30),  # any Unicode at all
)

FIXED_TEXTS = [
    "",
    " ",
    "the",
    "The Denver Broncos.",
    "a an the",
    "a_b",
    "the_",
    "_the_",
    "the\u2014",
    "\u2014the\u2014a",
    "\u0130 the",
    "the\u00a0end",
    "the\u200bend",
    "A-the",
    "an\u2019",
    "1,000 the 2",
    "the\u0301",
    "\u0663 an \u00b2",
    "theatre the anthem",
    "\u201cThe\u201d end",
    "THE\tAN\nA",
    "\u00bfthe?",
    "the\u3000a\u2028an",
]


@pytest.mark.parametrize("text", FIXED_TEXTS)
def test_normalize_answer_equals_the_official_script_on_edge_cases(text):
    assert normalize_answer(text) == official_normalize_answer(text)


@settings(max_examples=600, deadline=None)
@given(_texts)
def test_normalize_answer_equals_the_official_script(text):
    assert normalize_answer(text) == official_normalize_answer(text)
