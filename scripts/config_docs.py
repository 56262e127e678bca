"""Write (or, with --check, compare) the configuration reference pages under docs/config/.

Every page is generated from the option models themselves (``brewslm.options.reference_page``):
each key with its type, default and the field's description, which is also its ``--help`` text.

    python scripts/config_docs.py            # rewrite docs/config/*.md
    python scripts/config_docs.py --check    # exit 1 naming the pages that are out of date
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from brewslm.evaluation.config import EvalConfig
from brewslm.ingestion.spec import ImportSpec
from brewslm.options import reference_page
from brewslm.recipes.config import RecipeConfig
from brewslm.recipes.twists import list_twists
from brewslm.serving.settings import ServerSettings
from brewslm.training.config import TrainConfig

DOCS = Path(__file__).resolve().parents[1] / "docs" / "config"


def pages() -> dict[str, str]:
    """File name -> page text, for every config a user writes."""
    out = {
        "import.md": reference_page(
            ImportSpec,
            "Import settings (`brewslm data import`)",
            "The same settings drive `brewslm data import` (as flags: `mapper_id` is `--mapper`, `field_map` is "
            "`--field-map SRC=DST`, `options` is `--option KEY=VALUE`, `drop_reasons` is `--drop-reason`), saved "
            "mappings and `brewslm.ingestion.ImportSpec` in Python.",
        ),
        "train.md": reference_page(
            TrainConfig,
            "Training options (`brewslm train`)",
            "Set them in a YAML file (`--config`), as flags where one exists, or as "
            "`KEY=VALUE` overrides (dotted for sections: `lora.r=8`); later wins.",
        ),
        "eval.md": reference_page(
            EvalConfig,
            "Evaluation options (`brewslm eval run`)",
            "Set them in a YAML file (`--config`), as flags, or as `KEY=VALUE` overrides.",
        ),
        "recipe.md": reference_page(
            RecipeConfig,
            "Recipe files (`brewslm run RECIPE`)",
            "A recipe is one YAML file. `train` and `eval` take any key of "
            "[train.md](train.md) and [eval.md](eval.md); `twist` takes a twist's keys "
            "([twists.md](twists.md)).",
        ),
        "serve.md": reference_page(
            ServerSettings,
            "Server settings (`brewslm serve`)",
            "Each is a flag of the same name (`max_batch_size` is `--max-batch-size`; "
            "`batching` is turned off with `--no-batching`); the API key is read from "
            "BREWSLM_API_KEY, never from a flag.",
        ),
    }
    twists = [
        "# Recipe twists (`twist:` in a recipe)",
        "",
        "Each recipe may name one twist with `twist: {kind: NAME, ...}`; these are each twist's keys.",
        "",
    ]
    for twist in list_twists():
        about = (twist.__doc__ or sys.modules[twist.__module__].__doc__ or "").strip().split("\n\n")[0]
        page = reference_page(twist.Options, f"`{twist.kind}`", " ".join(about.split()))
        twists.append(page.replace("# `", "## `", 1))
    out["twists.md"] = "\n".join(twists)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="compare instead of writing; exit 1 when a page differs")
    args = parser.parse_args(argv)
    stale = []
    for name, text in pages().items():
        path = DOCS / name
        if args.check:
            if not path.is_file() or path.read_text(encoding="utf-8") != text:
                stale.append(name)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
    if stale:
        print(f"out of date: {', '.join(stale)}; run python scripts/config_docs.py", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
