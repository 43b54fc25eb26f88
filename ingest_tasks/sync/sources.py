"""Sources: a folder or an S3 prefix under a name, with a doc id prefix and a schedule.

Configured sources come from INGEST_SOURCES, a JSON object of name -> {"uri": ...,
"prefix": "", "schedule": "0 2 * * *"}. A source given on the command line by its URI
alone is its own name (a folder's absolute path, or s3://bucket/prefix).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ingest_tasks.core.errors import SourceError
from ingest_tasks.core.jsontext import json_object
from ingest_tasks.core.settings import S3_SCHEME
from ingest_tasks.pipeline import s3

if TYPE_CHECKING:
    from ingest_tasks.core.settings import Settings

@dataclass(frozen=True)
class Source:
    """A source of documents: where it is, the prefix of its doc ids, and its schedule."""

    name: str
    uri: str  # an absolute folder path, or s3://bucket/prefix
    prefix: str = ""  # put before each document's path to make its doc id
    schedule: str = ""  # a crontab (minute hour day-of-month month day-of-week), or none

    @property
    def is_s3(self) -> bool:
        """Whether the source is an S3 prefix (else a folder)."""
        return self.uri.startswith(S3_SCHEME)

    def doc_id(self, relative: str) -> str:
        """The doc id of the document at `relative` (a POSIX path under the source)."""
        return self.prefix + relative

    def relative(self, doc_id: str) -> str:
        """Inverse of doc_id."""
        return doc_id[len(self.prefix):]

    def to_dict(self) -> dict:
        """JSON-ready form, for task messages and status."""
        return {"name": self.name, "uri": self.uri, "prefix": self.prefix,
                "schedule": self.schedule}


def configured(settings: Settings) -> dict[str, Source]:
    """The sources of INGEST_SOURCES, by name; ValueError saying what is wrong."""
    text = settings.sources.strip()
    if not text:
        return {}
    given = json_object(text, 'INGEST_SOURCES (name -> {"uri": ...})')
    return {name: _source(name, spec) for name, spec in given.items()}


def _source(name: str, spec: object) -> Source:
    if not isinstance(spec, dict) or not isinstance(spec.get("uri"), str):
        raise ValueError(f"INGEST_SOURCES: source {name!r} needs a \"uri\" string")
    unknown = set(spec) - {"uri", "prefix", "schedule"}
    if unknown:
        raise ValueError(f"INGEST_SOURCES: source {name!r} has unknown keys {sorted(unknown)}")
    fields = {key: spec.get(key, "") for key in ("prefix", "schedule")}
    if not all(isinstance(value, str) for value in fields.values()):
        raise ValueError(f"INGEST_SOURCES: source {name!r}: prefix and schedule are strings")
    return Source(name, normalized_uri(spec["uri"]), **fields)


def normalized_uri(uri: str) -> str:
    """A folder as its absolute real path; an S3 URI with no trailing slash doubled."""
    if uri.startswith(S3_SCHEME):
        return s3.normalized(uri)
    return str(Path(uri).expanduser().resolve())


def resolve(settings: Settings, given: str) -> Source:
    """The source a user names: a configured one by name or URI, or the URI as its own source."""
    known = configured(settings)
    if given in known:
        return known[given]
    uri = normalized_uri(given)
    for source in known.values():
        if source.uri == uri:
            return source
    if not uri.startswith(S3_SCHEME) and not Path(uri).is_dir():
        raise SourceError(f"{given}: no such folder, and no source of that name "
                          f"(INGEST_SOURCES names {', '.join(known) or 'none'})")
    return Source(uri, uri)
