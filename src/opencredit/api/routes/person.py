"""A person's own file, and the rights they exercise on it: consent, disputes, review, shares."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path
from pydantic import BaseModel

from opencredit import access
from opencredit.api.deps import Ctx, PersonCaller
from opencredit.api.filing import dispute_out
from opencredit.api.idempotent import IdempotencyKey, idempotent
from opencredit.api.responses import AUTHENTICATED, WITH_BODY, problems
from opencredit.api.schemas import (
    ID_MAX,
    SEQ_MAX,
    ConsentIn,
    DisputeIn,
    DisputeOut,
    FactorOut,
    NoteIn,
    RecordOut,
    ReviewIn,
    ScoreOut,
    ShareIn,
    ShareOut,
)
from opencredit.scoring.reference import ScoreResult

router = APIRouter(prefix="/me", tags=["person"], responses=AUTHENTICATED)


class PersonFile(BaseModel):
    """Everything opencredit holds about a person and everything done with it."""

    person: str
    records: list[RecordOut]
    scores: list[ScoreOut]
    inquiries: list[access.Inquiry]
    consents: list[access.Consent]
    disputes: list[DisputeOut]
    reviews: list[access.Review]
    shares: list[access.Share]


def score_out(result: ScoreResult) -> ScoreOut:
    """A reference-engine result as the API shows it."""
    return ScoreOut(
        policy=result.policy.key,
        score=result.score,
        band=result.band,
        raw=result.raw,
        as_of=result.as_of,
        reasons=[f.factor.reason for f in result.reasons()],
        factors=[
            FactorOut(
                factor=f.factor.id,
                contribution=f.contribution,
                best_possible=f.factor.max,
                reason=f.factor.reason,
                records=[r.seq for r, _ in f.records],
            )
            for f in result.factors
        ],
    )


@router.get("/file", summary="My whole file")
def my_file(ctx: Ctx, caller: PersonCaller) -> PersonFile:
    """Every record with its source and date, scores with explanations, the inquiry log,
    consents, disputes, review requests and share links."""
    ws, person = ctx.workspace, caller.subject
    assert person is not None
    names = {o.code: o.name for o in ws.store.organisations()}
    records = [
        RecordOut(
            seq=r.seq,
            kind=r.kind,
            occurred=r.occurred,
            value=r.value,
            category=r.category,
            filed_by=r.org,
            filed_by_name=names.get(r.org),
            ref=r.ref,
            action=r.action.value,
            target=r.target,
        )
        for r in ws.store.records_for(person)
    ]
    today = ctx.today()
    scores = [score_out(ws.explain(person, key, today)) for key in sorted(ws.policies)]
    return PersonFile(
        person=person,
        records=records,
        scores=scores,
        inquiries=access.inquiries_for(ctx.access, person),
        consents=access.consents_for(ctx.access, person),
        disputes=[dispute_out(d, today) for d in access.disputes_for_person(ctx.access, person)],
        reviews=access.reviews_for(ctx.access, person),
        shares=access.shares_for(ctx.access, person),
    )


@router.get(
    "/scores/{policy}", summary="My score under one policy, explained", responses=problems(404)
)
def my_score(ctx: Ctx, caller: PersonCaller, policy: str) -> ScoreOut:
    """The score with every factor, the records behind it and the key reasons."""
    assert caller.subject is not None
    return score_out(ctx.workspace.explain(caller.subject, policy, ctx.today()))


@router.post(
    "/consents",
    status_code=201,
    summary="Grant a partner consent",
    responses={**problems(404, 409), **WITH_BODY},
)
def grant(
    ctx: Ctx, caller: PersonCaller, body: ConsentIn, idempotency_key: IdempotencyKey = None
) -> access.Consent:
    """Let one partner read one policy's score for one purpose, until a date."""
    person = caller.subject
    assert person is not None

    def produce() -> access.Consent:
        return access.grant_consent(
            ctx.access,
            ctx.workspace,
            person,
            body.partner,
            body.policy,
            body.purpose,
            body.until,
            ctx.today(),
            showcase=body.showcase,
        )

    return idempotent(
        ctx, caller, idempotency_key, f"POST /me/consents\n{body.model_dump_json()}", 201, produce
    )  # type: ignore[return-value]


@router.get("/consents", summary="My consents")
def consents(ctx: Ctx, caller: PersonCaller) -> list[access.Consent]:
    """Every consent, live or not."""
    assert caller.subject is not None
    return access.consents_for(ctx.access, caller.subject)


@router.delete("/consents/{consent_id}", summary="Revoke a consent", responses=problems(404, 409))
def revoke(
    ctx: Ctx,
    caller: PersonCaller,
    consent_id: Annotated[int, Path(ge=1, le=ID_MAX)],
    idempotency_key: IdempotencyKey = None,
) -> access.Consent:
    """Revoke at once; the consent stays in the file as revoked."""
    person = caller.subject
    assert person is not None
    return idempotent(  # type: ignore[return-value]
        ctx,
        caller,
        idempotency_key,
        f"DELETE /me/consents/{consent_id}",
        200,
        lambda: access.revoke_consent(ctx.access, person, consent_id, ctx.today()),
    )


@router.get("/inquiries", summary="Who looked at my score")
def inquiries(ctx: Ctx, caller: PersonCaller) -> list[access.Inquiry]:
    """Every partner read of my score, granted or refused."""
    assert caller.subject is not None
    return access.inquiries_for(ctx.access, caller.subject)


@router.post(
    "/disputes",
    status_code=201,
    summary="Dispute one of my records",
    responses={**problems(404, 409), **WITH_BODY},
)
def dispute(
    ctx: Ctx, caller: PersonCaller, body: DisputeIn, idempotency_key: IdempotencyKey = None
) -> DisputeOut:
    """Unresolved after 30 days, the disputed record stops counting until it is resolved."""
    person = caller.subject
    assert person is not None

    def produce() -> DisputeOut:
        with ctx.write_lock:
            view = access.open_dispute(
                ctx.workspace.store, ctx.access, person, body.seq, body.reason, ctx.today()
            )
        return dispute_out(view, ctx.today())

    return idempotent(
        ctx, caller, idempotency_key, f"POST /me/disputes\n{body.model_dump_json()}", 201, produce
    )  # type: ignore[return-value]


@router.get("/disputes", summary="My disputes")
def disputes(ctx: Ctx, caller: PersonCaller) -> list[DisputeOut]:
    """Every dispute with its history of decisions, its deadline and today's status."""
    assert caller.subject is not None
    today = ctx.today()
    return [dispute_out(d, today) for d in access.disputes_for_person(ctx.access, caller.subject)]


@router.post(
    "/disputes/{dispute_id}/notes",
    summary="Add a note to one of my disputes",
    responses={**problems(404, 409), **WITH_BODY},
)
def note(
    ctx: Ctx,
    caller: PersonCaller,
    dispute_id: Annotated[int, Path(ge=1, le=SEQ_MAX)],
    body: NoteIn,
    idempotency_key: IdempotencyKey = None,
) -> DisputeOut:
    """The note joins the dispute's history, which the filing organisation sees too."""
    person = caller.subject
    assert person is not None

    def produce() -> DisputeOut:
        view = access.note_dispute(ctx.access, person, dispute_id, body.note, ctx.today())
        return dispute_out(view, ctx.today())

    return idempotent(  # type: ignore[return-value]
        ctx,
        caller,
        idempotency_key,
        f"POST /me/disputes/{dispute_id}/notes\n{body.model_dump_json()}",
        200,
        produce,
    )


@router.post(
    "/reviews",
    status_code=201,
    summary="Ask for human review of a score",
    responses={**problems(404, 409), **WITH_BODY},
)
def review(
    ctx: Ctx, caller: PersonCaller, body: ReviewIn, idempotency_key: IdempotencyKey = None
) -> access.Review:
    """The scoring provider answers in writing; both stay in the file (GDPR Art. 22)."""
    person = caller.subject
    assert person is not None

    def produce() -> access.Review:
        policy = ctx.workspace.policy(body.policy)
        if policy.owner is None:
            raise access.InvalidRequest(f"policy {policy.key} names no owner to answer for it")
        return access.request_review(
            ctx.access, person, policy.key, body.message, ctx.today(), policy.owner
        )

    return idempotent(
        ctx, caller, idempotency_key, f"POST /me/reviews\n{body.model_dump_json()}", 201, produce
    )  # type: ignore[return-value]


@router.post(
    "/shares",
    status_code=201,
    summary="Create a share link",
    responses={**problems(404), **WITH_BODY},
)
def share(ctx: Ctx, caller: PersonCaller, body: ShareIn) -> ShareOut:
    """A signed, expiring, revocable link showing one policy's score and band, nothing else.

    No Idempotency-Key here: the response holds the link's token, which is not stored."""
    assert caller.subject is not None
    s = access.create_share(
        ctx.access, ctx.secret, ctx.workspace, caller.subject, body.policy, body.until, ctx.today()
    )
    assert s.token is not None
    return ShareOut(
        id=s.id, policy_key=s.policy_key, until=s.until, token=s.token, path=f"/shared/{s.token}"
    )


@router.delete("/shares/{share_id}", summary="Revoke a share link", responses=problems(404, 409))
def unshare(
    ctx: Ctx,
    caller: PersonCaller,
    share_id: Annotated[str, Path(max_length=64)],
    idempotency_key: IdempotencyKey = None,
) -> access.Share:
    """The link stops working at once."""
    person = caller.subject
    assert person is not None
    return idempotent(  # type: ignore[return-value]
        ctx,
        caller,
        idempotency_key,
        f"DELETE /me/shares/{share_id}",
        200,
        lambda: access.revoke_share(ctx.access, person, share_id, ctx.today()),
    )
