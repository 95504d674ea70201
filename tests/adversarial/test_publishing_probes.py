"""Issue 9, probe kind 2, tried as an adversary would on publishing: a changed document under an
installed ``id@version`` (however small the change), someone else's id, and a version slipped in
below the version in force. Each is refused and the installed documents stay as they were."""

from __future__ import annotations

from pathlib import Path

import pytest

from opencredit.access import AccessDenied, Caller, Conflict, Role, check_publication
from opencredit.policies.model import parse_policy
from opencredit.registry import make_org_code

LENDING = (Path(__file__).parents[2] / "policies" / "lending.toml").read_text(encoding="utf-8")
MINE = make_org_code("110000", 5)
THEIRS = make_org_code("330100", 6)
ME = Caller("m" * 16, Role.SCORING_PROVIDER, MINE)


def document(version: int, owner: str, base: str = "620", tail: str = "") -> str:
    """The shipped lending policy as ``lending@version`` by ``owner``."""
    text = LENDING.replace("version = 1", f"version = {version}", 1)
    text = text.replace("base = 620", f"base = {base}", 1)
    lines = [f'owner = "{owner}"' if ln.startswith("owner = ") else ln for ln in text.splitlines()]
    if not any(ln.startswith("owner = ") for ln in lines):
        lines.insert(1, f'owner = "{owner}"')
    return "\n".join(lines) + "\n" + tail


def refused(doc: str, installed: dict[str, str], error: type[Exception]) -> None:
    before = dict(installed)
    with pytest.raises(error):
        check_publication(parse_policy(doc), doc, installed, ME)
    assert installed == before


CHANGES = {
    "other points": document(2, MINE, base="621"),
    "a comment only": document(2, MINE, tail="# harmless?\n"),
    "a trailing space": document(2, MINE, tail=" "),
    "CRLF line ends": document(2, MINE).replace("\n", "\r\n"),
    "the same number spelt 620.0": document(2, MINE, base="620.0"),
    "owner in lower case": document(2, MINE.lower()),
}


@pytest.mark.parametrize("doc", CHANGES.values(), ids=CHANGES.keys())
def test_an_installed_version_never_changes(doc):
    refused(doc, {"lending@2": document(2, MINE)}, Conflict)


def test_the_same_document_again_is_a_no_op():
    doc = document(2, MINE)
    assert check_publication(parse_policy(doc), doc, {"lending@2": doc}, ME) is True


def test_someone_elses_id_is_not_taken_over():
    refused(document(2, MINE), {"lending@1": document(1, THEIRS)}, AccessDenied)


def test_someone_elses_policy_is_not_published_in_their_name():
    refused(document(1, THEIRS), {}, AccessDenied)


@pytest.mark.parametrize("version", [1, 2, 4])
def test_no_version_is_slipped_in_below_the_version_in_force(version):
    installed = {"lending@3": document(3, MINE), "lending@5": document(5, MINE)}
    refused(document(version, MINE), installed, Conflict)


def test_the_next_version_is_published():
    doc = document(6, MINE)
    assert check_publication(parse_policy(doc), doc, {"lending@5": document(5, MINE)}, ME) is False
