"""Scores computed elsewhere (a Spark cluster, another site), checked before they are stored.

A scores file is Parquet of (person, raw, score, band) with a manifest (:class:`ScoresManifest`)
saying under which policy document, from which ledger prefix and at which date they were
computed. :func:`import_scores` stores them only if every check passes.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from pydantic import BaseModel, ConfigDict, Field

from opencredit.errors import OpenCreditError
from opencredit.ledger.export import document_hash, head_fingerprint, read_json_model
from opencredit.ledger.records import Dispute
from opencredit.ledger.store import SCORE_SCHEMA, Store
from opencredit.policies.model import Policy, parse_policy
from opencredit.scoring.reference import score_person

SCORES_FORMAT = "opencredit-scores"
SCORES_MANIFEST_FILE = "manifest.json"


class ScoresManifest(BaseModel):
    """What a scores file claims: policy version and document, ledger head, as-of date."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    format: Literal["opencredit-scores"] = SCORES_FORMAT
    format_version: Literal[1] = 1
    policy: str = Field(description="id@version")
    policy_sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    head_seq: int = Field(ge=0, description="computed from the ledger up to this seq")
    #: The fingerprint of the record at ``head_seq`` (ledger.export.record_fingerprint).
    head_record_sha256: str | None = Field(pattern=r"^[0-9a-f]{64}$")
    as_of: dt.date
    persons: int = Field(ge=0)
    engine: str
    created: dt.datetime


class ImportRefused(OpenCreditError):
    """Scores that fail a check: nothing was stored."""


@dataclass(frozen=True, slots=True)
class ImportReport:
    """What an import stored: how many scores, from which ledger prefix, and whether the
    ledger has moved on since (stale)."""

    policy: str
    persons: int
    as_of: dt.date
    head_seq: int
    ledger_head: int
    checked: int

    @property
    def stale(self) -> bool:
        """True if records were filed after the ledger prefix the scores were computed from."""
        return self.head_seq < self.ledger_head


def manifest_path(path: Path) -> Path:
    """Where a scores file's manifest is by default: ``manifest.json`` beside it (beside the
    directory, for a directory of Parquet parts)."""
    return path.parent / SCORES_MANIFEST_FILE


def read_scores_manifest(path: Path) -> ScoresManifest:
    """A scores manifest, or a one-line error naming the file and field."""
    return read_json_model(
        path, ScoresManifest, ImportRefused, f"no manifest {path} (give it with --manifest)"
    )


def scores_manifest(
    store: Store, policy_key: str, head_seq: int, as_of: dt.date, persons: int, engine: str
) -> ScoresManifest:
    """The manifest of scores computed from ``store``'s ledger up to ``head_seq`` under its
    installed ``policy_key`` at ``as_of``: what ``import-scores`` checks them against."""
    return ScoresManifest(
        policy=policy_key,
        policy_sha256=document_hash(store.policy_documents()[policy_key]),
        head_seq=head_seq,
        head_record_sha256=head_fingerprint(store, head_seq),
        as_of=as_of,
        persons=persons,
        engine=engine,
        created=dt.datetime.now(dt.UTC),
    )


def import_scores(
    store: Store,
    path: str | Path,
    policy_key: str,
    *,
    manifest: str | Path | None = None,
    allow_stale: bool = False,
    sample: int = 100,
    seed: int = 0,
) -> ImportReport:
    """Check scores computed elsewhere and store them as the scores of ``policy_key``.

    Refused, with nothing stored, unless: the manifest names ``policy_key`` and the SHA-256 of
    its installed document; the ledger has not moved past the manifest's head (unless
    ``allow_stale``: the scores are then stored as of that head, which says they are behind),
    and its record at that head has the manifest's fingerprint;
    every row has a registered person, once, and every registered person a row (persons
    registered since are allowed with ``allow_stale``); every score is its raw value rounded
    half away from zero, within the policy's range, in its band; and ``sample`` persons picked
    at random (``seed``) get the same score from the reference function (docs/scoring.md)."""
    path = Path(path)
    m = read_scores_manifest(Path(manifest) if manifest else manifest_path(path))
    documents = store.policy_documents()
    policy = _check_policy(m, policy_key, documents)
    ledger_head = store.max_seq()
    _check_head(m, ledger_head, allow_stale)
    if head_fingerprint(store, m.head_seq) != m.head_record_sha256:
        raise ImportRefused(
            f"the scores are of another ledger: its record {m.head_seq:,} is not this one's"
        )
    scores = _read_scores(path)
    if scores.num_rows != m.persons:
        raise ImportRefused(f"{path}: {scores.num_rows:,} rows, the manifest says {m.persons:,}")
    persons = scores.column("person").to_pylist()
    _check_persons(store, persons, allow_stale)
    _check_consistent(policy, scores)
    checked = _spot_check(store, policy, scores, m, sample, seed)
    store.write_scores(policy_key, m.as_of, m.head_seq, scores)
    return ImportReport(policy_key, scores.num_rows, m.as_of, m.head_seq, ledger_head, checked)


def _check_policy(m: ScoresManifest, key: str, documents: dict[str, str]) -> Policy:
    if m.policy != key:
        raise ImportRefused(f"the scores are under {m.policy}, not {key}")
    if key not in documents:
        raise ImportRefused(f"policy {key} is not installed here")
    if document_hash(documents[key]) != m.policy_sha256:
        raise ImportRefused(
            f"the installed document of {key} is not the one the scores were computed under "
            f"(sha256 {document_hash(documents[key])[:12]}..., manifest {m.policy_sha256[:12]}...)"
        )
    return parse_policy(documents[key], key)


def _check_head(m: ScoresManifest, ledger_head: int, allow_stale: bool) -> None:
    if m.head_seq > ledger_head:
        raise ImportRefused(
            f"the scores are of a ledger up to seq {m.head_seq:,}, but this one ends at "
            f"{ledger_head:,}: another ledger?"
        )
    if m.head_seq < ledger_head and not allow_stale:
        raise ImportRefused(
            f"the ledger has moved on: the scores are of seq {m.head_seq:,}, the ledger is at "
            f"{ledger_head:,}; pass --allow-stale to store them as of seq {m.head_seq:,}"
        )


def _read_scores(path: Path) -> pa.Table:
    try:
        table = pq.read_table(path)
    except (OSError, pa.ArrowException) as exc:
        raise ImportRefused(f"{path}: not readable as Parquet ({_first_line(exc)})") from None
    missing = [n for n in SCORE_SCHEMA.names if n not in table.column_names]
    if missing:
        raise ImportRefused(
            f"{path}: no column {', '.join(missing)} (expected person, raw, score, band)"
        )
    table = table.select(SCORE_SCHEMA.names)
    for field in SCORE_SCHEMA:
        column = table.column(field.name)
        if not column.type.equals(field.type) and not _castable(column.type, field.type):
            raise ImportRefused(f"{path}: column {field.name} is {column.type}, not {field.type}")
        if column.null_count:
            row = pc.index(pc.is_null(column), True).as_py()
            raise ImportRefused(f"{path}: row {row + 1}: {field.name} is empty")
    return table.cast(SCORE_SCHEMA)


def _castable(got: pa.DataType, want: pa.DataType) -> bool:
    if pa.types.is_integer(want):
        return pa.types.is_integer(got)
    if pa.types.is_floating(want):
        return pa.types.is_floating(got)
    return pa.types.is_string(got) or pa.types.is_large_string(got)


def _check_persons(store: Store, persons: list[str], allow_stale: bool) -> None:
    counts = Counter(persons)
    if len(counts) != len(persons):
        twice = next(p for p, n in counts.items() if n > 1)
        raise ImportRefused(f"person {twice} has {counts[twice]} scores; one each is expected")
    unknown = store.unknown_persons(persons)
    if unknown:
        raise ImportRefused(
            f"{len(unknown):,} persons are not registered here, e.g. {min(unknown)}"
        )
    missing = store.count_persons() - len(persons)
    if missing and not allow_stale:
        raise ImportRefused(
            f"{missing:,} registered persons have no score (registered since the scores were "
            "computed? pass --allow-stale)"
        )


def _check_consistent(policy: Policy, scores: pa.Table) -> None:
    raw = scores.column("raw").to_numpy()
    score = scores.column("score").to_numpy()
    whole = np.floor(np.abs(raw))
    rounded = np.copysign(whole + (np.abs(raw) - whole >= 0.5), raw)
    bad = ~np.isfinite(raw) | (raw < policy.low) | (raw > policy.high) | (rounded != score)
    if bad.any():
        i = int(np.argmax(bad))
        raise ImportRefused(
            f"row {i + 1} (person {scores.column('person')[i]}): score {score[i]} is not raw "
            f"{raw[i]!r} rounded half away from zero within {policy.low}-{policy.high}"
        )
    band = scores.column("band").to_numpy(zero_copy_only=False)
    want = np.full(len(score), None, dtype=object)
    for b in policy.bands:
        want[(score >= b.min) & (score <= b.max)] = b.name
    wrong = band != want
    if wrong.any():
        i = int(np.argmax(wrong))
        raise ImportRefused(
            f"row {i + 1} (person {scores.column('person')[i]}): band {band[i]!r}, but score "
            f"{score[i]} is in {want[i]!r}"
        )


def _spot_check(
    store: Store, policy: Policy, scores: pa.Table, m: ScoresManifest, sample: int, seed: int
) -> int:
    n = min(sample, scores.num_rows)
    picks = np.random.default_rng(seed).choice(scores.num_rows, size=n, replace=False)
    for i in sorted(int(i) for i in picks):
        row = {k: v[0] for k, v in scores.slice(i, 1).to_pydict().items()}
        disputes: dict[int, list[Dispute]] = {}
        for d in store.disputes(row["person"]):
            disputes.setdefault(d.seq, []).append(d)
        ref = score_person(
            policy, row["person"], store.records_for(row["person"]), m.as_of, disputes, m.head_seq
        )
        near_half = abs(abs(ref.raw) - math.floor(abs(ref.raw)) - 0.5) <= 1e-6
        if not math.isclose(row["raw"], ref.raw, rel_tol=1e-6, abs_tol=1e-9) or (
            row["score"] != ref.score and not near_half
        ):
            raise ImportRefused(
                f"person {row['person']}: the file gives {row['raw']:.6f} ({row['score']}), the "
                f"reference function {ref.raw:.6f} ({ref.score}) under {policy.key} at "
                f"{m.as_of} from seq {m.head_seq:,}"
            )
    return n


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
