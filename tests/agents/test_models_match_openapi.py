"""The SDK's response models read what the service's OpenAPI spec says it sends: every
field the SDK declares is in the service's schema of the same name, a field the SDK
requires is one the service always sends, and the SDK accepts every JSON type the
service may send in it. A field renamed or retyped on one side fails here."""

import inspect
from typing import Any

import pytest
from pydantic import BaseModel, SecretStr

from agents.client import models
from api import create_app
from blackboard.config import Settings

# SDK models without a service schema of the same name: the generic page (the service
# names each page, as ArtifactPage), and the inbox's items, which only SSE carries.
UNNAMED = {"Page", "InboxItem"}


def service_schemas() -> dict[str, Any]:
    # The spec is built from the routes alone: no database is reached.
    settings = Settings(
        database_url="postgresql://unused@localhost/unused", admin_token=SecretStr("unused")
    )
    spec = create_app(settings).openapi()
    schemas: dict[str, Any] = spec["components"]["schemas"]
    return schemas


SERVICE = service_schemas()

SDK_MODELS = [
    cls
    for _, cls in inspect.getmembers(models, inspect.isclass)
    if issubclass(cls, models.Model)
    and cls is not models.Model
    and cls.__module__ == models.__name__
    and "[" not in cls.__name__  # a parametrised Page: checked through its subclass
    and cls.__name__ not in UNNAMED
]


def json_types(schema: dict[str, Any], defs: dict[str, Any]) -> set[str]:
    """The JSON types a schema admits ("ref:Name" for a model; "any" for no constraint)."""
    if "$ref" in schema:
        return {"ref:" + schema["$ref"].rsplit("/", 1)[-1]}
    if "anyOf" in schema:
        return set().union(*(json_types(s, defs) for s in schema["anyOf"]))
    if "type" not in schema:
        return {"any"}
    return {schema["type"]} if isinstance(schema["type"], str) else set(schema["type"])


def accepts(sdk: set[str], service: set[str]) -> bool:
    """Whether a field of the SDK's types takes every value of the service's."""
    if "any" in sdk:
        return True
    widened = sdk | ({"integer"} if "number" in sdk else set())
    return service <= widened


@pytest.mark.parametrize("model", SDK_MODELS, ids=lambda m: m.__name__)
def test_an_sdk_model_reads_what_the_service_sends(model: type[BaseModel]) -> None:
    name = model.__name__
    assert name in SERVICE, f"the service's spec has no schema {name} for the SDK's model"
    service = SERVICE[name]
    sdk = model.model_json_schema(mode="validation", ref_template="#/components/schemas/{model}")
    sdk_required = set(sdk.get("required", []))
    # FastAPI writes every field of a response, those with a default included
    service_required = set(service.get("required", [])) | {
        f for f, prop in service["properties"].items() if "default" in prop
    }
    for field, sdk_schema in sdk["properties"].items():
        assert field in service["properties"], f"{name}.{field} is not in the service's schema"
        if field in sdk_required:
            assert field in service_required, f"{name}.{field}: the service may leave it out"
        theirs = json_types(service["properties"][field], SERVICE)
        ours = json_types(sdk_schema, sdk.get("$defs", {}))
        assert accepts(ours, theirs), f"{name}.{field}: SDK takes {ours}, service sends {theirs}"


def test_the_sdks_page_reads_the_services_pages_by_seq() -> None:
    page = SERVICE["ArtifactPage"]
    assert set(models.Page.model_fields) <= set(page["properties"])
    assert set(page["required"]) >= {"items", "next_after"}
