"""Scoring providers answer requests for human review of their policies' scores."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from opencredit import access
from opencredit.api.deps import Ctx, ScoringCaller
from opencredit.api.idempotent import IdempotencyKey, idempotent
from opencredit.api.responses import AUTHENTICATED, WITH_BODY, problems
from opencredit.api.schemas import ID_MAX, AnswerIn

router = APIRouter(prefix="/provider", tags=["scoring provider"], responses=AUTHENTICATED)


@router.get("/reviews", summary="Review requests about our policies")
def reviews(ctx: Ctx, caller: ScoringCaller, unanswered_only: bool = False) -> list[access.Review]:
    """Requests for human review of scores under policies this provider owns."""
    assert caller.subject is not None
    return access.reviews_for_provider(ctx.access, caller.subject, unanswered_only)


@router.post(
    "/reviews/{review_id}/answer",
    summary="Answer a review request in writing",
    responses={**problems(404, 409), **WITH_BODY},
)
def answer(
    ctx: Ctx,
    caller: ScoringCaller,
    review_id: Annotated[int, Path(ge=1, le=ID_MAX)],
    body: AnswerIn,
    idempotency_key: IdempotencyKey = None,
) -> access.Review:
    """The answer stays in the person's file beside the request."""
    org = caller.subject
    assert org is not None
    return idempotent(  # type: ignore[return-value]
        ctx,
        caller,
        idempotency_key,
        f"POST /provider/reviews/{review_id}/answer\n{body.model_dump_json()}",
        200,
        lambda: access.answer_review(ctx.access, org, review_id, body.answer, ctx.today()),
    )
