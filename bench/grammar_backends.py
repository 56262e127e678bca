"""Grammar-constrained decoding backends side by side: llguidance, xgrammar and the JSON prefix
checker BrewSLM had before (``evaluation/prediction/constrained.py`` as of ``--legacy-ref``).

    python bench/grammar_backends.py                 # the table in docs/evaluation.md
    python bench/grammar_backends.py --repeat 3      # fewer compile repetitions (a smoke run)
    python bench/grammar_backends.py --legacy-ref none   # without the old checker (no git history)
    python bench/grammar_backends.py --model-step    # also time a SmolLM2-135M decoding step, for scale

llguidance is a BrewSLM dependency; xgrammar is measured when it is installed (``pip install
xgrammar``: it pulls triton, ~1 GB, so it is in no extra).

What runs. The embedded SmolLM2 tokenizer (``brewslm.base_models.embedded_model_dir()``, 49,152
tokens) and three schemas a BrewSLM model is constrained to: the span list of
``SpanSetReader.json_schema`` (labels PERSON / ORG / LOC), the tool-call schema of
``tasks.tool_call.calls_schema`` for two tools (a call object or a list of calls; the tools' arguments
with an enum, a bounded integer and a date ``format``), and an object with a string and a bounded
integer. For each schema one valid reply, spelled as BrewSLM's training targets spell JSON
(``rendering.to_json``: separators ", " and ": "), is tokenized by the tokenizer and walked token by
token: before each token (and before the end of the turn) the backend computes the set of allowed
next tokens over the *whole* vocabulary, then takes the token.

- **tokenizer setup**: the backend's one-off reading of the vocabulary (llguidance
  ``hf.from_tokenizer``, xgrammar ``TokenizerInfo.from_huggingface``, the old checker's decoding of
  every token's text, ``TokenTexts``).
- **compile**: the schema into a matcher ready to decode (llguidance ``grammar_from_json_schema`` +
  ``LLMatcher``; xgrammar ``GrammarCompiler.compile_json_schema`` with its cache off + a
  ``GrammarMatcher``; the old checker's ``JsonPrefixChecker``), the median of ``--repeat`` runs.
- **mask / token**: the full next-token mask (llguidance ``fill_next_token_bitmask``, xgrammar
  ``fill_next_token_bitmask``, the old checker's ``ConstrainedReply.allows`` on every token id),
  mean and max over the reply's steps (the first step included), each step's time the fastest of
  three walks (one for the old checker: it is slow), so a busy machine's hiccups do not count.
- **old: top-50 / token**: what the old checker actually did when sampling: test the 50 most likely
  tokens of random logits (``ConstrainedReply.candidates(top_k=50)``) - not a mask, so not the same
  coverage.
- **BrewSLM (llguidance)** rows: the shipped integration, ``constrained.ConstrainedReply`` (built by
  ``generation.ReplyConstraints``): the mask unpacked to one boolean per token and applied to a
  row of float32 logits (-inf where not allowed), what decoding pays per step and row.

The feature rows check what each backend enforces on small cases: a ``pattern``, a ``format:
date``, a ``oneOf`` whose branches overlap (a document matching both branches must be refused;
refusing the schema is right too, as no grammar can enforce "exactly one" there), bounds on a
``number``, an escape where a plain character is allowed (``\\u006f``), and whitespace outside the
one spelling (``{ "a"``); "refused" means the backend would not compile the schema. Timings are wall times on whatever else the machine is doing; the load
average is printed with the table. Results go to ``bench/out/grammar_backends.json``.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import importlib.util
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

sys.path.insert(0, str(Path(__file__).resolve().parent))
from measure import report_result  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SEPARATORS = (", ", ": ")
LEGACY_PATH = "src/brewslm/evaluation/prediction/constrained.py"


def schemas() -> dict[str, tuple[dict[str, Any], Any]]:
    """name -> (schema, one valid document)."""
    from brewslm.tasks.rendering import RenderContext
    from brewslm.tasks.structured_extraction import SpanSetReader
    from brewslm.tasks.tool_call import calls_schema

    spans = SpanSetReader(context=RenderContext(span_labels=("LOC", "ORG", "PERSON"))).json_schema({})
    tools = [
        {
            "name": "get_weather",
            "parameters": {
                "type": "object",
                "properties": {"city": {"type": "string"}, "unit": {"enum": ["celsius", "fahrenheit"]}},
                "required": ["city"],
            },
        },
        {
            "name": "book_table",
            "parameters": {
                "type": "object",
                "properties": {
                    "restaurant": {"type": "string"},
                    "people": {"type": "integer", "minimum": 1, "maximum": 20},
                    "date": {"type": "string", "format": "date"},
                },
                "required": ["restaurant", "people", "date"],
            },
        },
    ]
    person = {
        "type": "object",
        "properties": {"name": {"type": "string"}, "age": {"type": "integer", "minimum": 0, "maximum": 120}},
        "required": ["name", "age"],
    }
    return {
        "span list": (
            spans,
            [
                {"text": "Ada Lovelace", "label": "PERSON"},
                {"text": "Analytical Engine Company", "label": "ORG"},
                {"text": "London", "label": "LOC"},
            ],
        ),
        "tool call": (
            calls_schema(tools),
            {"tool": "book_table", "arguments": {"restaurant": "Chez Nous", "people": 4, "date": "2025-06-14"}},
        ),
        "string + bounded int": (person, {"name": "Ada Lovelace", "age": 36}),
    }


FEATURES: list[tuple[str, dict[str, Any], str]] = [  # (feature, schema, a text the schema must NOT accept)
    ("pattern", {"type": "string", "pattern": "^[A-Z]{3}$"}, '"abc"'),
    ("format: date", {"type": "string", "format": "date"}, '"hello"'),
    ("oneOf (overlapping)", {"oneOf": [{"type": "string"}, {"type": "string", "maxLength": 3}]}, '"ab"'),
    ("number bounds", {"type": "number", "minimum": 0.5, "maximum": 2.5}, "7"),
    ("no needless escape", {"type": "object", "properties": {"a": {"type": "string"}}}, '{"a": "\\u006f"}'),
    ("no free whitespace", {"type": "object", "properties": {"a": {"type": "string"}}}, '{ "a": "o"}'),
]


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    value = fn()
    return time.perf_counter() - start, value


# --- backends -------------------------------------------------------------------------------------


class Llguidance:
    name = "llguidance"

    def __init__(self, tokenizer: Any):
        import llguidance
        import llguidance.hf
        import llguidance.torch

        self.llg = llguidance
        self.version = importlib.metadata.version("llguidance")
        self.setup_s, self.tok = timed(lambda: llguidance.hf.from_tokenizer(tokenizer))
        self.bitmask = llguidance.torch.allocate_token_bitmask(1, self.tok.vocab_size)
        self.fill = llguidance.torch.fill_next_token_bitmask

    def grammar(self, schema: dict[str, Any]) -> str:
        options = {
            "whitespace_flexible": False,
            "item_separator": SEPARATORS[0],
            "key_separator": SEPARATORS[1],
            "json_allowed_escapes": 'nrbtf\\"u',
        }
        return self.llg.LLMatcher.grammar_from_json_schema(schema, defaults=options)

    def compile(self, schema: dict[str, Any]) -> Any:
        matcher = self.llg.LLMatcher(self.tok, self.grammar(schema), log_level=0)
        if matcher.is_error():
            raise ValueError(matcher.get_error())
        return matcher

    def mask(self, matcher: Any) -> None:
        self.fill(matcher, self.bitmask)

    def take(self, matcher: Any, token: int) -> None:
        if not matcher.consume_token(token):
            raise ValueError(matcher.get_error())

    def accepts(self, schema: dict[str, Any], text: str) -> bool:
        matcher = self.compile(schema)
        return matcher.consume_tokens(self.tok.tokenize_str(text)) and matcher.is_accepting()


class Brewslm:
    """The shipped integration: ``ConstrainedReply`` over llguidance, mask applied to logits."""

    name = "BrewSLM (llguidance)"

    def __init__(self, tokenizer: Any):
        import torch

        from brewslm.inference import constrained

        self.constrained = constrained
        self.version = "ConstrainedReply"
        self.stop = [tokenizer.eos_token_id]
        self.setup_s, self.vocabulary = timed(lambda: constrained.model_vocabulary(tokenizer, self.stop))
        self.logits = torch.randn(len(tokenizer), generator=torch.Generator().manual_seed(0))

    def compile(self, schema: dict[str, Any]) -> Any:
        self.constrained._grammars.clear()  # time the compilation, not the cache
        constraint = self.constrained.JsonConstraint(schema)
        matcher = self.constrained.compile_matcher(constraint, self.vocabulary)
        return self.constrained.ConstrainedReply(matcher, self.vocabulary.vocab_size, self.stop)

    def mask(self, reply: Any) -> None:
        reply.mask(self.logits)

    def take(self, reply: Any, token: int) -> None:
        reply.advance(token)

    def accepts(self, schema: dict[str, Any], text: str) -> bool:
        return self.constrained.check_prefix(schema, text).complete


class Xgrammar:
    name = "xgrammar"

    def __init__(self, tokenizer: Any):
        import xgrammar

        self.xgr = xgrammar
        self.version = importlib.metadata.version("xgrammar")
        self.tokenizer = tokenizer
        self.setup_s, self.info = timed(
            lambda: xgrammar.TokenizerInfo.from_huggingface(tokenizer, vocab_size=len(tokenizer))
        )
        self.bitmask = xgrammar.allocate_token_bitmask(1, self.info.vocab_size)

    def compile(self, schema: dict[str, Any]) -> Any:
        compiler = self.xgr.GrammarCompiler(self.info, max_threads=1, cache_enabled=False)
        compiled = compiler.compile_json_schema(schema, any_whitespace=False, separators=SEPARATORS)
        return self.xgr.GrammarMatcher(compiled)

    def mask(self, matcher: Any) -> None:
        matcher.fill_next_token_bitmask(self.bitmask)

    def take(self, matcher: Any, token: int) -> None:
        if not matcher.accept_token(token):
            raise ValueError(f"token {token} refused")

    def accepts(self, schema: dict[str, Any], text: str) -> bool:
        matcher = self.compile(schema)
        ids = self.tokenizer(text, add_special_tokens=False)["input_ids"]
        return all(matcher.accept_token(t) for t in ids) and matcher.accept_token(self.tokenizer.eos_token_id)


class Legacy:
    """The JSON prefix checker BrewSLM had before llguidance, loaded from git history."""

    name = "old checker"

    def __init__(self, tokenizer: Any, ref: str):
        source = subprocess.run(
            ["git", "show", f"{ref}:{LEGACY_PATH}"], cwd=ROOT, check=True, capture_output=True, text=True
        ).stdout
        path = Path(tempfile.mkdtemp()) / "legacy_constrained.py"
        path.write_text(source, encoding="utf-8")
        spec = importlib.util.spec_from_file_location("legacy_constrained", path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module  # dataclasses look their module up
        spec.loader.exec_module(module)
        self.module = module
        self.version = f"git {ref}"
        self.tokenizer = tokenizer
        self.vocab = len(tokenizer)

        def read_all() -> Any:
            texts = module.TokenTexts(tokenizer)
            for token_id in range(self.vocab):
                texts.text(token_id)
            return texts

        self.setup_s, self.texts = timed(read_all)
        self.stop = tokenizer.eos_token_id

    def compile(self, schema: dict[str, Any]) -> Any:
        return self.module.ConstrainedReply(self.module.JsonPrefixChecker(schema), self.texts, [self.stop])

    def mask(self, reply: Any) -> None:
        for token_id in range(self.vocab):
            reply.allows(token_id)

    def top50(self, reply: Any, logits: Any) -> None:
        reply.candidates(logits, top_k=50)

    def take(self, reply: Any, token: int) -> None:
        if not reply.allows(token):
            raise ValueError(f"token {token} refused")
        reply.advance(token)

    def accepts(self, schema: dict[str, Any], text: str) -> bool:
        return self.module.check_prefix(schema, text).complete


# --- measuring ------------------------------------------------------------------------------------


def walk(backend: Any, schema: dict[str, Any], ids: list[int], step: Callable[[Any], None]) -> list[float]:
    """Per-step times of ``step(matcher)`` before each token of ``ids`` and before the end."""
    matcher = backend.compile(schema)
    times = []
    for token in [*ids, None]:
        start = time.perf_counter()
        step(matcher)
        times.append(time.perf_counter() - start)
        if token is not None:
            backend.take(matcher, token)
    return times


def measure(backend: Any, schema: dict[str, Any], ids: list[int], repeat: int, walks: int) -> dict[str, Any]:
    compile_times = [timed(lambda: backend.compile(schema))[0] for _ in range(repeat)]
    runs = [walk(backend, schema, ids, backend.mask) for _ in range(walks)]
    best = [min(times) for times in zip(*runs)]
    out = {
        "compile_ms": statistics.median(compile_times) * 1e3,
        "mask_mean_ms": statistics.mean(best) * 1e3,
        "mask_max_ms": max(best) * 1e3,
        "steps": len(best),
    }
    if hasattr(backend, "top50"):
        import torch

        generator = torch.Generator().manual_seed(0)
        logits = [torch.randn(backend.vocab, generator=generator) for _ in range(len(ids) + 1)]
        queue = iter(logits)
        top = walk(backend, schema, ids, lambda reply: backend.top50(reply, next(queue)))
        out["top50_mean_ms"] = statistics.mean(top) * 1e3
    return out


def features(backend: Any) -> dict[str, str]:
    """feature -> "yes" (the bad text is refused), "no" (accepted) or "refused" (the schema is)."""
    found = {}
    for feature, schema, bad in FEATURES:
        try:
            found[feature] = "no" if backend.accepts(schema, bad) else "yes"
        except Exception:
            found[feature] = "refused"
    return found


def model_step_ms(steps: int = 20) -> tuple[float, float]:
    """Fastest and median time of one cached decoding step of the embedded SmolLM2 (float32,
    batch 1, after a 64-token prompt): what a mask's cost compares with."""
    import torch

    from brewslm.base_models import load_causal_lm

    model, _ = load_causal_lm()
    times = []
    with torch.no_grad():
        out = model(input_ids=torch.arange(100, 164)[None], use_cache=True)
        cache, token = out.past_key_values, out.logits[:, -1:].argmax(-1)
        for _ in range(steps):
            start = time.perf_counter()
            out = model(input_ids=token, past_key_values=cache, use_cache=True)
            times.append(time.perf_counter() - start)
            cache, token = out.past_key_values, out.logits[:, -1:].argmax(-1)
    return min(times) * 1e3, statistics.median(times) * 1e3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=9, help="compile repetitions (median)")
    parser.add_argument("--legacy-ref", default="aebb179", help="git revision of the old checker; 'none' to skip it")
    parser.add_argument("--model-step", action="store_true", help="also time a SmolLM2-135M decoding step")
    args = parser.parse_args()

    from transformers import AutoTokenizer

    from brewslm.base_models import embedded_model_dir

    tokenizer = AutoTokenizer.from_pretrained(str(embedded_model_dir()))
    cases = schemas()
    documents = {name: json.dumps(doc, ensure_ascii=False, separators=SEPARATORS) for name, (_, doc) in cases.items()}
    token_ids = {name: tokenizer(text, add_special_tokens=False)["input_ids"] for name, text in documents.items()}
    backends: list[Any] = [Llguidance(tokenizer), Brewslm(tokenizer)]
    if importlib.util.find_spec("xgrammar") is not None:
        backends.append(Xgrammar(tokenizer))
    else:
        print("xgrammar is not installed (pip install xgrammar): left out", file=sys.stderr)
    if args.legacy_ref != "none":
        backends.append(Legacy(tokenizer, args.legacy_ref))

    result: dict[str, Any] = {
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "load_avg": os.getloadavg()},
        "vocab": len(tokenizer),
        "documents": documents,
        "backends": {},
    }
    rows = []
    for backend in backends:
        entry = result["backends"][backend.name] = {
            "version": backend.version,
            "setup_s": backend.setup_s,
            "schemas": {},
            "features": features(backend),
        }
        for name, (schema, _) in cases.items():
            walks = 1 if isinstance(backend, Legacy) else 3
            repeat = max(1, args.repeat // 3) if isinstance(backend, Legacy) else args.repeat
            numbers = entry["schemas"][name] = measure(backend, schema, token_ids[name], repeat, walks)
            top = f"{numbers['top50_mean_ms']:.3f}" if "top50_mean_ms" in numbers else "-"
            rows.append(
                f"| {backend.name} {backend.version} | {name} | {numbers['compile_ms']:.2f} | "
                f"{numbers['mask_mean_ms']:.3f} | {numbers['mask_max_ms']:.3f} | {top} | {numbers['steps']} |"
            )
    header = [
        f"SmolLM2 tokenizer, {len(tokenizer):,} tokens; {os.cpu_count()} CPUs, load average "
        + ", ".join(f"{x:.2f}" for x in result["machine"]["load_avg"]),
        "",
        "| backend | schema | compile ms | mask / token ms (mean) | mask / token ms (max) "
        "| old: top-50 / token ms | steps |",
        "|---|---|---|---|---|---|---|",
    ]
    setup = ["", "| backend | tokenizer setup s | " + " | ".join(f for f, _, _ in FEATURES) + " |"]
    setup.append("|---|---|" + "---|" * len(FEATURES))
    for backend in backends:
        entry = result["backends"][backend.name]
        marks = " | ".join("**no**" if entry["features"][f] == "no" else entry["features"][f] for f, _, _ in FEATURES)
        setup.append(f"| {backend.name} | {entry['setup_s']:.2f} | {marks} |")
    if args.model_step:
        fastest, median = result["model_step_ms"] = model_step_ms()
        setup += [
            "",
            f"For scale: one SmolLM2-135M decoding step (float32, batch 1): {fastest:.1f} ms fastest, "
            f"{median:.1f} ms median of 20",
        ]
    report_result("grammar_backends", result, "\n".join(header + rows + setup))


if __name__ == "__main__":
    main()
