"""A caller's metadata on a document: the keys and values it may hold, and its hash.

Metadata is a flat object of keys to strings, numbers and booleans, given when a document
is submitted; every chunk of the document carries it in the store beside the system's own
fields (store.base.SYSTEM_FIELDS), where a search's `where` finds it. It is checked where
it enters (the client, before anything is sent), and again by the worker that takes the
message, for a message proves no sender: there it makes a failure record.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ingest_tasks.core.errors import InvalidMetadata
from ingest_tasks.store.base import SYSTEM_FIELDS

if TYPE_CHECKING:
    from ingest_tasks.core.settings import Settings

MetaValue = str | int | float | bool
MAX_KEY_BYTES = 64
# "$" starts the filters' operators, "#" and "chroma:" Chroma's own names; "ingest_" is kept
# for fields the system may add to its own
RESERVED_PREFIXES = ("$", "#", "chroma:", "ingest_")
_INT64 = 2**63


def check_metadata(metadata: object, settings: Settings) -> dict[str, MetaValue]:
    """A copy of the metadata, if a document may carry it; InvalidMetadata saying why not."""
    if not isinstance(metadata, Mapping):
        raise InvalidMetadata(f"metadata is an object of keys and values, not "
                              f"{type(metadata).__name__}: {metadata!r:.80}")
    if len(metadata) > settings.metadata_max_keys:
        raise InvalidMetadata(f"metadata has {len(metadata)} keys, over the limit of "
                              f"{settings.metadata_max_keys} (INGEST_METADATA_MAX_KEYS)")
    for key, value in metadata.items():
        _check_key(key)
        _check_value(key, value)
    size = len(canonical(metadata).encode("utf-8"))
    if size > settings.metadata_max_bytes:
        raise InvalidMetadata(f"metadata of {size:,} bytes as JSON is over the limit of "
                              f"{settings.metadata_max_bytes:,} (INGEST_METADATA_MAX_BYTES)")
    return dict(metadata)


def _check_key(key: object) -> None:
    if not isinstance(key, str) or not key.strip():
        raise InvalidMetadata(f"metadata key {key!r} is not a non-empty string")
    size = len(key.encode("utf-8", "surrogatepass"))
    if size > MAX_KEY_BYTES:
        raise InvalidMetadata(f"metadata key {key[:20]!r}... of {size} bytes is over the limit "
                              f"of {MAX_KEY_BYTES}")
    if any(ord(char) < 32 or ord(char) == 127 or 0xD800 <= ord(char) < 0xE000 for char in key):
        raise InvalidMetadata(f"metadata key {key!r} holds a control character or a lone "
                              "surrogate")
    if key in SYSTEM_FIELDS:
        raise InvalidMetadata(f"metadata key {key!r} is reserved: every chunk carries the "
                              f"system's own {', '.join(sorted(SYSTEM_FIELDS))}")
    if key.startswith(RESERVED_PREFIXES):
        raise InvalidMetadata(f"metadata key {key!r} is reserved: no key may start with "
                              f"{', '.join(RESERVED_PREFIXES)}")


def _check_value(key: str, value: object) -> None:
    if not isinstance(value, (str, int, float)):  # bool is an int
        kind = "null" if value is None else type(value).__name__
        raise InvalidMetadata(f"metadata value of {key!r} is {kind}: values are strings, "
                              "numbers and booleans")
    if isinstance(value, float) and not math.isfinite(value):
        raise InvalidMetadata(f"metadata value of {key!r} is {value}: numbers are finite")
    if isinstance(value, int) and not -_INT64 <= value < _INT64:
        raise InvalidMetadata(f"metadata value of {key!r} is past a 64-bit integer: {value}")
    if isinstance(value, str) and ("\0" in value or any(0xD800 <= ord(c) < 0xE000 for c in value)):
        raise InvalidMetadata(f"metadata value of {key!r} holds a NUL or a lone surrogate")


def canonical(metadata: Mapping[str, Any]) -> str:
    """The metadata as JSON, keys sorted: equal metadata, equal text (1, 1.0, true differ)."""
    return json.dumps(metadata, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      allow_nan=False)


def metadata_hash(metadata: Mapping[str, Any]) -> str:
    """A short, stable hash of a document's metadata; "" for none (as registries before it)."""
    if not metadata:
        return ""
    return hashlib.sha256(canonical(metadata).encode("utf-8")).hexdigest()[:32]
