"""Who may publish a policy version, and what a new version may not change.

A published version is immutable: ``id@version`` always names the same document, so a score
computed under it can be recomputed by anyone. Installing the very same document again does
nothing; a different one under an installed key is a :class:`Conflict`. Only the policy's
owner (the scoring provider whose organisation code is its ``owner``) or the operator (an
admin, the CLI) publishes a version, and an id belongs to its first owner: every version of it
names the same ``owner``. See docs/access.md ("Publishing policies").

:func:`check_publication` is called by :meth:`opencredit.workspace.Workspace.publish_policy`
inside the store's install transaction, with the documents installed at that moment, so two
concurrent publishers cannot both pass the check.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping

from opencredit.access.errors import AccessDenied, Conflict
from opencredit.access.roles import Caller, Role
from opencredit.errors import InvalidIdentifier, PolicyError
from opencredit.policies.model import Policy, parse_policy
from opencredit.registry import parse_org_code


def check_publication(
    policy: Policy, document: str, installed: Mapping[str, str], publisher: Caller | None
) -> bool:
    """Raise unless ``publisher`` may install ``policy`` (parsed from ``document``) beside
    the ``installed`` documents (by key); True if this very document is installed already.

    ``publisher`` is the caller publishing, or None for the operator (the CLI, the shipped
    policies). A scoring provider publishes only policies whose ``owner`` is its own code
    (:class:`AccessDenied`); no one changes an installed version or gives an id another owner
    (:class:`Conflict`; :class:`AccessDenied` for a scoring provider taking over another's id),
    and no new version comes before the version in force (:class:`Conflict`): a version that
    was never in force could still be named (``lending@2`` after ``lending@3``) and read.
    """
    _check_publisher(policy, publisher)
    if policy.key in installed:
        if installed[policy.key] == document:
            return True
        raise Conflict(_changed_version(policy, installed))
    for key, other in sorted(installed.items()):
        if key.rpartition("@")[0] != policy.id:
            continue
        owner = owner_of(other)
        if owner != policy.owner:
            message = (
                f"policy id {policy.id!r} belongs to {owner or 'no owner'} ({key} names it as "
                f"owner), but {policy.key} names {policy.owner or 'none'}: every version of a "
                "policy keeps the owner of its first version"
            )
            if publisher is not None and publisher.role is Role.SCORING_PROVIDER:
                raise AccessDenied(message)
            raise Conflict(message)
    latest = _latest_version(policy.id, installed)
    if latest is not None and policy.version < latest:
        raise Conflict(
            f"policy {policy.key} comes before {policy.id}@{latest}, the version in force: a new "
            f"version comes after every published one (it would never have been in force, yet "
            f"could be named and read); publish it as {policy.id}@{latest + 1}"
        )
    return False


def _latest_version(policy_id: str, installed: Mapping[str, str]) -> int | None:
    """The highest installed version of ``policy_id``, or None."""
    versions = [int(k.rpartition("@")[2]) for k in installed if k.rpartition("@")[0] == policy_id]
    return max(versions, default=None)


def owner_of(document: str) -> str | None:
    """The ``owner`` an installed document names (canonical when it is a valid code)."""
    try:
        owner = tomllib.loads(document).get("owner")
    except tomllib.TOMLDecodeError:
        return None
    if not isinstance(owner, str):
        return None
    try:
        return parse_org_code(owner).value
    except InvalidIdentifier:
        return owner


def _check_publisher(policy: Policy, publisher: Caller | None) -> None:
    if publisher is None or publisher.role is Role.ADMIN:
        return
    if publisher.role is not Role.SCORING_PROVIDER or publisher.subject is None:
        raise AccessDenied(
            f"only a policy's owner (a scoring provider) or an admin publishes policies; "
            f"you are {publisher.role}"
        )
    if policy.owner != publisher.subject:
        raise AccessDenied(
            f"policy {policy.key} names owner {policy.owner or '(none)'}: a scoring provider "
            f"publishes only its own policies, with owner = {publisher.subject!r}"
        )


def _changed_version(policy: Policy, installed: Mapping[str, str]) -> str:
    versions = [
        int(key.rpartition("@")[2]) for key in installed if key.rpartition("@")[0] == policy.id
    ]
    try:
        same_rules = parse_policy(installed[policy.key], policy.key) == policy
    except PolicyError:
        same_rules = False
    how = " (in comments or layout only)" if same_rules else ""
    return (
        f"policy {policy.key} is already installed and this document differs from it{how}: "
        f"a published version never changes; publish the change as "
        f"{policy.id}@{max(versions) + 1}"
    )
