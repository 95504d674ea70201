"""The synthetic nation's data providers: one licensed filer per domain."""

from __future__ import annotations

from dataclasses import dataclass

from opencredit.catalog.kinds import Domain
from opencredit.registry.org_code import make_org_code


@dataclass(frozen=True)
class Provider:
    """A data provider: its Unified Social Credit Code, name and the domains it files in."""

    code: str
    name: str
    domains: tuple[str, ...]


#: domain -> (provider name, prefix of its record references).
_FILERS: dict[Domain, tuple[str, str]] = {
    Domain.FINANCE: ("Bank of Example", "FIN"),
    Domain.TRAFFIC: ("Traffic Police Bureau", "TRF"),
    Domain.EDUCATION: ("Provincial Education Board", "EDU"),
    Domain.COMMERCE: ("Example Mall", "COM"),
    Domain.EMPLOYMENT: ("Employers' Registry", "EMP"),
    Domain.CIVIC: ("City Civic Office", "CIV"),
}
#: All providers are registered in Beijing's Dongcheng district.
_PROVIDER_REGION = "110101"

PROVIDERS: tuple[Provider, ...] = tuple(
    Provider(make_org_code(_PROVIDER_REGION, 10_000_000 + serial), name, (domain.value,))
    for serial, (domain, (name, _)) in enumerate(_FILERS.items(), start=1)
)

REF_PREFIX: dict[str, str] = {domain.value: prefix for domain, (_, prefix) in _FILERS.items()}
