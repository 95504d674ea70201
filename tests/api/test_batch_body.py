"""``BatchIn`` validates a good batch's records as plain dicts (``RecordFields``) instead of a
model per record; everything a client sees must be what the plain model gave: the OpenAPI
schema, the values filed, the ``Idempotency-Key`` fingerprint, and every error of a bad body.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

import pytest
from pydantic import Field, TypeAdapter, ValidationError, create_model

from opencredit.api.filing import rows_from_records
from opencredit.api.schemas import BatchIn, RecordFields, RecordIn, Strict

#: BatchIn as it was: a model per record (named alike, as errors name the model).
PlainBatch = create_model(
    "BatchIn",
    __base__=Strict,
    __doc__=BatchIn.__doc__,
    records=(Annotated[list[RecordIn], Field(min_length=1, max_length=100_000)], ...),
    partial=(bool, False),
)


GOOD: list[dict[str, Any]] = [
    {"ref": "a"},
    {"ref": "b", "person": "110101199001010012", "kind": "speeding", "occurred": "2024-03-01"},
    {"ref": "c", "value": 12, "occurred": " 2024-03-01 "},
    {"ref": "d", "value": "12.5", "category": "books", "action": "amend", "target_ref": "a"},
    {"ref": "e", "value": None, "person": None, "action": "retract", "target_ref": "b"},
    {"ref": "f", "value": 1e300, "occurred": "2022-01-08"},
    {"ref": "ü" * 100, "kind": "k" * 64, "category": "c" * 64, "target_ref": "t" * 100},
]

BAD: list[Any] = [
    {},
    {"records": []},
    {"records": "no"},
    {"records": [1, "x", None]},
    {"records": [{"ref": "a", "religion": "x"}]},
    {"records": [{"ref": ""}]},
    {"records": [{"ref": "a" * 101}]},
    {"records": [{"person": "1" * 19, "ref": "a"}]},
    {"records": [{"ref": "a", "occurred": "2024-13-01"}]},
    {"records": [{"ref": "a", "occurred": "yesterday"}]},
    {"records": [{"ref": "a", "value": "twelve"}]},
    {"records": [{"ref": "a", "value": "1_000"}, {"ref": "b", "value": True}]},
    {"records": [{"ref": "a", "occurred": "2024-03-01T00:00:00"}, {"ref": "b", "occurred": 1}]},
    {"records": [{"ref": "a", "action": "delete"}]},
    {"records": [{"ref": "a", "action": None}]},
    {"records": [{"kind": "speeding"}]},
    {"records": [{"ref": 5}]},
    {"records": [{"ref": "a"}], "partial": "maybe"},
    {"records": [{"ref": "a"}], "extra": True},
    {"records": [{"ref": "a"}, {"ref": "b", "value": []}, {"ref": "c", "kind": "x" * 65}]},
    [{"ref": "a"}],
    "records",
    None,
]


def test_the_schema_is_the_models() -> None:
    assert BatchIn.model_json_schema() == PlainBatch.model_json_schema()
    fields = TypeAdapter(RecordFields).json_schema()
    model = RecordIn.model_json_schema()
    assert fields["required"] == model["required"] == ["ref"]
    for name, spec in model["properties"].items():
        assert fields["properties"][name] == {k: v for k, v in spec.items() if k != "default"}
    assert set(fields["properties"]) == set(model["properties"])


@pytest.mark.parametrize("partial", [None, False, True])
def test_a_good_batch_files_what_the_model_gave(partial: bool | None) -> None:
    body: dict[str, Any] = {"records": GOOD}
    if partial is not None:
        body["partial"] = partial
    fast, plain = BatchIn.model_validate(body), PlainBatch.model_validate(body)
    assert all(isinstance(r, dict) for r in fast.records)  # the fast way was taken
    assert fast.partial == plain.partial
    assert fast.model_fields_set == plain.model_fields_set
    got, want = rows_from_records(fast.records, "x"), rows_from_records(plain.records, "x")
    assert got.table.equals(want.table) and got.lines == want.lines
    assert got.table.column("occurred").to_pylist()[1:3] == [dt.date(2024, 3, 1)] * 2
    assert fast.canonical_json() == plain.model_dump_json()


@pytest.mark.parametrize("body", BAD, ids=range(len(BAD)))
def test_a_bad_batch_gets_the_models_errors(body: Any) -> None:
    with pytest.raises(ValidationError) as plain:
        PlainBatch.model_validate(body)
    with pytest.raises(ValidationError) as fast:
        BatchIn.model_validate(body)
    assert fast.value.errors() == plain.value.errors()
    assert fast.value.error_count() == plain.value.error_count()


def test_models_given_in_python_still_work() -> None:
    batch = BatchIn(records=[RecordIn(ref="a", value=3)], partial=True)
    assert isinstance(batch.records[0], RecordIn)
    assert rows_from_records(batch.records, "x").table.column("value").to_pylist() == [3.0]
    assert batch.canonical_json() == PlainBatch(**dict(batch)).model_dump_json()
