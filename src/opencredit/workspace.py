"""A data directory and everything opened on it: the store, installed policies, the engines.

The CLI (and later the HTTP API) are thin layers over this class. The directory is
``./opencredit-data`` unless ``--data DIR`` or ``OPENCREDIT_DATA`` says otherwise.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pyarrow as pa

from opencredit.clock import today
from opencredit.errors import OpenCreditError, PoliciesChanged, PolicyError, UnknownName
from opencredit.ledger.backends import open_store
from opencredit.ledger.columnar import ColumnarCopy
from opencredit.ledger.records import Dispute
from opencredit.ledger.store import Organisation, Store, TermMaker
from opencredit.policies.model import PUBLISHED_DIR, Policy, parse_policy

if TYPE_CHECKING:  # imported where used: a rebuild needs none of them (nor DuckDB)
    from opencredit.ledger.files import RawRows
    from opencredit.ledger.ingest import IngestReport
    from opencredit.scoring.explain import WhatIf
    from opencredit.scoring.incremental import IncrementalEngine
    from opencredit.scoring.reference import ScoreResult

if TYPE_CHECKING:
    from opencredit.access.roles import Caller

DEFAULT_DATA_DIR = "opencredit-data"
#: How often, at most, a long-lived workspace (a server's) asks the store whether another
#: process installed a policy; a filing asks at once, inside its transaction.
POLICY_RECHECK_SECONDS = 5.0
#: Filings tried when policies keep being installed meanwhile.
_FILING_ATTEMPTS = 3


def _domain(name: str) -> str:
    """A licensed domain by name; unknown names list the domains."""
    from opencredit.catalog import Domain

    try:
        return Domain(name.strip().lower()).value
    except ValueError:
        raise UnknownName(
            f"unknown domain {name[:40]!r}; expected one of: {', '.join(d.value for d in Domain)}"
        ) from None


def data_dir_from_env(explicit: str | Path | None = None) -> Path:
    """``explicit``, else ``$OPENCREDIT_DATA``, else ``./opencredit-data``."""
    return Path(explicit or os.environ.get("OPENCREDIT_DATA") or DEFAULT_DATA_DIR)


_log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class RebuildResult:
    """What a full rebuild computed for one policy: ``scores`` (person as the int64 key of
    ``ledger.person_keys``, raw, score, band), also stored in the run file ``path``."""

    policy: str
    persons: int
    as_of: dt.date
    up_to: int
    scores: pa.Table
    path: Path | None = None


@dataclass(frozen=True, slots=True)
class Installed:
    """What an install did: the policy, and whether it is new (False: the very same document
    was installed already, and nothing changed)."""

    policy: Policy
    new: bool

    @property
    def key(self) -> str:
        """The policy's ``id@version``."""
        return self.policy.key


class Workspace:
    """The library's front door: one data directory, one store, its policies."""

    def __init__(
        self,
        data_dir: str | Path | None = None,
        *,
        create: bool = False,
        database_url: str | None = None,
    ) -> None:
        self.data_dir = data_dir_from_env(data_dir)
        url = database_url or os.environ.get("OPENCREDIT_DATABASE_URL")
        db = self.data_dir / "ledger.sqlite"
        if url is None and not create and not db.exists():
            raise OpenCreditError(
                f"no opencredit data in {self.data_dir}; run `opencredit init` (or "
                "`opencredit demo`) first, or point --data / OPENCREDIT_DATA at it"
            )
        self.store: Store = open_store(url or str(db))
        self._policies: dict[str, Policy] | None = None
        self._policies_checked = 0.0

    @classmethod
    def init(
        cls, data_dir: str | Path | None = None, *, database_url: str | None = None
    ) -> Workspace:
        """Create the data directory and install the published policies."""
        ws = cls(data_dir, create=True, database_url=database_url)
        for path in sorted(PUBLISHED_DIR.glob("*.toml")):
            ws.install_policy(path)
        return ws

    def close(self) -> None:
        """Close the store."""
        self.store.close()

    def __enter__(self) -> Workspace:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # policies ------------------------------------------------------------------------------
    @property
    def policies(self) -> dict[str, Policy]:
        """Installed policies by key (``id@version``). Read once, and again when another
        process (the CLI beside a server, say) has installed one: that is checked at most every
        :data:`POLICY_RECHECK_SECONDS`, and at once by every filing (see :meth:`ingest_rows`)."""
        policies = self._policies  # once: another thread may drop it meanwhile
        now = time.monotonic()
        if policies is not None and now - self._policies_checked >= POLICY_RECHECK_SECONDS:
            self._policies_checked = now
            if self.store.policy_keys() != policies.keys():
                policies = None
        if policies is None:
            policies = {
                key: parse_policy(doc, key) for key, doc in self.store.policy_documents().items()
            }
            self._policies, self._policies_checked = policies, now
        return policies

    def install_policy(self, path: str | Path, *, publisher: Caller | None = None) -> Installed:
        """Install the policy document at ``path`` (see :meth:`publish_policy`)."""
        path = Path(path)
        try:
            document = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise PolicyError(f"{path}: cannot read the policy: {exc}") from exc
        return self.publish_policy(document, str(path), publisher=publisher)

    def publish_policy(
        self, document: str, source: str = "<policy>", *, publisher: Caller | None = None
    ) -> Installed:
        """Install a policy document and build its factor state; the path every install
        takes (the CLI's, the API's, :meth:`init`'s).

        Refused, with nothing written: a document with any error ``policy lint`` reports
        (:class:`PolicyError`); a publisher other than the policy's owner or an admin, a
        changed document under an installed ``id@version``, and a version naming another
        owner than the id's earlier versions (``check_publication`` in
        :mod:`opencredit.access.publishing`, run inside the store's install transaction).
        ``publisher`` is the authenticated caller, or None for the operator (the CLI). The
        very same document installed again is a no-op (``Installed.new`` is False). What is
        stored is ``document`` itself, as validated. See docs/access.md ("Publishing
        policies")."""
        # imported here: the access layer (SQLAlchemy) only when a policy is installed
        from opencredit.access.publishing import check_publication
        from opencredit.policies.lint import lint_policy_text

        report = lint_policy_text(document, source)
        if not report.ok or report.policy is None:
            found = "; ".join(f"{f.field}: {f.message}" for f in report.errors)
            raise PolicyError(f"{source}: refused, `policy lint` finds errors: {found}")
        policy = report.policy
        engine = self.engine()

        def admit(installed: dict[str, str]) -> None:  # in the install's transaction
            check_publication(policy, document, installed, publisher)

        def state() -> pa.Table:  # read inside the install's transaction: a consistent ledger
            return engine.state_of(policy, self.ledger())

        # the policy and its factor state appear together, and filings wait meanwhile
        new = self.store.install_policy(policy.key, document, terms=state, admit=admit)
        self._policies = None  # read again: another process may have installed it, or others
        return Installed(policy, new)

    def policy(self, name: str) -> Policy:
        """An installed policy by ``id@version``, or by ``id`` for its latest version (the
        version in force: docs/access.md, "Policy versions")."""
        if name in self.policies:
            return self.policies[name]
        versions = [p for p in self.policies.values() if p.id == name]
        if not versions:
            raise UnknownName(
                f"no installed policy {name!r}; installed: "
                f"{', '.join(sorted(self.policies)) or 'none'}"
            )
        return max(versions, key=lambda p: p.version)

    def engine(self) -> IncrementalEngine:
        """The incremental engine over every installed policy."""
        from opencredit.scoring.incremental import IncrementalEngine

        return IncrementalEngine(self.store, list(self.policies.values()))

    # registry and ledger -------------------------------------------------------------------
    def register_persons(self, path: str | Path) -> int:
        """Register the persons in a Parquet file (id; optionally region, birth_date, sex as the
        ID encodes them); a bad row refuses the file, naming the row and column."""
        from opencredit.registry.persons import read_persons

        persons = read_persons(path)
        added = self.store.add_persons(persons)
        if added:
            self._keep_copy(lambda copy: copy.add_persons(persons.column("id"), self.store))
        return added

    def register_provider(self, code: str, name: str, domains: Iterable[str]) -> Organisation:
        """Register (or re-license) a data provider for some domains."""
        from opencredit.registry import parse_org_code
        from opencredit.registry.organisations import check_org_name

        licensed = tuple(_domain(d) for d in domains)
        if not licensed:
            from opencredit.catalog import Domain

            raise UnknownName(
                f"no domain given; expected one or more of: {', '.join(d.value for d in Domain)}"
            )
        org = Organisation(parse_org_code(code).value, check_org_name(name), licensed)
        self.store.add_organisation(org)
        return org

    def ingest(self, path: str | Path, provider: str, *, partial: bool = False) -> IngestReport:
        """File a provider's records; factor state is updated in the same transaction."""
        from opencredit.ledger.files import read_rows

        return self.ingest_rows(read_rows(path), provider, partial=partial)

    def ingest_rows(self, raw: RawRows, provider: str, *, partial: bool = False) -> IngestReport:
        """File rows already read (from an HTTP body, say) exactly as a file's rows. If a
        policy was installed meanwhile by another process (``PoliciesChanged``: nothing was
        written), the policies are read again and the rows filed again."""
        from opencredit.ledger.ingest import ingest_rows

        attempt = 1
        while True:
            appended: list[pa.Table] = []
            make = self.engine().maker()

            def terms(
                records: pa.Table, make: TermMaker = make, appended: list = appended
            ) -> dict[str, pa.Table]:
                made = make(records)
                appended.append(records)  # committed with its terms, or not at all
                return made

            try:
                report = ingest_rows(self.store, raw, provider, partial=partial, terms=terms)
            except PoliciesChanged:
                self._policies = None
                if attempt == _FILING_ATTEMPTS:
                    raise
                attempt += 1
                continue
            for records in appended:
                self._keep_copy(lambda copy, r=records: copy.append(r, self.store))
            return report

    # the columnar copy -------------------------------------------------------------------------
    def columnar(self) -> ColumnarCopy:
        """The columnar copy of the ledger (docs/ledger.md), as filing left it."""
        return ColumnarCopy(self.data_dir / "columnar")

    def columnar_differences(self, limit: int = 20) -> list[str]:
        """Catch the copy up, then compare it with the row store: the differences (none if
        equal)."""
        from opencredit.ledger.columnar_check import differences

        copy = self.columnar()
        copy.sync(self.store)
        return differences(copy, self.store, limit)

    def _keep_copy(self, update: Callable[[ColumnarCopy], None]) -> None:
        """Update the copy after the row store committed. The filing stands if this fails
        (the row store is the truth): the copy is behind, and the next use catches it up."""
        try:
            update(self.columnar())
        except OSError as exc:
            _log.warning("columnar copy left behind the ledger (caught up on next use): %s", exc)

    def ledger(self, up_to: int | None = None) -> pa.Table:
        """The whole ledger (up to ``up_to``) as one Arrow table."""
        from opencredit.ledger.store import RECORD_SCHEMA

        batches = list(self.store.export_records(up_to))
        return pa.Table.from_batches(batches, schema=RECORD_SCHEMA)

    def disputes_table(self) -> pa.Table:
        """Every dispute as an Arrow table for the batch engine."""
        from opencredit.scoring.batch import DISPUTE_SCHEMA

        ds = self.store.disputes()
        return pa.table(
            {
                "seq": [d.seq for d in ds],
                "opened": [d.opened for d in ds],
                "resolved": [d.resolved for d in ds],
            },
            schema=DISPUTE_SCHEMA,
        )

    def disputes_by_seq(self, person: str) -> dict[int, list[Dispute]]:
        """A person's disputes, by disputed record."""
        out: dict[int, list[Dispute]] = {}
        for d in self.store.disputes(person):
            out.setdefault(d.seq, []).append(d)
        return out

    # scoring ---------------------------------------------------------------------------------
    def _person(self, person: str) -> str:
        from opencredit.registry import parse_resident_id

        pid = parse_resident_id(person).value
        if self.store.person(pid) is None:
            raise UnknownName(f"no person {pid} in the registry")
        return pid

    def score(self, person: str, policy: str, as_of: dt.date | None = None) -> tuple[float, int]:
        """(unrounded, rounded) score from the incremental engine's current factor state."""
        from opencredit.registry import parse_resident_id

        # the engine reads the registration with the factor state: one round trip, not two
        pid = parse_resident_id(person).value
        return self.engine().score(self.policy(policy), pid, as_of or today())

    def explain(self, person: str, policy: str, as_of: dt.date | None = None) -> ScoreResult:
        """The score with every factor, its records and the reasons."""
        from opencredit.scoring.explain import explain

        pid = self._person(person)
        return explain(
            self.policy(policy),
            pid,
            self.store.records_for(pid),
            as_of or today(),
            self.disputes_by_seq(pid),
        )

    def what_if(
        self, person: str, policy: str, as_of: dt.date | None = None, **changes: object
    ) -> WhatIf:
        """The score if records were retracted, expired or added (see scoring.explain)."""
        from opencredit.scoring.explain import what_if

        pid = self._person(person)
        return what_if(
            self.policy(policy),
            pid,
            self.store.records_for(pid),
            as_of or today(),
            disputes=self.disputes_by_seq(pid),
            **changes,
        )  # type: ignore[arg-type]

    def rebuild(
        self,
        as_of: dt.date | None = None,
        policies: Iterable[str] | None = None,
        *,
        state: bool = False,
        engine: str = "kernel",
        progress: Callable[[str], None] | None = None,
    ) -> list[RebuildResult]:
        """Recompute every score from the columnar copy of the ledger (caught up first) in
        one pass over all chosen policies; store them as one run file (docs/scoring.md).

        With ``state`` the incremental engine's factor state is rebuilt from the ledger too.
        """
        from opencredit.scoring.rebuild import score_population
        from opencredit.scoring.score_files import band_codes, run_table, write_run

        as_of = as_of or today()
        chosen = [self.policy(p) for p in policies] if policies else list(self.policies.values())
        copy = self.columnar()
        copy.sync(self.store)
        disputes = self.store.disputes()
        if progress:
            progress("reading the ledger's columnar copy")
        with copy.reading() as manifest:
            run = score_population(
                copy, manifest, chosen, as_of, disputes, engine, self.data_dir / "state"
            )
        path = write_run(
            self.data_dir / "scores",
            as_of,
            run.up_to,
            run_table(chosen, run.persons, run.raw, run.score),
        )
        results = []
        for p, policy in enumerate(chosen):
            self.store.write_score_file(policy.key, as_of, run.up_to, str(path))
            scores = pa.table(
                {
                    "person": run.persons,
                    "raw": run.raw[:, p],
                    "score": run.score[:, p],
                    "band": band_codes(policy, run.score[:, p]).cast(pa.string()),
                }
            )
            results.append(
                RebuildResult(policy.key, len(run.persons), as_of, run.up_to, scores, path)
            )
        self._drop_unused_score_files()
        if state:
            records = self.ledger(run.up_to)
            for policy in chosen:
                if progress:
                    progress(policy.key)
                self.engine().rebuild_state(policy, records)
        return results

    def _drop_unused_score_files(self) -> None:
        used = {self.store.score_file(key) for key in self.policies}
        for path in (self.data_dir / "scores").glob("scores-*.parquet"):
            if str(path) not in used:
                path.unlink(missing_ok=True)
