"""The model card (README.md) of an exported fine-tune: what it is, what it learnt from, how well it
does against its base, and where it will likely fail.

    facts = collect_card_facts(bundle)        # reads the run, its dataset manifest and eval report
    text = render_model_card(facts)           # pure: the same facts always give the same text

``collect_card_facts`` gathers, from a ``ModelBundle`` of a run or recipe:

- the base model, method and training settings (the run's ``run.json`` and ``config.yaml``);
- the data: the recipe's locator, mapper and field map when it came from a recipe, else the
  import's (the dataset manifest), the dataset version and its row counts and rejects;
- the evaluation report (``report.json``: metrics, intervals, lift, breakdown, gates);
- a sample of the training rows (the first ``TEXT_SAMPLE`` of the train split) for the data's
  language (``guess_language``) and typical input length.

``limitations(facts)`` derives the card's limitations from those facts - the test set's size and
the headline's interval, the weakest classes / span types / fields / tools, unparseable replies,
a lift whose interval includes zero, the trivial-majority trap, failed gates, truncation at
``max_seq_len``, the data's language and domain, import rejects - followed by the ones every
small fine-tune has (``STANDARD_LIMITATIONS``).

The language guess is a heuristic, not a classifier: a text counts for the language whose common
function words (``FUNCTION_WORDS``) it uses most (none on a tie), or for its script when most of
its letters are outside Latin; the card reports the top language and its share of the sampled rows, and says
"unknown" when no language reaches ``LANGUAGE_MIN_SHARE``.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Iterator, Mapping, Sequence

from brewslm.base_models import EMBEDDED_MODEL_NAME
from brewslm.errors import BrewError
from brewslm.export.bundle import ModelBundle, run_manifest

TEXT_SAMPLE = 200  # training rows read for the language and length facts
WEAKEST = 3  # names listed as the weakest classes / types / fields
SMALL_TEST_SET = 200  # below this many test rows the card warns about wide intervals
LANGUAGE_MIN_SHARE = 0.5  # a language is named when at least this share of the sampled rows use it
SKIPPED_RECORD_KEYS = frozenset(
    {"id", "_key", "label", "subtask", "meta", "spans", "tags", "target", "calls", "acceptable"}
)  # not input text (gold, bookkeeping)

FUNCTION_WORDS: dict[str, frozenset[str]] = {
    "English": frozenset("the and is are was to of in that it for you my with this not have be on".split()),
    "German": frozenset("der die das und ist nicht ich zu mit ein eine sie es den dem sind auf".split()),
    "French": frozenset("le la les et est des une je pas pour que vous du au sur avec ce".split()),
    "Spanish": frozenset("el los las y es que en por una para no con del se lo su".split()),
    "Portuguese": frozenset("o os as e é que em para uma não com do da se um no".split()),
    "Italian": frozenset("il gli e è che di per una non con del della sono un lo".split()),
    "Dutch": frozenset("de het een en is van dat niet ik op te zijn met voor".split()),
}
LANGUAGE_CODES = {
    "English": "en",
    "German": "de",
    "French": "fr",
    "Spanish": "es",
    "Portuguese": "pt",
    "Italian": "it",
    "Dutch": "nl",
}
SCRIPTS = ("CYRILLIC", "GREEK", "ARABIC", "HEBREW", "DEVANAGARI", "HANGUL", "HIRAGANA", "KATAKANA", "CJK", "THAI")
_WORD = re.compile(r"[^\W\d_]+", re.UNICODE)

STANDARD_LIMITATIONS = (
    "It inherits the biases, knowledge gaps and failure modes of its base model; fine-tuning on a few "
    "hundred or thousand rows changes its task behaviour, not what it knows.",
    "A small model can be fluently and confidently wrong: check its outputs before acting on them, "
    "above all where a mistake is costly.",
    "It was not evaluated for safety, toxicity, fairness across groups or adversarial inputs "
    "(prompt injection included).",
)


@dataclass(frozen=True)
class LanguageGuess:
    """The sampled rows' most common language (or script) and the share of rows that use it."""

    language: str | None  # None: no language reached LANGUAGE_MIN_SHARE
    share: float
    rows: int

    @property
    def code(self) -> str | None:
        return LANGUAGE_CODES.get(self.language or "")


@dataclass(frozen=True)
class CardFacts:
    """Everything the card says, gathered once (``collect_card_facts``) so rendering is pure."""

    name: str
    task: str | None
    scoring_mode: str | None
    base_model: str
    method: str | None = None
    training: dict[str, Any] = field(default_factory=dict)  # max_seq_len, epochs, steps, learning_rate, lora_r...
    data: dict[str, Any] = field(default_factory=dict)  # dataset, version, locator, mapper, field_map, counts...
    report: dict[str, Any] | None = None
    recipe: dict[str, Any] | None = None
    serving: dict[str, Any] = field(default_factory=dict)
    labels: tuple[str, ...] | None = None  # classification labels / span types / fields the model knows
    language: LanguageGuess | None = None
    mean_input_chars: float | None = None
    files: tuple[str, ...] = ()  # the export folder's files, listed on the card


# --- gathering ---------------------------------------------------------------------------------------


def collect_card_facts(bundle: ModelBundle, *, files: Sequence[str] = ()) -> CardFacts:
    """The card's facts for a run or recipe bundle (see the module docstring)."""
    from brewslm.storage.run_records import read_run
    from brewslm.training.run import read_run_config

    record = read_run(bundle.run_dir) if bundle.run_dir else {}
    config = read_run_config(bundle.run_dir) if bundle.run_dir else {}
    manifest = run_manifest(record) or {}
    context = bundle.context()
    texts = list(_sample_texts(record))
    report = json.loads(bundle.eval_report.read_text(encoding="utf-8")) if bundle.eval_report else None
    return CardFacts(
        name=bundle.name,
        task=bundle.task,
        scoring_mode=bundle.scoring_mode,
        base_model=_base_model_name(record),
        method=record.get("method"),
        training=_training_facts(record, config),
        data=_data_facts(record, manifest, bundle.recipe),
        report=report,
        recipe=bundle.recipe,
        serving=bundle.serving.to_dict(),
        labels=(context.labels or context.span_labels or context.fields) if context else None,
        language=guess_language(texts) if texts else None,
        mean_input_chars=sum(map(len, texts)) / len(texts) if texts else None,
        files=tuple(files),
    )


def _base_model_name(record: Mapping[str, Any]) -> str:

    base = record.get("base_model")
    if not base:
        return f"{EMBEDDED_MODEL_NAME} (BrewSLM's embedded default)"
    path = Path(str(base))
    return path.name if path.is_absolute() else str(base)


def _training_facts(record: Mapping[str, Any], config: Mapping[str, Any]) -> dict[str, Any]:
    metrics = record.get("metrics") or {}
    lora = config.get("lora") if isinstance(config.get("lora"), Mapping) else {}
    return {
        "method": record.get("method"),
        "objective": record.get("objective"),
        "max_seq_len": config.get("max_seq_len"),
        "epochs": metrics.get("epochs"),
        "steps": metrics.get("steps"),
        "learning_rate": config.get("learning_rate"),
        "lora_r": lora.get("r") if record.get("model_kind") != "full" else None,
        "precision": record.get("precision"),
        "train_loss": metrics.get("train_loss"),
        "eval_loss": metrics.get("eval_loss"),
    }


def _data_facts(
    record: Mapping[str, Any], manifest: Mapping[str, Any], recipe: Mapping[str, Any] | None
) -> dict[str, Any]:
    dataset = record.get("dataset") or {}
    counts = manifest.get("counts") or {}
    recipe_data = (recipe or {}).get("data") or {}
    twist = (recipe or {}).get("twist") or {}
    return {
        "dataset": dataset.get("name") or manifest.get("name"),
        "version": dataset.get("version") or manifest.get("version"),
        "locator": recipe_data.get("locator") or (manifest.get("source") or {}).get("locator"),
        "source_name": (manifest.get("source") or {}).get("name"),
        "mapper": recipe_data.get("mapper") or manifest.get("mapper_id"),
        "field_map": recipe_data.get("field_map") or manifest.get("field_map") or {},
        "derived_by": twist.get("kind") if manifest.get("parent_version") is not None and twist else None,
        "rows_read": counts.get("rows_read"),
        "records": counts.get("records"),
        "splits": counts.get("splits") or {},
        "rejected": counts.get("rejected") or {},
        "rejected_total": counts.get("rejected_total"),
        "duplicates": counts.get("duplicates"),
    }


def _sample_texts(record: Mapping[str, Any]) -> Iterator[str]:
    """The input text of the first ``TEXT_SAMPLE`` training rows (nothing when the data is gone)."""
    from brewslm.training.run import open_dataset_ref

    path = (record.get("dataset") or {}).get("path")
    if not path or not Path(path).is_dir():
        return
    try:
        records = open_dataset_ref(str(path)).iter_records("train")
        for number, row in enumerate(records):
            if number >= TEXT_SAMPLE:
                break
            text = " ".join(_strings(row))
            if text.strip():
                yield text
    except (BrewError, OSError, ValueError):
        return


def _strings(value: Any, key: str | None = None) -> Iterator[str]:
    if key in SKIPPED_RECORD_KEYS:
        return
    if isinstance(value, str):
        yield value
    elif isinstance(value, Mapping):
        for name, item in value.items():
            yield from _strings(item, str(name))
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


# --- pure parts ----------------------------------------------------------------------------------------


def text_language(text: str) -> str | None:
    """One text's language by function words, or its script when most letters are not Latin."""
    letters = [c for c in text if c.isalpha()]
    if not letters:
        return None
    scripts = Counter(_script(c) for c in letters)
    script, count = scripts.most_common(1)[0]
    if script != "LATIN" and count * 2 > len(letters):
        return script.title() + " script"
    words = [w.casefold() for w in _WORD.findall(text)]
    hits = {language: sum(w in vocabulary for w in words) for language, vocabulary in FUNCTION_WORDS.items()}
    ranked = sorted(hits.values(), reverse=True)
    if ranked[0] == 0 or ranked[0] == ranked[1]:  # no function word, or a tie: undecided
        return None
    return max(hits, key=hits.__getitem__)


def _script(char: str) -> str:
    name = unicodedata.name(char, "")
    return next((script for script in ("LATIN", *SCRIPTS) if name.startswith(script)), "OTHER")


def guess_language(texts: Iterable[str]) -> LanguageGuess:
    """The most common ``text_language`` over ``texts`` and its share (None below ``LANGUAGE_MIN_SHARE``)."""
    found = [text_language(text) for text in texts]
    counts = Counter(language for language in found if language)
    if not found or not counts:
        return LanguageGuess(None, 0.0, len(found))
    language, count = counts.most_common(1)[0]
    share = count / len(found)
    return LanguageGuess(language if share >= LANGUAGE_MIN_SHARE else None, share, len(found))


def limitations(facts: CardFacts) -> list[str]:
    """The card's limitations, most specific first (see the module docstring)."""
    out: list[str] = []
    report = facts.report
    if report:
        out += _report_limitations(report)
    else:
        out.append(
            "No evaluation report was found for this model: its quality on held-out data is unmeasured "
            "(run `brewslm eval` on it)."
        )
    max_len = facts.training.get("max_seq_len")
    if max_len:
        out.append(
            f"Training cut every example to {max_len} tokens: longer inputs were truncated while it "
            "learnt, and it may handle them poorly."
        )
    language = facts.language
    if language and language.rows:
        if language.language:
            out.append(
                f"The training text is mostly {language.language} ({_pct(language.share)} of "
                f"{language.rows} sampled rows); other languages were not tested."
            )
        else:
            out.append(
                f"The training text has no dominant language in {language.rows} sampled rows; "
                "quality per language was not measured."
            )
    out += _domain_limitations(facts)
    rejected = facts.data.get("rejected_total")
    if rejected:
        reasons = ", ".join(
            f"{reason} x{count}"
            for reason, count in sorted((facts.data.get("rejected") or {}).items(), key=lambda kv: -kv[1])
        )
        out.append(
            f"{rejected} source rows were rejected at import ({reasons}): rows shaped like them were "
            "never seen in training."
        )
    return out + list(STANDARD_LIMITATIONS)


def _report_limitations(report: Mapping[str, Any]) -> list[str]:
    from brewslm.evaluation.report import baseline_verdict

    out: list[str] = []
    headline = report.get("headline")
    tuned = (report.get("metrics") or {}).get("tuned") or {}
    examples = (report.get("dataset") or {}).get("examples")
    interval = ((report.get("intervals") or {}).get("tuned") or {}).get(headline)
    if examples is not None:
        span = (
            f"; the 95% interval of {headline} is [{_num(interval[0])}, {_num(interval[1])}]"
            if interval and None not in interval
            else ""
        )
        size = "only " if examples < SMALL_TEST_SET else ""
        out.append(
            f"Evaluated on {size}{examples} held-out {report.get('dataset', {}).get('split', 'test')} "
            f"rows{span}{': treat the numbers as rough' if size else ''}."
        )
    out += _weakest(report)
    unparseable = tuned.get("unparseable_rate")
    if unparseable:
        out.append(f"{_pct(unparseable)} of its test replies could not be parsed as a {report.get('task')} answer.")
    lift = (report.get("lift") or {}).get(headline) or {}
    if lift.get("lift") is not None:
        lower_better = headline in (report.get("lower_is_better") or ())
        worse = lift["lift"] > 0 if lower_better else lift["lift"] < 0
        if worse:
            out.append(f"It scores worse than its base on {headline} ({_num(lift['base'])} -> {_num(lift['tuned'])}).")
        elif (
            lift.get("ci_low") is not None
            and lift.get("ci_high") is not None
            and lift["ci_low"] <= 0 <= lift["ci_high"]
        ):
            out.append(
                f"Its gain over the base on {headline} is not significant: the 95% interval of the lift, "
                f"[{_num(lift['ci_low'])}, {_num(lift['ci_high'])}], includes zero."
            )
    beaten = baseline_verdict(report)  # the cheap baseline (TF-IDF + logistic regression...) beats or matches it
    if beaten:
        out.append(beaten)
        out += [str(line) for line in report.get("next_steps") or []]  # what to try next (brewslm.tuning.advice)
    majority = tuned.get("majority_baseline_accuracy")
    if majority is not None and tuned.get("accuracy") is not None and tuned["accuracy"] <= majority:
        out.append(
            f"Its accuracy ({_num(tuned['accuracy'])}) is no better than always answering the most common "
            f"label ({_num(majority)})."
        )
    failed = failed_gates(report)
    if failed:
        out.append(f"It failed its quality gates: {', '.join(failed)}.")
    return out


def failed_gates(report: Mapping[str, Any]) -> list[str]:
    """The gates an evaluation report failed, as written (``macro_f1 >= 0.8``)."""
    return [str(g.get("gate")) for g in report.get("gates") or [] if not g.get("passed")]


def _weakest(report: Mapping[str, Any]) -> list[str]:
    """The lowest-scoring classes / span types / fields / tools with test support."""
    breakdown = (report.get("breakdown") or {}).get("tuned") or {}
    out = []
    for key, noun in (
        ("per_class", "classes"),
        ("per_type", "span types"),
        ("per_field", "fields"),
        ("per_tool", "tools"),
    ):
        section = breakdown.get(key)
        if not isinstance(section, Mapping) or len(section) < 2:
            continue
        metric = next((m for m in ("f1", "accuracy") if any(m in (v or {}) for v in section.values())), None)
        if metric is None:
            continue
        scored = [
            (name, v[metric], v.get("support"))
            for name, v in section.items()
            if isinstance(v, Mapping) and v.get(metric) is not None and (v.get("support") or 0) > 0
        ]
        scored.sort(key=lambda item: (item[1], str(item[0])))
        if scored:
            listed = ", ".join(
                f"{name} ({metric} {_num(value)}, {_count(support)} test row{'' if support == 1 else 's'})"
                for name, value, support in scored[:WEAKEST]
            )
            out.append(f"Weakest {noun}: {listed}.")
    return out


def _domain_limitations(facts: CardFacts) -> list[str]:
    data = facts.data
    source = data.get("source_name") or data.get("dataset") or "its dataset"
    records = data.get("records")
    length = f"; inputs average {facts.mean_input_chars:,.0f} characters" if facts.mean_input_chars else ""
    out = [
        f"It learnt from {_count(records) + ' rows of ' if records else ''}{source}{length}: inputs unlike "
        "them (another domain, format or length) are out of distribution."
    ]
    if facts.labels and facts.task == "classification":
        out.append(
            f"It only answers one of its {len(facts.labels)} labels; anything else must be caught by "
            "the caller"
            + (
                f" (the served model routes low-confidence inputs to '{facts.serving.get('fallback_label')}')"
                if facts.serving.get("fallback_label")
                else ""
            )
            + "."
        )
    return out


def _pct(value: float) -> str:
    return f"{value * 100:.0f}%"


def _num(value: Any) -> str:
    return "-" if value is None else f"{value:.3f}" if isinstance(value, float) else str(value)


def _count(value: Any) -> str:
    return f"{int(value):,d}" if isinstance(value, (int, float)) else str(value)


# --- rendering -----------------------------------------------------------------------------------------


def render_model_card(facts: CardFacts) -> str:
    """README.md: front matter, summary, model, data, evaluation, serving, limitations, files."""
    from brewslm.evaluation.report import markdown_escape as esc

    parts = [_front_matter(facts), f"# {esc(facts.name)}", _summary(facts)]
    failed = failed_gates(facts.report or {})
    if failed:  # said up front: whoever picks the folder up must not miss that it was not good enough
        parts.append(
            f"> **Warning: this model FAILED its quality gates ({esc(', '.join(failed))}) and was exported "
            "anyway.** Read the evaluation and the limitations below before using it."
        )
    parts += ["## Model", _bullets([(k, v) for k, v in _model_rows(facts) if v is not None])]
    parts += ["## Training data", _bullets([(k, v) for k, v in _data_rows(facts) if v is not None])]
    parts += ["## Evaluation", *_evaluation(facts)]
    parts += ["## Use", *_usage(facts)]
    parts += ["## Limitations", "\n".join(f"- {esc(line)}" for line in limitations(facts))]
    if facts.files:
        parts += ["## Files", "\n".join(f"- `{name}`" for name in facts.files)]
    return "\n\n".join(parts) + "\n"


def _front_matter(facts: CardFacts) -> str:
    lines = ["---", "library_name: transformers", "tags:", "- brewslm"]
    if facts.task:
        lines.append(f"- {facts.task}")
    if facts.method:
        lines.append(f"- {facts.method}")
    if facts.language and facts.language.code:
        lines += ["language:", f"- {facts.language.code}"]
    lines.append(f"base_model: {json.dumps(facts.base_model)}")
    return "\n".join(lines + ["---"])


def _summary(facts: CardFacts) -> str:
    from brewslm.evaluation.report import markdown_escape as esc

    task = f"{facts.task}" + (f" ({facts.scoring_mode})" if facts.scoring_mode else "")
    recipe = f", from the recipe '{facts.recipe['name']}'" if facts.recipe and facts.recipe.get("name") else ""
    how = (
        "full fine-tuning"
        if facts.training.get("lora_r") is None
        else f"{facts.method or 'LoRA'}, the adapter merged into the weights"
    )
    return esc(
        f"A fine-tune of {facts.base_model} for {task}{recipe}, made with BrewSLM ({how}); the folder "
        "loads with plain transformers."
    )


def _model_rows(facts: CardFacts) -> list[tuple[str, Any]]:
    t = facts.training
    return [
        ("base model", facts.base_model),
        ("task", facts.task),
        ("scoring mode", facts.scoring_mode),
        ("method", t.get("method")),
        ("objective", t.get("objective")),
        ("LoRA rank", t.get("lora_r")),
        ("max sequence length", t.get("max_seq_len")),
        ("epochs", t.get("epochs")),
        ("optimizer steps", t.get("steps")),
        ("learning rate", t.get("learning_rate")),
        ("precision", t.get("precision")),
        ("final train loss", _maybe_num(t.get("train_loss"))),
        ("validation loss", _maybe_num(t.get("eval_loss"))),
        (
            "labels"
            if facts.task == "classification"
            else "span types"
            if facts.scoring_mode == "span_set"
            else "fields",
            ", ".join(facts.labels) if facts.labels else None,
        ),
    ]


def _data_rows(facts: CardFacts) -> list[tuple[str, Any]]:
    d = facts.data
    splits = ", ".join(f"{name} {_count(n)}" for name, n in (d.get("splits") or {}).items()) or None
    rejected = d.get("rejected") or {}
    rejects = (
        f"{_count(d.get('rejected_total'))} (" + ", ".join(f"{r} x{n}" for r, n in rejected.items()) + ")"
        if d.get("rejected_total")
        else "0"
        if d.get("rejected_total") == 0
        else None
    )
    field_map = ", ".join(f"{k} -> {v}" for k, v in (d.get("field_map") or {}).items()) or None
    language = facts.language
    return [
        ("source", f"`{d['locator']}`" if d.get("locator") else None),
        ("mapper", d.get("mapper")),
        ("field map", field_map),
        ("dataset", f"{d['dataset']} v{d.get('version')}" if d.get("dataset") else None),
        ("prepared by twist", d.get("derived_by")),
        ("rows read", _count(d["rows_read"]) if d.get("rows_read") is not None else None),
        ("records", _count(d["records"]) if d.get("records") is not None else None),
        ("splits", splits),
        ("rejected rows", rejects),
        ("duplicates dropped", _count(d["duplicates"]) if d.get("duplicates") is not None else None),
        (
            "language (guessed)",
            f"{language.language or 'unknown'} ({_pct(language.share)} of {language.rows} sampled rows)"
            if language and language.rows
            else None,
        ),
    ]


def _evaluation(facts: CardFacts) -> list[str]:
    from brewslm.evaluation.report import Heading, Table, report_blocks
    from brewslm.evaluation.report import markdown_escape as esc

    report = facts.report
    if not report:
        return ["No evaluation report was found (run `brewslm eval --model <this folder> --dataset <data>`)."]
    dataset = report.get("dataset") or {}
    models = report.get("models") or {}
    base = (models.get("base") or {}).get("name")
    cheap = (models.get("baseline") or {}).get("title")
    beside = f", the cheap baseline ({cheap}, fitted on the train split)" if cheap else ""
    intro = (
        esc(
            f"Base ({base}){beside} and fine-tune on the same {dataset.get('examples')} held-out "
            f"{dataset.get('split', 'test')} rows of {dataset.get('name')} v{dataset.get('version')}; "
            f"headline metric: {report.get('headline')}."
        )
        + " Intervals are 95% bootstrap percentile "
        "intervals; the lift's is paired (both models on the same resampled rows). Full report: `report.html`."
    )
    blocks = report_blocks(report)
    metrics_at = next((i for i, b in enumerate(blocks) if isinstance(b, Heading) and b.text == "Metrics"), None)
    table = blocks[metrics_at + 1] if metrics_at is not None else None
    out = [intro]
    if isinstance(table, Table):
        lines = [table.headers, ("---",) * len(table.headers), *table.rows]
        out.append("\n".join("| " + " | ".join(esc(cell) for cell in line) + " |" for line in lines))
    gates = report.get("gates") or []
    if gates:
        verdict = "passed" if report.get("passed") else "FAILED"
        out.append(
            esc(
                f"Gates {verdict}: "
                + "; ".join(
                    f"{g.get('gate')} ({'pass' if g.get('passed') else 'fail'}, value {_num(g.get('value'))})"
                    for g in gates
                )
            )
        )
    return out


def _usage(facts: CardFacts) -> list[str]:
    from brewslm.evaluation.report import markdown_escape as esc

    out = [
        "```python\nfrom transformers import AutoModelForCausalLM, AutoTokenizer\n\n"
        'model = AutoModelForCausalLM.from_pretrained("<this folder>")\n'
        'tokenizer = AutoTokenizer.from_pretrained("<this folder>")  # carries the chat template it was trained with\n```',
        "Prompts must be rendered the way training rendered them (`brewslm_export.json` holds the task and "
        "render context); `brewslm serve <this folder>` does that and serves an OpenAI-compatible API plus "
        "the task's endpoint.",
    ]
    serving = facts.serving
    settings = []
    if serving.get("confidence_threshold") is not None:
        settings.append(
            f"below a confidence of {serving['confidence_threshold']:.3f} (tuned on validation rows) "
            f"/v1/classify answers '{serving.get('fallback_label')}'"
        )
    if serving.get("json_schema"):
        settings.append(
            "/v1/extract validates replies against the target's JSON schema (stored in brewslm_export.json)"
        )
    if serving.get("retrieval"):
        retrieval = serving["retrieval"]
        settings.append(
            f"/v1/rag/answer retrieves the top {retrieval.get('top_k')} passages ({retrieval.get('mode')}) "
            "from chunks.jsonl before answering"
        )
    if settings:
        out.append(esc("Serving settings: " + "; ".join(settings) + "."))
    return out


def _bullets(rows: Sequence[tuple[str, Any]]) -> str:
    from brewslm.evaluation.report import markdown_escape as esc

    return "\n".join(f"- **{esc(key)}**: {value if str(value).startswith('`') else esc(value)}" for key, value in rows)


def _maybe_num(value: Any) -> str | None:
    return None if value is None else _num(value)


__all__ = [
    "CardFacts",
    "FUNCTION_WORDS",
    "LanguageGuess",
    "STANDARD_LIMITATIONS",
    "collect_card_facts",
    "failed_gates",
    "guess_language",
    "limitations",
    "render_model_card",
    "text_language",
]
