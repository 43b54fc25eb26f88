"""The message schema of the lanes' public tasks, versioned, as a JSON Schema file shipped here.

Apps in any language enqueue `ingest.stream.ingest` and `ingest.stream.delete` with a
plain Celery client (docs/message-schema.md). Within one version the schema only grows:
new optional fields and trailing optional arguments. Any other change gets new task
names and the next version, whose file ships beside this one.
"""

from __future__ import annotations

import json
from functools import cache
from importlib.resources import files
from typing import Any

SCHEMA_VERSION = 1  # the version of the public tasks' messages and results


def schema_file(version: int = SCHEMA_VERSION) -> str:
    """The name of a version's JSON Schema file inside this package."""
    return f"message-schema-v{version}.json"


@cache
def load(version: int = SCHEMA_VERSION) -> dict[str, Any]:
    """A version's JSON Schema (draft 2020-12): `$defs` and the public `tasks` it covers."""
    return json.loads((files(__name__) / schema_file(version)).read_text(encoding="utf-8"))
