"""Who may call: the six roles and the authenticated caller."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Role(StrEnum):
    """A caller's role. The subject a key is bound to depends on it (see :class:`Caller`)."""

    PERSON = "person"
    DATA_PROVIDER = "data_provider"
    SCORING_PROVIDER = "scoring_provider"
    PARTNER = "partner"
    REGULATOR = "regulator"
    ADMIN = "admin"

    @property
    def subject_kind(self) -> str | None:
        """``"person"``, ``"organisation"`` or None: what the role's subject is."""
        if self is Role.PERSON:
            return "person"
        if self in ORG_ROLES:
            return "organisation"
        return None


#: Roles bound to an organisation code.
ORG_ROLES = frozenset({Role.DATA_PROVIDER, Role.SCORING_PROVIDER, Role.PARTNER})


@dataclass(frozen=True, slots=True)
class Caller:
    """An authenticated caller.

    ``subject`` is the resident ID for a person, the organisation code for a data provider,
    scoring provider or partner, and None for the regulator and admins. ``domains`` are a data
    provider's licensed domains, read from the registry when the key is authenticated.
    """

    key_id: str
    role: Role
    subject: str | None
    domains: tuple[str, ...] = ()

    def is_person(self, person: str) -> bool:
        """True if the caller is the person ``person``."""
        return self.role is Role.PERSON and self.subject == person

    def is_org(self, role: Role, org: str) -> bool:
        """True if the caller is organisation ``org`` acting in ``role``."""
        return self.role is role and self.subject == org
