"""Is the columnar copy equal to the row store? Every entry compared, field by field.

``opencredit rebuild --check`` prints what this finds and exits 1 if anything differs.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from opencredit.ledger.columnar import ACTIONS, SEGMENT_SCHEMA, ColumnarCopy, Manifest
from opencredit.ledger.person_keys import to_keys
from opencredit.ledger.store import Store

#: Compared fields: the segment's columns, decoded back to the store's values.
_FIELDS = [f.name for f in SEGMENT_SCHEMA if f.name != "seq"]


def differences(copy: ColumnarCopy, store: Store, limit: int = 20) -> list[str]:
    """Up to ``limit`` differences between the copy and ``store`` (empty: equal)."""
    out: list[str] = []
    with copy.reading() as manifest:
        segments = [t for t, _ in copy.read_segments(manifest)]
        persons = copy.persons_keys()
    table = pa.concat_tables(segments) if segments else SEGMENT_SCHEMA.empty_table()
    table = table.sort_by("seq")
    seqs = table.column("seq").to_numpy()
    if len(seqs) != len(np.unique(seqs)):
        out.append("the copy holds some sequence numbers twice")
    decoded = _decode(table, manifest)
    start = 0
    for batch in store.export_records():
        theirs = pa.Table.from_batches([batch])
        first, last = batch.column(0)[0].as_py(), batch.column(0)[-1].as_py()
        lo, hi = np.searchsorted(seqs, first), np.searchsorted(seqs, last, side="right")
        if lo > start:
            out.append(f"seqs {seqs[start]}..{seqs[lo - 1]}: in the copy, not in the store")
        out += _compare(decoded.slice(lo, hi - lo), theirs, limit - len(out))
        start = hi
        if len(out) >= limit:
            return out[:limit]
    if start < len(seqs):
        out.append(f"seqs {seqs[start]}..{seqs[-1]}: in the copy, not in the store")
    registered = np.unique(to_keys(store.export_persons().column("id")))
    if not np.array_equal(registered, persons):
        missing = np.setdiff1d(registered, persons)
        extra = np.setdiff1d(persons, registered)
        out.append(
            f"persons: {len(missing)} registered but not in the copy, "
            f"{len(extra)} in the copy but not registered"
        )
    return out[:limit]


def _decode(table: pa.Table, manifest: Manifest) -> pa.Table:
    """Codes back to the values the store holds (persons stay keys)."""

    def text(column: str, dictionary: list[str]) -> pa.Array:
        return pa.array(dictionary, pa.string()).take(table.column(column))

    return pa.table(
        {
            "seq": table.column("seq"),
            "person": table.column("person"),
            "kind": text("kind", manifest.kinds),
            "occurred": table.column("occurred"),
            "value": table.column("value"),
            "category": text("category", manifest.categories),
            "org": text("org", manifest.orgs),
            "action": text("action", list(ACTIONS)),
            "target": table.column("target"),
        }
    )


def _compare(ours: pa.Table, theirs: pa.Table, limit: int) -> list[str]:
    """Differences between the copy's rows and the store's for the same seq range."""
    if limit <= 0:
        return []
    mine = ours.column("seq").to_numpy()
    store = theirs.column("seq").to_numpy()
    if not np.array_equal(mine, store):
        missing = np.setdiff1d(store, mine)
        extra = np.setdiff1d(mine, store)
        out = []
        if len(missing):
            out.append(f"{len(missing)} entries not in the copy, from seq {missing[0]}")
        if len(extra):
            out.append(f"{len(extra)} entries in the copy, not in the store, from seq {extra[0]}")
        return out
    expected = {
        "person": pa.array(to_keys(theirs.column("person"))),
        "kind": theirs.column("kind"),
        "occurred": theirs.column("occurred").cast(pa.int32()),
        "value": theirs.column("value"),
        "category": theirs.column("category"),
        "org": theirs.column("org"),
        "action": theirs.column("action"),
        "target": theirs.column("target"),
    }
    out = []
    for name in _FIELDS:
        same = pc.fill_null(pc.equal(ours.column(name), expected[name]), False)
        both_null = pc.and_(pc.is_null(ours.column(name)), pc.is_null(expected[name]))
        bad = np.flatnonzero(~pc.or_(same, both_null).to_numpy(zero_copy_only=False))
        for i in bad[: max(limit - len(out), 0)]:
            out.append(
                f"seq {store[i]}: {name} is {ours.column(name)[i].as_py()!r} in the copy, "
                f"{expected[name][i].as_py()!r} in the store"
            )
    return out
