"""Record kinds: what a data provider may file, each in one domain of life.

A kind fixes the unit of a record's value (or that it has none), the range a value may take,
its usual sign for the person (+1 good, -1 bad, 0 depends on the policy) and how long it may
count (retention). Policies score kinds; they never see anything a kind does not carry.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from opencredit.catalog.special import read_name, refuse_name
from opencredit.errors import UnknownName


class Domain(StrEnum):
    """An area of life. A licence to file records is given per domain."""

    FINANCE = "finance"
    TRAFFIC = "traffic"
    EDUCATION = "education"
    COMMERCE = "commerce"
    EMPLOYMENT = "employment"
    CIVIC = "civic"


@dataclass(frozen=True, slots=True)
class RecordKind:
    """One kind of conduct record.

    ``unit`` is None when the record carries no value (a red-light ticket simply happened).
    ``retention_days`` is how long after it happened a record may count; None means forever.
    ``needs_category`` marks kinds whose records name a vetted category (purchases).
    ``min_age_years`` is the youngest a person may be on the day of such a record (a driving
    offence needs a driver, a loan a borrower of age); None means any age after birth.
    """

    id: str
    domain: Domain
    description: str
    unit: str | None
    sign: int
    retention_days: int | None
    min_value: float | None = None
    max_value: float | None = None
    needs_category: bool = False
    min_age_years: int | None = None

    def __post_init__(self) -> None:
        # The kinds' own names are checked against the refused vocabulary by a test
        # (tests/catalog/test_names.py), not here: that would load the word segmenter's corpus
        # (~50 MB, a third of a second) into every process at import.
        if self.sign not in (-1, 0, 1):
            raise ValueError(f"kind {self.id}: sign must be -1, 0 or 1, not {self.sign}")


_YEAR = 365

KINDS: tuple[RecordKind, ...] = (
    # finance
    RecordKind(
        "loan_repaid",
        Domain.FINANCE,
        "A loan instalment repaid on time",
        None,
        1,
        5 * _YEAR,
        min_age_years=18,
    ),
    RecordKind(
        "payment_missed",
        Domain.FINANCE,
        "A payment made late or not at all",
        "days_late",
        -1,
        5 * _YEAR,
        1,
        3650,
        min_age_years=18,
    ),
    RecordKind(
        "loan_default",
        Domain.FINANCE,
        "A loan in default, with the amount owed",
        "cny",
        -1,
        5 * _YEAR,
        0.01,
        1e10,
        min_age_years=18,
    ),
    RecordKind(
        "court_judgment_unpaid",
        Domain.FINANCE,
        "A court judgment for a debt left unpaid, with the amount",
        "cny",
        -1,
        5 * _YEAR,
        0.01,
        1e10,
        min_age_years=18,
    ),
    # traffic
    RecordKind(
        "speeding",
        Domain.TRAFFIC,
        "A speeding ticket, with km/h over the limit",
        "kmh_over",
        -1,
        3 * _YEAR,
        1,
        250,
        min_age_years=18,
    ),
    RecordKind(
        "red_light", Domain.TRAFFIC, "Running a red light", None, -1, 3 * _YEAR, min_age_years=18
    ),
    RecordKind(
        "drink_driving",
        Domain.TRAFFIC,
        "Driving over the alcohol limit",
        None,
        -1,
        5 * _YEAR,
        min_age_years=18,
    ),
    # education
    RecordKind(
        "grade_point",
        Domain.EDUCATION,
        "A term's grade point average (0-4)",
        "gpa",
        1,
        5 * _YEAR,
        0,
        4,
    ),
    RecordKind(
        "disciplinary_action", Domain.EDUCATION, "A school disciplinary action", None, -1, 3 * _YEAR
    ),
    RecordKind(
        "attendance", Domain.EDUCATION, "A term's attendance rate", "percent", 1, 3 * _YEAR, 0, 100
    ),
    # commerce
    RecordKind(
        "purchase",
        Domain.COMMERCE,
        "A purchase, with its amount and a category from the vetted list",
        "cny",
        0,
        1 * _YEAR,
        0.01,
        1e8,
        needs_category=True,
    ),
    # employment
    RecordKind(
        "performance_review",
        Domain.EMPLOYMENT,
        "An annual performance review (1-5)",
        "rating",
        1,
        5 * _YEAR,
        1,
        5,
        min_age_years=16,
    ),
    RecordKind(
        "workplace_misconduct",
        Domain.EMPLOYMENT,
        "A finding of workplace misconduct",
        None,
        -1,
        3 * _YEAR,
        min_age_years=16,
    ),
    # civic
    RecordKind(
        "volunteering",
        Domain.CIVIC,
        "Hours of registered volunteering",
        "hours",
        1,
        3 * _YEAR,
        0.25,
        1000,
    ),
    RecordKind(
        "littering_fine",
        Domain.CIVIC,
        "A fine for littering, with the amount",
        "cny",
        -1,
        1 * _YEAR,
        0.01,
        100000,
        min_age_years=14,
    ),
)

KINDS_BY_ID: dict[str, RecordKind] = {k.id: k for k in KINDS}


def get_kind(kind_id: str) -> RecordKind:
    """The kind named ``kind_id``; refuses special-category names and lists known kinds."""
    kind = KINDS_BY_ID.get(kind_id)
    if kind is None:
        refuse_name(kind_id, "record kind")
        doubts = "".join(f" ({doubt})" for doubt in read_name(kind_id).doubts)
        raise UnknownName(
            f"unknown record kind {kind_id!r}{doubts}; expected one of: "
            f"{', '.join(sorted(KINDS_BY_ID))}"
        )
    return kind
