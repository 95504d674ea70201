"""Scoring providers answer requests for human review of their policies' scores."""

from __future__ import annotations

from fastapi import APIRouter

from opencredit import access
from opencredit.api.deps import Ctx, ScoringCaller
from opencredit.api.schemas import AnswerIn

router = APIRouter(prefix="/provider", tags=["scoring provider"])


@router.get("/reviews", summary="Review requests about our policies")
def reviews(ctx: Ctx, caller: ScoringCaller, unanswered_only: bool = False
            ) -> list[access.Review]:
    """Requests for human review of scores under policies this provider owns."""
    assert caller.subject is not None
    return access.reviews_for_provider(ctx.access, caller.subject, unanswered_only)


@router.post("/reviews/{review_id}/answer", summary="Answer a review request in writing")
def answer(ctx: Ctx, caller: ScoringCaller, review_id: int, body: AnswerIn) -> access.Review:
    """The answer stays in the person's file beside the request."""
    assert caller.subject is not None
    return access.answer_review(ctx.access, caller.subject, review_id, body.answer, ctx.today())
