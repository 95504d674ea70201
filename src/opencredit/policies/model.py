"""Scoring policies: published TOML documents, loaded into validated models.

A policy names its score range, a base, bands (named ranges covering the range), the purposes
a partner may read it for, and factors. Each factor sums points from records of some kinds
(optionally only some purchase categories), fading by a half-life, clipped to [min, max].
The semantics are in docs/scoring.md and
:mod:`opencredit.scoring.reference`.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from opencredit.catalog import check_category, get_kind, person_attribute_in, refuse_special
from opencredit.errors import PolicyError, RefusedData, UnknownName

Name = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_\-]*$", max_length=64)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Band(_Strict):
    """A named score range, inclusive at both ends."""

    name: str
    min: int
    max: int
    description: str = ""


class Factor(_Strict):
    """One published scoring rule."""

    id: Name
    kinds: list[str] = Field(min_length=1)
    categories: list[str] = Field(default_factory=list)
    per_record: float = 0.0
    per_unit: float = 0.0
    half_life_days: float | None = Field(default=None, gt=0)
    window_days: int | None = Field(default=None, gt=0)
    min: float
    max: float
    reason: str = Field(min_length=1)
    description: str = ""

    @field_validator("kinds")
    @classmethod
    def _known_kinds(cls, kinds: list[str]) -> list[str]:
        for kind in kinds:
            _refuse_attribute(kind, "record kind")
            get_kind(kind)
        return kinds

    @field_validator("categories")
    @classmethod
    def _vetted_categories(cls, categories: list[str]) -> list[str]:
        for category in categories:
            check_category(category)
        return categories

    @model_validator(mode="after")
    def _consistent(self) -> Factor:
        if self.min > self.max:
            raise ValueError(f"min ({self.min}) is above max ({self.max})")
        if self.categories and not all(get_kind(k).needs_category for k in self.kinds):
            raise ValueError("categories apply only to kinds that carry one (purchase)")
        return self

    @property
    def fades(self) -> bool:
        """True if records' points fade with age."""
        return self.half_life_days is not None


class Policy(_Strict):
    """A published, versioned scoring policy."""

    id: Name
    version: int = Field(ge=1)
    name: str
    provider: str = ""
    owner: str | None = Field(
        default=None,
        description="Organisation code of the scoring "
        "provider that publishes and answers for the policy",
    )
    description: str = ""
    range: tuple[int, int]
    base: float
    purposes: list[Name] = Field(min_length=1)
    bands: list[Band] = Field(min_length=1)
    factors: list[Factor] = Field(min_length=1)

    @property
    def key(self) -> str:
        """``id@version``: what a score is computed under."""
        return f"{self.id}@{self.version}"

    @property
    def low(self) -> int:
        return self.range[0]

    @property
    def high(self) -> int:
        return self.range[1]

    @field_validator("owner")
    @classmethod
    def _owner_code(cls, owner: str | None) -> str | None:
        from opencredit.registry import parse_org_code

        return None if owner is None else parse_org_code(owner).value

    @model_validator(mode="after")
    def _consistent(self) -> Policy:
        low, high = self.range
        if low >= high:
            raise ValueError(f"range: low ({low}) must be below high ({high})")
        ids = [f.id for f in self.factors]
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            raise ValueError(f"factors: duplicate ids {dupes}")
        bands = sorted(self.bands, key=lambda b: b.min)
        expected = low
        for band in bands:
            if band.min != expected or band.max < band.min:
                raise ValueError(
                    f"bands must cover {low}-{high} without gap or overlap: band {band.name!r} "
                    f"starts at {band.min}, expected {expected}"
                )
            expected = band.max + 1
        if expected != high + 1:
            raise ValueError(f"bands must cover {low}-{high}: they end at {expected - 1}")
        for purpose in self.purposes:
            refuse_special(purpose, "purpose")
        return self

    def band_of(self, score: int) -> Band:
        """The band a (rounded) score falls in."""
        for band in self.bands:
            if band.min <= score <= band.max:
                return band
        raise ValueError(f"score {score} is outside {self.id}'s range {self.range}")

    def factor(self, factor_id: str) -> Factor:
        """The factor named ``factor_id``."""
        for f in self.factors:
            if f.id == factor_id:
                return f
        raise UnknownName(f"policy {self.key} has no factor {factor_id!r}")


def _refuse_attribute(name: str, what: str) -> None:
    attribute = person_attribute_in(name)
    if attribute is not None:
        raise RefusedData(
            f"{what} {name!r} refers to the person attribute {attribute!r}: policies score "
            "conduct records only, never age, sex or region (docs/principles.md, principle 4)"
        )


def parse_policy(text: str, source: str = "<policy>") -> Policy:
    """Parse and validate a policy document; errors name the source and the field."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise PolicyError(f"{source}: not valid TOML: {exc}") from exc
    try:
        return Policy.model_validate(data)
    except ValidationError as exc:
        raise PolicyError(f"{source}: {format_validation_error(exc, data)}") from exc


def load_policy(path: str | Path) -> Policy:
    """Load and validate the policy document at ``path``."""
    path = Path(path)
    return parse_policy(path.read_text(encoding="utf-8"), str(path))


def format_validation_error(exc: ValidationError, data: dict | None = None) -> str:
    """Pydantic's errors as 'field: message' lines, naming factors by id where possible."""
    lines = []
    for err in exc.errors():
        loc = list(err["loc"])
        if data is not None and len(loc) >= 2 and loc[0] == "factors" and isinstance(loc[1], int):
            factors = data.get("factors", [])
            if loc[1] < len(factors) and isinstance(factors[loc[1]], dict):
                loc[1] = factors[loc[1]].get("id", loc[1])
        where = ".".join(str(part) for part in loc) or "policy"
        message = err["msg"]
        if err["type"] == "extra_forbidden":
            message = "unknown field (not part of the policy language)"
        lines.append(f"{where}: {message}")
    return "; ".join(lines)


PUBLISHED_DIR = Path(__file__).parent / "published"


def published_policies() -> list[Policy]:
    """The policies shipped with opencredit (``policies/`` in the repository)."""
    return [load_policy(p) for p in sorted(PUBLISHED_DIR.glob("*.toml"))]
