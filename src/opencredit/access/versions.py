"""The version of a policy in force, and what a named older version may still be read for.

The version in force of a policy id is its latest installed version. Every path that shows a
score to someone other than the person, or grants that, judges the purpose here, against the
version in force: a partner's read (:mod:`~opencredit.access.lookup`), a consent
(:mod:`~opencredit.access.consents`), a showcase listing (:mod:`~opencredit.access.showcase`).
A caller may name an older version (``lending@1``) to be shown the score computed under it,
but only for a purpose that both that version and the version in force allow: a purpose the
provider withdrew is withdrawn from every version. Share links show the version in force
(:mod:`~opencredit.access.shares`). See docs/access.md ("Policy versions").
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from opencredit.policies.model import Policy


class Policies(Protocol):
    """Where installed policies are found; :class:`opencredit.workspace.Workspace` is one."""

    def policy(self, name: str) -> Policy:
        """The installed policy ``id@version``, or the latest version of ``id``."""
        ...


@dataclass(frozen=True, slots=True)
class PolicyChoice:
    """A policy as named (``named``: the version asked for) and its version in force."""

    named: Policy
    in_force: Policy

    @property
    def current(self) -> bool:
        """True if the version named is the version in force."""
        return self.named.key == self.in_force.key

    @property
    def purposes(self) -> list[str]:
        """The purposes the named version may be read for: those it and the version in force
        both allow, in the named version's order."""
        return [p for p in self.named.purposes if p in self.in_force.purposes]

    def allows(self, purpose: str) -> bool:
        """True if the named version may be read for ``purpose``."""
        return purpose in self.named.purposes and purpose in self.in_force.purposes

    def refusal(self, purpose: str) -> str:
        """Why the named version may not be read for ``purpose`` (when :meth:`allows` is
        False), naming what it may be read for."""
        allowed = ", ".join(self.purposes) or "nothing"
        if purpose in self.named.purposes:
            return (
                f"policy {self.named.key} may not be read for purpose {purpose!r}: the version "
                f"in force, {self.in_force.key}, no longer allows it; {self.named.key} may be "
                f"read only for {allowed}"
            )
        return (
            f"policy {self.named.key} may not be read for purpose {purpose!r}; it allows only "
            f"{allowed}"
        )


def choose_policy(policies: Policies, name: str) -> PolicyChoice:
    """The policy ``name`` names (``id``: the version in force; ``id@version``: that one) and
    the version in force of its id. Raises ``UnknownName`` for a policy not installed."""
    named = policies.policy(name)
    in_force = named if name == named.id else policies.policy(named.id)
    return PolicyChoice(named, in_force)
