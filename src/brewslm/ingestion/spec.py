"""What an import is asked to do (``ImportSpec``) and what it did (``ImportResult``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Optional

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from brewslm.errors import ConfigError

SPLIT_RATIOS = {"train": 0.8, "validation": 0.1, "test": 0.1}  # split='auto': each record's share, by its key

ImportMode = Literal["append", "replace"]
SplitChoice = Literal["auto", "train", "validation", "test"]
OutputFormat = Literal["jsonl", "parquet"]


class ImportSpec(BaseModel):
    """One import: where rows come from, how they map, where they go.

    ``mapper_id=None`` asks the introspector and uses its accepted proposal (an error when none
    is accepted). ``mode="append"`` adds to the dataset's current version, de-duplicated by
    content hash; ``"replace"`` starts the new version empty. ``split="auto"`` assigns each record
    to train/validation/test (80/10/10) from its content hash and ``seed``, so a record keeps its
    split across re-imports. ``split_group`` names a source field (dotted for nested objects) whose
    rows must stay together - a template, user, document or conversation id: the split is drawn per
    value instead of per row, so no group has rows in both train and test (rows without a value are
    rejected as ``split_group_missing``). Rejection reasons in ``drop_reasons`` are expected: still counted and
    saved to ``rejected.jsonl``, but not warned about.
    """

    model_config = ConfigDict(extra="forbid")

    # each description is also the matching `brewslm data import` flag's help
    locator: str = Field(
        description="Where the rows come from, '<scheme>:<target>[?key=value]', e.g. jsonl:data/train.jsonl, "
        "csv:reviews.csv, json:squad.json?explode=data.paragraphs.qas, hf:./my_dataset:train "
        "(see 'brewslm data sources')."
    )
    mapper_id: Optional[str] = Field(
        None, description="Mapper id (see 'brewslm data mappers'); default: the proposal 'data introspect' accepts."
    )
    field_map: Optional[dict[str, str]] = Field(
        None,
        description="Which source field feeds which canonical field, SOURCE=CANONICAL (dotted source paths "
        "allowed); give several or repeat the option. A target that joins several sources (label_to_classification's "
        "text) is named once per source, in the order they are joined: title=text body=text. Unmapped fields are "
        "guessed from common names.",
    )
    options: dict[str, Any] = Field(
        default_factory=dict,
        description='Mapper option KEY=VALUE; VALUE is read as JSON when it parses (labels=\'["a","b"]\', '
        "repair=true), else as text. See 'brewslm data mappers' for each mapper's options.",
    )
    dataset: Optional[str] = Field(None, description="Dataset name (default: the source's name, e.g. the file stem).")
    mode: ImportMode = Field(
        "append",
        description="append: a new version holding the previous one plus this import, de-duplicated by content; "
        "replace: a new version holding only this import.",
    )
    split: SplitChoice = Field(
        "auto",
        description="auto: a deterministic hash-based 80/10/10 train/validation/test split; or put every row in "
        "one split.",
    )
    seed: int = Field(0, description="Seed of the auto split.")
    split_group: Optional[str] = Field(
        None,
        description="A source field whose rows stay together in the auto split (a template, user, document or "
        "conversation id; dotted for a nested field): the split is drawn per value, so no group has rows in both "
        "train and test.",
    )
    drop_reasons: list[str] = Field(
        default_factory=list,
        description="Rejection reasons you expect (e.g. parse_error in an export known to be messy): still counted "
        "and saved to rejected.jsonl, but not warned about.",
    )
    actor: Optional[str] = Field(None, description="Who ran the import, for the audit log (default: the OS user).")
    config_id: Optional[str] = Field(None, description="The saved mapping this import runs, when it runs one.")
    format: OutputFormat = Field("jsonl", description="File format of the dataset's splits.")

    @model_validator(mode="wrap")
    @classmethod
    def _one_line_errors(cls, data: Any, handler: Any) -> "ImportSpec":
        try:
            return handler(data)
        except ValidationError as exc:
            err = exc.errors()[0]
            where = ".".join(str(p) for p in err.get("loc", ())) or "spec"
            raise ConfigError(f"import setting '{where}': {err.get('msg')}") from None

    @model_validator(mode="after")
    def _group_needs_auto_split(self) -> "ImportSpec":
        if self.split_group is not None:
            if not self.split_group.strip() or any(not part for part in self.split_group.split(".")):
                raise ConfigError(
                    f"import setting 'split_group': {self.split_group!r} is not a field name; "
                    "name a source field such as template_id (dotted for a nested one: meta.user)"
                )
            if self.split != "auto":
                raise ConfigError(
                    f"import setting 'split_group' groups rows of the auto split; this import puts "
                    f"every row in '{self.split}', so leave split_group unset or use split auto"
                )
        return self


@dataclass
class ImportResult:
    """The outcome of a successful import.

    ``accepted`` counts the records this import added; ``duplicates`` the valid records it skipped
    because the dataset (or this import) already had them; ``rejected_counts`` the rows (or
    records) rejected, by reason. ``split_counts`` and ``records`` describe the whole new version.
    """

    dataset: str
    version: int
    path: Path
    accepted: int
    rejected_counts: dict[str, int]
    duplicates: int
    split_counts: dict[str, int]
    manifest: dict[str, Any]
    event_id: int | None
    rows_read: int = 0
    records: int = 0
    carried_over: int = 0
    warnings: list[str] = field(default_factory=list)

    @property
    def rejected(self) -> int:
        return sum(self.rejected_counts.values())

    @property
    def rejected_path(self) -> Path:
        return self.path / "rejected.jsonl"

    @property
    def task_profile(self) -> str:
        return self.manifest.get("task_profile", "")

    def to_dict(self) -> dict[str, Any]:
        return {
            "dataset": self.dataset,
            "version": self.version,
            "path": str(self.path),
            "task_profile": self.task_profile,
            "mapper_id": self.manifest.get("mapper_id"),
            "rows_read": self.rows_read,
            "accepted": self.accepted,
            "rejected": self.rejected,
            "rejected_counts": dict(self.rejected_counts),
            "duplicates": self.duplicates,
            "carried_over": self.carried_over,
            "records": self.records,
            "split_counts": dict(self.split_counts),
            "rejected_path": str(self.rejected_path),
            "content_hash": self.manifest.get("content_hash"),
            "warnings": list(self.warnings),
            "event_id": self.event_id,
            "manifest": self.manifest,
        }
