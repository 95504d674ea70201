"""Schemathesis, in-process, against the API's own OpenAPI schema.

Every operation is called with generated requests (valid and invalid: the coverage and fuzzing
phases), once with an admin's key and once with a person's, and each organisation role and the
regulator again on their own operations, where their requests get past the role guard: no
answer may be a 5xx, and every answer must be one the schema documents, with a body and
headers that match it. The app runs on a world of this module's own, as a second FastAPI
instance on its context (so Schemathesis' lifespan handling cannot close the store).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import schemathesis
from api_world import Template, World, open_world
from hypothesis import HealthCheck, settings
from schemathesis.checks import (
    content_type_conformance,
    ignored_auth,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from opencredit.api import create_app
from opencredit.api.settings import Settings

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
    ignored_auth,
]
#: Whose key is sent, which operations (by OpenAPI tag; None: all of them), and how many
#: examples per operation the fuzzing phase generates (the coverage phase adds its boundary
#: cases). Filing is the slowest call (every accepted batch runs DuckDB once per policy).
PASSES = {
    "admin": (None, 10),
    "A": (None, 10),
    "F": ("data provider", 5),
    "P": ("partner", 10),
    "S": ("scoring provider", 10),
    "R": ("regulator", 10),
}


@pytest.fixture(scope="module")
def fuzzed_world(template: Template, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """A world of this module's own: generated requests revoke, decide and answer at random."""
    with open_world(template, tmp_path_factory.mktemp("fuzzed") / "data") as w:
        yield w


@pytest.fixture(params=list(PASSES), ids=[f"as-{k}" for k in PASSES])
def api_schema(request, fuzzed_world: World):
    """The schema of a second app on the fuzzed world, remembering whose key to send."""
    world = fuzzed_world
    app = create_app(Settings(data=world.data), context=world.ctx)
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    tag, examples = PASSES[request.param]
    if tag is not None:
        # Filters given here would be replaced by the lazy loader's; narrow the paths instead.
        paths = schema.raw_schema["paths"]
        for path, operations in list(paths.items()):
            kept = {m: op for m, op in operations.items() if tag in op.get("tags", ())}
            if kept:
                paths[path] = kept
            else:
                del paths[path]
    # Our key goes in every request, so generated credentials would only duplicate cases; and
    # the methods no route has are Starlette's 405s, not ours (the matrix checks routes).
    schema.config.generation.update(max_examples=examples, with_security_parameters=False)
    schema.config.phases.coverage.unexpected_methods = set()
    schema.headers = world.h(request.param)
    return schema


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(deadline=None, suppress_health_check=list(HealthCheck))
def test_schema_conformance(case, api_schema) -> None:
    """No 5xx; status codes, content types, bodies and headers as documented."""
    case.call_and_validate(headers=api_schema.headers, checks=CHECKS)
