"""What people buy: each person's mix of purchase categories and what a purchase costs.

Every category here is on the vetted list (:data:`PURCHASE_CATEGORIES`); a test checks it.
"""

from __future__ import annotations

import numpy as np

from opencredit.catalog.categories import PURCHASE_CATEGORIES
from opencredit.synth.people import People, bump

CATEGORIES: tuple[str, ...] = tuple(PURCHASE_CATEGORIES)

#: category -> (share of an average person's purchases in percent, median price in yuan).
BASELINE: dict[str, tuple[float, float]] = {
    "groceries": (22, 90),
    "household": (7, 120),
    "clothing": (9, 300),
    "electronics": (4, 2200),
    "video_games": (2, 150),
    "baby_care": (0.05, 260),  # gifts; parents add their own
    "toys": (1, 180),
    "books": (3, 60),
    "education_supplies": (2, 400),
    "sports": (3, 350),
    "travel": (4, 1100),
    "restaurants": (14, 85),
    "utilities": (8, 220),
    "fuel": (5, 320),
    "furniture": (1.5, 1800),
    "home_improvement": (1.5, 600),
    "pet_supplies": (2, 150),
    "alcohol_tobacco": (4, 120),
    "lottery": (1.5, 20),
    "luxury_goods": (1, 9000),
}
#: Spread of prices around the median (log scale).
PRICE_SIGMA = 0.8


def purchase_rate(p: People) -> np.ndarray:
    """Purchases per year: working-age people, richer regions and big spenders buy more."""
    by_age = np.select([p.age < 18, p.age < 25, p.age < 45, p.age < 65], [0.6, 1.0, 1.3, 1.0], 0.6)
    return 2.3 * p.spending * by_age * p.wealth**0.5


def category_weights(p: People) -> np.ndarray:
    """Each person's relative weight for each category (persons x categories)."""
    age, male, wealth = p.age, p.male, p.wealth
    sex = np.where(male, 1.0, 0.0)
    adult = (age >= 18).astype(float)
    student = (age < p.leaves_school).astype(float)
    factor = {
        "groceries": np.where(male, 0.8, 1.3) * (1 + 0.5 * (age >= 55)),
        "clothing": np.where(male, 0.8, 1.3),
        "electronics": np.where(male, 1.3, 0.8) * (1 + 0.5 * (age < 35)),
        # Young people play most, young men most of all.
        "video_games": (6 * np.exp(-(age - 15) / 9) + 0.1) * (0.5 + 1.5 * sex),
        # Parents of small children; mothers do more of this shopping than fathers.
        "baby_care": 1 + p.parent * np.where(male, 240.0, 600.0),
        "toys": 1 + 3 * p.parent + 1.5 * ((age >= 35) & (age < 50)),
        "books": 1 + 1.5 * student + 0.5 * (age >= 60),
        "education_supplies": (1 + 4 * student) * (1 + 1.5 * ((age >= 35) & (age < 55))),
        "sports": 1 + 0.5 * (age < 40),
        "travel": wealth,
        "restaurants": 1 + 0.5 * (age < 40),
        "utilities": np.where(age >= 22, 1.3, 0.2),
        "fuel": np.where(p.driver, 2.5, 0.1),
        "pet_supplies": (1 + 0.5 * ((age >= 22) & (age < 40))) * wealth,
        "alcohol_tobacco": adult * np.where(male, 1.8, 0.3),
        "lottery": adult
        * np.where(male, 1.6, 0.5)
        * p.hardship**0.5
        * (1 + 0.5 * bump(age, 52, 12)),
        "luxury_goods": wealth**1.5 * np.where(male, 0.8, 1.5) * (1 + 0.5 * bump(age, 38, 12)),
    }
    weights = np.empty((p.n, len(CATEGORIES)))
    for column, name in enumerate(CATEGORIES):
        weights[:, column] = BASELINE[name][0] * factor.get(name, 1.0)
    return weights


def purchase_counts(p: People, years: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Purchases per person and category over ``years`` (persons x categories).

    Splitting a Poisson count by category gives independent Poisson counts per category, so
    this is the same as drawing each person's total and then a category for each purchase.
    """
    weights = category_weights(p)
    shares = weights / weights.sum(axis=1, keepdims=True)
    return rng.poisson((purchase_rate(p) * years)[:, None] * shares)


def prices(category: np.ndarray, wealth: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Prices in yuan (to the fen) for purchases of ``category`` by people of ``wealth``."""
    medians = np.array([BASELINE[name][1] for name in CATEGORIES])
    log_price = np.log(medians[category] * wealth**0.6) + rng.normal(0, PRICE_SIGMA, len(category))
    return np.clip(np.round(np.exp(log_price), 2), 0.01, 1e8)
