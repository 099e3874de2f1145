"""The front door and the manual stay usable: every relative Markdown link in README.md,
CONTRACT.md and docs/ resolves to a file (an #anchor to a heading of its target, by GitHub's
slug rules), README.md stays under 250 lines and each page of docs/ under 300, each page
saying its purpose at the top."""

import re
from pathlib import Path

import pytest

ROOT = next(p for p in Path(__file__).resolve().parents if (p / "CONTRACT.md").is_file())
DOCS = sorted((ROOT / "docs").rglob("*.md"))
PAGES = [ROOT / "README.md", ROOT / "CONTRACT.md", *DOCS]

FENCE = re.compile(r"^\s*(```|~~~)")
INLINE_CODE = re.compile(r"(`+)(?:(?!\1).)+?\1")
LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
REFERENCE = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+\"[^\"]*\")?\s*$")
EXTERNAL = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")  # http:, https:, mailto:, ...
HEADING = re.compile(r"^ {0,3}(#{1,6})\s+(.*?)\s*#*\s*$")


def prose_lines(text):
    """The lines outside fenced code blocks, with inline code removed, numbered from 1."""
    fenced = False
    for number, line in enumerate(text.splitlines(), 1):
        if FENCE.match(line):
            fenced = not fenced
            continue
        if not fenced:
            yield number, INLINE_CODE.sub("", line)


def links(text):
    for number, line in prose_lines(text):
        for match in LINK.finditer(line):
            yield number, match.group(1)
        match = REFERENCE.match(line)
        if match:
            yield number, match.group(1)


def slug(heading):
    """GitHub's anchor for a heading: its text without Markdown, lowercased, every
    character but letters, digits, spaces, '-' and '_' dropped, spaces turned to '-'."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link keeps its text
    text = re.sub(r"<[^>]+>", "", text)  # inline HTML
    text = text.replace("`", "").replace("*", "").lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(text):
    """Every anchor the headings of a Markdown text define (a repeated slug gets -1, -2...)."""
    seen = {}
    found = set()
    fenced = False
    for line in text.splitlines():
        if FENCE.match(line):
            fenced = not fenced
            continue
        match = None if fenced else HEADING.match(line)
        if match:
            base = slug(match.group(2))
            count = seen.get(base, 0)
            seen[base] = count + 1
            found.add(base if count == 0 else f"{base}-{count}")
    return found


def broken_links(page):
    """(line, link, why) for each relative link of `page` that does not resolve."""
    text = page.read_text()
    broken = []
    for number, target in links(text):
        if EXTERNAL.match(target):
            continue
        path, _, anchor = target.partition("#")
        resolved = (page.parent / path).resolve() if path else page
        if not resolved.exists():
            broken.append((number, target, "no such file"))
        elif anchor and resolved.suffix == ".md" and anchor not in anchors(resolved.read_text()):
            broken.append((number, target, f"no heading with the anchor #{anchor}"))
    return broken


def test_the_pages_are_there():
    assert (ROOT / "README.md").is_file()
    assert len(DOCS) >= 10, DOCS


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_resolves(page):
    assert broken_links(page) == []


def test_the_readme_is_a_front_door_under_250_lines():
    lines = len((ROOT / "README.md").read_text().splitlines())
    assert lines < 250, f"README.md has {lines} lines: move the detail into docs/"


@pytest.mark.parametrize("page", DOCS, ids=lambda p: str(p.relative_to(ROOT)))
def test_each_docs_page_is_under_300_lines_and_says_its_purpose_first(page):
    lines = page.read_text().splitlines()
    assert len(lines) < 300, f"{page.name} has {len(lines)} lines: split it by subject (or, for records, by period)"
    assert lines[0].startswith("# "), lines[0]
    first_paragraph = [line for line in lines[1:] if line.strip()][0]
    assert first_paragraph.startswith("Purpose: "), first_paragraph


def test_a_bad_link_or_anchor_is_caught(tmp_path):
    (tmp_path / "target.md").write_text("# Title\n\n## The `rnn` command: exit status (0-6)\n\n## Again\n\n## Again\n")
    page = tmp_path / "page.md"
    page.write_text(
        "[ok](target.md) [ok](target.md#the-rnn-command-exit-status-0-6) [ok](target.md#again-1)\n"
        "[ok](#here) [external](https://example.com/x.md) `[code](nowhere.md)`\n"
        "```\n[fenced](nowhere.md)\n```\n"
        "## Here\n"
        "[missing](nowhere.md) [bad anchor](target.md#the-rnn-command) [no anchor here](#there)\n"
        "[ref]: also-missing.md\n"
    )
    assert broken_links(page) == [
        (7, "nowhere.md", "no such file"),
        (7, "target.md#the-rnn-command", "no heading with the anchor #the-rnn-command"),
        (7, "#there", "no heading with the anchor #there"),
        (8, "also-missing.md", "no such file"),
    ]
