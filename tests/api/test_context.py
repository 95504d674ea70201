"""What the context decides from the store: where a partner's score read runs its reads (on the
event loop for a database on this machine, in a worker thread for one over a network, or as
the setting says), and whether filings take turns in-process."""

from __future__ import annotations

import pytest
from sqlalchemy.engine import make_url

from opencredit.api.context import Context, is_local
from opencredit.api.settings import Settings


@pytest.mark.parametrize(
    ("url", "local"),
    [
        ("sqlite:////data/ledger.sqlite", True),
        ("postgresql+psycopg://postgres@127.0.0.1:5432/test", True),
        ("postgresql+psycopg://postgres@127.0.0.2/test", True),
        ("postgresql+psycopg://postgres@localhost/test", True),
        ("postgresql+psycopg://postgres@[::1]:5432/test", True),
        ("postgresql+psycopg:///test", True),  # the default Unix socket
        ("postgresql+psycopg:///test?host=/var/run/postgresql", True),
        ("postgresql+psycopg://postgres@db.internal:5432/test", False),
        ("postgresql+psycopg://postgres@10.0.0.7/test", False),
        ("postgresql+psycopg:///test?host=/tmp&host=db.internal", False),
    ],
)
def test_a_database_is_local_only_on_this_machine(url: str, local: bool) -> None:
    assert is_local(make_url(url)) is local


class _Access:
    def __init__(self, url: str) -> None:
        self.url = make_url(url)
        self.dialect = self.url.get_backend_name()


@pytest.mark.parametrize(
    ("setting", "url", "on_loop"),
    [
        ("auto", "sqlite:////data/ledger.sqlite", True),
        ("auto", "postgresql+psycopg://postgres@db.internal/test", False),
        ("on", "postgresql+psycopg://postgres@db.internal/test", True),
        ("off", "sqlite:////data/ledger.sqlite", False),
    ],
)
def test_the_setting_overrides_the_guess(setting: str, url: str, on_loop: bool) -> None:
    settings = Settings(reads_on_loop=setting)
    ctx = Context(settings, workspace=None, access=_Access(url))  # type: ignore[arg-type]
    assert ctx.reads_on_loop is on_loop


def test_an_unknown_setting_is_refused() -> None:
    with pytest.raises(ValueError, match="reads_on_loop"):
        Settings(reads_on_loop="sometimes")


def test_filings_take_turns_in_process_only_on_sqlite() -> None:
    sqlite = Context(Settings(), workspace=None, access=_Access("sqlite:////d/ledger.sqlite"))  # type: ignore[arg-type]
    assert sqlite.filing_lock is sqlite.write_lock
    pg = Context(Settings(), workspace=None, access=_Access("postgresql+psycopg://h/db"))  # type: ignore[arg-type]
    assert pg.filing_lock is not pg.write_lock
    with pg.filing_lock, pg.filing_lock:  # holds nothing: two filings at once go through
        assert not pg.write_lock.locked()
