"""Scoring policies: published TOML documents, loaded into validated models.

A policy names its score range, a base, bands (named ranges covering the range), the purposes
a partner may read it for, and factors. Each factor sums points from records of some kinds
(optionally only some purchase categories), fading by a half-life, clipped to [min, max].
The semantics are in docs/policies.md ("Semantics") and :mod:`opencredit.scoring.reference`.

Validity lives here, so every path that loads a policy (``parse_policy``, ``load_policy``,
``Policy.model_validate``, hence installing, uploading and the published policies) refuses
what ``opencredit policy lint`` calls an error: kinds, categories and purposes outside their
catalogues, names that reveal special-category data or a person attribute
(:mod:`opencredit.catalog.special`), punitive purposes, and numbers that are not finite or too
large to add up without overflowing.
"""

from __future__ import annotations

import tomllib
import unicodedata
from pathlib import Path
from typing import Annotated

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from opencredit.catalog import check_category, check_purpose, get_kind, name_refusals, refuse_name
from opencredit.catalog.names import mixes_scripts
from opencredit.errors import PolicyError, UnknownName

#: The largest magnitude of any number in a policy. Every number must be finite (NaN or
#: infinity would turn scores into NaN or break a rebuild), and bounded so that no sum of
#: points can overflow to infinity either.
MAX_MAGNITUDE = 10**12

#: Every floating-point field of the language: finite and bounded.
Number = Annotated[float, Field(allow_inf_nan=False, ge=-MAX_MAGNITUDE, le=MAX_MAGNITUDE)]
#: Every integer score bound (range, bands): bounded like numbers.
Bound = Annotated[int, Field(ge=-MAX_MAGNITUDE, le=MAX_MAGNITUDE)]


#: Characters a policy's text may hold besides printable ones: line breaks and tabs in prose,
#: and the zero-width joiners some scripts need.
_ALLOWED_INVISIBLE = frozenset("\t\n\r\u200c\u200d")


def _printable(text: str) -> str:
    problem = text_problem(text)
    if problem is not None:
        raise ValueError(problem)
    return text


#: Every text of a policy: printable (checked after a name's own checks, so that a name hiding
#: a refused word behind an invisible character is refused for the word).
Printable = AfterValidator(_printable)
Text = Annotated[str, Printable]


def text_problem(text: str) -> str | None:
    """Why ``text`` cannot be a policy's text, or None: a control character (NUL included,
    which PostgreSQL cannot store) or an invisible format character (a right-to-left override
    that shows a reason or band name reversed, a zero-width space inside a word)."""
    for pos, char in enumerate(text):
        if char in _ALLOWED_INVISIBLE:
            continue
        category = unicodedata.category(char)
        if category in ("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"):
            kind = "control" if category == "Cc" else "invisible or unassigned"
            return (
                f"character {pos + 1} is the {kind} character U+{ord(char):04X}; a policy's "
                "names and texts are printable (line breaks and tabs allowed in prose)"
            )
    return None


def _refused(what: str) -> AfterValidator:
    """A validator refusing a name that reveals special-category data or a person attribute."""

    def check(name: str) -> str:
        refuse_name(name, what)
        return name

    return AfterValidator(check)


def _one_script(name: str) -> str:
    if mixes_scripts(name):
        raise ValueError(
            f"band name {name!r} mixes Latin letters with letters of another script in one "
            "word, as disguised names do; write each word in one script"
        )
    return name


Name = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_\-]*$", max_length=64)]
#: A kind, category or purpose: checked against its catalogue, whose names are all short.
Label = Annotated[str, Field(min_length=1, max_length=64), Printable]
PolicyId = Annotated[Name, _refused("id")]
FactorId = Annotated[Name, _refused("id")]
#: A refused name is reported before a mixed script: a look-alike letter is read as the letter
#: it looks like (:func:`opencredit.catalog.names.latin_look`), so the refusal says what it hides.
BandName = Annotated[
    str,
    Field(min_length=1, max_length=64),
    _refused("band name"),
    AfterValidator(_one_script),
    Printable,
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Band(_Strict):
    """A named score range, inclusive at both ends."""

    name: BandName
    min: Bound
    max: Bound
    description: Text = ""


class Factor(_Strict):
    """One published scoring rule."""

    id: FactorId
    kinds: list[Label] = Field(min_length=1)
    categories: list[Label] = Field(default_factory=list)
    per_record: Number = 0.0
    per_unit: Number = 0.0
    half_life_days: Number | None = Field(default=None, gt=0)
    window_days: int | None = Field(default=None, gt=0, le=MAX_MAGNITUDE)
    min: Number
    max: Number
    reason: Text = Field(min_length=1)
    description: Text = ""

    @field_validator("kinds")
    @classmethod
    def _known_kinds(cls, kinds: list[str]) -> list[str]:
        for kind in kinds:
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


#: The largest version number: a key (an id of at most 64 characters, ``@``, the version) fits
#: the access tables' 80 characters (:func:`opencredit.access.validate.policy_key`).
MAX_VERSION = 999_999_999


class Policy(_Strict):
    """A published, versioned scoring policy."""

    id: PolicyId
    version: int = Field(ge=1)
    name: Text
    provider: Text = ""
    owner: str | None = Field(
        default=None,
        description="Organisation code of the scoring "
        "provider that publishes and answers for the policy",
    )
    description: Text = ""
    range: tuple[Bound, Bound]
    base: Number
    purposes: list[Label] = Field(min_length=1)
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

    @field_validator("purposes")
    @classmethod
    def _catalogued_purposes(cls, purposes: list[str]) -> list[str]:
        for purpose in purposes:
            check_purpose(purpose)
        return purposes

    @field_validator("version")
    @classmethod
    def _version_fits_a_key(cls, version: int) -> int:
        if version > MAX_VERSION:
            raise ValueError(
                f"version {version} is too large; versions go up to {MAX_VERSION:,} (a key "
                "id@version is kept in 80 characters)"
            )
        return version

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
        message = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            reasons = name_refusals(str(loc[-1]), "field")
            message = "; ".join(["unknown field (not part of the policy language)", *reasons])
        lines.append(f"{where}: {message}")
    return "; ".join(lines)


PUBLISHED_DIR = Path(__file__).parent / "published"


def published_policies() -> list[Policy]:
    """The policies shipped with opencredit (``policies/`` in the repository)."""
    return [load_policy(p) for p in sorted(PUBLISHED_DIR.glob("*.toml"))]
