"""Data providers file records (in their licensed domains) and decide disputes of them."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path as FilePath
from typing import Annotated

from fastapi import APIRouter, File, Form, Path, UploadFile
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse

from opencredit import access
from opencredit.api.deps import Ctx, ProviderCaller
from opencredit.api.filing import dispute_out, errors_out, receipt_out, rows_from_records
from opencredit.api.idempotent import IdempotencyKey, idempotent, run_idempotent
from opencredit.api.responses import AUTHENTICATED, WITH_BODY, problems
from opencredit.api.schemas import (
    SEQ_MAX,
    BatchIn,
    DecisionIn,
    DisputeOut,
    NoteIn,
    Problem,
    Receipt,
    RecordFields,
    RecordIn,
    Rejection,
)
from opencredit.ledger.files import FORMATS, read_data
from opencredit.ledger.ingest import IngestReport
from opencredit.ledger.refs import MAX_REF_LENGTH, ref_problem

router = APIRouter(tags=["data provider"], responses=AUTHENTICATED)

FILING_RESPONSES = {
    **problems(409),
    **WITH_BODY,
    422: {
        "model": Rejection | Problem,
        "description": "Rejected whole (each bad record named), or an invalid request; "
        "nothing written",
    },
}


#: The longest upload file name accepted (as most file systems allow).
MAX_FILE_NAME = 255


def _answer(report: IngestReport) -> JSONResponse:
    if report.receipt is None and not report.rejected_whole:  # nothing new: no batch
        body = Receipt(
            batch=None,
            accepted=0,
            duplicates=report.duplicates,
            rejected=0,
            first_seq=None,
            last_seq=None,
        )
        return JSONResponse(jsonable_encoder(body), status_code=200)
    if report.rejected_whole:
        body = Rejection(
            detail=f"rejected: {report.bad_rows} bad record(s) out of "
            f"{report.rows}; nothing was written",
            errors=errors_out(report),
        )
        return JSONResponse(jsonable_encoder(body), status_code=422)
    return JSONResponse(jsonable_encoder(receipt_out(report)), status_code=201)


@router.post("/records", status_code=201, responses=FILING_RESPONSES, summary="File one record")
def file_record(
    ctx: Ctx, caller: ProviderCaller, record: RecordIn, idempotency_key: IdempotencyKey = None
) -> Receipt:
    """File one record; a receipt names the batch and the ledger sequence number."""
    return _file(
        ctx, caller, [record], False, idempotency_key, "POST /records", record.model_dump_json
    )  # type: ignore[return-value]


@router.post(
    "/records/batch", status_code=201, responses=FILING_RESPONSES, summary="File many records"
)
def file_batch(
    ctx: Ctx, caller: ProviderCaller, batch: BatchIn, idempotency_key: IdempotencyKey = None
) -> Receipt:
    """File many records at once; one bad record rejects all unless ``partial``."""
    return _file(
        ctx,
        caller,
        batch.records,
        batch.partial,
        idempotency_key,
        "POST /records/batch",
        batch.canonical_json,
    )  # type: ignore[return-value]


def _file(
    ctx: Ctx,
    caller: access.Caller,
    records: Sequence[RecordIn | RecordFields],
    partial: bool,
    key: str | None,
    what: str,
    body_json: Callable[[], str],
) -> JSONResponse:
    assert caller.subject is not None
    # The fingerprint is only needed with a key; dumping a 10,000-record body costs ~0.1 s.
    fingerprint = f"{what}\n{body_json()}".encode() if key is not None else b""

    def handler() -> JSONResponse:
        raw = rows_from_records(records, f"{what} by {caller.key_id}")
        with ctx.filing_lock:
            return _answer(ctx.workspace.ingest_rows(raw, caller.subject, partial=partial))

    return run_idempotent(ctx, caller, key, fingerprint, handler)


@router.post(
    "/records/upload",
    status_code=201,
    responses=FILING_RESPONSES,
    summary="File a CSV, JSON Lines or Parquet file",
)
def upload(
    ctx: Ctx,
    caller: ProviderCaller,
    file: Annotated[UploadFile, File(description="CSV, JSON Lines or Parquet")],
    partial: Annotated[bool, Form()] = False,
    idempotency_key: IdempotencyKey = None,
) -> Receipt:
    """File a whole file; the report names every bad row by line (or row) and field."""
    assert caller.subject is not None
    name = _file_name(file.filename)
    data = file.file.read()

    def handler() -> JSONResponse:
        # read from memory: no server path ever appears in a message
        raw = read_data(data, name)
        with ctx.filing_lock:
            return _answer(ctx.workspace.ingest_rows(raw, caller.subject, partial=partial))

    fingerprint = (  # only needed with a key: no copy of a large file otherwise
        b"POST /records/upload\n" + name.encode() + bytes([partial]) + data
        if idempotency_key is not None
        else b""
    )
    return run_idempotent(ctx, caller, idempotency_key, fingerprint, handler)  # type: ignore[return-value]


def _file_name(given: str | None) -> str:
    """The upload's file name (its last part), which names it in every message and in the
    batch's record: printable, at most :data:`MAX_FILE_NAME` characters, a known type."""
    name = FilePath((given or "upload").replace("\\", "/")).name
    if not name.isprintable():
        pos = next(i for i, c in enumerate(name) if not c.isprintable())
        raise access.InvalidRequest(
            f"file name: character {pos + 1} is U+{ord(name[pos]):04X}, not printable; "
            "expected a plain file name such as records.csv"
        )
    if len(name) > MAX_FILE_NAME:
        raise access.InvalidRequest(
            f"file name is {len(name):,} characters long; expected at most {MAX_FILE_NAME}"
        )
    suffix = FilePath(name).suffix.lower()
    if suffix not in FORMATS:
        raise access.InvalidRequest(
            f"file {name!r}: unknown type {suffix!r}; expected .csv, .jsonl or .parquet"
        )
    return name


@router.get("/org/disputes", summary="Disputes of records we filed")
def org_disputes(ctx: Ctx, caller: ProviderCaller, open_only: bool = False) -> list[DisputeOut]:
    """Disputes of this organisation's records, with their history."""
    assert caller.subject is not None
    today = ctx.today()
    return [
        dispute_out(d, today)
        for d in access.disputes_for_org(ctx.access, caller.subject, open_only)
    ]


@router.post(
    "/org/disputes/{dispute_id}/notes",
    summary="Add a note to a dispute",
    responses={**problems(404, 409), **WITH_BODY},
)
def note(
    ctx: Ctx,
    caller: ProviderCaller,
    dispute_id: Annotated[int, Path(ge=1, le=SEQ_MAX)],
    body: NoteIn,
    idempotency_key: IdempotencyKey = None,
) -> DisputeOut:
    """The note joins the dispute's history, which the person sees in their file."""
    org = caller.subject
    assert org is not None

    def produce() -> DisputeOut:
        view = access.note_dispute(ctx.access, org, dispute_id, body.note, ctx.today())
        return dispute_out(view, ctx.today())

    return idempotent(  # type: ignore[return-value]
        ctx,
        caller,
        idempotency_key,
        f"POST /org/disputes/{dispute_id}/notes\n{body.model_dump_json()}",
        200,
        produce,
    )


@router.post(
    "/org/disputes/{dispute_id}/decision",
    summary="Decide a dispute",
    responses={**problems(404, 409), **WITH_BODY},
)
def decide(
    ctx: Ctx,
    caller: ProviderCaller,
    dispute_id: Annotated[int, Path(ge=1, le=SEQ_MAX)],
    body: DecisionIn,
    idempotency_key: IdempotencyKey = None,
) -> DisputeOut:
    """Confirm the record, or amend or retract it (a correction is filed in the ledger)."""
    org = caller.subject
    assert org is not None

    def file_correction(org_code: str, action: str, target_seq: int, fields: dict) -> int:
        target = ctx.workspace.store.record(target_seq)
        assert target is not None
        # Dispute ids are unique, so the suffix alone makes the ref unique; the target's ref
        # is cut so that the whole stays within the characters a ref may have.
        suffix = f"-dispute-{dispute_id}-{action}"
        auto_ref = f"{target.ref[: MAX_REF_LENGTH - len(suffix)]}{suffix}"
        if ref_problem(auto_ref) is not None:  # a ref filed under older, looser rules
            auto_ref = suffix[1:]
        record = (
            RecordIn(
                person=target.person,
                kind=fields.get("kind", target.kind),
                occurred=fields.get("occurred", target.occurred),
                value=fields.get("value", target.value),
                category=fields.get("category", target.category),
                ref=fields.get("ref") or auto_ref,
                action=action,
                target_ref=target.ref,  # type: ignore[arg-type]
            )
            if action == "amend"
            else RecordIn(ref=auto_ref, action="retract", target_ref=target.ref)
        )
        report = ctx.workspace.ingest_rows(
            rows_from_records([record], f"dispute {dispute_id}"), org_code
        )
        if report.rejected_whole or report.receipt is None or report.receipt.last_seq is None:
            reasons = "; ".join(f"{e.field}: {e.reason}" for e in report.errors) or (
                f"ref {record.ref!r} was already filed; give the amendment a new ref"
            )
            raise access.InvalidRequest(f"the correction was refused: {reasons}")
        return report.receipt.last_seq

    correction = body.correction.model_dump(exclude_none=True) if body.correction else None

    def produce() -> DisputeOut:
        with ctx.write_lock:
            view = access.decide_dispute(
                ctx.workspace.store,
                ctx.access,
                org,
                dispute_id,
                body.decision,
                body.note,
                ctx.today(),
                correction=correction,
                file_correction=file_correction,
            )
        return dispute_out(view, ctx.today())

    return idempotent(  # type: ignore[return-value]
        ctx,
        caller,
        idempotency_key,
        f"POST /org/disputes/{dispute_id}/decision\n{body.model_dump_json()}",
        200,
        produce,
    )
