"""Regulator aggregates: counts, means and medians per region and band, k-anonymous."""

from __future__ import annotations

import datetime as dt
import statistics
from collections import Counter

import pyarrow as pa
import pytest
from access_helpers import BANK, PEOPLE, TODAY
from hypothesis import given
from hypothesis import strategies as st

from opencredit.access import InvalidRequest, decide_dispute, open_dispute
from opencredit.access.regulator import (
    K_ANONYMITY,
    band_shares,
    dispute_stats,
    score_distribution,
    suppress,
)
from opencredit.ledger.sqlite_store import SQLiteStore
from opencredit.ledger.store import SCORE_SCHEMA
from opencredit.registry import make_resident_id

#: (province region, band, score, how many persons)
POPULATION = [
    ("110101", "Good", 700, 12),
    ("110101", "Fair", 600, 10),
    ("110101", "Poor", 400, 3),
    ("310101", "Good", 710, 15),
    ("310101", "Fair", 610, 11),
    ("310101", "Poor", 410, 12),
    ("440301", "Good", 720, 4),
    ("320101", "Good", 730, 20),
    ("320101", "Fair", 620, 20),
    ("320101", "Poor", 420, 20),
]


@pytest.fixture
def scored(tmp_path):
    """A ledger with persons in three provinces and stored lending@1 scores."""
    store = SQLiteStore(tmp_path / "ledger.sqlite")
    ids, regions, people, raws, scores, bands = [], [], [], [], [], []
    serial = 0
    for region, band, score, n in POPULATION:
        for _ in range(n):
            serial += 1
            pid = make_resident_id(region, dt.date(1980, 1, 1) + dt.timedelta(days=serial), 1)
            ids.append(pid)
            regions.append(region)
            people.append(pid)
            raws.append(score + serial % 3)
            scores.append(score + serial % 3)
            bands.append(band)
    store.add_persons(
        pa.table(
            {
                "id": ids,  # the registry keeps the attributes the ID encodes
                "region": regions,
            },
        )
    )
    store.write_scores(
        "lending@1",
        TODAY,
        0,
        pa.table(
            {"person": people, "raw": [float(r) for r in raws], "score": scores, "band": bands},
            schema=SCORE_SCHEMA,
        ),
    )
    yield store
    store.close()


def test_counts_are_published_at_or_above_k_and_hidden_below(scored):
    dist = score_distribution(scored, "lending@1")
    cells = {(c.group, c.band): c.persons for c in dist.cells}
    assert (dist.as_of, dist.by, dist.k) == (TODAY, "province", K_ANONYMITY)
    assert cells[("11", "Poor")] is None  # 3 < k
    assert cells[("44", "Good")] is None  # 4 < k
    # Secondary: province 11's total (25) would give Poor away from Good and Fair; the band
    # totals would give the hidden cells away from the other provinces' cells.
    assert cells[("11", "Fair")] is None and cells[("11", "Good")] is None
    assert cells[("31", "Poor")] is None and cells[("31", "Fair")] is None
    assert cells[("31", "Good")] == 15
    assert [cells[("32", b)] for b in ("Good", "Fair", "Poor")] == [20, 20, 20]
    assert "fewer than 10 persons are suppressed" in dist.note


def test_no_row_or_column_has_exactly_one_hidden_cell(scored):
    dist = score_distribution(scored, "lending@1")
    for line in ("group", "band"):
        hidden = Counter(getattr(c, line) for c in dist.cells if c.suppressed)
        size = Counter(getattr(c, line) for c in dist.cells)
        assert all(n != 1 or size[key] == 1 for key, n in hidden.items())


def test_group_means_and_medians_only_for_groups_of_k(scored):
    groups = {g.group: g for g in score_distribution(scored, "lending@1").groups}
    people = [s for s in scored.scores("lending@1")[0].to_pylist()]
    by_province: dict[str, list[int]] = {}
    regions = {p["id"]: p["region"] for p in scored.export_persons().to_pylist()}
    for row in people:
        by_province.setdefault(regions[row["person"]][:2], []).append(row["score"])
    for province in ("11", "31", "32"):
        g = groups[province]
        assert g.persons == len(by_province[province])
        assert g.mean == pytest.approx(statistics.mean(by_province[province]))
        assert g.median == pytest.approx(statistics.median(by_province[province]))
    assert groups["44"].suppressed and groups["44"].mean is None and groups["44"].median is None


def test_nothing_individual_is_returned(scored):
    dist = score_distribution(scored, "lending@1", by="county")
    text = repr(dist) + repr(band_shares(scored, "lending@1"))
    for row in scored.export_persons().to_pylist():
        assert row["id"] not in text


def test_national_band_shares(scored):
    shares = {s.band: s for s in band_shares(scored, "lending@1")}
    total = sum(n for *_, n in POPULATION)
    assert shares["Good"].persons == 51 and shares["Good"].share == pytest.approx(51 / total)
    assert shares["Poor"].persons == 35 and shares["Fair"].persons == 41
    assert {s.group for s in shares.values()} == {"all"}


def test_band_shares_per_province_follow_the_distribution(scored):
    shares = {(s.group, s.band): s for s in band_shares(scored, "lending@1", by="province")}
    assert shares[("31", "Good")].share == pytest.approx(15 / 38)
    assert shares[("11", "Poor")].share is None and shares[("44", "Good")].share is None


def test_unknown_groupings_and_keys_are_refused(scored):
    with pytest.raises(InvalidRequest, match="expected one of province, prefecture, county"):
        score_distribution(scored, "lending@1", by="sex")
    with pytest.raises(InvalidRequest, match="id@version"):
        score_distribution(scored, "lending")


def test_a_policy_without_stored_scores_is_empty(scored):
    dist = score_distribution(scored, "rongcheng@1")
    assert dist.cells == [] and dist.groups == [] and dist.as_of is None


@given(
    st.dictionaries(
        st.tuples(st.sampled_from("ABCDE"), st.sampled_from("vwxyz")),
        st.integers(1, 40),
        max_size=25,
    )
)
def test_suppression_hides_small_cells_and_leaves_no_lone_hidden_cell(counts):
    hidden = suppress(counts, K_ANONYMITY)
    assert {c for c, n in counts.items() if n < K_ANONYMITY} <= hidden <= set(counts)
    for axis in (0, 1):
        per_line = Counter(c[axis] for c in hidden)
        sizes = Counter(c[axis] for c in counts)
        # one hidden cell in a line is only allowed when it is the line's only cell
        assert all(n != 1 or sizes[line] == 1 for line, n in per_line.items())


def test_dispute_stats_per_organisation(ledger, access_store):
    old = TODAY - dt.timedelta(days=40)
    a = open_dispute(ledger, access_store, PEOPLE[0], 1, "Wrong.", old)
    open_dispute(ledger, access_store, PEOPLE[0], 2, "Wrong.", old)  # overdue
    open_dispute(ledger, access_store, PEOPLE[1], 3, "Wrong.", TODAY)  # open, in time
    decide_dispute(ledger, access_store, BANK, a.id, "confirm", "Fine.", old + dt.timedelta(days=4))
    [stats] = dispute_stats(ledger, access_store, TODAY)
    assert (
        stats.org,
        stats.opened,
        stats.resolved,
        stats.open,
        stats.overdue,
        stats.resolved_late,
        stats.median_resolution_days,
    ) == (BANK, 3, 1, 2, 1, 0, 4.0)
