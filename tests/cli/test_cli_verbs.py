"""Every verb's happy path, run in-process on a small demo nation, its output checked.

``HAPPY`` holds one test per verb; a test fails if a verb of the app has none, so a new verb
comes with its test.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from cli_verbs import verb_names
from cli_world import NEW_PROVIDER, POLICIES, Demo, invoke, scores_from_elsewhere

from opencredit.workspace import Workspace

SCORE_LINE = re.compile(r"^(\d{17}[\dX])  (\S+@\d+)  (-?\d+)  \((.+)\)  unrounded (-?[\d.]+)$")


def ok(result) -> str:
    """The output of a run that must have succeeded, with nothing on stderr."""
    assert result.exit_code == 0, (result.stdout, result.stderr)
    assert result.stderr == "" or "error" not in result.stderr.lower(), result.stderr
    return result.stdout


def happy_init(demo: Demo, tmp_path: Path) -> None:
    out = ok(invoke("init", "--data", tmp_path / "fresh"))
    assert f"initialised {tmp_path / 'fresh'}" in out
    assert "lending@1, rongcheng@1, sesame-2015@1" in out
    with Workspace(tmp_path / "fresh") as ws:
        assert sorted(ws.policies) == ["lending@1", "rongcheng@1", "sesame-2015@1"]


def happy_demo(demo: Demo, tmp_path: Path) -> None:
    # the session's demo ran with --data after the verb; its output is kept
    assert f"a synthetic nation of {300:,} persons" in demo.output
    assert "filed" in demo.output and "3 providers" not in demo.output.split("filed")[0]
    for role in ("person", "data_provider", "scoring_provider", "partner", "regulator", "admin"):
        assert re.search(rf"^ {role}\s+\S+\s+oc_", demo.output, re.MULTILINE), role
    assert "demo finished" in demo.output
    # what it suggests trying next finds this data directory, not the default one
    made_in = re.search(r"data in (\S+)$", demo.output.strip()).group(1)
    assert f"opencredit explain {demo.person} --policy lending --data {made_in}" in demo.output
    assert f"opencredit serve --data {made_in}" in demo.output
    # and again on the same folder (re-runnable), the global option before the verb
    out = ok(invoke("--data", demo.data, "--quiet", "demo", "--persons", 40, "--seed", 3))
    assert f"a synthetic nation of {40:,} persons" in out
    with Workspace(demo.data) as ws:
        assert ws.store.count_persons() == 40


def happy_score(demo: Demo, tmp_path: Path) -> None:
    out = ok(invoke("score", demo.person, "--policy", "lending", "--data", demo.data))
    match = SCORE_LINE.match(out.strip())
    assert match, out
    assert match.group(1) == demo.person and match.group(2) == "lending@1"
    assert 300 <= int(match.group(3)) <= 850
    assert abs(float(match.group(5)) - int(match.group(3))) <= 0.5


def happy_explain(demo: Demo, tmp_path: Path) -> None:
    out = ok(
        invoke(
            "explain",
            demo.person,
            "-p",
            "sesame-2015",
            "--as-of",
            "2026-01-31",
            "--data",
            demo.data,
        )
    )
    assert f"Score of {demo.person}" in out
    assert "as of 2026-01-31" in out
    for title in ("Factors", "Key reasons", "Records behind each factor"):
        assert title in out


def happy_whatif(demo: Demo, tmp_path: Path) -> None:
    out = ok(
        invoke(
            "whatif", demo.person, "-p", "sesame-2015", "--data", demo.data,
            "--add", "kind=speeding,value=25",
        )
    )  # fmt: skip
    assert "What if, under sesame-2015@1" in out
    assert "hypothetical speeding" in out
    assert re.search(r"score -?\d+ \(.+\) -> -?\d+ \(.+\): [+-]\d+ points", out), out


def happy_rebuild(demo: Demo, tmp_path: Path) -> None:
    out = ok(invoke("rebuild", "-p", "lending", "--quiet", "--data", demo.data))
    assert "Lending score [lending@1]: 300 persons" in out
    assert "rongcheng" not in out
    checked = ok(invoke("rebuild", "--check", "--data", demo.data))
    assert checked.strip() == "the columnar copy equals the row store"


def happy_export(demo: Demo, tmp_path: Path) -> None:
    out = ok(
        invoke("export", "--out", tmp_path / "x", "--partitions", 4, "-q", "--data", demo.data)
    )
    assert re.search(
        r"exported [\d,]+ records \(head seq [\d,]+\), 300 persons, 0 disputes in 4 partitions", out
    ), out
    assert (tmp_path / "x").is_dir()


def happy_import_scores(demo: Demo, tmp_path: Path) -> None:
    scores = scores_from_elsewhere(demo.data, tmp_path / "out" / "scores")
    out = ok(invoke("import-scores", scores, "--policy", "lending", "--data", demo.data, "-q"))
    assert re.search(
        r"imported 300 scores under lending@1 as of [\d-]+ \(ledger up to seq [\d,]+; "
        r"100 spot-checked\)",
        out,
    ), out


def happy_ingest(demo: Demo, tmp_path: Path) -> None:
    good = tmp_path / "good.csv"
    good.write_text(
        "person,kind,occurred,value,category,ref\n"
        f"{demo.person},loan_repaid,2025-01-02,,,cli-1\n"
        f"{demo.other_person},payment_missed,2025-01-03,12,,cli-2\n"
    )
    out = ok(invoke("ingest", good, "--provider", demo.bank, "--data", demo.data, "-q"))
    assert "accepted" in out and "2 records" in out and "0 bad rows rejected" in out
    # the same file again: duplicates, nothing new
    out = ok(invoke("ingest", good, "--provider", demo.bank, "--data", demo.data, "-q"))
    assert "nothing new" in out and "2 duplicates skipped" in out
    # one bad row: the whole file is rejected (status 1), or with --partial the good rows
    # are filed and the status is 3
    mixed = tmp_path / "mixed.csv"
    mixed.write_text(
        "person,kind,occurred,value,category,ref\n"
        f"{demo.person},loan_repaid,2025-01-04,,,cli-3\n"
        f"{demo.person},payment_missed,2025-01-05,-4,,cli-4\n"
    )
    rejected = invoke("ingest", mixed, "--provider", demo.bank, "--data", demo.data, "-q")
    assert rejected.exit_code == 1 and "rejected" in rejected.stdout
    assert "nothing was written" in rejected.stdout
    partial = invoke("ingest", mixed, "--partial", "--provider", demo.bank, "--data", demo.data)
    assert partial.exit_code == 3, (partial.stdout, partial.stderr)
    assert "1 records" in partial.stdout and "1 bad rows rejected" in partial.stdout


def happy_registry_add_persons(demo: Demo, tmp_path: Path) -> None:
    persons = demo.data / "nation" / "persons.parquet"
    out = ok(invoke("registry", "add-persons", persons, "--data", demo.data))
    assert "registered 0 new persons (300 in all)" in out


def happy_registry_add_provider(demo: Demo, tmp_path: Path) -> None:
    out = ok(
        invoke(
            "registry", "add-provider", NEW_PROVIDER, "--name", "A bank", "--domain", "finance",
            "--domain", "commerce", "--data", demo.data,
        )
    )  # fmt: skip
    assert f"registered A bank ({NEW_PROVIDER}) for finance, commerce" in out
    with Workspace(demo.data) as ws:
        assert ws.store.organisation(NEW_PROVIDER).domains == ("finance", "commerce")


def happy_policy_lint(demo: Demo, tmp_path: Path) -> None:
    out = ok(invoke("policy", "lint", POLICIES / "lending.toml"))
    assert "lending.toml" in out
    assert "0 errors" in out or "ok" in out.lower()


def happy_policy_list(demo: Demo, tmp_path: Path) -> None:
    out = ok(invoke("policy", "list", "--data", demo.data))
    lines = out.strip().splitlines()
    assert [line.split()[0] for line in lines] == ["lending@1", "rongcheng@1", "sesame-2015@1"]
    assert "range 300-850" in lines[0]


def happy_policy_show(demo: Demo, tmp_path: Path) -> None:
    out = ok(invoke("policy", "show", "lending", "--data", demo.data))
    assert out.strip() == (POLICIES / "lending.toml").read_text(encoding="utf-8").strip()


def happy_policy_install(demo: Demo, tmp_path: Path) -> None:
    text = (POLICIES / "lending.toml").read_text(encoding="utf-8")
    v2 = tmp_path / "lending-v2.toml"
    v2.write_text(text.replace("version = 1", "version = 2", 1), encoding="utf-8")
    out = ok(invoke("policy", "install", v2, "--data", demo.data))
    assert "installed lending@2" in out
    # the same factors: the state re-scores it without reading records (issue 10)
    assert "against lending@1: only points, bounds, base, range or bands change" in out, out
    assert "opencredit rebuild --engine state -p lending@2" in out, out
    v3 = tmp_path / "lending-v3.toml"
    v3.write_text(
        text.replace("version = 1", "version = 3", 1).replace(
            "half_life_days = ", "half_life_days = 1", 1
        ),
        encoding="utf-8",
    )
    out = ok(invoke("policy", "install", v3, "--data", demo.data))
    assert re.search(r"against lending@2: factor '\w+' changes half_life_days", out), out
    assert "opencredit rebuild -p lending@3" in out, out
    score = ok(invoke("score", demo.person, "-p", "lending", "--data", demo.data))
    assert "lending@3" in score


def happy_generate(demo: Demo, tmp_path: Path) -> None:
    out = ok(invoke("generate", "--persons", 50, "--out", tmp_path / "n", "--quiet"))
    assert re.search(r"wrote 50 persons and [\d,]+ records to", out), out
    assert (tmp_path / "n" / "persons.parquet").is_file()


def happy_keys_create(demo: Demo, tmp_path: Path) -> None:
    out = ok(
        invoke("keys", "create", "--role", "person", "--subject", demo.person, "--data", demo.data)
    )
    head, token = out.strip().splitlines()
    assert re.fullmatch(rf"person key \S+ for {demo.person}", head)
    assert token.startswith("oc_")


def happy_keys_list(demo: Demo, tmp_path: Path) -> None:
    out = ok(invoke("keys", "list", "--data", demo.data))
    lines = out.strip().splitlines()
    assert len(lines) == 6  # one per role, made by the demo
    assert all("active" in line and "made by opencredit demo" in line for line in lines)


def happy_keys_revoke(demo: Demo, tmp_path: Path) -> None:
    key_id = ok(invoke("keys", "list", "--data", demo.data)).split()[0]
    assert ok(invoke("keys", "revoke", key_id, "--data", demo.data)).strip() == f"revoked {key_id}"
    listed = ok(invoke("keys", "list", "--data", demo.data))
    assert re.search(rf"^{key_id} .*revoked \d{{4}}-\d\d-\d\d", listed, re.MULTILINE), listed


def happy_serve(demo: Demo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import uvicorn

    calls: list[dict] = []
    monkeypatch.setattr(uvicorn, "run", lambda *a, **kw: calls.append({"args": a, **kw}))
    monkeypatch.delenv("OPENCREDIT_DATA", raising=False)
    ok(invoke("serve", "--port", 8123, "--workers", 2, "--data", demo.data, "--quiet"))
    [call] = calls
    assert call["args"] == ("opencredit.api.app:app_from_env",)
    assert (call["port"], call["workers"], call["access_log"]) == (8123, 2, False)
    import os

    assert os.environ["OPENCREDIT_DATA"] == str(demo.data)


HAPPY: dict[str, Callable[..., None]] = {
    "init": happy_init,
    "demo": happy_demo,
    "score": happy_score,
    "explain": happy_explain,
    "whatif": happy_whatif,
    "rebuild": happy_rebuild,
    "ingest": happy_ingest,
    "export": happy_export,
    "registry add-persons": happy_registry_add_persons,
    "registry add-provider": happy_registry_add_provider,
    "policy lint": happy_policy_lint,
    "policy list": happy_policy_list,
    "policy show": happy_policy_show,
    "policy install": happy_policy_install,
    "generate": happy_generate,
    "keys create": happy_keys_create,
    "keys list": happy_keys_list,
    "keys revoke": happy_keys_revoke,
    "serve": happy_serve,
    "import-scores": happy_import_scores,
}


def test_every_verb_has_a_happy_path_test() -> None:
    assert set(HAPPY) == verb_names()


@pytest.mark.parametrize("verb", sorted(HAPPY))
def test_happy_path(verb: str, demo: Demo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    test = HAPPY[verb]
    if "monkeypatch" in test.__code__.co_varnames[: test.__code__.co_argcount]:
        test(demo, tmp_path, monkeypatch)
    else:
        test(demo, tmp_path)
