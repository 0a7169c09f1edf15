"""Property-based tests of the REST API against its own OpenAPI document (schemathesis)."""

from __future__ import annotations

import pytest

schemathesis = pytest.importorskip("schemathesis")
from hypothesis import HealthCheck, settings  # noqa: E402

from openldn.web import library  # noqa: E402
from openldn.web.app import create_app  # noqa: E402
from openldn.web.settings import Settings  # noqa: E402


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    from _web_fakes import fake_demo, fake_validate

    patch = pytest.MonkeyPatch()
    patch.setattr(library, "make_demo", fake_demo)
    patch.setattr(library, "validate_run_file", fake_validate)
    app = create_app(Settings(data_dir=tmp_path_factory.mktemp("schemathesis"), auth=False, allowed_hosts=["testserver"],
                              max_upload_mb=1))
    app.state.db.create_project("seed")
    yield app
    patch.undo()


@pytest.fixture(scope="module")
def api_schema(app):
    return schemathesis.openapi.from_asgi("/openapi.json", app)


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
def test_api__conforms_to_openapi(case) -> None:
    """No request generated from the schema gets a server error, and answers match the documented schemas."""
    if case.path == "/api/projects/{project_id}/runs" and case.method == "POST":
        pytest.skip("starting runs spawns workers; covered in test_api.py")
    case.call_and_validate()


def test_openapi__documents_every_route(app) -> None:
    paths = app.openapi()["paths"]
    for route in ("/api/projects", "/api/projects/{project_id}/datasets", "/api/projects/{project_id}/runs",
                  "/api/runs/{run_id}/events", "/api/runs/{run_id}/tiles/{z}/{x}/{y}.png", "/api/runs/{run_id}/point",
                  "/api/runs/{run_id}/tables/{name}", "/api/runs/{run_id}/files/{path}", "/api/runs/{run_id}/cancel",
                  "/api/runs/{run_id}/resume", "/api/schema/assessment"):
        assert route in paths, route
