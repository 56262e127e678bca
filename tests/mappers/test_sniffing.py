"""The shared sniffing judgements in brewslm.mappers._sniffing, on small profiled samples."""

from __future__ import annotations

from brewslm.mappers._sniffing import (
    field_kind,
    is_constant,
    is_metadata,
    is_recurring_class,
    label_candidates,
    occurrence_rate,
    question_share,
    reads_as_question,
    unmapped_fields,
)
from brewslm.mappers.profile import profile_rows


def test_reads_as_question() -> None:
    assert reads_as_question("Where is my parcel?")
    assert reads_as_question("how do I reset the kettle")
    assert reads_as_question("  Why not  ")
    assert not reads_as_question("The kettle broke.")
    assert not reads_as_question("Somehow it works")  # a wh-word inside a word is not a question


def test_question_share_counts_present_strings_only() -> None:
    profile = profile_rows([{"q": "Who?"}, {"q": "A statement."}, {"q": None}, {"q": 3}, {"other": 1}])
    assert question_share(profile, "q") == 0.5
    assert question_share(profile, "missing") == 0.0


def test_constant_columns_are_metadata() -> None:
    profile = profile_rows([{"lang": "en", "n": i % 2} for i in range(30)])
    assert is_constant(profile.fields["lang"]) and is_metadata("lang", profile.fields["lang"])
    assert not is_constant(profile.fields["n"])
    assert is_recurring_class(profile, "lang") and is_recurring_class(profile, "n")


def test_an_object_of_labels_is_a_label_and_an_object_of_ids_stays_an_object() -> None:
    rows = [{"meta": {"channel": ["web", "app", "phone"][i % 3], "row": i}, "extra": {"page": i}} for i in range(60)]
    profile = profile_rows(rows)
    assert field_kind("meta", profile.fields["meta"], 60, profile) == "label"
    assert field_kind("meta", profile.fields["meta"], 60) == "object"  # without the profile: no look inside
    assert field_kind("extra", profile.fields["extra"], 60, profile) == "object"


def test_unmapped_fields_include_siblings_of_a_mapped_path() -> None:
    rows = [
        {"text": f"words number {i} here", "fields": {"branch": ["a", "b"][i % 2], "name": f"person {i} x y"}}
        for i in range(40)
    ]
    profile = profile_rows(rows)
    assert unmapped_fields(profile, ["text", "fields.branch"]) == {"fields.name": "text"}
    assert unmapped_fields(profile, ["text", "fields"]) == {}


def test_label_candidates_order_and_exclusions() -> None:
    rows = [
        {
            "id": i % 4,
            "team": ["a", "b", "c", "d"][i % 4],
            "mood": ["x", "y"][i % 2],
            "meta": {"k": ["p", "q", "r", "s", "t"][i % 5]},
        }
        for i in range(60)
    ]
    profile = profile_rows(rows)
    # top-level first, most classes first; id-like names never
    assert label_candidates(profile) == ["team", "mood", "meta.k"]
    assert label_candidates(profile, exclude=["team"]) == ["mood", "meta.k"]


def test_occurrence_rate() -> None:
    rows = [
        {"text": "Invoice from ACME LTD total 12.50", "vendor": "ACME LTD", "total": 12.5},
        {"text": "Invoice from Globex", "vendor": "Initech", "total": None},
        {"text": None, "vendor": "ACME LTD"},
    ]
    profile = profile_rows(rows)
    assert occurrence_rate(profile, "vendor", "text") == (1, 2)
    assert occurrence_rate(profile, "total", "text") == (1, 1)


def test_greek_questions_end_with_a_semicolon() -> None:
    # Greek asks with ';' (U+037E, which NFC turns into U+003B); elsewhere ';' ends no question
    assert reads_as_question("Πόσους πόντους έδωσε η άμυνα;")
    assert reads_as_question("Ποιος έγραψε το βιβλίο \u037e")
    assert reads_as_question("Σε ποια χρονιά ιδρύθηκε η NFL;")
    assert not reads_as_question("Η άμυνα έδωσε 308 πόντους.")
    assert not reads_as_question("for (i = 0; i < n; i++) x = y;")
    assert not reads_as_question("The bridge was built; then it fell;")
    assert not reads_as_question(";")


def test_greek_reading_comprehension_reads_as_such() -> None:
    from helpers.mapping import sniff

    rows = [
        {
            "question": f"Πόσους πόντους έδωσε η ομάδα {i};",
            "answers": [str(300 + i)],
            "context": f"Η άμυνα της ομάδας {i} έδωσε μόνο {300 + i} πόντους και είναι έκτη στην κατάταξη.",
        }
        for i in range(20)
    ]
    assert question_share(profile_rows(rows), "question") == 1.0
    assert sniff("qa_pair_passthrough", rows).confidence >= 0.9


def test_question_words_of_other_languages_open_a_question() -> None:
    for text in (
        "Wann beginnt der Kurs",
        "Pourquoi le ciel est bleu",
        "¿Cuál es la capital de Perú",
        "Dónde está la estación",
        "Perché il cielo è blu",
        "Onde fica a estação",
        "Waarom is de lucht blauw",
        "Dlaczego niebo jest niebieskie",
        "Сколько стоит билет",
        "Ποιος έγραψε την Οδύσσεια",
    ):
        assert reads_as_question(text), text
    # words that open statements too ("as", "like", "that") and unaccented Spanish conjunctions do not
    for text in (
        "Wie immer gut",
        "Comme toujours, très bon",
        "Como siempre",
        "Que bueno",
        "Как всегда хорошо",
        "The station is closed",
    ):
        assert not reads_as_question(text), text


def test_holds_questions_needs_one_short_question_per_row() -> None:
    from brewslm.mappers._sniffing import holds_questions

    rows = [
        {
            "q": f"Wann fährt der Zug nach Stadt {i}",
            "fixed": "What is your name?",
            "long": "Why? " + "word " * 80,
            "text": f"Der Zug nach Stadt {i} fährt um {i} Uhr.",
        }
        for i in range(20)
    ]
    profile = profile_rows(rows)
    assert holds_questions(profile, "q")
    assert not holds_questions(profile, "fixed")  # one recurring prompt, not the row's question
    assert not holds_questions(profile, "long")
    assert not holds_questions(profile, "text")
