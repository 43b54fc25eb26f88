"""Types of the command line's arguments: metadata values, `where` filters, seconds."""

from __future__ import annotations

import argparse
import re

_INT = re.compile(r"-?(0|[1-9][0-9]*)")


_FLOAT = re.compile(r"-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?")


def meta_value(text: str) -> bool | int | float | str:
    """A --meta VALUE: true/false a boolean, 12 an int, 1.5 or 2e3 a float, anything else a
    string; in double quotes ("12", "true"), always a string (so is 007: zeros lead no number)."""
    if len(text) >= 2 and text[0] == text[-1] == '"':
        return text[1:-1]
    if text in ("true", "false"):
        return text == "true"
    if _INT.fullmatch(text):
        return int(text)
    if _FLOAT.fullmatch(text):
        return float(text)
    return text


class MetaAction(argparse.Action):
    """--meta KEY=VALUE, repeatable: gathers the metadata's keys; a key given twice is a
    usage error."""

    def __call__(self, parser, namespace, values, option_string=None) -> None:
        """Add one KEY=VALUE to the metadata gathered so far."""
        key, equals, text = str(values).partition("=")
        if not equals or not key:
            parser.error(f"{option_string} takes KEY=VALUE, not {values!r}")
        gathered = dict(getattr(namespace, self.dest) or {})
        if key in gathered:
            parser.error(f"{option_string} {key}=... given twice")
        gathered[key] = meta_value(text)
        setattr(namespace, self.dest, gathered)


def where_filter(text: str) -> dict:
    """A --where JSON filter, checked as the store checks it (argparse's usage error if not)."""
    from ingest_tasks.core.errors import InvalidWhere
    from ingest_tasks.core.jsontext import json_object
    from ingest_tasks.store.where import check_where

    try:
        return dict(check_where(json_object(text, text)))
    except (InvalidWhere, ValueError) as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def seconds(text: str) -> float:
    """A number of seconds above 0 (argparse's usage error if not)."""
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"not a number of seconds above 0: {text}")
    return value
