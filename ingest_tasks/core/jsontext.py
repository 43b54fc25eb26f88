"""JSON objects given as text, by a setting, an option or a query string."""

from __future__ import annotations

import json


def json_object(text: str, what: str) -> dict:
    """The JSON object `text` holds; a ValueError naming `what` if it holds none."""
    try:
        found = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"{what} is not JSON: {exc}") from None
    if not isinstance(found, dict):
        raise ValueError(f"{what} must be a JSON object")
    return found
