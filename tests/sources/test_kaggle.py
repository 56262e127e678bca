"""The Kaggle connector's cache, extraction and file choice run for real on a pre-seeded cache;
only the download itself needs the network, and tests never reach it."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest

from brewslm import workspace
from brewslm.errors import SourceError
from brewslm.sources import open_source


@pytest.fixture(autouse=True)
def no_kaggle_credentials(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path_factory.mktemp("home")
    for var in ("KAGGLE_USERNAME", "KAGGLE_KEY", "KAGGLE_API_TOKEN"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("KAGGLE_CONFIG_DIR", str(home / ".kaggle"))


def make_zip(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for name, data in files.items():
            zf.writestr(name, data)
    return buffer.getvalue()


def seed(slug: str, files: dict[str, bytes], archive: str | None = None) -> Path:
    folder = workspace.kaggle_cache_dir() / slug
    folder.mkdir(parents=True, exist_ok=True)
    (folder / (archive or f"{slug}.zip")).write_bytes(make_zip(files))
    return folder


def test_single_data_file_is_extracted_read_and_the_cache_reused(tmp_path: Path):
    folder = seed("titanic", {"train.csv": b"PassengerId,Survived\n1,0\n2,1\n", "notes.txt": b"read me"})
    source = open_source("kaggle:competition:titanic")
    assert list(source.rows()) == [{"PassengerId": "1", "Survived": "0"}, {"PassengerId": "2", "Survived": "1"}]
    assert source.name == "titanic"
    assert (folder / "train.csv").is_file() and not (folder / "titanic.zip").exists()
    assert source.fingerprint()
    # the second open finds the extracted files and needs no download (no credentials here)
    again = open_source("kaggle:competition:titanic")
    assert len(list(again.rows())) == 2


def test_several_files_need_file_and_file_is_confined(tmp_path: Path):
    seed(
        "spam-comp",
        {
            "train.csv": b"text,label\nhi,ham\n",
            "data/test.jsonl": b'{"text": "win"}\n',
            "data/extra/train.csv": b"text,label\nx,y\n",
            "sample_submission.csv": b"id,label\n",
        },
    )
    with pytest.raises(SourceError) as info:
        open_source("kaggle:competition:spam-comp")
    message = str(info.value)
    assert "has 4 data files; pick one with ?file=<name>" in message
    assert "data/extra/train.csv, data/test.jsonl, sample_submission.csv, train.csv" in message
    assert list(open_source("kaggle:competition:spam-comp?file=train.csv").rows()) == [{"text": "hi", "label": "ham"}]
    assert list(open_source("kaggle:competition:spam-comp?file=data/test.jsonl").rows()) == [{"text": "win"}]
    assert list(open_source("kaggle:competition:spam-comp?file=test.jsonl").rows()) == [{"text": "win"}]  # unique name
    assert open_source("kaggle:competition:spam-comp?file=test.jsonl").name == "spam-comp_test"
    for bad in ("../spam-comp/train.csv", "/etc/passwd", "data/../../x.csv"):
        with pytest.raises(SourceError, match="must be a path inside the download folder"):
            open_source(f"kaggle:competition:spam-comp?file={bad}")
    with pytest.raises(
        SourceError, match="no file 'nope.csv' in Kaggle competition 'spam-comp'; data files: data/extra"
    ):
        open_source("kaggle:competition:spam-comp?file=nope.csv")


def test_symlink_escape_is_refused(tmp_path: Path):
    folder = seed("linky", {"a.csv": b"x\n1\n", "b.csv": b"x\n2\n"})
    open_source("kaggle:competition:linky?file=a.csv")  # extracts
    outside = tmp_path / "outside.csv"
    outside.write_text("secret\n1\n")
    (folder / "link.csv").symlink_to(outside)
    with pytest.raises(SourceError, match="points outside the download folder"):
        open_source("kaggle:competition:linky?file=link.csv")


def test_options_go_to_the_file_connector():
    seed("euro", {"prices.csv": "name;price\ncafé;1,5\n".encode("latin-1")})
    got = list(open_source("kaggle:competition:euro?encoding=latin-1&delimiter=;").rows())
    assert got == [{"name": "café", "price": "1,5"}]


def test_zip_slip_is_refused_and_nothing_lands_outside():
    folder = seed("evil", {"../escaped.csv": b"a\n1\n", "ok.csv": b"a\n2\n"})
    with pytest.raises(SourceError, match=r"holds an unsafe path '\.\./escaped\.csv'.*refusing to extract it"):
        open_source("kaggle:competition:evil")
    assert not (folder.parent / "escaped.csv").exists()
    assert not (folder / "ok.csv").exists()


def test_nested_archives_are_extracted():
    inner = make_zip({"train.csv": b"a,b\n1,2\n"})
    folder = seed("nested", {"train.csv.zip": inner})
    assert list(open_source("kaggle:competition:nested").rows()) == [{"a": "1", "b": "2"}]
    assert sorted(p.name for p in folder.iterdir()) == ["train.csv"]


def test_damaged_archive_suggests_refresh():
    folder = workspace.kaggle_cache_dir() / "broken"
    folder.mkdir(parents=True)
    (folder / "broken.zip").write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(SourceError, match="cached archive .*broken.zip is damaged.*&refresh=1"):
        open_source("kaggle:competition:broken")


def test_no_data_file_lists_what_is_there():
    seed("images", {"img/1.png": b"\x89PNG", "labels.xml": b"<x/>"})
    with pytest.raises(
        SourceError, match=r"no data file in Kaggle competition 'images' at .*; files: img/1.png, labels.xml"
    ):
        open_source("kaggle:competition:images")


def test_download_without_credentials_is_a_clear_error(capsys: pytest.CaptureFixture[str]):
    with pytest.raises(SourceError) as info:
        open_source("kaggle:competition:never-downloaded")
    message = str(info.value)
    assert "KAGGLE_USERNAME" in message and "kaggle.json" in message and "\n" not in message
    assert capsys.readouterr().out == ""  # the kaggle package's help text is kept off our stdout
    assert not any((workspace.kaggle_cache_dir()).glob(".brewslm-*"))


def test_refresh_without_credentials_keeps_the_cache():
    folder = seed("keepme", {"train.csv": b"a\n1\n"})
    open_source("kaggle:competition:keepme")
    with pytest.raises(SourceError, match="KAGGLE_USERNAME"):
        open_source("kaggle:competition:keepme?refresh=1")
    assert (folder / "train.csv").read_bytes() == b"a\n1\n"


def test_datasets_and_bad_locators():
    folder = workspace.kaggle_cache_dir() / "datasets" / "someone" / "reviews"
    folder.mkdir(parents=True)
    (folder / "reviews.jsonl").write_text('{"text": "ok"}\n')
    source = open_source("kaggle:dataset:someone/reviews")
    assert list(source.rows()) == [{"text": "ok"}] and source.name == "reviews"
    for bad in (
        "kaggle:titanic",
        "kaggle:competition:",
        "kaggle:competition:a/b",
        "kaggle:dataset:solo",
        "kaggle:competition:..",
        "kaggle:model:x",
    ):
        with pytest.raises(SourceError):
            open_source(bad)


class FakeKaggleServer:
    """Stands in for the network behind the official client: writes what a download writes."""

    def __init__(self, files: dict[str, bytes] | None, error: Exception | None = None):
        self.files, self.error, self.calls = files, error, []

    def competition_download_files(self, competition, path=None, force=False, quiet=True):
        self.calls.append((competition, force))
        if self.error is not None:
            raise self.error
        Path(path, f"{competition}.zip").write_bytes(make_zip(self.files or {}))


def test_refresh_downloads_again_and_replaces_the_cache(monkeypatch: pytest.MonkeyPatch):
    import brewslm.sources.kaggle as kaggle_source

    folder = seed("fresh", {"train.csv": b"a\nold\n", "stale.csv": b"a\nx\n"})
    open_source("kaggle:competition:fresh?file=train.csv")
    server = FakeKaggleServer({"train.csv": b"a\nnew\n"})
    monkeypatch.setattr(kaggle_source, "_kaggle_api", lambda locator: server)
    assert list(open_source("kaggle:competition:fresh?refresh=1").rows()) == [{"a": "new"}]
    assert server.calls == [("fresh", True)]
    assert sorted(p.name for p in folder.iterdir()) == ["train.csv"]
    assert not list(folder.parent.glob(".brewslm-*"))


def test_a_failed_download_keeps_the_old_cache(monkeypatch: pytest.MonkeyPatch):
    import brewslm.sources.kaggle as kaggle_source

    folder = seed("flaky", {"train.csv": b"a\n1\n"})
    open_source("kaggle:competition:flaky")
    server = FakeKaggleServer(None, ConnectionError("Max retries exceeded\nwith url"))
    monkeypatch.setattr(kaggle_source, "_kaggle_api", lambda locator: server)
    with pytest.raises(SourceError) as info:
        open_source("kaggle:competition:flaky?refresh=1")
    message = str(info.value)
    assert "downloading Kaggle competition 'flaky' failed: Max retries exceeded with url" in message
    assert "accepted its rules" in message
    assert (folder / "train.csv").read_bytes() == b"a\n1\n"
    assert not list(folder.parent.glob(".brewslm-*"))
