"""``hf:<id>[:split[:revision]][?config=<name>]`` — a Hugging Face dataset, streamed.

Wraps ``datasets.load_dataset(id, name=config, split=split, revision=revision, streaming=True,
token=$HF_TOKEN)``; the split defaults to ``train``. ``<id>`` is a hub id (``imdb``,
``user/name``) or a local dataset directory (data files, optionally with a README card that
declares configs); a directory written by ``save_to_disk`` is read with ``load_from_disk``.
``ClassLabel`` integers, also inside lists (``ner_tags``) and structs, become their names, so
labels are strings (``-1``, HF's "no label", becomes null). Values become plain JSON-like Python
values (timestamps as ISO strings). Errors from ``datasets`` (unknown dataset, split or config, no
network) become one-line ``SourceError``s that list the available splits or configs when known.
Offline use: set ``HF_HUB_OFFLINE=1`` and name a local directory.
"""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path
from typing import Any, Iterator

from brewslm.errors import SourceError
from brewslm.sources.base import Locator, Source, SourceRow
from brewslm.sources.class_labels import row_decoder
from brewslm.sources.filebase import check_options, jsonable

DEFAULT_SPLIT = "train"
_MESSAGE_LIMIT = 300


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= _MESSAGE_LIMIT else text[:_MESSAGE_LIMIT] + "…"


class HfSource(Source):
    options_doc = {"config": "dataset configuration (subset) name, passed as load_dataset(name=...)"}

    def __init__(self, locator: Locator):
        super().__init__(locator)
        check_options(locator, self.options_doc)
        parts = [p.strip() for p in locator.target.split(":")]
        if len(parts) > 3 or not parts[0]:
            raise SourceError(f"locator '{locator}' is not hf:<id>[:split[:revision]][?config=<name>]")
        self.dataset_id = parts[0]
        self.split = (parts[1] if len(parts) > 1 else "") or DEFAULT_SPLIT
        self.revision = (parts[2] if len(parts) > 2 else "") or None
        self.config = locator.options.get("config") or None
        self.local_dir = self._local_dir()
        self._dataset = self._load()
        features = getattr(self._dataset, "features", None)
        self.decode = row_decoder(features.to_dict()) if features else None

    # --- loading ------------------------------------------------------------------------------
    def _local_dir(self) -> Path | None:
        path = Path(self.dataset_id).expanduser()
        if path.exists():
            return path.resolve()
        if self.dataset_id.startswith(("/", ".", "~")) or os.sep + os.sep in self.dataset_id:
            raise SourceError(f"dataset directory not found: {path} (locator '{self.locator}')")
        return None

    def _load(self) -> Any:
        try:
            import datasets
        except ImportError as exc:  # pragma: no cover - datasets is a core dependency
            raise SourceError(f"the hf: connector needs the 'datasets' package ({exc})") from None
        try:
            if (
                self.local_dir is not None
                and self.local_dir.is_dir()
                and ((self.local_dir / "dataset_dict.json").exists() or (self.local_dir / "state.json").exists())
            ):
                return self._load_saved(datasets)
            return datasets.load_dataset(
                str(self.local_dir) if self.local_dir is not None else self.dataset_id,
                name=self.config,
                split=self.split,
                revision=self.revision,
                streaming=True,
                token=os.environ.get("HF_TOKEN") or None,
            )
        except SourceError:
            raise
        except Exception as exc:
            raise SourceError(self._explain(exc)) from None

    def _load_saved(self, datasets: Any) -> Any:
        saved = datasets.load_from_disk(str(self.local_dir))
        if isinstance(saved, datasets.DatasetDict):
            if self.split not in saved:
                raise SourceError(
                    f"hf dataset '{self.dataset_id}' has no split '{self.split}'; available splits: "
                    f"{', '.join(saved)} (locator '{self.locator}')"
                )
            return saved[self.split]
        return saved

    def _explain(self, exc: Exception) -> str:
        message = _one_line(exc)
        what = f"hf dataset '{self.dataset_id}'"
        at = f"(locator '{self.locator}')"
        if "Bad split" in message or "Unknown split" in message:
            splits = self._available("split", message)
            return f"{what} has no split '{self.split}'; available splits: {splits} {at}"
        if "Config name is missing" in message or "pick one among the available configs" in message:
            configs = self._available("config", message)
            return f"{what} has several configs; pick one with ?config=<name>: {configs} {at}"
        if "BuilderConfig" in message and "not found" in message:
            configs = self._available("config", message)
            return f"{what} has no config '{self.config}'; available configs: {configs} {at}"
        hint = ""
        if os.environ.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes") and self.local_dir is None:
            hint = "; HF_HUB_OFFLINE is set, so only local dataset directories can be read"
        return f"cannot load {what}: {message}{hint} {at}"

    def _available(self, kind: str, message: str) -> str:
        import datasets

        target = str(self.local_dir) if self.local_dir is not None else self.dataset_id
        token = os.environ.get("HF_TOKEN") or None
        try:
            if kind == "split":
                names = datasets.get_dataset_split_names(
                    target, config_name=self.config, revision=self.revision, token=token
                )
            else:
                names = datasets.get_dataset_config_names(target, revision=self.revision, token=token)
            return ", ".join(names)
        except Exception:
            found = re.search(r"\[([^\]]*)\]", message)
            return found.group(1).replace("'", "") if found else "unknown"

    # --- rows -------------------------------------------------------------------------------
    def rows(self) -> Iterator[SourceRow]:
        count = 0
        try:
            for example in self._dataset:
                count += 1
                row = jsonable(example)
                yield self.decode(row) if self.decode else row
        except SourceError:
            raise
        except Exception as exc:
            raise SourceError(
                f"reading hf dataset '{self.dataset_id}' failed after row {count}: {_one_line(exc)} "
                f"(locator '{self.locator}')"
            ) from None

    @property
    def name(self) -> str:
        base = (
            self.local_dir.name if self.local_dir is not None else self.dataset_id.rstrip("/").split("/")[-1]
        ) or "hf"
        if self.config:
            base = f"{base}_{self.config}"
        return re.sub(r"[^A-Za-z0-9._-]+", "_", base).strip("._-") or "hf"

    def fingerprint(self) -> str | None:
        where = f"{self.config or ''}:{self.split}"
        if self.local_dir is not None:
            digest = hashlib.sha256()
            files = (
                [self.local_dir]
                if self.local_dir.is_file()
                else sorted(p for p in self.local_dir.rglob("*") if p.is_file())
            )
            for path in files:
                st = path.stat()
                digest.update(f"{path}:{st.st_size}:{st.st_mtime_ns}\n".encode())
            return f"hf-local:{digest.hexdigest()[:32]}:{where}"
        if self.revision:
            return f"hf:{self.dataset_id}@{self.revision}:{where}"
        return None


SOURCES = {"hf": HfSource}
