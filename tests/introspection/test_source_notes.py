"""What a file source decides from the data (encoding, format, header, record unit) is shown first
in the accepted proposal's evidence (issue 15)."""

from __future__ import annotations

from pathlib import Path

from brewslm.introspection import introspect

REVIEWS = [
    ("Le café était froid et le serveur très désagréable, je ne reviendrai pas.", "négatif"),
    ("Très bon repas, une crème brûlée parfaite et un accueil chaleureux.", "positif"),
    ("Déçu par le gâteau: trop sucré, pâte sèche, prix élevé pour la qualité.", "négatif"),
    ("Séjour agréable, chambre propre, petit-déjeuner copieux et varié.", "positif"),
]


def test_evidence_names_the_encoding_format_and_header(tmp_path: Path):
    path = tmp_path / "avis.txt"  # a headerless CSV in Windows-1252 with a .txt extension
    path.write_bytes("".join(f'"{t} ({i})",{label}\r\n' for i in range(15) for t, label in REVIEWS).encode("cp1252"))
    result = introspect(f"file:{path}", llm_assist=False)
    assert result.accepted is not None and result.accepted.mapper_id == "label_to_classification"
    evidence = result.accepted.evidence
    assert evidence[0].startswith("source format: csv")
    assert evidence[1].startswith("source encoding: cp1252")
    assert any(line.startswith("source no header: row 1 is data") for line in evidence)


def test_notes_become_warnings_when_nothing_is_accepted(tmp_path: Path):
    path = tmp_path / "numbers.tsv"
    path.write_bytes("".join(f"{i}\t{i * 2}\n" for i in range(30)).encode("utf-16"))
    result = introspect(f"file:{path}", llm_assist=False)
    if result.accepted is None:
        assert any(w.startswith("source encoding: utf-16-le") for w in result.warnings)
