"""Every verb, given bad arguments, answers with one line on stderr and status 1 or 2.

The verbs and their parameters are read from the Typer app, so a new verb is walked too: it
gets the missing-data-directory case and bad values for every parameter whose name or type
is known here (a new required parameter needs a valid value in ``VALID``, or the test says
so). Bad values: unknown or malformed persons, bad dates, unknown policies, files that do
not exist or are folders, and nonsense numbers.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from cli_verbs import leaves, own_params
from cli_world import NEW_PROVIDER, POLICIES, Demo, invoke, scores_from_elsewhere

from opencredit.registry import make_resident_id

#: Verbs that never open the data directory.
NO_DATA = {"policy lint"}
#: Verbs that make the data directory (or a folder in it) when it does not exist.
MAKES_DATA = {"init", "demo", "generate"}
#: A valid resident ID no demo nation registers (region 110101 is not among the demo's).
STRANGER = make_resident_id("110101", __import__("datetime").date(1990, 3, 7), 123)


def _records_csv(demo: Demo, tmp_path: Path) -> Path:
    path = tmp_path / "records.csv"
    path.write_text(f"person,kind,occurred,ref\n{demo.person},loan_repaid,2025-01-02,e-1\n")
    return path


def _key_id(demo: Demo, tmp_path: Path) -> str:
    out = invoke("keys", "list", "--data", demo.data)
    assert out.exit_code == 0, out.stderr
    return out.stdout.split()[0]


#: A valid value for each required parameter, by (verb, name) or by name.
VALID: dict[Any, Callable[[Demo, Path], object]] = {
    "person": lambda d, t: d.person,
    "policy": lambda d, t: "lending",
    ("ingest", "file"): _records_csv,
    ("registry add-persons", "file"): lambda d, t: d.data / "nation" / "persons.parquet",
    ("policy install", "file"): lambda d, t: POLICIES / "lending.toml",
    "files": lambda d, t: POLICIES / "lending.toml",
    "provider": lambda d, t: d.bank,
    "code": lambda d, t: NEW_PROVIDER,
    "name": lambda d, t: "A bank",
    "domain": lambda d, t: "finance",
    "role": lambda d, t: "person",
    "key_id": _key_id,
    ("keys create", "subject"): lambda d, t: d.person,
    ("import-scores", "file"): lambda d, t: scores_from_elsewhere(d.data, t / "out" / "scores"),
}
#: Optional parameters given a valid value too, so that bad values of the others are reached.
ALWAYS_GIVEN = {("keys create", "subject")}

NONSENSE_NUMBERS = ["-1", "abc", "1.5", "99999999999999999999999"]
BAD_DATES = ["2026-02-30", "31/01/2026", "yesterday"]


def bad_values(verb: str, param: Any, tmp_path: Path) -> list[str]:
    """Bad values for one parameter, by its name, then by its type."""
    by_name = {
        "person": ["123", "11010119900307123", STRANGER, "110101199003071234"],
        "policy": ["no-such-policy", "lending@99", ""],
        "as_of": BAD_DATES,
        "add": [
            "kind=nope",
            "kind=speeding,value=abc",
            "kind=speeding",
            "kind=speeding,value=5,occurred=2026-13-01",
            "kind=speeding,value=5,occurred=2999-01-01",
            "kind=purchase,value=5,category=medicine",
            "kind=pregnancy",
            "nonsense",
        ],
        "code": ["123", "91110000100000000X"],
        "provider": ["123", "91110000100000000X", NEW_PROVIDER],
        "domain": ["health", "", "sesame"],
        "role": ["bogus", ""],
        "subject": ["123", STRANGER],
        "key_id": ["no-such-key"],
        "label": ["nul\x00byte", "bell\x07", "x" * 5000],
        "persons": [*NONSENSE_NUMBERS, "0"],
        "years": [*NONSENSE_NUMBERS, "0"],
        "port": [*NONSENSE_NUMBERS, "0", "70000"],
        "workers": [*NONSENSE_NUMBERS, "0"],
        "host": ["no such host.invalid", "999.1.1.1"],
    }
    if param.name in by_name:
        return by_name[param.name]
    kind = str(param.type_descriptor.annotation).lower()
    if "path" in kind:
        folder = tmp_path / "a-folder"
        folder.mkdir(exist_ok=True)
        blocker = tmp_path / "a-file"
        blocker.write_text("not a folder")
        if param.name == "out":  # a folder to write in: only a file (or a path through one)
            return [str(blocker), str(blocker / "inside")]
        return [str(tmp_path / "missing.csv"), str(folder), str(blocker / "inside")]
    if "int" in kind:
        return NONSENSE_NUMBERS
    if "datetime" in kind:
        return BAD_DATES
    return []


def _is_option(param: Any) -> bool:
    return "Option" in type(param).__name__


def _flag(param: Any) -> str | None:
    opts = [o for o in param.opts if o.startswith("--")]
    return opts[0] if opts else None


def base_args(verb: str, params: list[Any], demo: Demo, tmp_path: Path) -> dict[str, list[str]]:
    """Valid arguments for every required parameter, by parameter name."""
    args: dict[str, list[str]] = {}
    for p in params:
        if not p.required and (verb, p.name) not in ALWAYS_GIVEN:
            continue
        make = VALID.get((verb, p.name)) or VALID.get(p.name)
        assert make is not None, f"{verb}: add a valid value for required parameter {p.name!r}"
        value = str(make(demo, tmp_path))
        flag = _flag(p)
        args[p.name] = [flag, value] if flag and _is_option(p) else [value]
    return args


def one_line_error(result: Any) -> str | None:
    """Why ``result`` is not a one-line error with status 1 or 2, or None if it is."""
    err = result.stderr.strip()
    if result.exit_code not in (1, 2):
        return f"exit {result.exit_code}; stdout {result.stdout[-300:]!r}; stderr {err!r}"
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        return f"raised {result.exception!r}"
    if "Traceback" in result.output:
        return "a traceback"
    if len(err.splitlines()) != 1 or not err.startswith("error: "):
        return f"not one error line on stderr: {err!r}"
    if "internal error" in err:
        return f"a bug reported as one: {err!r}"
    return None


VERBS = {" ".join(words): command for words, command in leaves().items()}


@pytest.mark.parametrize("verb", sorted(VERBS))
def test_bad_arguments_get_one_line_and_status_1_or_2(
    verb: str, demo: Demo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import uvicorn

    monkeypatch.setattr(uvicorn, "run", lambda *a, **kw: None)  # serve must fail before it
    params = own_params(VERBS[verb])
    base = base_args(verb, params, demo, tmp_path)
    words = verb.split()
    cases: list[list[str]] = []
    if verb not in NO_DATA:
        blocker = tmp_path / "not-a-folder"
        blocker.write_text("a file")
        cases.append([*words, *(a for v in base.values() for a in v), "--data", str(blocker / "d")])
        if verb not in MAKES_DATA:
            missing = str(tmp_path / "no")
            cases.append([*words, *(a for v in base.values() for a in v), "--data", missing])
    for p in params:
        for bad in bad_values(verb, p, tmp_path):
            args = {**base}
            flag = _flag(p)
            args[p.name] = [flag, bad] if flag and _is_option(p) else [bad]
            cases.append([*words, *(a for v in args.values() for a in v), "--data", str(demo.data)])
    assert cases, f"{verb}: no bad argument known for it; add some to bad_values"
    failures = []
    for case in cases:
        why = one_line_error(invoke(*case))
        if why:
            failures.append(f"opencredit {' '.join(map(repr, case))}: {why}")
    assert not failures, "\n".join(failures)


def test_a_policy_that_does_not_lint_is_not_installed(demo: Demo, tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    text = (POLICIES / "lending.toml").read_text(encoding="utf-8")
    bad.write_text(text.replace("version = 1", 'version = 2\n[[factors]]\nid = "age"', 1))
    result = invoke("policy", "install", bad, "--data", demo.data)
    assert result.exit_code == 1
    assert "error" in result.stdout.lower()
    listed = invoke("policy", "list", "--data", demo.data).stdout
    assert "lending@2" not in listed


def test_no_arguments_shows_help_not_an_error() -> None:
    result = invoke()
    assert "Usage" in result.stdout + result.stderr
    assert "Traceback" not in result.output


def test_an_unknown_verb_or_option_is_one_line() -> None:
    for args in (["no-such-verb"], ["score", "--no-such-option"], ["--no-such-option"]):
        assert one_line_error(invoke(*args)) is None, args
