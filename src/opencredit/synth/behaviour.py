"""The behaviour model: which records each person collects, and why.

Records depend on age, sex and region the way real conduct does, so that a fairness audit of
a policy scoring these records finds the disparities real audits find. Policies never see age,
sex or region (docs/principles.md, principle 4); they see conduct that differs with them.

Hidden traits (:mod:`opencredit.synth.people`), drawn once per person:

- ``risk`` (log-normal, mean 1, sigma 0.7) scales every kind of misconduct, so the same few
  people collect speeding tickets, missed payments and fines: records cluster as they do in
  real files. Rare, serious events (defaults, unpaid judgments, drink driving) scale with
  ``risk`` squared, concentrating them further.
- ``spending`` (gamma, shape 0.7, mean 1) gives the number of purchases, and so the number of
  records per person, a heavy right tail: most people have a handful, a few have dozens.
- ``ability`` (standard normal) moves grades, attendance and performance reviews together.
- ``driver``: 62% of men and 38% of women hold a licence at working age (fewer under 22 and
  over 60, none under 18), a little more in richer regions. Only drivers get traffic records.
- ``borrower``: a quarter of the under-25s, over half of 25-45 year-olds, fewer later.
- ``leaves_school`` at 15, 18, 22 or 25 (10/40/38/12%): a student is 15 or older and younger
  than that age. ``employed``: 82% of men and 70% of women between leaving school and
  retirement (60 for men, 55 for women), 15% of those a little older.
- ``parent`` of a child under three: up to 48% of women around 30, 42% of men around 32.
- ``hardship`` of the region: the national median GDP per person divided by the province's,
  so about 0.35 in Beijing and 1.6 in Gansu.

Rules, in events per year unless said (each a Poisson rate times the hidden traits; records
fall uniformly in the part of the window where the person was old enough):

- finance (from 18): ``loan_repaid`` 1.5 per borrower, more in richer regions.
  ``payment_missed`` 0.08, doubled for borrowers, times hardship**1.5 (poor provinces miss
  more payments: incomes are lower and less steady) and more at 20-30; days late log-normal
  around a week, longer in poorer regions. ``loan_default`` 0.004 per borrower times
  hardship**2; ``court_judgment_unpaid`` 0.0015 times hardship**1.5; amounts log-normal
  (medians 30,000 and 60,000 yuan, scaled with regional wealth).
- traffic (drivers, from 18): ``speeding`` 0.3, about four times as often at 18-20 as at 50
  and 1.4 (men) against 0.6 (women), because young men drive faster in every country's
  statistics; km/h over the limit mostly 10-30, higher for men under 30. ``red_light`` 0.12
  with a milder age and sex gradient. ``drink_driving`` 0.0025, 1.8 for men against 0.15 for
  women, peaking around 35: rare, and nearly all men.
- education (students, at each term end on 20 January and 5 July): ``grade_point`` and
  ``attendance`` for 97% of students each term; girls' grades are 0.1 higher, grades a little
  lower in poorer regions (as in national exam results). ``disciplinary_action`` 2% of
  student-terms, boys 1.8 against 0.5 for girls.
- employment (employed): one ``performance_review`` a year (rating 1-5, better with ability
  and experience, peaking in the mid-forties). ``workplace_misconduct`` 0.006, men 1.5
  against 0.6, higher under 30.
- commerce: ``purchase`` 2 a year times spending, more at 25-45 and in richer regions; the
  category mix (:mod:`opencredit.synth.purchases`) follows life stage: young people, young
  men above all, buy video games; parents of small children, mothers more than fathers, buy
  baby care; students and parents of schoolchildren buy education supplies; drivers buy fuel;
  men buy more alcohol and tobacco and lottery tickets (more so in poorer regions); luxury
  goods and travel follow regional wealth.
- civic: ``volunteering`` 0.08, plus 0.25 for the under-25s (school service) and up to 0.4
  more after retirement, women 1.2 against 0.85 for men; retirees also give more hours.
  ``littering_fine`` 0.025, men 1.5 against 0.6, highest for teenagers, fines of 20-200 yuan.

With these rates an average person collects about 13 records in three years.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields

import numpy as np

from opencredit.catalog.kinds import KINDS, Domain
from opencredit.synth.people import DAYS_PER_YEAR, People, Window, bump
from opencredit.synth.purchases import CATEGORIES, prices, purchase_counts

KIND_INDEX: dict[str, int] = {kind.id: i for i, kind in enumerate(KINDS)}
#: Nobody has a record from before their fifteenth birthday.
MIN_RECORD_AGE = 15.0


@dataclass(frozen=True)
class Events:
    """Records of one chunk as parallel arrays; NaN value and category -1 mean none."""

    person: np.ndarray  # int64 row in the chunk
    kind: np.ndarray  # int64 index into KINDS
    day: np.ndarray  # int64 days since 1970
    value: np.ndarray  # float64
    category: np.ndarray  # int64 index into CATEGORIES

    def __len__(self) -> int:
        return len(self.person)

    @staticmethod
    def concat(parts: list[Events]) -> Events:
        """All ``parts`` as one."""
        if not parts:
            empty = np.zeros(0, dtype=np.int64)
            return Events(empty, empty, empty, np.zeros(0), empty)
        names = [f.name for f in fields(Events)]
        return Events(*(np.concatenate([getattr(e, name) for e in parts]) for name in names))


class Collector:
    """Gathers one domain's records kind by kind."""

    def __init__(self, people: People, window: Window, rng: np.random.Generator) -> None:
        self.p, self.window, self.rng = people, window, rng
        self.parts: list[Events] = []

    def add(
        self,
        kind: str,
        person: np.ndarray,
        day: np.ndarray,
        value: np.ndarray | None = None,
        category: np.ndarray | None = None,
    ) -> None:
        """Add records of ``kind``; no ``value`` means the kind has no unit."""
        n = len(person)
        self.parts.append(
            Events(
                person=person.astype(np.int64),
                kind=np.full(n, KIND_INDEX[kind], dtype=np.int64),
                day=day.astype(np.int64),
                value=np.full(n, np.nan) if value is None else np.asarray(value, np.float64),
                category=np.full(n, -1, np.int64) if category is None else category,
            )
        )

    def span(self, from_age: float) -> tuple[np.ndarray, np.ndarray]:
        """Each person's first day in the window at ``from_age`` or older, and days from it."""
        first = np.maximum(self.window.start_day, self.p.day_turning(from_age))
        return first, np.maximum(self.window.end_day - first + 1, 0)

    def poisson(
        self, rate: np.ndarray, from_age: float = MIN_RECORD_AGE
    ) -> tuple[np.ndarray, np.ndarray]:
        """Draw ``rate``-per-year events on days each person is at least ``from_age``.

        Returns the person row and day of every event; the caller draws values and adds them.
        """
        first, span = self.span(from_age)
        counts = self.rng.poisson(rate * span / DAYS_PER_YEAR)
        person = np.repeat(np.arange(self.p.n), counts)
        day = first[person] + np.floor(self.rng.random(len(person)) * span[person])
        return person, day.astype(np.int64)

    def events(self) -> Events:
        """Everything added so far."""
        return Events.concat(self.parts)


def _sex(p: People, men: float, women: float) -> np.ndarray:
    return np.where(p.male, men, women)


def finance(c: Collector) -> None:
    """Repayments, missed payments, defaults and unpaid judgments."""
    p, rng = c.p, c.rng
    who, day = c.poisson(p.borrower * 1.5 * (0.6 + 0.4 * np.minimum(p.wealth, 2)), 18)
    c.add("loan_repaid", who, day)

    youth = 0.7 + 0.8 * bump(p.age, 24, 8)
    rate = 0.08 * (1 + 1.2 * p.borrower) * p.hardship**1.5 * p.risk * youth
    who, day = c.poisson(rate, 18)
    late = np.exp(rng.normal(np.log(7) + 0.3 * (p.hardship[who] - 1), 1.1))
    c.add("payment_missed", who, day, np.clip(np.ceil(late), 1, 3650))

    for kind, rate, median, sigma in (
        ("loan_default", 0.004 * p.borrower * p.hardship**2, 30_000, 1.0),
        ("court_judgment_unpaid", 0.0015 * (p.age >= 18) * p.hardship**1.5, 60_000, 1.2),
    ):
        who, day = c.poisson(rate * p.risk**2, 18)
        owed = np.exp(rng.normal(np.log(median * p.wealth[who] ** 0.8), sigma))
        c.add(kind, who, day, np.clip(np.round(owed, 2), 0.01, 1e10))


def traffic(c: Collector) -> None:
    """Speeding, red lights and drink driving, by drivers only."""
    p, rng = c.p, c.rng
    young = np.exp(-np.maximum(p.age - 18, 0) / 10)
    rate = p.driver * 0.3 * (0.45 + 1.9 * young) * _sex(p, 1.4, 0.6) * p.risk
    who, day = c.poisson(rate, 18)
    boost = 1 + 0.4 * (p.male & (p.age < 30))[who]
    over = np.round(5 + rng.gamma(2.0, 6.0, len(who)) * boost)
    c.add("speeding", who, day, np.clip(over, 1, 250))

    rate = p.driver * 0.12 * (0.6 + 0.8 * np.exp(-np.maximum(p.age - 18, 0) / 12))
    who, day = c.poisson(rate * _sex(p, 1.2, 0.8) * p.risk, 18)
    c.add("red_light", who, day)

    rate = p.driver * 0.0025 * _sex(p, 1.8, 0.15) * p.risk**2 * (0.5 + bump(p.age, 35, 12))
    who, day = c.poisson(rate, 18)
    c.add("drink_driving", who, day)


def education(c: Collector) -> None:
    """Grades and attendance at each term end for students; disciplinary actions in term."""
    p, rng = c.p, c.rng
    first_allowed, _ = c.span(MIN_RECORD_AGE)
    for term_end in c.window.term_days():
        age = p.age_on(term_end)
        students = np.flatnonzero((age >= MIN_RECORD_AGE) & (age < p.leaves_school))
        for kind in ("grade_point", "attendance"):
            filed = students[rng.random(len(students)) < 0.97]
            if kind == "grade_point":
                gpa = 2.9 + 0.45 * p.ability[filed] + 0.1 * ~p.male[filed]
                gpa += -0.15 * (p.hardship[filed] - 1) + rng.normal(0, 0.25, len(filed))
                value = np.round(np.clip(gpa, 0, 4), 2)
            else:
                absent = rng.gamma(1.2, 3.0, len(filed)) * np.exp(-0.4 * p.ability[filed])
                value = np.round(np.clip(100 - absent * np.sqrt(p.risk[filed]), 0, 100), 1)
            c.add(kind, filed, np.full(len(filed), term_end), value)
        chance = 0.02 * _sex(p, 1.8, 0.5)[students] * p.risk[students]
        punished = students[rng.random(len(students)) < np.minimum(chance, 0.5)]
        when = term_end - rng.integers(0, 150, len(punished))
        c.add("disciplinary_action", punished, np.maximum(when, first_allowed[punished]))


def employment(c: Collector) -> None:
    """An annual performance review for the employed; workplace misconduct findings."""
    p, rng = c.p, c.rng
    adult_from = p.day_turning(18)
    for years_back in range(c.window.years + 1):
        day = c.window.end_day - p.review_phase - round(years_back * DAYS_PER_YEAR)
        who = np.flatnonzero(p.employed & (day >= c.window.start_day) & (day >= adult_from))
        rating = 3.2 + 0.55 * p.ability[who] + 0.3 * bump(p.age[who], 45, 12)
        rating = np.clip(np.round(rating + rng.normal(0, 0.7, len(who))), 1, 5)
        c.add("performance_review", who, day[who], rating)

    rate = p.employed * 0.006 * _sex(p, 1.5, 0.6) * p.risk * (1 + 0.8 * (p.age < 30))
    who, day = c.poisson(rate, 18)
    c.add("workplace_misconduct", who, day)


def commerce(c: Collector) -> None:
    """Purchases with a category from the vetted list and a price."""
    p, rng = c.p, c.rng
    first, span = c.span(MIN_RECORD_AGE)
    flat = purchase_counts(p, span / DAYS_PER_YEAR, rng).ravel()
    person = np.repeat(np.repeat(np.arange(p.n), len(CATEGORIES)), flat)
    category = np.repeat(np.tile(np.arange(len(CATEGORIES)), p.n), flat)
    day = first[person] + np.floor(rng.random(len(person)) * span[person]).astype(np.int64)
    c.add("purchase", person, day, prices(category, p.wealth[person], rng), category)


def civic(c: Collector) -> None:
    """Volunteering hours and littering fines."""
    p, rng = c.p, c.rng
    retired = 0.4 / (1 + np.exp(-(p.age - 58) / 4))
    rate = (0.08 + 0.25 * (p.age < 25) + retired) * _sex(p, 0.85, 1.2)
    who, day = c.poisson(rate)
    hours = 0.25 + rng.gamma(1.6, 2.2, len(who)) * (1 + 0.5 * (p.age[who] >= 60))
    c.add("volunteering", who, day, np.clip(np.round(hours * 4) / 4, 0.25, 1000))

    rate = 0.025 * _sex(p, 1.5, 0.6) * (1 + np.exp(-(p.age - 15) / 10)) * p.risk
    who, day = c.poisson(rate)
    fine = rng.choice(np.array([20.0, 50.0, 100.0, 200.0]), len(who), p=[0.3, 0.4, 0.2, 0.1])
    c.add("littering_fine", who, day, fine)


RULES: dict[Domain, Callable[[Collector], None]] = {
    Domain.FINANCE: finance,
    Domain.TRAFFIC: traffic,
    Domain.EDUCATION: education,
    Domain.COMMERCE: commerce,
    Domain.EMPLOYMENT: employment,
    Domain.CIVIC: civic,
}


def domain_events(
    domain: Domain, people: People, window: Window, rng: np.random.Generator
) -> Events:
    """Every record of ``domain`` for a chunk of people."""
    collector = Collector(people, window, rng)
    RULES[domain](collector)
    return collector.events()
