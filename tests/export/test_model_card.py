"""The model card's pure parts: the language guess, limitations derived from a hand-built report,
and the rendered README (a card for a run with an eval report is checked in test_hf.py)."""

from __future__ import annotations

from brewslm.export.model_card import (
    STANDARD_LIMITATIONS,
    CardFacts,
    LanguageGuess,
    guess_language,
    limitations,
    render_model_card,
    text_language,
)


def report(**changes) -> dict:
    """A classification report in the evaluation service's shape, 40 test rows."""
    base = {
        "task": "classification",
        "headline": "macro_f1",
        "lower_is_better": [],
        "dataset": {"name": "tickets", "version": 2, "split": "test", "examples": 40},
        "models": {"tuned": {"name": "run"}, "base": {"name": "tiny"}},
        "metrics": {
            "tuned": {"macro_f1": 0.61, "accuracy": 0.70, "majority_baseline_accuracy": 0.75, "unparseable_rate": 0.05},
            "base": {"macro_f1": 0.20, "accuracy": 0.30, "majority_baseline_accuracy": 0.75, "unparseable_rate": 0.4},
        },
        "intervals": {"tuned": {"macro_f1": [0.45, 0.74]}, "base": {"macro_f1": [0.1, 0.3]}},
        "lift": {"macro_f1": {"base": 0.20, "tuned": 0.61, "lift": 0.41, "ci_low": -0.02, "ci_high": 0.6}},
        "breakdown": {
            "tuned": {
                "per_class": {
                    "billing": {"precision": 0.9, "recall": 0.9, "f1": 0.9, "support": 20.0},
                    "shipping": {"precision": 0.5, "recall": 0.3, "f1": 0.375, "support": 12.0},
                    "account": {"precision": 0.6, "recall": 0.6, "f1": 0.6, "support": 8.0},
                    "legal": {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 0.0},
                }
            }
        },
        "gates": [{"gate": "macro_f1 >= 0.8", "passed": False, "value": 0.61}],
        "passed": False,
        "bootstrap": {"samples": 100, "confidence": 0.95, "seed": 0},
    }
    base.update(changes)
    return base


def facts(**changes) -> CardFacts:
    values = dict(
        name="tickets-router",
        task="classification",
        scoring_mode=None,
        base_model="tiny-llama",
        method="lora",
        training={"max_seq_len": 256, "lora_r": 8, "method": "lora"},
        data={
            "dataset": "tickets",
            "version": 2,
            "locator": "jsonl:/data/tickets.jsonl",
            "source_name": "tickets",
            "mapper": "label_to_classification",
            "field_map": {"body": "text", "topic": "label"},
            "records": 400,
            "splits": {"train": 320, "validation": 40, "test": 40},
            "rejected": {"missing_label": 3},
            "rejected_total": 3,
            "duplicates": 2,
        },
        report=report(),
        serving={"confidence_threshold": 0.35, "fallback_label": "talk_to_human"},
        labels=("account", "billing", "legal", "shipping"),
        language=LanguageGuess("English", 0.97, 200),
        mean_input_chars=61.5,
    )
    values.update(changes)
    return CardFacts(**values)


def test_language_guess_by_function_words_and_script() -> None:
    assert text_language("The parcel is late and I want my money back") == "English"
    assert text_language("Der Kunde ist nicht zufrieden und das Paket ist weg") == "German"
    assert text_language("Je ne suis pas content, la livraison est en retard pour une semaine") == "French"
    assert text_language("Посылка не пришла") == "Cyrillic script"
    assert text_language("1234 5678") is None
    guess = guess_language(["the box is late"] * 3 + ["das ist nicht gut"])
    assert (guess.language, guess.share, guess.rows, guess.code) == ("English", 0.75, 4, "en")
    assert text_language("la caja es roja y grande") == "Spanish" and text_language("es la") is None  # a tie
    assert guess_language(["the box is late", "das ist nicht gut", "la caja es roja y grande"]).language is None


def test_limitations_come_from_the_report_and_the_data() -> None:
    lines = limitations(facts())
    text = "\n".join(lines)
    assert "Evaluated on only 40 held-out test rows; the 95% interval of macro_f1 is [0.450, 0.740]" in text
    assert "Weakest classes: shipping (f1 0.375, 12 test rows), account (f1 0.600, 8 test rows), billing" in text
    assert "legal" not in text.split("Weakest classes:")[1].split("\n")[0]  # no test rows: not ranked
    assert "5% of its test replies could not be parsed" in text
    assert "not significant: the 95% interval of the lift, [-0.020, 0.600], includes zero" in text
    assert "no better than always answering the most common label (0.750)" in text
    assert "failed its quality gates: macro_f1 >= 0.8" in text
    assert "cut every example to 256 tokens" in text and "mostly English (97% of 200 sampled rows)" in text
    assert "400 rows of tickets; inputs average 62 characters" in text
    assert "one of its 4 labels" in text and "'talk_to_human'" in text
    assert "3 source rows were rejected at import (missing_label x3)" in text
    assert lines[-len(STANDARD_LIMITATIONS) :] == list(STANDARD_LIMITATIONS)


def test_a_model_worse_than_its_base_and_a_lower_is_better_headline() -> None:
    worse = report(lift={"macro_f1": {"base": 0.6, "tuned": 0.5, "lift": -0.1, "ci_low": -0.2, "ci_high": -0.01}})
    assert any(
        "scores worse than its base on macro_f1 (0.600 -> 0.500)" in line for line in limitations(facts(report=worse))
    )
    perplexity = report(
        headline="perplexity",
        lower_is_better=["perplexity"],
        metrics={"tuned": {}, "base": {}},
        lift={"perplexity": {"base": 30.0, "tuned": 12.0, "lift": -18.0, "ci_low": -20.0, "ci_high": -15.0}},
    )
    assert not any(
        "worse than its base" in line or "not significant" in line for line in limitations(facts(report=perplexity))
    )


def test_rendered_card_sections_and_escaping() -> None:
    card = render_model_card(facts(name="router <beta>", files=("README.md", "model.safetensors")))
    assert card.startswith(
        "---\nlibrary_name: transformers\ntags:\n- brewslm\n- classification\n- lora\n"
        'language:\n- en\nbase_model: "tiny-llama"\n---\n'
    )
    assert "# router \\<beta>" in card  # markup in names is escaped
    assert "- **source**: `jsonl:/data/tickets.jsonl`" in card and "body -> text, topic -> label" in card
    assert "| macro_f1 (headline) | 0.200 [0.100, 0.300] | 0.610 [0.450, 0.740] | +0.410 [-0.020, +0.600] |" in card
    assert "Gates FAILED: macro_f1 >= 0.8 (fail, value 0.610)" in card
    assert "below a confidence of 0.350" in card and "- `model.safetensors`" in card


def test_a_card_of_a_model_that_failed_its_gates_says_so_up_front() -> None:
    card = render_model_card(facts())
    warning = "> **Warning: this model FAILED its quality gates (macro_f1 >= 0.8) and was exported anyway.**"
    assert warning in card and card.index(warning) < card.index("## Model")
    passing = report(gates=[{"gate": "macro_f1 >= 0.5", "passed": True, "value": 0.61}], passed=True)
    assert "FAILED its quality gates" not in render_model_card(facts(report=passing))
    assert "FAILED its quality gates" not in render_model_card(facts(report=None))


def test_card_without_a_report_says_so() -> None:
    card = render_model_card(facts(report=None, language=None, mean_input_chars=None))
    assert "No evaluation report was found" in card and "unmeasured" in card


def test_the_cheap_baseline_beside_base_and_tuned_and_in_the_limitations_when_it_wins() -> None:
    beaten = report(
        models={
            "tuned": {"name": "run"},
            "base": {"name": "tiny"},
            "baseline": {"name": "tfidf_logreg", "title": "TF-IDF + logistic regression"},
        },
        metrics={**report()["metrics"], "baseline": {"macro_f1": 0.8}},
        lift_vs_baseline={
            "macro_f1": {"base": 0.8, "tuned": 0.61, "lift": -0.19, "ci_low": -0.3, "ci_high": -0.08, "better": False}
        },
        baselines={"tfidf_logreg": {"title": "TF-IDF + logistic regression", "seconds": 2.1}},
        next_steps=["Cheapest next step: epochs=5."],
    )
    card = render_model_card(facts(report=beaten))
    assert "| metric | base | baseline | tuned | lift vs base [95% CI] | lift vs baseline [95% CI] |" in card
    assert "| 0.200 [0.100, 0.300] | 0.800 | 0.610 [0.450, 0.740] |" in card
    assert "the cheap baseline (TF-IDF + logistic regression, fitted on the train split)" in card
    limits = card[card.index("## Limitations") :]
    assert (
        "- The cheap baseline (TF-IDF + logistic regression, fitted in 2.1 s) beats this fine-tune: macro_f1 "
        "0.800 vs 0.610 (lift -0.190 [-0.300, -0.080]). Do not ship this fine-tune for this task as it is."
    ) in limits
    assert "- Cheapest next step: epochs=5." in limits  # what to try next follows the warning
    clear = {
        **beaten,
        "lift_vs_baseline": {
            "macro_f1": {"base": 0.5, "tuned": 0.61, "lift": 0.11, "ci_low": 0.02, "ci_high": 0.2, "better": True}
        },
    }
    assert "cheap baseline" not in limitations(facts(report=clear)).__str__()
