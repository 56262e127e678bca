"""Does a merged folder written with transformers 5.x answer the same under transformers 4.57?

    python bench/portable_check.py                         # the embedded SmolLM2-135M-Instruct, saved as an export saves it
    python bench/portable_check.py --model exports/x-hf    # any merged export folder
    python bench/portable_check.py --python /path/to/venv-with-4.57/bin/python

What runs. The model folder is copied twice: "as saved" (transformers 5's ``save_pretrained``
files, what exports were before ``training.portable``) and "portable" (the same folder after
``make_portable``, what ``brewslm export`` writes now). Each copy is loaded with
``AutoTokenizer`` / ``AutoModelForCausalLM`` in this environment and in a pinned transformers
4.57 environment (``--python``, else the cached one ``brewslm.export.check`` creates), and each
side greedily generates 16 tokens for five fixed chat prompts (``brewslm.export.check.PROMPTS``).
The table gives, per copy: the RoPE base each side loaded, the tokenizer class, whether loading
failed, and the share of prompts whose prompt ids and generated ids agree across the two sides.
Written with the machine and the command to ``bench/out/portable_check.json``. Not measured: GPU
kernels, vLLM / TGI themselves (only the transformers they pin).
"""

from __future__ import annotations

import argparse
import json
import platform
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from brewslm.export.check import check_folder  # noqa: E402
from brewslm.training.portable import make_portable  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="a merged model folder (default: the embedded SmolLM2)")
    parser.add_argument("--python", help="an interpreter with transformers 4.x (default: the cached pinned env)")
    args = parser.parse_args()
    if args.model:
        source = Path(args.model)
    else:
        from brewslm.base_models.embedded import embedded_model_dir

        source = embedded_model_dir()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        saved = Path(shutil.copytree(source, Path(tmp) / "as_saved"))
        portable = Path(shutil.copytree(source, Path(tmp) / "portable"))
        make_portable(portable)
        for name, folder in (("as saved (5.x files)", saved), ("portable (brewslm export)", portable)):
            result = check_folder(folder, args.python, progress=lambda line: print(line, file=sys.stderr))
            rows.append({"copy": name, **result})
    print(
        f"{'copy':<28} {'transformers':<16} {'rope_theta':<22} {'tokenizer class':<52} {'prompt ids':<10} {'outputs':<8} passed"
    )
    for row in rows:
        errors = [e for e in row["errors"] if e]
        print(
            f"{row['copy']:<28} {' / '.join(map(str, row['versions'])):<16} {' / '.join(map(str, row['rope_theta'])):<22} "
            f"{' / '.join(map(str, row['tokenizer_class'])):<52} {row['tokens_agree']:<10.2f} {row['outputs_agree']:<8.2f} "
            f"{row['passed']}" + (f"  error: {errors[0]}" if errors else "")
        )
        for example in row["examples"][:2]:
            print(f"    5.x: {example['here']!r}\n    4.x: {example['pinned']!r}")
    out = Path(__file__).resolve().parent / "out" / "portable_check.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(
        json.dumps(
            {
                "machine": platform.processor() or platform.machine(),
                "command": " ".join(sys.argv),
                "model": str(source),
                "rows": rows,
            },
            indent=2,
        )
        + "\n",
        encoding="utf-8",
    )
    print(f"written to {out}")


if __name__ == "__main__":
    main()
