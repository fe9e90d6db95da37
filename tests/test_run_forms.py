"""The run forms of the deployed flows (docs/design.md §22): every field described in plain words,
names offered as lists, ranges typed, and the CLI's --help saying the same words."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest
import yaml
from prefect.utilities.callables import parameter_schema
from pydantic import ValidationError
from typer.testing import CliRunner

from gpu_kernels.registry import FAMILIES
from mimicry.requests import PipelineRequest, SieveSettings
from mimicry_cli import app

ROOT = Path(__file__).resolve().parents[1]
#: Markup a form would show as it is written: Sphinx roles and reStructuredText literals.
MARKUP = re.compile(r":(meth|class|func|attr|mod|data):|``")


def deployed_flows() -> dict[str, object]:
    """Every flow prefect.yaml deploys, by its entrypoint."""
    deployments = yaml.safe_load((ROOT / "prefect.yaml").read_text())["deployments"]
    flows = {}
    for deployment in deployments:
        module, name = deployment["entrypoint"].rsplit(".", 1)
        flows[deployment["entrypoint"]] = getattr(importlib.import_module(module), name)
    return flows


def fields(schema: dict) -> list[tuple[str, dict]]:
    """Every property of a parameter schema, nested models included, as (path, property)."""
    definitions = schema.get("definitions", {}) | schema.get("$defs", {})

    def resolve(node: dict) -> dict:
        while "$ref" in node:
            node = definitions[node["$ref"].rsplit("/", 1)[1]]
        return node

    def models(node: dict) -> list[dict]:
        node = resolve(node)
        found = [node] if "properties" in node else []
        for part in node.get("anyOf", []) + node.get("allOf", []):
            found += models(part)
        return found

    found = []
    pending = [("", schema)]
    while pending:
        prefix, node = pending.pop()
        for model in models(node):
            for name, prop in model["properties"].items():
                path = f"{prefix}{name}"
                found.append((path, prop))
                pending.append((f"{path}.", prop))
    return found


def enum_of(prop: dict, definitions: dict) -> list:
    """The values a property (or its list's items) may take, through refs and optionals."""
    node = prop.get("items", prop)
    for part in [node, *node.get("anyOf", []), *node.get("allOf", [])]:
        while "$ref" in part:
            part = definitions[part["$ref"].rsplit("/", 1)[1]]
        if "enum" in part:
            return part["enum"]
        if "items" in part:
            return enum_of(part, definitions)
    return []


@pytest.fixture(scope="module")
def schemas() -> dict[str, dict]:
    return {
        entrypoint: parameter_schema(flow).model_dump()
        for entrypoint, flow in deployed_flows().items()
    }


def test_every_field_of_every_deployed_form_is_described_in_plain_words(schemas):
    counted = 0
    for entrypoint, schema in schemas.items():
        for path, prop in fields(schema):
            counted += 1
            description = prop.get("description")
            assert description and description.strip(), f"{entrypoint}: {path} has no description"
            assert not MARKUP.search(description), f"{entrypoint}: {path}: {description!r}"
        for name, model in (schema.get("definitions", {}) | schema.get("$defs", {})).items():
            assert not MARKUP.search(model.get("description", "")), f"{entrypoint}: {name}"
    # Pipeline's request alone holds the sieve's and the ranking's settings: tens of fields.
    assert counted > 60


def test_the_forms_offer_names_as_lists_and_ranges_as_two_integers(schemas):
    pipeline = schemas["flows.pipeline.pipeline"]
    definitions = pipeline.get("definitions", {}) | pipeline.get("$defs", {})
    by_path = dict(fields(pipeline))
    assert enum_of(by_path["request.families"], definitions) == sorted(FAMILIES)
    assert "mt19937" in enum_of(by_path["request.families"], definitions)
    assert "cpu" in enum_of(by_path["request.sieve.backend"], definitions)
    assert "mod" in enum_of(by_path["request.sieve.projection"], definitions)
    assert "mlp" in enum_of(by_path["request.ranking.model_types"], definitions)
    seeds = next(part for part in by_path["request.sieve.seeds"]["anyOf"] if "prefixItems" in part)
    assert [item["type"] for item in seeds["prefixItems"]] == ["integer", "integer"]
    assert all(item["minimum"] == 0 for item in seeds["prefixItems"])
    sieve = schemas["flows.sieve.sieve_flow"]
    assert enum_of(sieve["properties"]["family"], sieve.get("definitions", {})) == sorted(FAMILIES)


@pytest.mark.parametrize(
    ("request_fields", "field"),
    [
        ({"families": ["mt19973"]}, "family"),  # misspelt: refused before any run starts
        ({"families": []}, "family"),
        ({"sieve": {"backend": "cuda"}}, "backend"),
        ({"sieve": {"seeds": [5, 1]}}, "seeds"),
        ({"sieve": {"seeds": [-1, 4]}}, "seeds"),
        ({"sieve": {"projection": "modulo"}}, "projection"),
        ({"ranking": {"model_types": ["svm"]}}, "model_types"),
    ],
)
def test_a_bad_form_value_is_refused_naming_its_field(request_fields, field):
    with pytest.raises(ValidationError, match=field):
        PipelineRequest(stream="s", **request_fields)


def test_a_family_alias_is_stored_under_its_exact_name():
    request = PipelineRequest(stream="s", families=["minstd", "mt19937", "minstd_rand"])
    assert request.families == ("minstd_rand", "mt19937")


def test_the_cli_help_says_what_the_form_says():
    words = CliRunner().invoke(app, ["run", "--help"], terminal_width=400, color=False).output
    flat = " ".join(words.replace("│", " ").split())
    for field in ("window", "offsets", "chunk_size", "backend"):
        description = SieveSettings.model_fields[field].description
        assert " ".join(description.split()) in flat, field
