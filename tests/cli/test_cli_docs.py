"""The project cites its own docs: nothing a user clones points at a page they do not have."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
#: The internal design page's name, spelled so that this file does not mention it itself.
INTERNAL_PAGE = "DESIGN" + ".md"


def _shipped_files() -> list[Path]:
    files = [ROOT / "README.md"]
    for folder in ("src", "docs", "tests", "policies", "bench", "scripts"):
        files += [
            p
            for p in (ROOT / folder).rglob("*")
            if p.is_file()
            # generated, not shipped: bytecode, and the metadata `pip install -e` writes
            and not any(part == "__pycache__" or part.endswith(".egg-info") for part in p.parts)
        ]
    return files


def test_no_file_cites_the_internal_design_page() -> None:
    cited = [
        str(p.relative_to(ROOT))
        for p in _shipped_files()
        if INTERNAL_PAGE.encode() in p.read_bytes()
    ]
    assert cited == []


def test_every_cited_principle_is_stated_in_docs_principles() -> None:
    text = (ROOT / "docs" / "principles.md").read_text(encoding="utf-8")
    stated = {int(n) for n in re.findall(r"^(\d+)\. \*\*", text, flags=re.MULTILINE)}
    cited = set()
    for p in _shipped_files():
        if p.suffix in (".py", ".md"):
            body = p.read_text(encoding="utf-8", errors="replace")
            cited |= {int(n) for n in re.findall(r"principles\.md,?\s+\(?principle (\d+)", body)}
            cited |= {int(n) for n in re.findall(r"principle (\d+) of\s+docs/principles\.md", body)}
    assert cited, "no citation of docs/principles.md found"
    assert cited <= stated
