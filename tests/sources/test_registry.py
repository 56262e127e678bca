"""The connector registry in brewslm.sources: built-ins, plugins, unknown schemes."""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import pytest

import brewslm.sources as sources
from brewslm.errors import PluginError, SourceError
from brewslm.sources import Locator, Source, known_sources, open_source, register_source


def test_every_builtin_connector_is_registered():
    assert {"jsonl", "ndjson", "csv", "tsv", "json", "conll", "bio", "iob", "parquet", "file", "hf", "kaggle"} <= set(
        known_sources()
    )


def test_unknown_scheme_lists_the_known_ones():
    with pytest.raises(SourceError, match=r"unknown source 'ftp' in locator 'ftp://x'; known sources: .*csv.*jsonl"):
        open_source("ftp://x")
    with pytest.raises(SourceError, match="has no '<scheme>:' prefix"):
        open_source("/just/a/path.jsonl")


class Numbers(Source):
    def rows(self) -> Iterator[dict]:
        for i in range(int(self.locator.target)):
            yield {"n": i}


def test_plugins_register_and_cannot_shadow_a_builtin_by_accident(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    with sources.REGISTRY.replaced({key: sources.REGISTRY.find(key) for key in sources.REGISTRY.keys()}):
        register_source("numbers", Numbers)
        assert list(open_source("numbers:3").rows()) == [{"n": 0}, {"n": 1}, {"n": 2}]
        with pytest.raises(PluginError, match="already built-in; pass replace=True"):
            register_source("csv", Numbers)
        register_source("csv", Numbers, replace=True)
        assert isinstance(open_source("csv:2"), Numbers)
        # the generic join works for plugin sources too (relative paths: the working directory)
        (tmp_path / "names.jsonl").write_text('{"n": 1, "name": "one"}\n')
        monkeypatch.chdir(tmp_path)
        assert list(open_source("numbers:2?join=names.jsonl&on=n").rows()) == [{"n": 0}, {"n": 1, "name": "one"}]


def test_locator_objects_are_accepted(tmp_path: Path):
    path = tmp_path / "a.jsonl"
    path.write_text('{"a": 1}\n')
    assert list(open_source(Locator.parse(f"jsonl:{path}")).rows()) == [{"a": 1}]
