"""``brewslm export`` end to end on a tiny LoRA run: hf and gguf, text and --json output, default
folders, and bad input as one line with exit status 2."""

from __future__ import annotations

from pathlib import Path

from cli.test_eval import lora_run  # noqa: F401  (a fixture)
from cli.test_train import one_error_line, tickets  # noqa: F401  (tickets: a fixture)
from helpers.hub_server import OWNER, fake_hub  # noqa: F401  (a fixture)
from helpers.tiny_model import tiny_model_dir  # noqa: F401  (a fixture)


def test_export_hf_then_gguf_of_the_export(cli, lora_run, tmp_path) -> None:
    hf = cli("export", str(lora_run), "--out", str(tmp_path / "hf"), "--json")
    assert hf.code == 0, hf.err
    result = hf.json()
    assert result["format"] == "hf" and result["task"] == "classification" and result["files"]["card"] == "README.md"
    assert (tmp_path / "hf" / "README.md").is_file()
    # --check with this interpreter on both sides (the pinned 4.57 environment is bench/portable_check.py's)
    import sys

    checked = cli(
        "export", str(lora_run), "--out", str(tmp_path / "checked"), "--check", "--check-python", sys.executable
    )
    assert checked.code == 0, checked.err
    assert "passed under transformers " in checked.out and "greedy outputs on 100% of 5 prompts" in checked.out

    text = cli(
        "export",
        str(tmp_path / "hf"),
        "--format",
        "gguf",
        "--quant",
        "q8_0",
        "--out",
        str(tmp_path / "gguf"),
        "--converter",
        "builtin",
    )
    assert text.code == 0, text.err
    assert "verified      passed: max |logit diff|" in text.out and "Q8_0" in text.out
    assert (tmp_path / "gguf" / "run-q8_0.gguf").is_file()
    modelfile = (tmp_path / "gguf" / "Modelfile").read_text(encoding="utf-8")  # for `ollama create NAME -f Modelfile`
    assert (
        "FROM ./run-q8_0.gguf" in modelfile
        and "<|im_start|>" in modelfile
        and 'PARAMETER stop "<|im_end|>"' in modelfile
    )


def test_default_folder_is_under_the_workspace_and_no_verify_skips_the_check(cli, lora_run, workspace) -> None:
    run = cli("export", str(lora_run), "--format", "gguf", "--no-verify", "--converter", "builtin", "--json")
    assert run.code == 0, run.err
    result = run.json()
    assert Path(result["path"]) == workspace / "exports" / "run-gguf-f16" / "run-f16.gguf"
    assert result["verification"] is None and result["type_counts"]["F16"] > 0


BAD_INPUT = [
    (["no-such-run"], "'no-such-run' is not an export folder"),
    (["{run}", "--quant", "q8_0"], "--quant applies to --format gguf"),
    (["{run}", "--format", "gguf", "--quant", "q4"], "argument --quant: invalid choice"),
    (["{run}", "--out", "{busy}"], "is not empty; choose a new folder or pass --overwrite"),
    (["{model}"], "plain model folder, there is nothing to merge"),
    (["{run}", "--format", "gguf", "--check"], "--check applies to --format hf"),
    (["{run}", "--check-python", "/usr/bin/python3"], "--check-python goes with --check"),
    (["{run}", "--private"], "--private goes with --push-to-hub"),
    (["{run}", "--converter", "builtin"], "--converter applies to --format gguf"),
    (["{run}", "--push-to-hub", "no-owner"], "Hub repository 'no-owner' must be ORG/NAME"),
]


def test_bad_input_exits_2_with_one_line(cli, lora_run, tiny_model_dir, tmp_path) -> None:
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "notes.txt").write_text("keep", encoding="utf-8")
    for args, message in BAD_INPUT:  # one run trained for all cases
        filled = [a.format(run=lora_run, busy=busy, model=tiny_model_dir) for a in args]
        assert message in one_error_line(cli("export", *filled)), args
    assert (busy / "notes.txt").read_text(encoding="utf-8") == "keep"


def test_push_to_hub_uploads_the_exported_folder_in_one_commit(cli, lora_run, fake_hub, tmp_path) -> None:
    run = cli(
        "export",
        str(lora_run),
        "--out",
        str(tmp_path / "hf"),
        "--push-to-hub",
        f"{OWNER}/tickets",
        "--private",
        "--json",
    )
    assert run.code == 0, run.err
    hub = run.json()["hub"]
    repo = fake_hub.repos["model", f"{OWNER}/tickets"]
    exported = sorted(p.relative_to(tmp_path / "hf").as_posix() for p in (tmp_path / "hf").rglob("*") if p.is_file())
    assert repo.private and len(repo.commits) == 1 and sorted(repo.files) == exported == hub["files"]
    assert {"README.md", "config.json", "model.safetensors", "tokenizer.json"} <= set(repo.files)
    assert repo.files["README.md"] == (tmp_path / "hf" / "README.md").read_bytes()
    assert f"pushing {len(exported)} files to {fake_hub.url}/{OWNER}/tickets" in run.err

    text = cli(
        "export",
        str(lora_run),
        "--format",
        "gguf",
        "--quant",
        "q8_0",
        "--out",
        str(tmp_path / "gguf"),
        "--converter",
        "builtin",
        "--push-to-hub",
        f"{OWNER}/tickets-gguf",
    )
    assert text.code == 0, text.err
    assert f"pushed        {fake_hub.url}/{OWNER}/tickets-gguf (" in text.out
    assert {"run-q8_0.gguf", "Modelfile"} <= set(fake_hub.repos["model", f"{OWNER}/tickets-gguf"].files)


def test_help_documents_every_option(cli) -> None:
    run = cli("export", "--help")
    assert run.code == 0
    for flag in (
        "--format {hf,gguf}",
        "--out DIR",
        "--quant {f32,f16,q8_0,q4_k_m,q5_k_m,q6_k}",
        "--converter {auto,llama.cpp,builtin}",
        "--overwrite",
        "--no-verify",
        "--check",
        "--check-python PATH",
        "--push-to-hub ORG/NAME",
        "--private",
        "--json",
    ):
        assert flag in run.out
    assert "export" in cli("--help").out
