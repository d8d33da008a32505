"""The OpenAPI schema is part of the repository: it must be what the code produces now."""

from __future__ import annotations

import io

from django.core.management import call_command

from tooling.processes import REPO_ROOT

COMMITTED = REPO_ROOT / "docs" / "openapi.yaml"
REGENERATE = "python manage.py spectacular --file docs/openapi.yaml --validate --fail-on-warn (or: make api-schema)"


def _generated() -> str:
    out = io.StringIO()
    call_command("spectacular", "--validate", "--fail-on-warn", stdout=out)
    return out.getvalue()


def test_the_committed_schema_is_what_the_code_generates() -> None:
    committed = COMMITTED.read_text()
    generated = _generated()
    assert generated == committed, f"docs/openapi.yaml is stale: regenerate it with `{REGENERATE}` and commit it"


def test_the_schema_documents_every_api_endpoint_under_v1() -> None:
    import yaml

    schema = yaml.safe_load(COMMITTED.read_text())
    assert schema["openapi"].startswith("3.")
    paths = set(schema["paths"])
    assert all(path.startswith("/api/v1/") for path in paths)
    for expected in (
        "/api/v1/environments/{env}/images/",
        "/api/v1/environments/{env}/pulls/{pk}/events/",
        "/api/v1/environments/{env}/removals/preview/",
        "/api/v1/requests/{pk}/approve/",
        "/api/v1/audit/export/{fmt}/",
    ):
        assert expected in paths
    # Every operation documents the error shape for a missing token and for a refused role.
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            assert {"401", "403"} <= set(operation["responses"]), f"{method.upper()} {path}"
