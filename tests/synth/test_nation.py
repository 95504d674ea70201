"""The synthetic nation: valid, unique identities; records inside the catalog; behaviour."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from opencredit.catalog import KINDS, KINDS_BY_ID, PURCHASE_CATEGORIES, Domain
from opencredit.registry import PROVINCES, is_valid_org_code, is_valid_resident_id
from opencredit.registry.resident_id import make_resident_id, valid_mask
from opencredit.synth import PROVIDERS, NationFiles, generate_nation
from opencredit.synth.people import years_before
from opencredit.synth.population import SequenceBook, build_ids
from opencredit.synth.regions import REGIONS

AS_OF = dt.date(2025, 6, 30)
YEARS = 3
DAY = np.timedelta64(1, "D")


def _nation(tmp_path_factory, name: str, persons: int, **kwargs) -> NationFiles:
    out = tmp_path_factory.mktemp(name)
    return generate_nation(out, persons, as_of=AS_OF, years=YEARS, quiet=True, **kwargs)


@pytest.fixture(scope="module")
def small(tmp_path_factory) -> NationFiles:
    """2,000 persons in three chunks."""
    return _nation(tmp_path_factory, "small", 2_000, chunk_persons=700)


@pytest.fixture(scope="module")
def large(tmp_path_factory) -> NationFiles:
    """20,000 persons, enough for the behaviour's statistics to show."""
    return _nation(tmp_path_factory, "large", 20_000, seed=7)


def _persons(files: NationFiles) -> dict[str, np.ndarray]:
    table = pq.read_table(files.persons)
    return {
        "id": np.array(table["id"].to_pylist()),
        "region": np.array(table["region"].to_pylist()),
        "birth_date": table["birth_date"].to_numpy(),
        "sex": np.array(table["sex"].to_pylist()),
    }


def _records(files: NationFiles) -> dict[str, np.ndarray]:
    """All providers' records, with the provider code as a column."""
    tables = {code: pq.read_table(path) for code, path in files.records.items()}
    out: dict[str, np.ndarray] = {
        "provider": np.concatenate([np.full(t.num_rows, code) for code, t in tables.items()])
    }
    for name in ("person", "kind", "category", "ref"):
        out[name] = np.concatenate(
            [np.array(t[name].to_pylist(), dtype=object) for t in tables.values()]
        )
    out["occurred"] = np.concatenate([t["occurred"].to_numpy() for t in tables.values()])
    out["value"] = np.concatenate(
        [t["value"].to_numpy(zero_copy_only=False) for t in tables.values()]
    ).astype(float)
    return out


@pytest.fixture(scope="module")
def small_persons(small):
    return _persons(small)


@pytest.fixture(scope="module")
def small_records(small):
    return _records(small)


# identities


def test_ids_are_valid_and_unique(small_persons):
    ids = small_persons["id"]
    assert len(ids) == 2_000
    assert valid_mask(ids).all()
    assert all(is_valid_resident_id(i) for i in ids[::10])
    assert len(set(ids)) == len(ids)


def test_id_encodes_region_birth_date_and_sex(small_persons):
    ids, region = small_persons["id"], small_persons["region"]
    assert all(i[:6] == r for i, r in zip(ids, region, strict=True))
    assert {r[:2] for r in region} <= set(PROVINCES)
    births = [b.astype(dt.date).strftime("%Y%m%d") for b in small_persons["birth_date"]]
    assert all(i[6:14] == b for i, b in zip(ids, births, strict=True))
    odd = np.array([int(i[16]) % 2 == 1 for i in ids])
    assert np.array_equal(odd, small_persons["sex"] == "M")


def test_ages_are_15_to_85(small_persons):
    age = (np.datetime64(AS_OF) - small_persons["birth_date"]) / DAY / 365.2425
    assert age.min() >= 15 and age.max() < 85.1
    assert 0.02 < np.mean(age < 18) < 0.1  # school students under 18, the rest adults


def test_populous_provinces_dominate():
    province = np.array([c[:2] for c in REGIONS.codes])
    share = {p: REGIONS.weights[province == p].sum() for p in set(province)}
    assert share["44"] > share["37"] > share["54"]
    assert min(share["44"], share["37"], share["41"]) > 0.06 > 0.003 > share["54"]


def test_sequence_book_never_repeats_a_full_bucket():
    """1,200 women born the same day in the same region: the overflow moves to earlier days."""
    as_of_day = (AS_OF - dt.date(1970, 1, 1)).days
    book = SequenceBook(len(REGIONS.codes), as_of_day)
    n = 1_200
    region = np.zeros(n, dtype=np.int64)
    birth = np.full(n, as_of_day - 10_000, dtype=np.int64)
    male = np.zeros(n, dtype=bool)
    seq, moved = book.assign(region[:700], birth[:700], male[:700])
    seq2, moved2 = book.assign(region[700:], birth[700:], male[700:])
    ids = build_ids(region, np.concatenate([moved, moved2]), np.concatenate([seq, seq2]))
    texts = [bytes(row).decode() for row in ids]
    assert len(set(texts)) == n and valid_mask(texts).all()
    assert (np.concatenate([seq, seq2]) % 2 == 0).all()
    days = np.concatenate([moved, moved2])
    assert (days == birth[0]).sum() == SequenceBook.SLOTS
    assert set(np.unique(days)) == {birth[0], birth[0] - 1, birth[0] - 2}


@settings(max_examples=50, deadline=None)
@given(
    region=st.integers(0, len(REGIONS.codes) - 1),
    birth=st.dates(dt.date(1930, 1, 1), dt.date(2010, 12, 31)),
    sequence=st.integers(0, 999),
)
def test_vectorised_ids_match_make_resident_id(region, birth, sequence):
    day = (birth - dt.date(1970, 1, 1)).days
    row = build_ids(np.array([region]), np.array([day]), np.array([sequence]))[0]
    assert bytes(row).decode() == make_resident_id(REGIONS.codes[region], birth, sequence)


# providers and records


def test_providers_one_per_domain_with_valid_codes(small):
    table = pq.read_table(small.providers).to_pylist()
    assert [row["code"] for row in table] == [p.code for p in PROVIDERS]
    assert all(is_valid_org_code(row["code"]) for row in table)
    assert sorted(d for row in table for d in row["domains"]) == sorted(d.value for d in Domain)
    assert set(small.records) == {p.code for p in PROVIDERS}
    assert all(path.exists() for path in small.records.values())


def test_record_schema(small):
    for path in small.records.values():
        schema = pq.read_schema(path)
        assert schema.names == ["person", "kind", "occurred", "value", "category", "ref"]
        assert [str(t) for t in schema.types] == [
            "string",
            "string",
            "date32[day]",
            "double",
            "string",
            "string",
        ]


def test_every_kind_appears_with_its_provider(small_records):
    assert set(small_records["kind"]) == set(KINDS_BY_ID)
    domain_of = {p.code: set(p.domains) for p in PROVIDERS}
    for kind in KINDS:
        filed_by = set(small_records["provider"][small_records["kind"] == kind.id])
        assert all(kind.domain.value in domain_of[code] for code in filed_by)


def test_values_inside_kind_ranges(small_records):
    kind, value = small_records["kind"], small_records["value"]
    for spec in KINDS:
        v = value[kind == spec.id]
        if spec.unit is None:
            assert np.isnan(v).all(), spec.id
        else:
            assert not np.isnan(v).any(), spec.id
            assert v.min() >= spec.min_value and v.max() <= spec.max_value, spec.id


def test_dates_inside_window(small_records):
    occurred = small_records["occurred"]
    assert occurred.min() >= np.datetime64(years_before(AS_OF, YEARS))
    assert occurred.max() <= np.datetime64(AS_OF)


def test_no_record_before_fifteenth_birthday(small_records, small_persons):
    birth = dict(zip(small_persons["id"], small_persons["birth_date"], strict=True))
    person_birth = np.array([birth[p] for p in small_records["person"]])
    age = (small_records["occurred"] - person_birth) / DAY / 365.2425
    assert age.min() >= 15


def test_categories_only_on_purchases_and_vetted(small_records):
    is_purchase = small_records["kind"] == "purchase"
    category = small_records["category"]
    assert all(c is None for c in category[~is_purchase])
    assert set(category[is_purchase]) <= set(PURCHASE_CATEGORIES)


def test_refs_unique_per_provider(small):
    for code, path in small.records.items():
        refs = pq.read_table(path, columns=["ref"])["ref"].to_pylist()
        assert len(set(refs)) == len(refs), code
        prefixes = {r.split("-")[0] for r in refs}
        assert len(prefixes) == 1 and refs[0].endswith("000000001")


def test_every_record_belongs_to_a_person(small_records, small_persons):
    assert set(small_records["person"]) <= set(small_persons["id"])


def test_counts_add_up_across_chunks(small, small_records):
    assert small.n_persons == pq.read_metadata(small.persons).num_rows == 2_000
    assert pq.read_metadata(small.persons).num_row_groups == 3  # 700 + 700 + 600
    assert small.n_records == len(small_records["kind"])
    assert 11 * 2_000 < small.n_records < 16 * 2_000


def test_tiny_chunks_and_empty_nation(tmp_path):
    tiny = generate_nation(tmp_path / "tiny", 9, as_of=AS_OF, chunk_persons=2, quiet=True)
    ids = pq.read_table(tiny.persons)["id"].to_pylist()
    assert len(set(ids)) == 9 and valid_mask(ids).all()
    rows = sum(pq.read_metadata(p).num_rows for p in tiny.records.values())
    assert rows == tiny.n_records
    empty = generate_nation(tmp_path / "empty", 0, as_of=AS_OF, quiet=True)
    assert empty.n_records == 0 and pq.read_metadata(empty.persons).num_rows == 0


def test_bad_arguments_are_refused(tmp_path):
    with pytest.raises(ValueError, match="persons"):
        generate_nation(tmp_path, -1, as_of=AS_OF, quiet=True)
    with pytest.raises(ValueError, match="chunk_persons"):
        generate_nation(tmp_path, 10, as_of=AS_OF, chunk_persons=0, quiet=True)
    with pytest.raises(TypeError, match="as_of"):
        generate_nation(tmp_path, 10, as_of=dt.datetime(2025, 1, 1), quiet=True)


def test_leap_day_window():
    assert years_before(dt.date(2024, 2, 29), 3) == dt.date(2021, 2, 28)
    assert years_before(dt.date(2024, 2, 29), 4) == dt.date(2020, 2, 29)


# determinism


def _file_bytes(files: NationFiles) -> list[bytes]:
    paths = [files.persons, files.providers, *files.records.values()]
    return [Path(p).read_bytes() for p in paths]


def test_same_seed_same_bytes(tmp_path):
    a = generate_nation(tmp_path / "a", 500, seed=11, as_of=AS_OF, chunk_persons=200, quiet=True)
    b = generate_nation(tmp_path / "b", 500, seed=11, as_of=AS_OF, chunk_persons=200, quiet=True)
    c = generate_nation(tmp_path / "c", 500, seed=12, as_of=AS_OF, chunk_persons=200, quiet=True)
    assert _file_bytes(a) == _file_bytes(b)
    assert pq.read_table(a.persons)["id"] != pq.read_table(c.persons)["id"]
    assert a.n_records != c.n_records


# behaviour


def _stats(files: NationFiles) -> dict[str, np.ndarray]:
    """Per-person counts of some records, with age (at as_of), sex and province."""
    persons, records = _persons(files), _records(files)
    index = {pid: i for i, pid in enumerate(persons["id"])}
    row = np.array([index[p] for p in records["person"]])
    age = (np.datetime64(AS_OF) - persons["birth_date"]) / DAY / 365.2425

    def per_person(mask: np.ndarray) -> np.ndarray:
        return np.bincount(row[mask], minlength=len(age))

    kind, category = records["kind"], records["category"]
    return {
        "age": age,
        "male": persons["sex"] == "M",
        "province": np.array([r[:2] for r in persons["region"]]),
        "all": per_person(np.ones(len(row), dtype=bool)),
        "games": per_person(category == "video_games"),
        "baby": per_person(category == "baby_care"),
        **{
            k: per_person(kind == k)
            for k in (
                "speeding",
                "payment_missed",
                "volunteering",
                "drink_driving",
                "performance_review",
            )
        },
        "record_age": (records["occurred"] - persons["birth_date"][row]) / DAY / 365.2425,
        "kind": kind,
    }


@pytest.fixture(scope="module")
def people_stats(large):
    return _stats(large)


def test_young_people_buy_more_video_games(people_stats):
    s = people_stats
    assert s["games"][s["age"] < 30].mean() > 4 * s["games"][s["age"] > 50].mean()
    young = s["age"] < 30
    assert s["games"][young & s["male"]].mean() > 2 * s["games"][young & ~s["male"]].mean()


def test_baby_care_buyers_are_25_to_40_and_mostly_women(people_stats):
    s = people_stats
    buyers = s["baby"] > 0
    assert np.mean((s["age"][buyers] >= 25) & (s["age"][buyers] < 40)) > 0.6
    assert s["baby"][~s["male"]].sum() > 1.5 * s["baby"][s["male"]].sum()


def test_young_men_speed_most_and_drink_driving_is_mostly_men(people_stats):
    s = people_stats
    young_men = s["male"] & (s["age"] < 30)
    assert s["speeding"][young_men].mean() > 2 * s["speeding"][~s["male"]].mean()
    assert s["speeding"][young_men].mean() > 1.5 * s["speeding"][s["male"] & (s["age"] > 50)].mean()
    assert s["drink_driving"][s["male"]].sum() > 4 * s["drink_driving"][~s["male"]].sum()
    assert s["drink_driving"].mean() < 0.03


def test_poorer_provinces_miss_more_payments(people_stats):
    s = people_stats
    poor = np.isin(s["province"], ["62", "52", "45", "23"])  # Gansu, Guizhou, Guangxi, Heilongjiang
    rich = np.isin(s["province"], ["11", "31", "32", "33", "35"])  # Beijing ... Fujian
    assert s["payment_missed"][poor].mean() > 2 * s["payment_missed"][rich].mean()


def test_older_people_volunteer_more(people_stats):
    s = people_stats
    middle = (s["age"] >= 30) & (s["age"] < 50)
    assert s["volunteering"][s["age"] >= 65].mean() > 2 * s["volunteering"][middle].mean()


def test_school_records_for_students_reviews_for_working_age(people_stats):
    s = people_stats
    school = np.isin(s["kind"], ["grade_point", "attendance", "disciplinary_action"])
    assert s["record_age"][school].min() >= 15 and s["record_age"][school].max() < 25
    reviews = s["kind"] == "performance_review"
    assert s["record_age"][reviews].min() >= 18 and s["record_age"][reviews].max() < 66
    working = (s["age"] >= 25) & (s["age"] < 50)
    assert s["performance_review"][working].mean() > 1.5


def test_rare_events_stay_rare_and_counts_are_heavy_tailed(people_stats):
    s = people_stats
    assert 12 < s["all"].mean() < 15
    assert np.percentile(s["all"], 99) > 3 * np.median(s["all"])
    for kind in ("loan_default", "court_judgment_unpaid", "drink_driving"):
        assert 0 < np.mean(s["kind"] == kind) < 0.002, kind
