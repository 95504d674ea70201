"""A partner's showcase: members who opted in, ranked by score band.

The promotion the press described between a dating site and a scoring company, made
consensual: a person appears in a partner's showcase for a policy only while they hold a live
consent to that partner for that policy with ``showcase=True`` and a purpose the version in
force still allows (and the version named, if the partner names an older one:
:mod:`opencredit.access.versions`). Revoking the consent removes them from the next listing.

What an entry shows: the rank, the member's consent id, the band and the score. Not the
resident ID, not even masked: its first six digits are the person's home region and its
seventeenth digit their sex, attributes kept for the fairness audit alone (docs/principles.md,
principle 4). The consent id is meaningless outside this partner; the person sees the same id
in their own consents and can quote it to the partner to link the entry to their account there.

Every listing logs one granted inquiry per member shown, with the consent's purpose.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from opencredit.access.consents import Consent, consents_to
from opencredit.access.lookup import Scorer
from opencredit.access.store import AccessStore
from opencredit.access.tables import inquiries
from opencredit.access.validate import org_code
from opencredit.access.versions import choose_policy
from opencredit.errors import OpenCreditError

SHOWCASE_REASON = "showcase listing"


@dataclass(frozen=True, slots=True)
class ShowcaseEntry:
    """One member in a showcase listing."""

    rank: int
    consent_id: int
    band: str
    score: int
    policy_key: str


def showcase_members(
    store: AccessStore, partner: str, policy_id: str, purposes: list[str], today: dt.date
) -> list[Consent]:
    """One live showcase consent per member (the longest-lasting) for ``policy_id``."""
    chosen: dict[str, Consent] = {}
    for consent in consents_to(store, partner, today):
        if not (
            consent.showcase and consent.policy_id == policy_id and consent.purpose in purposes
        ):
            continue
        best = chosen.get(consent.person)
        if best is None or (consent.until, consent.id) > (best.until, best.id):
            chosen[consent.person] = consent
    return list(chosen.values())


def showcase(
    store: AccessStore,
    partner: str,
    policy_id: str,
    scorer: Scorer,
    today: dt.date,
    *,
    now: dt.datetime | None = None,
) -> list[ShowcaseEntry]:
    """The partner's showcase for ``policy_id`` (``id``, or ``id@version`` for the scores
    under that version): best band first, then highest score. Only members whose consent's
    purpose both the named version and the version in force allow are listed."""
    partner = org_code(partner)
    chosen = choose_policy(scorer, policy_id)
    policy = chosen.named
    # Bands are ranked by where they sit in the range: the highest one is the best.
    band_rank = {b.name: i for i, b in enumerate(sorted(policy.bands, key=lambda b: -b.min))}
    scored = []
    for consent in showcase_members(store, partner, policy.id, chosen.purposes, today):
        try:
            _, score = scorer.score(consent.person, policy.key, today)
        except OpenCreditError:
            continue  # e.g. no longer in the registry: nothing to show, nothing shown
        scored.append((consent, score, policy.band_of(score).name))
    scored.sort(key=lambda e: (band_rank[e[2]], -e[1], e[0].id))
    at = now or dt.datetime.now(dt.UTC)
    if scored:
        with store.write() as conn:
            conn.execute(
                inquiries.insert(),
                [
                    dict(
                        person=c.person,
                        partner=partner,
                        policy_key=policy.key,
                        purpose=c.purpose,
                        granted=True,
                        reason=SHOWCASE_REASON,
                        at=at,
                    )
                    for c, _, _ in scored
                ],
            )
    return [
        ShowcaseEntry(rank, consent.id, band, score, policy.key)
        for rank, (consent, score, band) in enumerate(scored, start=1)
    ]
