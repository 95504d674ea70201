"""Schemathesis, in-process, against the API's own OpenAPI schema.

Every operation is called with generated requests (valid and invalid), once with an admin's
key and once with a person's: no answer may be a 5xx, and every answer must be one the schema
documents, with a body and headers that match it. The app runs on the session world's context
(its own FastAPI instance, so Schemathesis' lifespan handling cannot close the shared store).
"""

from __future__ import annotations

import pytest
import schemathesis
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


@pytest.fixture(params=["admin", "A"], ids=["as-admin", "as-person"])
def api_schema(request, world):
    """The schema of an app on the session world, remembering whose key to send."""
    app = create_app(Settings(data=world.data), context=world.ctx)
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    schema.config.generation.update(max_examples=10)
    schema.headers = world.h(request.param)
    return schema


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(max_examples=10, deadline=None, suppress_health_check=list(HealthCheck))
def test_schema_conformance(case, api_schema) -> None:
    """No 5xx; status codes, content types, bodies and headers as documented."""
    import sys, time; sys.path.insert(0, "/tmp"); import timing_plugin as tp; t = time.perf_counter()
    try:
        case.call_and_validate(headers=api_schema.headers, checks=CHECKS)
    finally:
        tp.record(str(api_schema.headers)[-6:] + case.operation.label + str(case.meta.phase.name if case.meta else ""), time.perf_counter() - t)
