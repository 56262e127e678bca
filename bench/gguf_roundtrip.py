"""GGUF export round trip: file size, export time and logit agreement per converter and quantization.

    python bench/gguf_roundtrip.py                          # the embedded SmolLM2-135M-Instruct, both converters
    python bench/gguf_roundtrip.py --converters llama.cpp --quants q4_k_m q6_k
    python bench/gguf_roundtrip.py --model runs/reviews-lora   # a fine-tune (any spec `brewslm export` takes)

What runs. For each converter and quantization, ``brewslm.export.export_gguf`` (what ``brewslm export
--format gguf`` calls) writes the model (``--model``, default ``--base``: the embedded SmolLM2, or
``BREWSLM_BASE_MODEL``) into a temporary folder and verifies it against the original model's logits
over the same chat-templated prompts (``export.gguf.VERIFY_PROMPTS``):

- ``llama.cpp``: written by llama.cpp's ``convert_hf_to_gguf.py`` (K-quants by its quantizer, from an
  f16 file) and run **inside llama.cpp** (``llama-cpp-python``) for the comparison;
- ``builtin``: BrewSLM's own writer (f32 / f16 / q8_0), read back through transformers' GGUF loader.

How it is read. "max rel diff" is max |logit difference| / max |logit| over every position; "top-1"
is the share of positions whose most likely next token is the same; "tokens" says whether the
GGUF's tokenizer splits the prompts identically. "allowed" is the tolerance ``export_gguf`` enforces
(a file outside it is an error). Seconds cover load + write + verification; size is the file's.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from measure import peak_rss_mb, report_result  # noqa: E402


def main() -> None:
    from brewslm.base_models import default_base_model
    from brewslm.errors import ConfigError
    from brewslm.export.gguf import QUANTS, export_gguf
    from brewslm.export.llamacpp import QUANT_TYPES, ensure_tooling, gguf_type_counts
    from brewslm.output import table

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", help="run, recipe, export or model folder (default: --base)")
    parser.add_argument("--base", help="base model folder (default: BREWSLM_BASE_MODEL, else the embedded SmolLM2)")
    parser.add_argument("--quants", nargs="+", default=list(QUANT_TYPES), choices=QUANT_TYPES)
    parser.add_argument("--converters", nargs="+", default=["llama.cpp", "builtin"], choices=["llama.cpp", "builtin"])
    args = parser.parse_args()

    model = args.model or args.base or default_base_model()
    if "llama.cpp" in args.converters:
        ensure_tooling(progress=lambda line: print(line, file=sys.stderr))  # set-up time is not an export's
    rows: list[dict[str, Any]] = []
    for converter in args.converters:
        for quant in args.quants:
            if converter == "builtin" and quant not in QUANTS:
                continue
            with tempfile.TemporaryDirectory(prefix="brewslm-gguf-") as out:
                started = time.perf_counter()
                try:
                    export = export_gguf(model, Path(out) / quant, quant=quant, converter=converter)
                    check, size, types = export.verification.to_dict(), export.bytes, export.type_counts
                except ConfigError as exc:  # a file outside its tolerance: its numbers are still the finding
                    kept = next((Path(out) / quant).glob("*.verify.json"), None)
                    if kept is None:
                        raise
                    check = json.loads(kept.read_text(encoding="utf-8"))
                    gguf = next((Path(out) / quant).glob("*.gguf"))
                    size, types = gguf.stat().st_size, gguf_type_counts(gguf)
                    print(f"{converter} {quant}: FAILED its check: {exc}", file=sys.stderr)
                rows.append(
                    {
                        "converter": converter,
                        "quant": quant,
                        "bytes": size,
                        "seconds": round(time.perf_counter() - started, 1),
                        "types": types,
                        **check,
                    }
                )
                print(
                    f"{converter} {quant}: max rel diff {check['max_rel_diff']:.2e}, top-1 "
                    f"{check['top1_agreement']:.3f}, types {types}",
                    file=sys.stderr,
                )

    text = table(
        ["converter", "quant", "size MB", "seconds", "max rel diff", "allowed", "top-1", "needs", "tokens", "passed"],
        [
            [
                r["converter"],
                r["quant"],
                f"{r['bytes'] / 1e6:.1f}",
                f"{r['seconds']:.1f}",
                f"{r['max_rel_diff']:.2e}",
                f"{r['tolerance']['max_rel_diff']:g}",
                f"{r['top1_agreement']:.3f}",
                f"{r['tolerance']['min_top1']:g}",
                "identical" if r["tokens_match"] else "DIFFERENT",
                "yes" if r["passed"] else "NO",
            ]
            for r in rows
        ],
        width=20,
    )
    positions = rows[0]["positions"] if rows else 0
    text += (
        f"\n\nmodel {model}; {positions} positions of {rows[0]['prompts'] if rows else 0} prompts; "
        f"{platform.processor() or platform.machine()}, peak RSS {peak_rss_mb():.0f} MB"
    )
    report_result("gguf_roundtrip", {"model": str(model), "rows": rows}, text)


if __name__ == "__main__":
    main()
