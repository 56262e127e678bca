from __future__ import annotations

import gzip
import os
from pathlib import Path

import pytest

from brewslm.errors import SourceError
from brewslm.sources import open_source
from brewslm.sources.base import ParseFailure


def write(tmp_path: Path, data: str | bytes, name: str = "ner.conll") -> Path:
    path = tmp_path / name
    path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    return path


def rows(path: Path, scheme: str = "conll", options: str = "") -> list:
    return list(open_source(f"{scheme}:{path}{options}").rows())


def test_tab_separated_sentences(tmp_path: Path):
    path = write(tmp_path, "Hello\tO\nNew York\tB-loc\n!\tO\n\n@user\tO\nrocks\tO\n")
    assert rows(path) == [
        {"id": "ner.conll:1", "tokens": ["Hello", "New York", "!"], "tags": ["O", "B-loc", "O"]},
        {"id": "ner.conll:2", "tokens": ["@user", "rocks"], "tags": ["O", "O"]},
    ]


def test_conll2003_columns_docstart_and_crlf(tmp_path: Path):
    text = (
        "-DOCSTART- -X- -X- O\r\n\r\n"
        "EU NNP B-NP B-ORG\r\nrejects VBZ B-VP O\r\n\r\n\r\n"
        "-DOCSTART- -X- -X- O\r\n"
        "Peter NNP B-NP B-PER\r\n"
    )
    assert rows(write(tmp_path, text, "eng.train")) == [
        {"id": "eng.train:1", "tokens": ["EU", "rejects"], "tags": ["B-ORG", "O"]},
        {"id": "eng.train:2", "tokens": ["Peter"], "tags": ["B-PER"]},
    ]


def test_malformed_line_turns_its_sentence_into_a_sentinel(tmp_path: Path):
    path = write(tmp_path, "a\tO\nlonely\nb\tO\n\nc\tO\n\n\tB-x\n\nd\t\n")
    got = rows(path)
    assert isinstance(got[0], ParseFailure)
    assert got[0].position == 2 and got[0].error == "line 2 has one column; expected a token and a tag"
    assert got[0].raw == "a\tO\nlonely\nb\tO"
    assert got[1] == {"id": "ner.conll:2", "tokens": ["c"], "tags": ["O"]}
    assert isinstance(got[2], ParseFailure) and got[2].error == "line 7 has an empty token"
    assert isinstance(got[3], ParseFailure) and got[3].error == "line 9 has one column; expected a token and a tag"


def test_invalid_utf8_and_bom(tmp_path: Path):
    path = write(tmp_path, b"\xef\xbb\xbfok\tO\n\nbad\xff\tO\n\nfine\tO\n")
    got = rows(path)
    assert got[0]["tokens"] == ["ok"]
    assert isinstance(got[1], ParseFailure) and "invalid UTF-8" in got[1].error
    assert got[2]["tokens"] == ["fine"]


def test_sentence_cap_catches_a_file_without_blank_lines(tmp_path: Path):
    path = write(tmp_path, "".join(f"t{i}\tO\n" for i in range(2000)) + "\nlast\tO\n")
    got = rows(path, options="?max_record_bytes=1000")
    assert isinstance(got[0], ParseFailure) and "sentence is longer than 1000 bytes" in got[0].error
    assert got[1]["tokens"] == ["last"]


def test_long_line_is_a_sentinel(tmp_path: Path):
    path = write(tmp_path, "x" * 5000 + "\tO\n\nok\tO\n")
    got = rows(path, options="?max_record_bytes=100")
    assert isinstance(got[0], ParseFailure) and got[0].error == "line 1 is longer than 100 bytes (5002 bytes)"
    assert got[1]["tokens"] == ["ok"]


def test_other_schemes_gzip_empty_missing_binary(tmp_path: Path):
    bio = write(tmp_path, gzip.compress(b"a\tB-x\n"), "x.bio.gz")
    assert rows(bio, "file")[0]["tags"] == ["B-x"]
    assert rows(write(tmp_path, "a O\n", "y.iob"), "iob")[0]["tokens"] == ["a"]
    assert rows(write(tmp_path, "", "empty.conll")) == []
    assert rows(write(tmp_path, "\n\n\n", "blank.conll")) == []
    with pytest.raises(SourceError, match=r"^file not found: "):
        open_source(f"conll:{tmp_path}/none.conll")
    with pytest.raises(SourceError, match="holds binary data"):
        open_source(f"conll:{write(tmp_path, os.urandom(5000) + bytes(100), 'bin.conll')}")


def test_comment_lines_and_space_tokens_issue_15(tmp_path: Path):
    # KLUE style: file-header comments, a per-sentence comment repeating the sentence, a space token
    data = (
        "## 토큰 구분자 : \\n\n## 컬럼명 : CHAR\tNE_TAG\n"
        + "".join(f"## doc-{i}\t<경찰:OG>은 또\n경\tB-OG\n찰\tI-OG\n은\tO\n \tO\n또\tO\n\n" for i in range(3))
        + "# O\t\n#\tO\nok\tO\n\n"
    )
    path = tmp_path / "klue.tsv"
    path.write_text(data, encoding="utf-8")
    got = list(open_source(f"conll:{path}").rows())
    assert [r["tokens"] for r in got[:3]] == [["경", "찰", "은", " ", "또"]] * 3
    assert got[0]["tags"] == ["B-OG", "I-OG", "O", "O", "O"]
    assert got[3]["tokens"] == ["#", "ok"]  # '#\tO' is a token line; '# O\t' (no tag column) a comment
    whitespace = tmp_path / "ws.conll"
    whitespace.write_text("# sent_id = 1\n# text = a b\na O\n# O\n\n", encoding="utf-8")
    assert list(open_source(f"conll:{whitespace}").rows())[0]["tokens"] == ["a", "#"]  # '# O': tag O seen


def test_token_and_tag_columns_are_read_from_the_values(tmp_path: Path):
    # UNER / CoNLL-U style: a running index first, the IOB tag in the middle, constant misc columns after
    uner = tmp_path / "da.iob2"
    uner.write_text(
        "# sent_id = 1\n# text = Anna bor i Aarhus\n1\tAnna\tB-PER\tO#O\ts\n2\tbor\tO\tO#O\ts\n"
        "3\ti\tO\tO#O\ts\n4\tAarhus\tB-LOC\tO#O\ts\n\n1\tHej\tO\tO#O\ts\n\n",
        encoding="utf-8",
    )
    source = open_source(f"conll:{uner}")
    assert [r["tokens"] for r in source.rows()] == [["Anna", "bor", "i", "Aarhus"], ["Hej"]]
    assert next(iter(source.rows()))["tags"] == ["B-PER", "O", "O", "B-LOC"]
    assert "token = column 2" in source.notes[-1] and "tag = column 3" in source.notes[-1]
    # CoNLL-2003: the chunk column is IOB too; the NER column (the last with entities) wins
    conll03 = tmp_path / "eng.conll"
    conll03.write_text("EU NNP B-NP B-ORG\nrejects VBZ B-VP O\nGerman JJ B-NP B-MISC\n\nPeter NNP B-NP B-PER\n\n")
    assert [r["tags"] for r in open_source(f"conll:{conll03}").rows()] == [["B-ORG", "O", "B-MISC"], ["B-PER"]]
    assert [r["tags"] for r in open_source(f"conll:{conll03}?tag_column=3").rows()] == [
        ["B-NP", "B-VP", "B-NP"],
        ["B-NP"],
    ]
