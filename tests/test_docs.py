"""The documentation holds together: the README stays short, each stage has its page, and every
relative link in README.md and docs/ points to a file that exists (and, where it names a heading of
a Markdown page, to a heading that page has). The pages' examples run in tests/test_readme.py;
docs/config/ is checked current in tests/test_config_docs.py."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import unquote

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
DOCS = ROOT / "docs"
MARKDOWN_FILES = [README, *sorted(DOCS.rglob("*.md"))]
STAGE_PAGES = ["data.md", "training.md", "evaluation.md", "recipes.md", "serving.md", "ui.md", "performance.md"]
README_MAX_LINES = 300

FENCED = re.compile(r"^```.*?^```", re.S | re.M)
CODE_SPAN = re.compile(r"`[^`\n]*`")
LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
HEADING = re.compile(r"^#{1,6}\s+(.*?)\s*#*\s*$")


def relative_links(page: Path) -> list[str]:
    """The link targets of a page that are not URLs (no scheme such as https:), outside code."""
    text = CODE_SPAN.sub("", FENCED.sub("", page.read_text(encoding="utf-8")))
    targets = [match.group(1) for match in LINK.finditer(text)]
    return [t for t in targets if not re.match(r"^[a-z][a-z0-9+.-]*:", t, re.I)]


def anchors(page: Path) -> set[str]:
    """The heading anchors GitHub gives a page: lower case, punctuation dropped, spaces as dashes,
    a repeated heading numbered (-1, -2, ...)."""
    found: set[str] = set()
    counts: dict[str, int] = {}
    for line in FENCED.sub("", page.read_text(encoding="utf-8")).splitlines():
        heading = HEADING.match(line)
        if heading:
            slug = re.sub(r"[^\w\- ]", "", heading.group(1).lower()).replace(" ", "-")
            seen = counts.get(slug, 0)
            counts[slug] = seen + 1
            found.add(slug if seen == 0 else f"{slug}-{seen}")
    return found


def test_the_link_check_sees_links_and_headings():
    assert any(not link.startswith("#") for link in relative_links(README)), "the link check would check nothing"
    assert "measured-on-real-data-nobody-tuned-for" in anchors(DOCS / "data.md")
    assert "ship-export-and-serve" in anchors(DOCS / "serving.md")


@pytest.mark.parametrize("page", MARKDOWN_FILES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_every_relative_link_points_to_an_existing_file(page: Path):
    broken = []
    for target in relative_links(page):
        path, _, anchor = unquote(target).partition("#")
        linked = page.parent / path.split("?", 1)[0] if path else page
        if not linked.exists():
            broken.append(f"{target} (no such file)")
        elif anchor and linked.suffix == ".md" and anchor not in anchors(linked):
            broken.append(f"{target} (no such heading)")
    assert not broken, f"{page.relative_to(ROOT)} has broken links: {broken}"


def test_the_readme_is_at_most_300_lines():
    lines = len(README.read_text(encoding="utf-8").splitlines())
    assert lines <= README_MAX_LINES, f"README.md has {lines} lines; move reference material to docs/"


@pytest.mark.parametrize("name", STAGE_PAGES)
def test_each_stage_page_exists_and_is_linked(name: str):
    page = DOCS / name
    assert page.is_file(), f"docs/{name} is missing"
    assert page.read_text(encoding="utf-8").startswith("# "), f"docs/{name} has no title"
    assert any(link.split("#")[0] == f"docs/{name}" for link in relative_links(README)), (
        f"README.md does not link to docs/{name}"
    )
    assert any(link.split("#")[0] == name for link in relative_links(DOCS / "README.md")), (
        f"docs/README.md does not link to {name}"
    )
