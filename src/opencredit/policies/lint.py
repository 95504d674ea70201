"""The policy linter: what stops a policy loading, and what it would do to people.

Errors are exactly what :func:`~opencredit.policies.model.parse_policy` refuses: both use the
same checks (:mod:`opencredit.catalog`: the catalogues of kinds, categories and purposes, and
the refused names of :mod:`opencredit.catalog.special`). The raw TOML is also scanned before
validation so that every refused name is reported at once, keys included, not only the first
one validation stops at.

Warnings and notes are about a policy that loads but may harm: negative points that never
fade, cross-context social scoring (EU AI Act Art. 5(1)(c)), records counted twice, factors that
cannot move a score, names with an ambiguous word (``adult_education``). Notes are information a
reader should have, not a fault: a negative factor without a half-life that still ends when its
records' retention period does; high-risk purposes (EU AI Act Annex III).
See docs/policies.md ("What lint checks").
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError
from rich.console import Console
from rich.text import Text

from opencredit.catalog import (
    PURPOSES,
    Domain,
    check_category,
    check_purpose,
    get_kind,
    name_doubts,
    name_refusals,
)
from opencredit.errors import PolicyError, RefusedData, UnknownName
from opencredit.policies.model import Band, Factor, Policy, parse_policy


class Severity(StrEnum):
    """How much a finding matters: only errors make a policy unusable."""

    ERROR = "error"
    WARNING = "warning"
    NOTE = "note"


@dataclass(frozen=True, slots=True)
class Finding:
    """One thing the linter found, at a field path such as ``factors.video_games.kinds``."""

    severity: Severity
    field: str
    message: str


@dataclass
class LintReport:
    """Everything found in one policy document; ``policy`` is set if the document loaded."""

    source: str
    findings: list[Finding] = field(default_factory=list)
    policy: Policy | None = None

    @property
    def ok(self) -> bool:
        """True if there are no errors (warnings and notes allowed)."""
        return not self.errors

    @property
    def errors(self) -> list[Finding]:
        return self._of(Severity.ERROR)

    @property
    def warnings(self) -> list[Finding]:
        return self._of(Severity.WARNING)

    @property
    def notes(self) -> list[Finding]:
        return self._of(Severity.NOTE)

    def _of(self, severity: Severity) -> list[Finding]:
        return [f for f in self.findings if f.severity is severity]


#: Free-text fields: prose may mention anything; only identifiers are checked for names. A
#: band's ``name`` is a label put on people, so it is checked; the policy's is prose.
PROSE_FIELDS = frozenset({"name", "description", "reason", "provider"})

#: Fields whose value is not a name: the owner's organisation code is validated as one.
CODE_FIELDS = frozenset({"owner"})

_ART_5 = (
    "The EU AI Act (Regulation (EU) 2024/1689) Art. 5(1)(c) prohibits social scoring that "
    "leads to detrimental or unfavourable treatment in social contexts unrelated to those in "
    "which the data was generated or collected, or treatment unjustified or disproportionate "
    "to the behaviour."
)


def lint_policy_file(path: str | Path) -> LintReport:
    """Lint the policy document at ``path``."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return LintReport(str(path), [Finding(Severity.ERROR, "file", f"cannot read: {exc}")])
    return lint_policy_text(text, str(path))


def lint_policy_text(text: str, source: str = "<policy>") -> LintReport:
    """Lint a policy document: every error found, then warnings and notes if it loads."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        return LintReport(source, [Finding(Severity.ERROR, "toml", f"not valid TOML: {exc}")])
    findings = [
        Finding(Severity.ERROR, path, message)
        for path, role, name in _identifiers(data, "", "")
        for message in _refusals(role, name)
    ]
    try:
        policy = parse_policy(text, source)
    except PolicyError as exc:
        findings += _validation_errors(exc, data, findings)
        return LintReport(source, findings)
    return LintReport(source, findings + _advice(policy, data), policy)


# --- errors -----------------------------------------------------------------------------------


def _identifiers(node: Any, path: str, role: str) -> Iterator[tuple[str, str, str]]:
    """Every key and non-prose string in a TOML document, as (field path, role, name); the
    role is ``field`` for a key, else the key the string is the value of (``name`` under
    ``bands`` is ``band name``)."""
    if isinstance(node, dict):
        for key, value in node.items():
            here = f"{path}.{key}" if path else key
            yield here, "field", key
            if key in CODE_FIELDS and isinstance(value, str):
                continue
            if key == "name" and path.startswith("bands."):
                yield from _identifiers(value, here, "band name")
            elif not (key in PROSE_FIELDS and isinstance(value, str)):
                yield from _identifiers(value, here, key)
    elif isinstance(node, list):
        for index, item in enumerate(node):
            where = path if isinstance(item, str) else f"{path}.{_label(node, index)}"
            yield from _identifiers(item, where, role)
    elif isinstance(node, str):
        yield path, role, node


def _label(items: Any, index: Any) -> Any:
    """How a path names an array element: by its ``id`` if it has one (a factor), else by
    its index (``bands.0``)."""
    if isinstance(items, list) and isinstance(index, int) and index < len(items):
        item = items[index]
        if isinstance(item, dict) and isinstance(item.get("id"), str):
            return item["id"]
    return index


_ROLES = {
    "field": "field",
    "kinds": "record kind",
    "categories": "purchase category",
    "purposes": "purpose",
    "id": "id",
    "band name": "band name",
}

#: Roles whose names must be in a catalogue, with the check that says so.
_CATALOGUES = {"kinds": get_kind, "categories": check_category, "purposes": check_purpose}


def _refusals(role: str, name: str) -> list[str]:
    """Why ``name`` (a key, kind, category, purpose...) may not appear in a policy: a person
    attribute (principle 4), special-category data (principle 5; both for ``sex``), or for a
    kind, category or purpose, not being in its catalogue (or, for a purpose, being
    punitive)."""
    what = _ROLES.get(role, f"value of {role}")
    found = name_refusals(name, what)
    check = _CATALOGUES.get(role)
    if not found and check is not None:
        try:
            check(name)
        except (RefusedData, UnknownName) as exc:
            found.append(str(exc))
    return found


def _doubts(data: dict) -> list[Finding]:
    """A warning for each name accepted with a doubt: an ambiguous word (``adult``,
    ``birthday``), a refused term inside another word (``age`` in ``usage``). Names in a
    catalogue were vetted there and keys are fixed by the language, so only ids and band names
    are judged."""
    return [
        Finding(Severity.WARNING, path, doubt)
        for path, role, name in _identifiers(data, "", "")
        if role in ("id", "band name")
        for doubt in name_doubts(name, _ROLES[role])
    ]


def _validation_errors(exc: PolicyError, data: dict, found: list[Finding]) -> list[Finding]:
    """One finding per validation error, leaving out what the scan of names already found."""
    cause = exc.__cause__
    if not isinstance(cause, ValidationError):
        return [Finding(Severity.ERROR, "policy", str(exc))]
    paths = {f.field for f in found}
    messages = {f.message for f in found}
    out = []
    for err in cause.errors():
        loc = list(err["loc"])
        if len(loc) >= 2:
            loc[1] = _label(data.get(str(loc[0])), loc[1])
        path = ".".join(str(part) for part in loc) or "policy"
        message = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            message = _unknown_field(err["loc"])
        elif (
            message in messages
            or (err["type"] == "value_error" and path in paths)
            or any(part in messages for part in message.split("; "))
        ):
            continue  # the same refusal, already reported by the scan (for every name)
        out.append(Finding(Severity.ERROR, path, message))
    return out


def _unknown_field(loc: tuple) -> str:
    model: type[BaseModel] = Policy
    if len(loc) > 1:
        model = {"factors": Factor, "bands": Band}.get(str(loc[0]), Policy)
    known = ", ".join(model.model_fields)
    return f"unknown field {loc[-1]!r}: not part of the policy language; expected one of: {known}"


# --- warnings and notes -----------------------------------------------------------------------


def _advice(policy: Policy, data: dict) -> list[Finding]:
    """Warnings, then notes, about a policy that loads."""
    found = _doubts(data)
    for factor in policy.factors:
        found += _factor_advice(factor, f"factors.{factor.id}")
    found += _overlaps(policy)
    found += _cross_context(policy)
    found += _high_risk(policy)
    return sorted(found, key=lambda f: f.severity is Severity.NOTE)


def _points_range(factor: Factor) -> tuple[float, float]:
    """The fewest and most points a single record of the factor's kinds can score (unfaded)."""
    points = []
    for kind in map(get_kind, factor.kinds):
        if kind.unit is None or factor.per_unit == 0:
            values = [0.0]  # no value, or one that does not count
        else:
            low = -math.inf if kind.min_value is None else kind.min_value
            high = math.inf if kind.max_value is None else kind.max_value
            values = [low, high]
        points += [factor.per_record + factor.per_unit * v for v in values]
    return min(points), max(points)


def _factor_advice(factor: Factor, path: str) -> list[Finding]:
    lowest, highest = _points_range(factor)
    found = []
    constant = _constant_contribution(factor, lowest, highest)
    if constant is not None:
        found.append(
            Finding(
                Severity.WARNING,
                path,
                f"cannot move the score: with min {factor.min:g}, max {factor.max:g} and "
                f"{lowest:g} to {highest:g} points per record, it contributes {constant:g} to "
                "everyone whatever their records",
            )
        )
    if factor.per_unit and all(get_kind(k).unit is None for k in factor.kinds):
        found.append(
            Finding(
                Severity.WARNING,
                f"{path}.per_unit",
                f"has no effect: {', '.join(factor.kinds)} records carry no value",
            )
        )
    # A factor that cannot move the score has nothing to fade: one finding is enough.
    if constant is None and lowest < 0 and factor.min < 0 and not factor.fades:
        found.append(_no_fading(factor, path))
    return found


def _constant_contribution(factor: Factor, lowest: float, highest: float) -> float | None:
    """The factor's contribution if no records can change it, else None."""
    if factor.min == factor.max:
        return factor.min
    # Fading multiplies by a positive weight, so the raw sum keeps the sign records can have.
    if lowest >= 0 and highest <= 0:
        return min(max(0.0, factor.min), factor.max)
    if highest <= 0 and factor.min >= 0:
        return factor.min
    if lowest >= 0 and factor.max <= 0:
        return factor.max
    return None


def _no_fading(factor: Factor, path: str) -> Finding:
    """A negative factor without a half-life: a warning if its records can count forever,
    a note saying how long they count at full weight otherwise."""
    kinds = [get_kind(k) for k in factor.kinds]
    forever = [k.id for k in kinds if k.retention_days is None]
    if factor.window_days is None and forever:
        return Finding(
            Severity.WARNING,
            path,
            f"negative points that never fade and never expire: {', '.join(forever)} records "
            "are kept without limit and the factor has no half_life_days or window_days, so "
            "one mistake costs the same for life (opencredit promises that old negative records "
            "expire). Add half_life_days or window_days.",
        )
    spans = []
    for kind in kinds:
        if factor.window_days is not None and factor.window_days <= (
            kind.retention_days or math.inf
        ):
            spans.append(f"{kind.id}: {factor.window_days} days, the factor's window")
        else:
            spans.append(f"{kind.id}: {kind.retention_days} days, the kind's retention period")
    return Finding(
        Severity.NOTE,
        path,
        "negative points that do not fade: each record costs its full points for as long as "
        f"it counts ({'; '.join(spans)}), then nothing. Add half_life_days to let old records "
        "weigh less.",
    )


def _overlaps(policy: Policy) -> list[Finding]:
    """Pairs of factors that score the same records, so each such record counts twice."""
    found = []
    for i, first in enumerate(policy.factors):
        for second in policy.factors[i + 1 :]:
            shared = [k for k in second.kinds if k in first.kinds]
            if not shared:
                continue
            if first.categories and second.categories:
                categories = [c for c in second.categories if c in first.categories]
                if not categories:
                    continue
            else:
                categories = first.categories or second.categories
            which = f" in categories {', '.join(categories)}" if categories else ""
            found.append(
                Finding(
                    Severity.WARNING,
                    f"factors.{second.id}.kinds",
                    f"scores the same records as factor {first.id!r} ({', '.join(shared)}"
                    f"{which}): each such record counts twice",
                )
            )
    return found


def _cross_context(policy: Policy) -> list[Finding]:
    """A warning if the policy scores one area of life for use in another (Art. 5(1)(c))."""
    by_domain: dict[Domain, list[str]] = {}
    for factor in policy.factors:
        for domain in dict.fromkeys(get_kind(k).domain for k in factor.kinds):
            by_domain.setdefault(domain, []).append(factor.id)
    unrelated = [p for p in policy.purposes if PURPOSES[p].domain not in by_domain]
    if len(by_domain) < 2 and not unrelated:
        return []
    parts = []
    if len(by_domain) > 1:
        areas = "; ".join(f"{d}: {', '.join(ids)}" for d, ids in by_domain.items())
        parts.append(
            f"combines conduct from {len(by_domain)} unrelated areas of life into one number "
            f"({areas})"
        )
    if unrelated:
        parts.append(f"is read for {', '.join(unrelated)}, outside the areas its records come from")
    return [
        Finding(
            Severity.WARNING,
            "factors" if len(by_domain) > 1 else "purposes",
            f"cross-context social scoring: the policy {' and '.join(parts)}. {_ART_5}",
        )
    ]


def _high_risk(policy: Policy) -> list[Finding]:
    """A note naming the purposes the EU AI Act lists as high-risk uses (Annex III)."""
    risky = [PURPOSES[p] for p in policy.purposes if PURPOSES[p].high_risk]
    if not risky:
        return []
    uses = "; ".join(f"{p.id}: {p.annex_iii_text}" for p in risky)
    return [
        Finding(
            Severity.NOTE,
            "purposes",
            f"high-risk uses under the EU AI Act (Regulation (EU) 2024/1689, Art. 6(2) and "
            f"Annex III): {uses}. Whoever decides with the score must meet the high-risk "
            "obligations: human oversight, logging, information to the person (Art. 26), and a "
            "fundamental rights impact assessment for credit scoring, life and health insurance "
            "pricing and public bodies (Art. 27).",
        )
    ]


# --- output -----------------------------------------------------------------------------------


def _summary(report: LintReport) -> str:
    counts = [
        (len(report.errors), "error"),
        (len(report.warnings), "warning"),
        (len(report.notes), "note"),
    ]
    tally = ", ".join(f"{n} {word}{'' if n == 1 else 's'}" for n, word in counts)
    what = f" ({report.policy.key})" if report.policy is not None else ""
    return f"{report.source}{what}: {'ok' if report.ok else 'failed'}: {tally}"


def format_report(report: LintReport) -> str:
    """The report as plain text: one ``source: severity: field: message`` line per finding,
    then a summary line."""
    lines = [f"{report.source}: {f.severity}: {f.field}: {f.message}" for f in report.findings]
    lines.append(_summary(report))
    return "\n".join(lines)


_STYLES = {Severity.ERROR: "bold red", Severity.WARNING: "yellow", Severity.NOTE: "cyan"}


def print_report(report: LintReport, console: Console) -> None:
    """Print the report with Rich, severities in colour, for ``opencredit policy lint``."""
    for finding in report.findings:
        line = Text()
        line.append(str(finding.severity), style=_STYLES[finding.severity])
        line.append(" ")
        line.append(finding.field, style="bold")
        line.append(f": {finding.message}")
        console.print(line)
    style = "red" if not report.ok else "yellow" if report.warnings else "green"
    console.print(Text(_summary(report), style=style))
