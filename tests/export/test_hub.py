"""Pushing to the Hub with the real ``huggingface_hub`` client against a local server that serves the
Hub's routes (``helpers.hub_server``): the repo is created once (private when asked), every file goes
up in one commit, and each failure is one line naming the repository and the fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from brewslm.errors import ConfigError
from brewslm.export.hub import check_repo_id, push_folder
from helpers.hub_server import OWNER, fake_hub  # noqa: F401  (a fixture)


def _folder(tmp_path: Path) -> Path:
    folder = tmp_path / "export"
    (folder / "sub").mkdir(parents=True)
    (folder / "README.md").write_text(
        "---\nlibrary_name: transformers\ntags:\n- brewslm\n---\n# card\n", encoding="utf-8"
    )
    (folder / "model.safetensors").write_bytes(bytes(range(256)) * 40)
    (folder / "sub" / "report.json").write_text('{"passed": true}', encoding="utf-8")
    return folder


def test_a_folder_goes_up_as_one_commit_to_a_new_private_repo(fake_hub, tmp_path) -> None:
    folder = _folder(tmp_path)
    result = push_folder(folder, f"{OWNER}/tiny", private=True)
    repo = fake_hub.repos["model", f"{OWNER}/tiny"]
    assert repo.private is True and len(repo.commits) == 1
    assert sorted(repo.files) == result.files == ["README.md", "model.safetensors", "sub/report.json"]
    assert all(repo.files[name] == (folder / name).read_bytes() for name in result.files)
    assert result.url == f"{fake_hub.url}/{OWNER}/tiny" and result.commit == repo.commits[0]["oid"]

    again = push_folder(folder, f"{OWNER}/tiny")  # an existing repo: a second commit, no error
    assert len(repo.commits) == 2 and again.commit == repo.commits[1]["oid"]


def test_datasets_go_to_dataset_repos(fake_hub, tmp_path) -> None:
    push_folder(_folder(tmp_path), f"{OWNER}/rows", repo_type="dataset")
    assert ("dataset", f"{OWNER}/rows") in fake_hub.repos and ("model", f"{OWNER}/rows") not in fake_hub.repos


@pytest.mark.parametrize(
    "repo_id, message",
    [
        ("tiny", "must be ORG/NAME"),
        ("a/b/c", "must be ORG/NAME"),
        ("acme/bad name!", "is not a valid name"),
    ],
)
def test_a_bad_repo_id_is_one_line(repo_id, message) -> None:
    with pytest.raises(ConfigError, match=message):
        check_repo_id(repo_id)


def test_failures_are_one_line_naming_the_repo_and_the_fix(fake_hub, tmp_path, monkeypatch) -> None:
    folder = _folder(tmp_path)
    with pytest.raises(ConfigError) as denied:
        push_folder(folder, "someone-else/tiny")
    assert str(denied.value).startswith(f"push to {fake_hub.url}/someone-else/tiny failed: HTTP 403")
    assert "write access to 'someone-else'" in str(denied.value) and "\n" not in str(denied.value)

    monkeypatch.setenv("HF_TOKEN", "hf_wrong")
    with pytest.raises(ConfigError, match="HTTP 401 .*check that the token"):
        push_folder(folder, f"{OWNER}/tiny")

    monkeypatch.delenv("HF_TOKEN")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "no-login"))  # no stored login either
    with pytest.raises(ConfigError, match="needs a Hub token with write access: set HF_TOKEN"):
        push_folder(folder, f"{OWNER}/tiny")

    monkeypatch.setenv("HF_TOKEN", "hf_any")
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")  # nothing listens there
    with pytest.raises(ConfigError, match=r"could not reach the Hub at http://127.0.0.1:9/acme/tiny .*HF_ENDPOINT"):
        push_folder(folder, f"{OWNER}/tiny")
    assert not fake_hub.repos  # nothing was created by any failed push
