"""Who may publish a policy version, checked against a model over random publications.

The rules (docs/access.md, "Publishing policies"): an admin or the operator publishes any
policy, a scoring provider only its own (``owner`` is its code), nobody else; an installed
``id@version`` never changes (the same document again is a no-op); every version of an id
names the same owner; a new version comes after every installed version of its id.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from access_helpers import PARTNER, PEOPLE, PROVIDER
from hypothesis import given, settings
from hypothesis import strategies as st

from opencredit.access import AccessDenied, Caller, Conflict, Role, check_publication
from opencredit.policies.model import parse_policy
from opencredit.registry import make_org_code

LENDING = (Path(__file__).parents[2] / "policies" / "lending.toml").read_text(encoding="utf-8")
OTHER = make_org_code("330100", 6)
OWNERS = [PROVIDER, OTHER, None]
PUBLISHERS = [
    None,
    Caller("a" * 16, Role.ADMIN, None),
    Caller("s" * 16, Role.SCORING_PROVIDER, PROVIDER),
    Caller("o" * 16, Role.SCORING_PROVIDER, OTHER),
    Caller("p" * 16, Role.PARTNER, PARTNER),
    Caller("q" * 16, Role.PERSON, PEOPLE[0]),
]


def document(policy_id: str, version: int, owner: str | None, base: int) -> str:
    """The lending policy as ``policy_id@version`` by ``owner``, with base points ``base``."""
    text = LENDING.replace('id = "lending"', f'id = "{policy_id}"', 1)
    text = text.replace("version = 1", f"version = {version}", 1)
    text = text.replace("base = 620", f"base = {base}", 1)
    owner_line = "" if owner is None else f'owner = "{owner}"'
    lines = [owner_line if line.startswith("owner = ") else line for line in text.splitlines()]
    return "\n".join(lines) + "\n"


def expected(publisher: Caller | None, doc: str, installed: dict[str, str]) -> str:
    """The model: "installed", "same", "denied" or "conflict"."""
    policy = parse_policy(doc)
    provider = publisher is not None and publisher.role is Role.SCORING_PROVIDER
    admin = publisher is None or publisher.role is Role.ADMIN
    if not admin and not (provider and publisher.subject == policy.owner):
        return "denied"
    if policy.key in installed:
        return "same" if installed[policy.key] == doc else "conflict"
    owners = {parse_policy(d).owner for k, d in installed.items() if k.split("@")[0] == policy.id}
    if owners - {policy.owner}:
        return "denied" if provider else "conflict"
    versions = [parse_policy(d).version for d in installed.values()]
    if any(
        parse_policy(d).id == policy.id and v > policy.version
        for d, v in zip(installed.values(), versions, strict=True)
    ):
        return "conflict"  # a new version never comes before the version in force
    return "installed"


attempts = st.lists(
    st.tuples(
        st.sampled_from(PUBLISHERS),
        st.sampled_from(["lending", "payday"]),
        st.integers(1, 3),
        st.sampled_from(OWNERS),
        st.sampled_from([600, 620]),
    ),
    min_size=1,
    max_size=12,
)


@settings(max_examples=60, deadline=None)
@given(attempts=attempts)
def test_publication_follows_the_rules_whatever_the_order(attempts):
    installed: dict[str, str] = {}
    for publisher, policy_id, version, owner, base in attempts:
        doc = document(policy_id, version, owner, base)
        want = expected(publisher, doc, installed)
        policy = parse_policy(doc)
        if want in ("installed", "same"):
            assert check_publication(policy, doc, installed, publisher) is (want == "same")
            installed[policy.key] = doc
        else:
            error = AccessDenied if want == "denied" else Conflict
            with pytest.raises(error):
                check_publication(policy, doc, installed, publisher)
    for key, doc in installed.items():  # what was installed is consistent
        same_id = [d for k, d in installed.items() if k.split("@")[0] == key.split("@")[0]]
        assert len({parse_policy(d).owner for d in same_id}) == 1
        assert parse_policy(doc).key == key
