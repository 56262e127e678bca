"""GGUF export round trip: file size, export time and logit agreement for f32, f16 and q8_0.

    python bench/gguf_roundtrip.py                          # the embedded SmolLM2-135M-Instruct, all three
    python bench/gguf_roundtrip.py --quants f16 q8_0        # some of them
    python bench/gguf_roundtrip.py --model runs/reviews-lora   # a fine-tune (any spec `brewslm export` takes)

What runs. For each quantization, ``brewslm.export.export_gguf`` (what ``brewslm export --format gguf``
calls) writes the model (``--model``, default ``--base``: the embedded SmolLM2, or
``BREWSLM_BASE_MODEL``) in llama.cpp's layout into a temporary folder and verifies it: the file is
loaded back through transformers' GGUF loader (dequantised to float32) and its logits are compared
with the original model's over the same chat-templated prompts (``export.gguf.VERIFY_PROMPTS``).

How it is read. "max rel diff" is max |logit difference| / max |logit| over every position; "top-1"
is the share of positions whose most likely next token is the same; "tokens" says whether the
GGUF's tokenizer splits the prompts identically. "allowed" is the tolerance ``export_gguf`` enforces
(a file outside it is an error). Seconds cover load + write + verification; size is the file's.
"""

from __future__ import annotations

import argparse
import platform
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from measure import peak_rss_mb, report_result  # noqa: E402


def main() -> None:
    from brewslm.export.gguf import QUANTS, export_gguf
    from brewslm.models import default_base_model
    from brewslm.output import table

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", help="run, recipe, export or model folder (default: --base)")
    parser.add_argument("--base", help="base model folder (default: BREWSLM_BASE_MODEL, else the embedded SmolLM2)")
    parser.add_argument("--quants", nargs="+", default=list(QUANTS), choices=QUANTS)
    args = parser.parse_args()

    model = args.model or args.base or default_base_model()
    rows: list[dict[str, Any]] = []
    for quant in args.quants:
        with tempfile.TemporaryDirectory(prefix="brewslm-gguf-") as out:
            started = time.perf_counter()
            export = export_gguf(model, Path(out) / quant, quant=quant)
            check = export.verification
            rows.append({"quant": quant, "bytes": export.bytes, "seconds": round(time.perf_counter() - started, 1),
                         **check.to_dict()})
            print(f"{quant}: {check.describe()}", file=sys.stderr)

    text = table(
        ["quant", "size MB", "seconds", "max rel diff", "allowed", "top-1", "needs", "tokens", "passed"],
        [[r["quant"], f"{r['bytes'] / 1e6:.1f}", f"{r['seconds']:.1f}", f"{r['max_rel_diff']:.2e}",
          f"{r['tolerance']['max_rel_diff']:g}", f"{r['top1_agreement']:.3f}", f"{r['tolerance']['min_top1']:g}",
          "identical" if r["tokens_match"] else "DIFFERENT", "yes" if r["passed"] else "NO"] for r in rows],
        width=20,
    )
    positions = rows[0]["positions"] if rows else 0
    text += (f"\n\nmodel {model}; {positions} positions of {rows[0]['prompts'] if rows else 0} prompts; "
             f"{platform.processor() or platform.machine()}, peak RSS {peak_rss_mb():.0f} MB")
    report_result("gguf_roundtrip", {"model": str(model), "rows": rows}, text)


if __name__ == "__main__":
    main()
