"""Each declared divergence reproduces at both ends of its version range (slow: it creates
an overlay environment per release and replays there; `pytest -m slow tests/research/test_release_ranges.py`,
or `tox -e releases`).

The ranges in conformance/known/known_divergences.toml come from replaying every entry's case on
every release (conformance/research/history.py; docs/releases.md). This checks the ends
again, so a range cannot claim a release its case does not reproduce on."""

import pytest
from packaging.specifiers import SpecifierSet

from conformance.research import history
from conformance.research import releases
from conformance.known.ledger import load

pytestmark = [pytest.mark.slow, pytest.mark.e2e]  # overlay environments, a replay process per release


def range_ends(package):
    """{release: [entry ids whose range starts or ends there]} over the index's releases."""
    available = releases.available(releases.PACKAGES[package]["distribution"])
    if available is None:
        pytest.fail(f"the package index cannot list {package} releases: this test needs it")
    ends = {}
    for entry in history.entries_of(package):
        inside = [v for v in available if v in SpecifierSet(entry.versions)]
        assert inside, f"{entry.id}: no release on the index is in its range {entry.versions}"
        for version in {inside[0], inside[-1]}:
            ends.setdefault(version, []).append(entry.id)
    return ends


@pytest.mark.parametrize("package", sorted(releases.PACKAGES))
def test_every_entry_reproduces_at_both_ends_of_its_range(package):
    failures = []
    for version, ids in sorted(range_ends(package).items()):
        record = history.run_release(package, version)
        assert not record.get("error"), f"{package} {version}: {record['error']}"
        for r in record["results"]:
            if r["entry"] in ids and r["outcome"] != "present":
                failures.append(f"{r['entry']} [{r['mode']}] on {package} {version}: {r['outcome']} {r['detail']}")
    assert not failures, "\n".join(failures)


def test_the_known_file_names_only_releases_of_the_index():
    """(fast, but needs the index) no entry's range is empty on it."""
    for package in releases.PACKAGES:
        range_ends(package)
