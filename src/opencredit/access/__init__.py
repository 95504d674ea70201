"""The rights of the person, as a library: keys and roles, consent, the inquiry log, partner
reads, share links, showcases, disputes, human review, idempotent writes, the regulator's
aggregates, who publishes a policy and which version is in force. The HTTP API is a thin
layer over these functions; see ``docs/access.md``.

Everything is persisted through :class:`AccessStore` (SQLAlchemy Core) in the ledger's own
database. Functions take the store first and plain values after; errors are
:mod:`opencredit.access.errors` classes carrying the HTTP status to answer with.
"""

from opencredit.access.consents import (
    Consent,
    consents_for,
    consents_to,
    grant_consent,
    live_consent,
    revoke_consent,
)
from opencredit.access.disputes import (
    DisputeEvent,
    DisputeView,
    decide_dispute,
    disputes_for_org,
    disputes_for_person,
    get_dispute,
    note_dispute,
    open_dispute,
)
from opencredit.access.errors import (
    AccessDenied,
    AccessError,
    Conflict,
    IdempotencyConflict,
    IdempotencyInProgress,
    InvalidRequest,
    NotFound,
    ShareInvalid,
)
from opencredit.access.inquiries import (
    Inquiry,
    inquiries_for,
    inquiry_values,
    write_inquiry,
    write_inquiry_async,
)
from opencredit.access.keys import KeyInfo, authenticate, create_key, list_keys, revoke_key
from opencredit.access.lookup import PartnerScore, Scorer, partner_lookup, partner_lookup_async
from opencredit.access.publishing import check_publication
from opencredit.access.reviews import (
    Review,
    answer_review,
    request_review,
    reviews_for,
    reviews_for_provider,
)
from opencredit.access.roles import Caller, Role
from opencredit.access.shares import (
    Share,
    SharedScore,
    create_share,
    resolve_share,
    revoke_share,
    shared_score,
    shares_for,
)
from opencredit.access.showcase import ShowcaseEntry, showcase
from opencredit.access.store import AccessStore, access_url
from opencredit.access.versions import PolicyChoice, choose_policy

__all__ = [
    "AccessDenied",
    "AccessError",
    "AccessStore",
    "Caller",
    "Conflict",
    "Consent",
    "DisputeEvent",
    "DisputeView",
    "IdempotencyConflict",
    "IdempotencyInProgress",
    "Inquiry",
    "InvalidRequest",
    "KeyInfo",
    "NotFound",
    "PartnerScore",
    "PolicyChoice",
    "Review",
    "Role",
    "Scorer",
    "Share",
    "ShareInvalid",
    "SharedScore",
    "ShowcaseEntry",
    "access_url",
    "answer_review",
    "authenticate",
    "check_publication",
    "choose_policy",
    "consents_for",
    "consents_to",
    "create_key",
    "create_share",
    "decide_dispute",
    "disputes_for_org",
    "disputes_for_person",
    "get_dispute",
    "grant_consent",
    "inquiries_for",
    "inquiry_values",
    "list_keys",
    "live_consent",
    "note_dispute",
    "open_dispute",
    "partner_lookup",
    "partner_lookup_async",
    "request_review",
    "resolve_share",
    "reviews_for",
    "reviews_for_provider",
    "revoke_consent",
    "revoke_key",
    "revoke_share",
    "shared_score",
    "shares_for",
    "showcase",
    "write_inquiry",
    "write_inquiry_async",
]
