"""classification baselines: TF-IDF + logistic regression equals a direct scikit-learn pipeline
(predictions, macro-F1, the cross-validated C), the majority label equals DummyClassifier."""

from __future__ import annotations

import random
import re

import numpy as np
import pytest
from sklearn.dummy import DummyClassifier
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score
from sklearn.model_selection import GridSearchCV, StratifiedKFold
from sklearn.pipeline import FeatureUnion, Pipeline

from brewslm.evaluation.baselines import BaselineUnavailable, baseline_classes
from brewslm.evaluation.baselines.classification import MostFrequentLabel, TfidfLogisticRegression
from brewslm.evaluation.handlers import get_eval_handler
from brewslm.evaluation.metrics.common import sum_stats
from brewslm.tasks.rendering import RenderContext

VOCABULARY = {
    "billing": ["invoice", "charge", "refund", "payment", "card", "billed"],
    "shipping": ["parcel", "delivery", "courier", "tracking", "shipped", "arrive"],
    "account": ["password", "login", "username", "locked", "email", "profile"],
    "other": ["weather", "music", "holiday", "movie", "garden", "coffee"],
}
SHARED = ["please", "help", "my", "the", "is", "not", "why", "can", "you", "today", "again", "still"]
LABELS = tuple(sorted(VOCABULARY))


def synthetic(rows: int, seed: int, *, signal: float = 0.35) -> list[dict]:
    """Texts of shared filler words and a few words of their class - and, to keep the task from
    being trivial, sometimes a word of another class."""
    rng = random.Random(seed)
    records = []
    for i in range(rows):
        label = LABELS[i % len(LABELS)]
        words = []
        for _ in range(rng.randint(5, 10)):
            draw = rng.random()
            if draw < signal:
                words.append(rng.choice(VOCABULARY[label]))
            elif draw < signal + 0.1:
                words.append(rng.choice(VOCABULARY[rng.choice(LABELS)]))
            else:
                words.append(rng.choice(SHARED))
        records.append({"text": " ".join(words), "label": label})
    rng.shuffle(records)
    return records


TRAIN, TEST = synthetic(64, seed=1), synthetic(40, seed=2)


def handler():
    return get_eval_handler("classification", context=RenderContext(labels=LABELS))


def direct_pipeline(c: float) -> Pipeline:
    """The same settings, written out independently of the module under test."""
    settings = {"sublinear_tf": True, "min_df": 2, "dtype": np.float32}
    features = FeatureUnion(
        [
            ("word", TfidfVectorizer(analyzer="word", ngram_range=(1, 2), **settings)),
            ("char", TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), **settings)),
        ]
    )
    return Pipeline([("features", features), ("clf", LogisticRegression(C=c, max_iter=2000, random_state=0))])


def texts(records):
    return [r["text"] for r in records]


def labels(records):
    return [r["label"] for r in records]


def handler_macro_f1(records, predictions) -> float:
    h = handler()
    return h.metrics(sum_stats(h.score_example(r, p).stats for r, p in zip(records, predictions)))["macro_f1"]


@pytest.fixture(scope="module")
def fitted_baseline() -> TfidfLogisticRegression:
    return TfidfLogisticRegression().fit(TRAIN, handler())


def test_registered_strongest_first():
    assert baseline_classes("classification") == [TfidfLogisticRegression, MostFrequentLabel]


def test_tfidf_logreg_equals_a_direct_scikit_learn_pipeline(fitted_baseline):
    baseline = fitted_baseline
    predictions = baseline.predict(TEST)
    pipeline = direct_pipeline(baseline.fitted["C"]).fit(texts(TRAIN), labels(TRAIN))
    expected = list(pipeline.predict(texts(TEST)))
    assert predictions == expected and all(isinstance(p, str) and p in LABELS for p in predictions)
    macro = f1_score(labels(TEST), expected, average="macro")
    assert handler_macro_f1(TEST, predictions) == pytest.approx(macro, abs=1e-12)
    assert macro > 0.5  # the synthetic classes are learnable
    confidences = baseline.confidences(TEST)
    assert confidences == pytest.approx(list(pipeline.predict_proba(texts(TEST)).max(axis=1)), abs=1e-6)
    fitted = baseline.fitted
    assert fitted["classes"] == 4 and fitted["train_records"] == 64 and fitted["min_df"] == 2
    word, char = (v for _, v in pipeline.named_steps["features"].transformer_list)
    assert (fitted["word_vocabulary"], fitted["char_vocabulary"]) == (len(word.vocabulary_), len(char.vocabulary_))
    assert fitted["fit_seconds"] >= 0


def test_c_is_the_grid_search_choice_on_the_train_records_and_deterministic(fitted_baseline):
    first = fitted_baseline
    second = TfidfLogisticRegression().fit(TRAIN, handler())
    search = GridSearchCV(
        direct_pipeline(1.0),
        {"clf__C": [1.0, 10.0, 100.0]},
        scoring="f1_macro",
        cv=StratifiedKFold(n_splits=3, shuffle=True, random_state=0),
    )
    search.fit(texts(TRAIN), labels(TRAIN))
    assert first.fitted["C"] == second.fitted["C"] == search.best_params_["clf__C"]
    assert first.fitted["cv_macro_f1"] == second.fitted["cv_macro_f1"]
    # the folds' fits are warm-started along the C grid, so their scores are close to (not
    # identical with) the fresh fits of the grid search; the choice is the same
    assert list(first.fitted["cv_macro_f1"].values()) == pytest.approx(
        list(search.cv_results_["mean_test_score"]), abs=0.02
    )
    assert first.predict(TEST) == second.predict(TEST)


def test_c_is_fixed_when_a_class_has_a_single_train_row():
    records = TRAIN + [{"text": "a lonely sentence about nothing", "label": "rare"}]
    baseline = TfidfLogisticRegression().fit(records, handler())
    assert baseline.fitted["C"] == 10.0 and baseline.fitted["cv_macro_f1"] == {}
    assert "fixed" in baseline.fitted["C_chosen_by"]


def test_most_frequent_equals_dummy_classifier():
    records = TRAIN + [{"text": "extra", "label": "shipping"}] * 3
    baseline = MostFrequentLabel().fit(records, handler())
    dummy = DummyClassifier(strategy="most_frequent").fit(texts(records), labels(records))
    assert baseline.predict(TEST) == list(dummy.predict(texts(TEST))) == ["shipping"] * len(TEST)
    assert baseline.fitted["label"] == "shipping"


def test_most_frequent_breaks_ties_by_name():
    records = [{"text": "x", "label": "zebra"}, {"text": "y", "label": "apple"}]
    assert MostFrequentLabel().fit(records, handler()).predict([{"text": "z"}]) == ["apple"]


@pytest.mark.parametrize("baseline", [TfidfLogisticRegression, MostFrequentLabel])
@pytest.mark.parametrize(
    "records, reason",
    [
        ([{"text": "only one class here", "label": "billing"}] * 5, "single class ('billing')"),
        ([], "no train records"),
    ],
)
def test_unavailable_without_two_classes(baseline, records, reason):
    with pytest.raises(BaselineUnavailable, match=re.escape(reason)) as caught:
        baseline().fit(records, handler())
    assert "\n" not in str(caught.value)


def test_a_handful_of_texts_without_a_repeated_word_still_fits():
    records = [{"text": "alpha", "label": "first"}, {"text": "omega", "label": "second"}]
    baseline = TfidfLogisticRegression().fit(records, handler())
    assert baseline.fitted["min_df"] == 1 and baseline.predict([{"text": "alpha"}]) == ["first"]


def test_unavailable_when_the_texts_have_no_n_grams():
    records = [{"text": "!", "label": "first"}, {"text": "?", "label": "second"}]
    with pytest.raises(BaselineUnavailable, match="no word or character n-grams"):
        TfidfLogisticRegression().fit(records, handler())
