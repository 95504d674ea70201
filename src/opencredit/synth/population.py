"""Who lives in the synthetic nation: region, birth date, sex and a unique resident ID.

IDs are built as digit matrices (region, birth date, sequence) and checked with
``check_chars_vectorised``, a chunk at a time. Uniqueness is by construction: a resident ID is
unique if its sequence number is unique within its (region, birth date) bucket and sex, so a
:class:`SequenceBook` counts how many persons each bucket already holds and hands out the next
free sequence. A bucket that is full (499 persons of one sex born on one day in one region,
which the age spread makes practically impossible) sends the newcomer to the day before.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from opencredit.registry.resident_id import check_chars_vectorised
from opencredit.synth.regions import REGIONS

DAYS_PER_YEAR = 365.2425

#: Age bands (lower bound, years) with their population in millions (2020 census, rounded).
#: 15-17 year-olds are school students; everyone else is an adult aged 18 to 84.
AGE_BANDS: tuple[tuple[int, float], ...] = (
    (15, 72),
    (20, 75),
    (25, 92),
    (30, 124),
    (35, 99),
    (40, 93),
    (45, 115),
    (50, 121),
    (55, 101),
    (60, 74),
    (65, 74),
    (70, 50),
    (75, 31),
    (80, 20),
)
BAND_YEARS = 5
MIN_AGE = AGE_BANDS[0][0]
MAX_AGE = AGE_BANDS[-1][0] + BAND_YEARS
#: Share of men (the census sex ratio is about 105 men to 100 women).
MALE_SHARE = 0.512


@dataclass(frozen=True)
class Identities:
    """A chunk of persons' identities, one row a person."""

    ids: np.ndarray  # uint8, n x 18: the resident ID's ASCII bytes
    region: np.ndarray  # int64 index into REGIONS
    birth_day: np.ndarray  # int64 days since 1970-01-01
    male: np.ndarray  # bool

    def __len__(self) -> int:
        return len(self.region)


class SequenceBook:
    """Hands out sequence numbers so that no two persons ever share a resident ID."""

    #: Sequence slots per (region, birth date, sex): odd 1-997 for men, even 2-998 for women.
    SLOTS = 499

    def __init__(self, n_regions: int, as_of_day: int) -> None:
        self._as_of_day = as_of_day
        self._youngest = int(MIN_AGE * DAYS_PER_YEAR) - 1
        # A year of slack for persons moved to an earlier day when their bucket is full.
        self._n_days = int((MAX_AGE + 1) * DAYS_PER_YEAR) + 366 - self._youngest
        self._used = np.zeros(n_regions * self._n_days * 2, dtype=np.uint16)

    def _keys(self, region: np.ndarray, birth_day: np.ndarray, male: np.ndarray) -> np.ndarray:
        offset = self._as_of_day - birth_day - self._youngest
        if len(offset) and (offset.min() < 0 or offset.max() >= self._n_days):
            raise ValueError("birth date outside the ages the sequence book was built for")
        return (region * self._n_days + offset) * 2 + male

    def assign(
        self, region: np.ndarray, birth_day: np.ndarray, male: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Sequence numbers for a chunk, and birth days (moved only when a bucket was full)."""
        birth_day = birth_day.copy()
        sequence = np.zeros(len(region), dtype=np.int64)
        pending = np.arange(len(region))
        while len(pending):
            keys = self._keys(region[pending], birth_day[pending], male[pending])
            order = np.argsort(keys, kind="stable")
            sorted_keys = keys[order]
            new_group = np.ones(len(keys), dtype=bool)
            new_group[1:] = sorted_keys[1:] != sorted_keys[:-1]
            group_start = np.maximum.accumulate(np.where(new_group, np.arange(len(keys)), 0))
            rank = np.empty(len(keys), dtype=np.int64)
            rank[order] = np.arange(len(keys)) - group_start
            taken = self._used[keys].astype(np.int64) + rank
            fits = taken < self.SLOTS
            unique_keys, counts = np.unique(sorted_keys, return_counts=True)
            self._used[unique_keys] = np.minimum(
                self._used[unique_keys].astype(np.int64) + counts, self.SLOTS
            )
            # Start each bucket at a scrambled slot so sequence numbers look issued, not 001.
            first = ((keys * 2654435761) >> 7) % self.SLOTS
            slot = (first + taken) % self.SLOTS
            done = pending[fits]
            sequence[done] = 2 * slot[fits] + np.where(male[done], 1, 2)
            pending = pending[~fits]
            birth_day[pending] -= 1
        return sequence, birth_day


def _date_digits(days: np.ndarray) -> np.ndarray:
    """YYYYMMDD digits (uint8 values 0-9, n x 8) of days since 1970-01-01."""
    d = days.astype("datetime64[D]")
    months = d.astype("datetime64[M]")
    year = months.astype("datetime64[Y]").astype(np.int64) + 1970
    month = months.astype(np.int64) % 12 + 1
    day = (d - months).astype(np.int64) + 1
    number = year * 10_000 + month * 100 + day
    return ((number[:, None] // 10 ** np.arange(7, -1, -1)) % 10).astype(np.uint8)


def build_ids(region: np.ndarray, birth_day: np.ndarray, sequence: np.ndarray) -> np.ndarray:
    """Resident IDs as ASCII bytes (uint8, n x 18) from their parts, vectorised."""
    body = np.empty((len(region), 17), dtype=np.uint8)
    body[:, :6] = REGIONS.digits[region]
    body[:, 6:14] = _date_digits(birth_day)
    body[:, 14:17] = (sequence[:, None] // np.array([100, 10, 1])) % 10
    ids = np.empty((len(region), 18), dtype=np.uint8)
    ids[:, :17] = body + ord("0")
    ids[:, 17] = check_chars_vectorised(body)
    return ids


def sample_identities(
    n: int, as_of_day: int, rng: np.random.Generator, book: SequenceBook
) -> Identities:
    """``n`` persons with regions weighted by population, census ages and unique IDs."""
    region = rng.choice(len(REGIONS.codes), size=n, p=REGIONS.weights)
    band_weights = np.array([w for _, w in AGE_BANDS])
    band = rng.choice(len(AGE_BANDS), size=n, p=band_weights / band_weights.sum())
    age = np.array([lo for lo, _ in AGE_BANDS])[band] + BAND_YEARS * rng.random(n)
    birth_day = as_of_day - np.floor(age * DAYS_PER_YEAR).astype(np.int64)
    male = rng.random(n) < MALE_SHARE
    sequence, birth_day = book.assign(region, birth_day, male)
    return Identities(build_ids(region, birth_day, sequence), region, birth_day, male)
