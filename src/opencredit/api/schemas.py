"""Request and response bodies at the HTTP boundary (Pydantic, strict: unknown fields are 422)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal, Required

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ModelWrapValidatorHandler,
    TypeAdapter,
    ValidationError,
    model_validator,
)
from pydantic_core import PydanticCustomError
from typing_extensions import TypedDict  # pydantic needs it on Python < 3.12

Text = Annotated[str, Field(min_length=1, max_length=2000)]
#: Largest ledger sequence number or dispute id (64-bit integers in both stores).
SEQ_MAX = 2**63 - 1
#: Largest id of a consent or review (32-bit integers in the access tables).
ID_MAX = 2**31 - 1
Seq = Annotated[int, Field(ge=1, le=SEQ_MAX)]
Id18 = Annotated[str, Field(min_length=18, max_length=18, description="18-character code")]


def _plain_number(value: object) -> object:
    """A record's value as a file's is read (docs/ledger.md): a JSON number, or text that is a
    plain ASCII decimal; not ``"1_000"``, full-width digits or true/false."""
    import re

    from opencredit.ledger.values import PLAIN_NUMBER

    if isinstance(value, bool) or (
        isinstance(value, str) and not re.match(PLAIN_NUMBER, value.strip())
    ):
        raise PydanticCustomError(
            "plain_number", "expected a plain decimal number such as 12.5 (ASCII digits)"
        )
    return value


def _iso_date(value: object) -> object:
    """A date as a file's is read: text ``YYYY-MM-DD`` only (no timestamps or numbers)."""
    import re

    if isinstance(value, str) and re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", value.strip()):
        return value.strip()
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    raise PydanticCustomError("iso_date", "expected a date YYYY-MM-DD")


#: A record's value and date, read as strictly as in a file.
PlainNumber = Annotated[float, BeforeValidator(_plain_number)]
IsoDate = Annotated[dt.date, BeforeValidator(_iso_date)]


class Strict(BaseModel):
    """Unknown fields are refused, so a typo is never silently ignored."""

    model_config = ConfigDict(extra="forbid")


# errors --------------------------------------------------------------------------------------
class FieldProblem(BaseModel):
    """One thing wrong with a request: where (``records.0.value``), what, and its type."""

    field: str
    message: str
    type: str


class Problem(BaseModel):
    """An error: what was wrong and what was expected; ``errors`` lists each bad field of an
    invalid request."""

    detail: str
    errors: list[FieldProblem] | None = None


# records -------------------------------------------------------------------------------------
class RecordIn(Strict):
    """One record as a data provider files it (see docs/ledger.md)."""

    person: Annotated[str | None, Field(max_length=18)] = None
    kind: Annotated[str | None, Field(max_length=64)] = None
    occurred: IsoDate | None = None
    value: PlainNumber | None = None
    category: Annotated[str | None, Field(max_length=64)] = None
    ref: Annotated[str, Field(min_length=1, max_length=100)]
    action: Literal["file", "amend", "retract"] = "file"
    target_ref: Annotated[str | None, Field(max_length=100)] = None


class RecordFields(TypedDict, total=False):
    """:class:`RecordIn`'s fields, with the same types and limits, as a plain dict: a batch's
    records once validated (absent fields are absent, not None)."""

    __pydantic_config__ = ConfigDict(extra="forbid")  # type: ignore[misc]

    person: Annotated[str | None, Field(max_length=18)]
    kind: Annotated[str | None, Field(max_length=64)]
    occurred: IsoDate | None
    value: PlainNumber | None
    category: Annotated[str | None, Field(max_length=64)]
    ref: Required[Annotated[str, Field(min_length=1, max_length=100)]]
    action: Literal["file", "amend", "retract"]
    target_ref: Annotated[str | None, Field(max_length=100)]


class _BatchFields(TypedDict, total=False):
    """:class:`BatchIn`'s fields, its records as :class:`RecordFields`."""

    __pydantic_config__ = ConfigDict(extra="forbid")  # type: ignore[misc]

    records: Required[Annotated[list[RecordFields], Field(min_length=1, max_length=100_000)]]
    partial: bool


_BATCH_FIELDS = TypeAdapter(_BatchFields)


class BatchIn(Strict):
    """Many records in one filing; one bad record rejects all unless ``partial``."""

    records: Annotated[list[RecordIn], Field(min_length=1, max_length=100_000)]
    partial: bool = False

    @model_validator(mode="wrap")
    @classmethod
    def _records_as_dicts(cls, data: Any, handler: ModelWrapValidatorHandler[BatchIn]) -> BatchIn:
        """A valid batch keeps its records as the dicts :class:`RecordFields` validates,
        without building a model per record (a third of the time for 10,000); anything else
        is validated as the model, so a bad batch gets the model's errors, as always."""
        if isinstance(data, dict):
            try:
                fields = _BATCH_FIELDS.validate_python(data)
            except ValidationError:
                pass
            else:
                return cls.model_construct(set(fields), **fields)
        return handler(data)

    def canonical_json(self) -> str:
        """The batch as the model dumps it (every field of every record), however it was
        validated: what identifies the request for an ``Idempotency-Key``."""
        records = [r if isinstance(r, RecordIn) else RecordIn(**r) for r in self.records]
        return BatchIn.model_construct(records=records, partial=self.partial).model_dump_json()


class RowErrorOut(BaseModel):
    """One problem with one record of a filing."""

    index: int = Field(description="1-based position in the filing (line or row in a file)")
    field: str
    reason: str
    value: str | None = None


class Receipt(BaseModel):
    """What a filing wrote."""

    batch: int | None = Field(description="The batch written; none when nothing was new")
    accepted: int
    duplicates: int
    rejected: int
    first_seq: int | None
    last_seq: int | None
    errors: list[RowErrorOut] = []


class Rejection(BaseModel):
    """A filing refused whole: nothing was written."""

    detail: str
    errors: list[RowErrorOut]


# person ----------------------------------------------------------------------------------------
class ConsentIn(Strict):
    """A person's consent for one partner to read one policy's score for one purpose."""

    partner: Id18
    policy: Annotated[str, Field(min_length=1, max_length=80)]
    purpose: Annotated[str, Field(min_length=1, max_length=64)]
    until: dt.date
    showcase: bool = False


class DisputeIn(Strict):
    """A person's dispute of one of their records."""

    seq: Seq
    reason: Text


class NoteIn(Strict):
    """A note added to a dispute's history, by its person or its organisation."""

    note: Text


class ReviewIn(Strict):
    """A request for human review of a score (GDPR Art. 22)."""

    policy: Annotated[str, Field(min_length=1, max_length=80)]
    message: Text


class ShareIn(Strict):
    """A share link showing one policy's score and band."""

    policy: Annotated[str, Field(min_length=1, max_length=80)]
    until: dt.date


class ShareOut(BaseModel):
    """A created share link; the token is the link."""

    id: str
    policy_key: str
    until: dt.date
    token: str
    path: str


class FactorOut(BaseModel):
    """One factor's part in a score."""

    factor: str
    contribution: float
    best_possible: float
    reason: str
    records: list[int]


class ScoreOut(BaseModel):
    """A score with its explanation."""

    policy: str
    score: int
    band: str
    raw: float
    as_of: dt.date
    reasons: list[str]
    factors: list[FactorOut]


class RecordOut(BaseModel):
    """A ledger entry as the person sees it: what, when, and who filed it."""

    seq: int
    kind: str
    occurred: dt.date
    value: float | None
    category: str | None
    filed_by: str
    filed_by_name: str | None
    ref: str
    action: str
    target: int | None


class DisputeEventOut(BaseModel):
    """One step in a dispute's history: opened, decided, or a note."""

    event: str
    actor: str
    day: dt.date
    at: dt.datetime
    decision: str | None
    note: str
    correction_seq: int | None


class DisputeOut(BaseModel):
    """A dispute with its history, its deadline and where it stands today."""

    id: int
    seq: int
    person: str
    org: str
    reason: str
    opened: dt.date
    deadline: dt.date = Field(description="Undecided after this day, the record stops counting")
    status: Literal["open", "overdue", "confirmed", "amended", "retracted"] = Field(
        description="overdue: past the deadline, so the record is left out of every score"
    )
    decision: str | None
    decided_on: dt.date | None
    correction_seq: int | None
    history: list[DisputeEventOut]


# organisations ---------------------------------------------------------------------------------
class CorrectionIn(Strict):
    """The fields an amendment changes; the rest stay as the disputed record has them. The
    person, and what the correction targets, come from the dispute."""

    kind: Annotated[str | None, Field(max_length=64)] = None
    occurred: IsoDate | None = None
    value: PlainNumber | None = None
    category: Annotated[str | None, Field(max_length=64)] = None
    ref: Annotated[
        str | None,
        Field(
            min_length=1,
            max_length=100,
            description=(
                "Your reference for the amendment; default <record ref>-dispute-<id>-amend"
            ),
        ),
    ] = None


class DecisionIn(Strict):
    """The filing organisation's decision on a dispute."""

    decision: Literal["confirm", "amend", "retract"]
    note: Text
    correction: CorrectionIn | None = Field(
        default=None, description="The corrected fields (amend only)"
    )


class AnswerIn(Strict):
    """A scoring provider's written answer to a review request."""

    answer: Text


class KeyIn(Strict):
    """A new API key."""

    role: Literal["person", "data_provider", "scoring_provider", "partner", "regulator", "admin"]
    subject: Annotated[str | None, Field(max_length=18)] = None
    label: Annotated[str, Field(max_length=200)] = ""


class KeyOut(BaseModel):
    """A created key: the token is shown this once."""

    key_id: str
    role: str
    subject: str | None
    token: str
