"""CONTRACT.md defines every rule id the suite can report, and no rule nobody reports.

Failures cite rules by id and link to CONTRACT.md#<id>-..., so an id without a heading is a
dead link for the user, and a heading no code ever reports is a rule nobody checks. The ids
the code can report are found in its source: every string literal that is a rule id
(`rule=` arguments, `Divergence("R4", ...)`, rule tables), the `rule` and `shows_as` fields
of the declared divergences, and the pseudo-rule `unclassified`. No backend runs here.
"""

import ast
import re
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CONTRACT = ROOT / "CONTRACT.md"
SCANNED = ("conformance", "cells")
KNOWN_DIVERGENCES = ROOT / "conformance" / "known" / "known_divergences.toml"
RULE_ID = re.compile(r"^(R\d+|L\d+|G\d+)$")
UNCLASSIFIED = "unclassified"
SECTIONS = ("1. The function", "2. The layer", "3. Comparing results", "4. Backends with a smaller API", "5. Gradients",
            "6. Declared divergences and versions")
# Where each kind of rule is defined: R in section 1, L in section 2, G (gradients) in section 5.
SECTION_OF_KIND = {"R": "1", "L": "2", "G": "5"}
# The rules of issue 16 (gradients): the code reports each of them.
GRADIENT_RULES = {"G1", "G2", "G3", "G4", "L7"}
NOT_REPORTED_HEADING = "Rules without a failure id of their own"


def headings(text):
    """(level, title) of every Markdown heading, in order."""
    return [(len(m[1]), m[2].strip()) for m in re.finditer(r"^(#{1,6}) (.+)$", text, re.M)]


def defined_ids(text):
    """Rule id -> heading title, for every heading whose text starts with an id and a dot."""
    found = {}
    for _, title in headings(text):
        m = re.match(rf"^(R\d+|L\d+|G\d+|{UNCLASSIFIED})\. \S", title)
        if m:
            assert m[1] not in found, f"{m[1]} has two headings in CONTRACT.md"
            found[m[1]] = title
    return found


def not_reported_ids(text):
    """Ids listed (as `- ID: why`) under the heading of rules reported under other ids."""
    m = re.search(rf"^### {NOT_REPORTED_HEADING}\n(.*?)(?=^#)", text, re.M | re.S)
    return set(re.findall(r"^- (R\d+|L\d+|G\d+):", m[1], re.M)) if m else set()


def github_anchor(title):
    """The fragment GitHub gives a heading: lower case, punctuation dropped, spaces to '-'."""
    return re.sub(r"[^\w\- ]", "", title.lower()).replace(" ", "-")


def ids_in_source(source):
    """Rule ids a module's code can report: string literals that are ids, and `rule=`
    keyword arguments with a literal value."""
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.keyword) and node.arg == "rule" and isinstance(node.value, ast.Constant):
            found.add(node.value.value)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and RULE_ID.match(node.value):
            found.add(node.value)
    return {i for i in found if isinstance(i, str) and (RULE_ID.match(i) or i == UNCLASSIFIED)}


def ids_in_known_divergences(path):
    entries = tomllib.loads(path.read_text())["divergence"]
    return {e["rule"] for e in entries} | {s for e in entries for s in e.get("shows_as", []) if RULE_ID.match(s)}


def reported_ids():
    found = {UNCLASSIFIED} | ids_in_known_divergences(KNOWN_DIVERGENCES)
    for folder in SCANNED:
        for path in sorted((ROOT / folder).rglob("*.py")):
            found |= ids_in_source(path.read_text())
    return found


@pytest.fixture(scope="module")
def text():
    return CONTRACT.read_text()


def test_the_scanner_finds_literals_and_rule_arguments():
    source = 'run_backend(t, e, rule="R99")\nDivergence("L7", "x")\nf(g, e, t, "G3")\nnot_ids = ["R4x", "G1x", "g1", "r4", "R", "G"]\n'
    assert ids_in_source(source) == {"R99", "L7", "G3"}


def test_the_scanner_finds_the_ids_of_the_declared_divergences(tmp_path):
    toml = tmp_path / "k.toml"
    toml.write_text('[[divergence]]\nrule = "L9"\nshows_as = ["R98", "crash: R97 text"]\n')
    assert ids_in_known_divergences(toml) == {"L9", "R98"}


def test_the_document_has_the_four_sections_in_order(text):
    titles = [title for level, title in headings(text) if level == 2]
    assert [t for t in titles if t in SECTIONS] == list(SECTIONS), f"CONTRACT.md sections {titles}, expected {list(SECTIONS)} in order"


def test_each_rule_sits_in_its_section(text):
    """R rules under section 1 (the function), L rules under section 2 (the layer), G
    rules under section 5 (gradients)."""
    section, where = None, {}
    for level, title in headings(text):
        if level == 2:
            section = title.split(".")[0]
        m = re.match(r"^(R\d+|L\d+|G\d+)\. ", title)
        if level == 3 and m:
            where[m[1]] = section
    misplaced = {i: s for i, s in where.items() if s != SECTION_OF_KIND[i[0]]}
    assert where and not misplaced, f"rules outside their section: {misplaced}"
    assert {"G1", "G2", "G3", "G4"} <= set(where), f"section 5 defines {sorted(i for i in where if i[0] == 'G')}"


def test_the_gradient_rules_are_defined_and_reported(text):
    """Section 5 (G1-G4) and L7 are headings, and the code reports each one."""
    assert GRADIENT_RULES <= set(defined_ids(text)), f"CONTRACT.md lacks {sorted(GRADIENT_RULES - set(defined_ids(text)))}"
    assert GRADIENT_RULES <= reported_ids(), f"no code reports {sorted(GRADIENT_RULES - reported_ids())}"


def test_every_reported_rule_id_is_defined(text):
    undefined = reported_ids() - set(defined_ids(text))
    assert not undefined, f"the code can report {sorted(undefined)}, which CONTRACT.md does not define (a heading '### ID. Title')"


def test_every_defined_rule_is_reported_or_listed_as_reported_under_another_id(text):
    defined = set(defined_ids(text))
    listed = not_reported_ids(text)
    assert listed <= defined, f"listed but not defined: {sorted(listed - defined)}"
    dead = defined - reported_ids() - listed
    assert not dead, f"CONTRACT.md defines {sorted(dead)}, which no code reports; report them or list them under '{NOT_REPORTED_HEADING}'"


def test_rule_links_work(text):
    """CONTRACT.md#r4-masked-outputs: each rule's anchor starts with its id."""
    for rule, title in defined_ids(text).items():
        assert github_anchor(title).startswith(f"{rule.lower()}-"), (rule, title, github_anchor(title))
    assert github_anchor(defined_ids(text)["R4"]) == "r4-masked-outputs"
