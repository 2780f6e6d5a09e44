"""openapi3_1.yml is the single source of truth: the code generates exactly it, and it
keeps every operation of the reference contract compatible."""

import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from core.contract import diff, generated_schema, load_spec, reference_problems
from tests.contract import REFERENCE_SPEC


def test_generated_schema_equals_the_project_spec():
    differences = diff(load_spec(), generated_schema())
    assert differences == [], "openapi3_1.yml and the code differ:\n" + "\n".join(differences)


def test_project_spec_keeps_the_reference_contract():
    if not REFERENCE_SPEC.exists():
        pytest.skip(f"The reference contract is not here ({REFERENCE_SPEC}); it comes with ../shared.")
    problems = reference_problems(load_spec(REFERENCE_SPEC), load_spec())
    assert problems == [], "\n".join(problems)


def test_reference_check_notices_a_changed_operation():
    if not REFERENCE_SPEC.exists():
        pytest.skip("needs ../shared")
    project = load_spec()
    project["paths"]["/logs"]["get"]["responses"].pop("502")
    tags = next(p for p in project["paths"]["/services"]["get"]["parameters"] if p["name"] == "tags")
    tags["schema"] = {"type": "string"}
    project["paths"]["/services/register"]["post"]["security"] = [{"apiKeyAuth": []}]
    problems = "\n".join(reference_problems(load_spec(REFERENCE_SPEC), project))
    assert "GET /logs: statuses" in problems
    assert "GET /services tags: type" in problems
    assert "POST /services/register: security" in problems


def test_spec_diff_command_prints_differences(tmp_path, settings):
    changed = (settings.ENSEMBLE_SPEC_PATH.read_text()).replace("summary: List registered services", "summary: Something else")
    path = tmp_path / "openapi3_1.yml"
    path.write_text(changed)
    settings.ENSEMBLE_SPEC_PATH = path
    out = io.StringIO()
    with pytest.raises(CommandError):
        call_command("spec_diff", stdout=out)
    assert "paths./services.get.summary" in out.getvalue()


@pytest.mark.django_db
def test_spec_is_served_as_yaml_and_json(client):
    import yaml

    assert yaml.safe_load(client.get("/openapi.yml").content) == load_spec()
    assert client.get("/openapi.json").json() == load_spec()
    docs = client.get("/docs")
    assert docs.status_code == 200 and b"swagger-ui" in docs.content and b"cdn" not in docs.content.lower()
    assert client.get("/redoc").status_code == 200
