"""The message schema shipped in the package agrees with the code that sends and runs the tasks.

Drift in either direction fails here: a DocRef or ProcessingResult field the schema does
not name (or names with another type, default or requiredness), a task parameter renamed,
a public task added or routed elsewhere.
"""

from __future__ import annotations

import dataclasses
import inspect
import time
import types
import typing
from pathlib import Path

import jsonschema
import pytest

from ingest_tasks.core.keys import STREAM_QUEUE
from ingest_tasks.core.results import STATUSES, ProcessingResult
from ingest_tasks.core.settings import get_settings
from ingest_tasks.lanes import tasks
from ingest_tasks.lanes.factory import create_app
from ingest_tasks.lanes.schema import SCHEMA_VERSION, load
from ingest_tasks.pipeline.sources import DocRef

DOCS = Path(__file__).resolve().parents[2] / "docs" / "message-schema.md"
JSON_TYPES = {str: "string", int: "integer", float: "number", bool: "boolean", dict: "object"}


def resolved(prop: dict) -> dict:
    """A property with its $ref's definition merged in (the property's own keys win)."""
    if "$ref" not in prop:
        return prop
    target = load()["$defs"][prop["$ref"].removeprefix("#/$defs/")]
    return {**resolved(target), **{k: v for k, v in prop.items() if k != "$ref"}}


def json_type(hint) -> str:
    """The JSON type of a field's Python type (Optional[X] as X's)."""
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        (hint,) = [arg for arg in typing.get_args(hint) if arg is not type(None)]
    return JSON_TYPES[typing.get_origin(hint) or hint]


def validator(schema: dict) -> jsonschema.Draft202012Validator:
    """A validator of `schema` that resolves the shipped file's $defs."""
    return jsonschema.Draft202012Validator({**schema, "$defs": load()["$defs"]})


def check_fields(cls, name: str) -> None:
    """A dataclass's fields are the definition's properties, with their types and defaults."""
    definition = load()["$defs"][name]
    props, hints = definition["properties"], typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    assert set(fields) <= set(props), f"{name}: fields not in the schema"
    assert set(props) == set(fields), f"{name}: properties no field holds"
    for field_name, f in fields.items():
        prop = resolved(props[field_name])
        allowed = [prop["type"]] if isinstance(prop["type"], str) else prop["type"]
        assert json_type(hints[field_name]) in allowed, field_name
        has_default = (f.default is not dataclasses.MISSING
                       or f.default_factory is not dataclasses.MISSING)
        if not has_default:
            assert field_name in definition["required"], field_name
        elif "default" in prop:
            default = f.default if f.default is not dataclasses.MISSING else f.default_factory()
            assert prop["default"] == default, field_name


def test_the_schema_is_valid_json_schema_of_this_version_and_covers_the_public_tasks():
    schema = load()
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["version"] == SCHEMA_VERSION
    assert schema["$id"].endswith(f":v{SCHEMA_VERSION}")
    assert list(schema["tasks"]) == list(tasks.PUBLIC_TASKS)
    router = create_app(get_settings()).amqp.router
    for name, task in schema["tasks"].items():
        assert task["queue"] == router.route({}, name)["queue"].name == STREAM_QUEUE


def test_docref_and_the_schema_have_the_same_fields_types_and_defaults():
    check_fields(DocRef, "DocRef")


def test_processing_result_and_the_schema_have_the_same_fields_and_statuses():
    check_fields(ProcessingResult, "ProcessingResult")
    definition = load()["$defs"]["ProcessingResult"]
    assert set(definition["required"]) == {f.name for f in dataclasses.fields(ProcessingResult)}
    assert set(definition["properties"]["status"]["enum"]) == set(STATUSES)


@pytest.mark.parametrize("name", tasks.PUBLIC_TASKS)
def test_the_positional_arguments_are_the_tasks_parameters_in_order(name):
    run = create_app(get_settings()).tasks[name].run  # bound: `self` is not a parameter
    params = list(inspect.signature(run).parameters.values())
    args = resolved(load()["tasks"][name]["args"])
    assert [resolved(item)["title"] for item in args["prefixItems"]] == [p.name for p in params]
    assert args["minItems"] == len([p for p in params if p.default is p.empty])


def test_what_the_package_sends_and_returns_is_valid():
    ingest = validator(load()["tasks"][tasks.STREAM_INGEST]["args"])
    inline = dataclasses.replace(DocRef.inline("notes/kelp.md", b"# Kelp\n", "kelp.md", 7),
                                 submitted=time.time())
    ingest.validate([inline.to_dict(), None])  # as IngestClient.stream sends it
    ingest.validate([DocRef("a.md", "/srv/docs/a.md", 1, 10).to_dict(), "wordllama"])
    validator(load()["tasks"][tasks.STREAM_DELETE]["args"]).validate(["notes/kelp.md", 8, None])
    result = validator(load()["tasks"][tasks.STREAM_INGEST]["result"])
    result.validate(ProcessingResult("a.md", "/srv/docs/a.md", "committed", chunks=3, tokens=90,
                                     timings={"parse_chunk": 0.01, "embed": 0.2}).to_dict())
    result.validate(ProcessingResult.failure("b.pdf", "/srv/b.pdf", "encrypted: AES").to_dict())


@pytest.mark.parametrize("args", [
    [{"doc_id": "a.md", "source": "a.md", "colour": "red"}],  # a field the workers do not know
    [{"source": "a.md"}],  # no id
    [{"doc_id": "a.md", "source": "a.md", "version": "7"}],  # a version as a string
    [{"doc_id": "a.md", "source": "a.md", "metadata": {"tags": ["x"]}}],  # metadata is flat
    [{"doc_id": "a.md", "source": "a.md"}, None, "extra"],  # three arguments
    [],
])
def test_messages_the_workers_would_refuse_are_invalid(args):
    assert not validator(load()["tasks"][tasks.STREAM_INGEST]["args"]).is_valid(args)


def test_the_document_names_every_task_and_the_version():
    text = DOCS.read_text(encoding="utf-8")
    for name in (tasks.STREAM_INGEST, tasks.STREAM_DELETE, tasks.BULK_GROUP, tasks.BULK_COPY,
                 tasks.SUMMARIZE, tasks.JOB_FAILED):
        assert f"`{name}`" in text, name
    assert f"SCHEMA_VERSION = {SCHEMA_VERSION}" in text
