"""Persons as the behaviour model sees them: age, sex, region's hardship and hidden traits.

The hidden traits are drawn once per person and never written out. They make one person's
records hang together (a reckless driver also misses payments more often) and give the
per-person record count its heavy tail. Why each trait is shaped as it is: see
:mod:`opencredit.synth.behaviour`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np

from opencredit.synth.population import DAYS_PER_YEAR, Identities
from opencredit.synth.regions import REGIONS

_EPOCH = dt.date(1970, 1, 1)
#: Terms end on these (month, day): grades and attendance are filed then.
TERM_ENDS = ((1, 20), (7, 5))
#: Age at which most people may stop working (men, women).
RETIREMENT_AGE = (60.0, 55.0)


def epoch_day(day: dt.date) -> int:
    """Days since 1970-01-01."""
    return (day - _EPOCH).days


def years_before(day: dt.date, years: int) -> dt.date:
    """The same calendar day ``years`` years earlier (29 February becomes 28 February)."""
    try:
        return day.replace(year=day.year - years)
    except ValueError:
        return day.replace(year=day.year - years, day=28)


@dataclass(frozen=True)
class Window:
    """The period records fall in: ``years`` years up to and including ``as_of``."""

    as_of: dt.date
    years: int

    @property
    def start(self) -> dt.date:
        return years_before(self.as_of, self.years)

    @property
    def start_day(self) -> int:
        return epoch_day(self.start)

    @property
    def end_day(self) -> int:
        return epoch_day(self.as_of)

    def term_days(self) -> list[int]:
        """Days (since 1970) on which a school term ends inside the window."""
        days = []
        for year in range(self.start.year, self.as_of.year + 1):
            for month, day in TERM_ENDS:
                when = dt.date(year, month, day)
                if self.start <= when <= self.as_of:
                    days.append(epoch_day(when))
        return days


@dataclass(frozen=True)
class People:
    """One chunk of persons: observable attributes and hidden traits, one row a person."""

    age: np.ndarray  # years at as_of
    male: np.ndarray
    birth_day: np.ndarray
    hardship: np.ndarray  # the region's median GDP per person / its own (1 = typical)
    risk: np.ndarray  # carelessness, mean 1, log-normal: scales every kind of misconduct
    spending: np.ndarray  # shopping appetite, mean 1, gamma with shape 0.7: heavy tail
    ability: np.ndarray  # standard normal: school grades, attendance, reviews
    driver: np.ndarray
    borrower: np.ndarray
    employed: np.ndarray
    parent: np.ndarray  # has a child under three at home
    leaves_school: np.ndarray  # age at which the person leaves school
    review_phase: np.ndarray  # day of the year (0-364) of the annual review

    @property
    def n(self) -> int:
        return len(self.age)

    @property
    def wealth(self) -> np.ndarray:
        return 1.0 / self.hardship

    def age_on(self, days: np.ndarray | int) -> np.ndarray:
        """Age in years on ``days`` (since 1970), for every person."""
        return (days - self.birth_day) / DAYS_PER_YEAR

    def day_turning(self, age: float) -> np.ndarray:
        """The day (since 1970) each person turns ``age``."""
        return self.birth_day + int(np.ceil(age * DAYS_PER_YEAR))


def bump(x: np.ndarray, centre: float, width: float) -> np.ndarray:
    """A bell curve: 1 at ``centre``, about 0.37 at ``centre`` +/- ``width``."""
    return np.exp(-(((x - centre) / width) ** 2))


def sample_people(who: Identities, window: Window, rng: np.random.Generator) -> People:
    """Attach hidden traits to a chunk of identities."""
    n = len(who)
    age = (window.end_day - who.birth_day) / DAYS_PER_YEAR
    male = who.male
    hardship = REGIONS.hardship[who.region]
    wealth = 1.0 / hardship
    adult = age >= 18

    sigma = 0.7
    risk = np.exp(rng.normal(-(sigma**2) / 2, sigma, n))
    spending = rng.gamma(0.7, 1 / 0.7, n)
    ability = rng.standard_normal(n)

    drive_age = np.select([age < 18, age < 22, age < 60, age < 70], [0.0, 0.5, 1.0, 0.7], 0.35)
    drive = np.where(male, 0.62, 0.38) * drive_age * wealth**0.3
    driver = rng.random(n) < np.minimum(drive, 0.95)

    borrow_age = np.select([age < 18, age < 25, age < 45, age < 60], [0.0, 0.25, 0.55, 0.4], 0.15)
    borrower = rng.random(n) < np.minimum(borrow_age * wealth**0.3, 0.9)

    leaves_school = rng.choice(np.array([15.0, 18.0, 22.0, 25.0]), n, p=[0.1, 0.4, 0.38, 0.12])
    retire = np.where(male, RETIREMENT_AGE[0], RETIREMENT_AGE[1])
    working_age = adult & (age >= leaves_school) & (age < retire)
    work = np.where(working_age, np.where(male, 0.82, 0.70), np.where(age < 65, 0.15, 0.0))
    employed = adult & (age >= leaves_school) & (rng.random(n) < work)

    # Women have their children a little younger than men in the census.
    child = np.where(male, 0.42 * bump(age, 32, 6), 0.48 * bump(age, 30, 6))
    parent = rng.random(n) < child

    return People(
        age=age,
        male=male,
        birth_day=who.birth_day,
        hardship=hardship,
        risk=risk,
        spending=spending,
        ability=ability,
        driver=driver,
        borrower=borrower,
        employed=employed,
        parent=parent,
        leaves_school=leaves_school,
        review_phase=rng.integers(0, 365, n),
    )
