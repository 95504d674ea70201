"""Where the synthetic nation lives: provinces, their regions, population and wealth.

Populations are the 2020 census figures in millions; GDP per person is the 2020 figure in
thousands of yuan. Both are rounded: they only need to give the nation a realistic shape
(Guangdong, Shandong and Henan big, Tibet and Qinghai small; Beijing and Shanghai rich, Gansu
and Heilongjiang poor). Taiwan, Hong Kong and Macau are left out: their residents hold other
identity documents.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: province code -> (population in millions, GDP per person in thousands of yuan).
PROVINCE_FACTS: dict[str, tuple[float, float]] = {
    "11": (21.9, 165),  # Beijing
    "12": (13.9, 101),  # Tianjin
    "13": (74.6, 48),  # Hebei
    "14": (34.9, 51),  # Shanxi
    "15": (24.0, 72),  # Inner Mongolia
    "21": (42.6, 59),  # Liaoning
    "22": (24.1, 51),  # Jilin
    "23": (31.9, 43),  # Heilongjiang
    "31": (24.9, 156),  # Shanghai
    "32": (84.7, 121),  # Jiangsu
    "33": (64.6, 100),  # Zhejiang
    "34": (61.0, 63),  # Anhui
    "35": (41.5, 105),  # Fujian
    "36": (45.2, 57),  # Jiangxi
    "37": (101.5, 72),  # Shandong
    "41": (99.4, 55),  # Henan
    "42": (57.8, 74),  # Hubei
    "43": (66.4, 62),  # Hunan
    "44": (126.0, 88),  # Guangdong
    "45": (50.1, 44),  # Guangxi
    "46": (10.1, 55),  # Hainan
    "50": (32.1, 78),  # Chongqing
    "51": (83.7, 58),  # Sichuan
    "52": (38.6, 46),  # Guizhou
    "53": (47.2, 52),  # Yunnan
    "54": (3.6, 52),  # Tibet
    "61": (39.5, 66),  # Shaanxi
    "62": (25.0, 36),  # Gansu
    "63": (5.9, 51),  # Qinghai
    "64": (7.2, 55),  # Ningxia
    "65": (25.9, 53),  # Xinjiang
}

#: The four municipalities: one "city" (01) split into many districts.
MUNICIPALITIES = frozenset({"11", "12", "31", "50"})

_DISTRICTS_PER_CITY = 3
_MUNICIPAL_DISTRICTS = 12
_MAX_CITIES = 9
_MILLIONS_PER_CITY = 12.0


@dataclass(frozen=True)
class RegionTable:
    """Every region a person can be registered in, as parallel arrays (one row a region)."""

    codes: tuple[str, ...]
    digits: np.ndarray  # uint8, regions x 6: the code's digits
    weights: np.ndarray  # float64, sums to 1: share of the population
    hardship: np.ndarray  # float64: median GDP per person / the province's (1 = typical)


def _region_codes(province: str, population: float) -> list[tuple[str, float]]:
    """The region codes of one province with their share of its population."""
    if province in MUNICIPALITIES:
        codes = [f"{province}01{d:02d}" for d in range(1, _MUNICIPAL_DISTRICTS + 1)]
        return [(c, 1.0 / len(codes)) for c in codes]
    cities = int(min(_MAX_CITIES, max(1, round(population / _MILLIONS_PER_CITY))))
    # The provincial capital (city 01) is about twice as populous as the other cities.
    city_weights = np.array([2.0] + [1.0] * (cities - 1))
    city_weights /= city_weights.sum()
    rows = []
    for city, share in enumerate(city_weights, start=1):
        for district in range(2, 2 + _DISTRICTS_PER_CITY):
            rows.append((f"{province}{city:02d}{district:02d}", share / _DISTRICTS_PER_CITY))
    return rows


def build_region_table() -> RegionTable:
    """The region table, the same on every call."""
    median_gdp = float(np.median([gdp for _, gdp in PROVINCE_FACTS.values()]))
    codes: list[str] = []
    weights: list[float] = []
    hardship: list[float] = []
    for province, (population, gdp) in PROVINCE_FACTS.items():
        for code, share in _region_codes(province, population):
            codes.append(code)
            weights.append(population * share)
            hardship.append(median_gdp / gdp)
    w = np.array(weights)
    digits = np.frombuffer("".join(codes).encode(), dtype=np.uint8).reshape(-1, 6) - ord("0")
    return RegionTable(tuple(codes), digits.astype(np.uint8), w / w.sum(), np.array(hardship))


REGIONS = build_region_table()
