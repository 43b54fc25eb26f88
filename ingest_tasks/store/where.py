"""The `where` filters of a search: Chroma's language for chunk metadata, checked and run here.

A filter is one condition, an object of one key:

    {"team": "red"}                         a field equals a value (as {"team": {"$eq": "red"}})
    {"year": {"$gte": 2020}}                one operator on a field: $eq $ne $gt $gte $lt $lte
                                            $in $nin
    {"$and": [COND, COND, ...]}             all of two or more conditions; $or: any of them

Values are strings, numbers and booleans; $gt, $gte, $lt and $lte take a number; $in and
$nin a non-empty list of values of one type. As on the Chroma server (1.x, checked against
it), an int and a float of the same value are equal, a boolean is no number (True is not
1), a comparison never matches a chunk without the field or with a value of another kind,
and $ne and $nin match every chunk that $eq and $in do not, those without the field too.
`check_where` refuses, before anything is searched, what the server would refuse;
`matches` runs a filter on one chunk's metadata (the in-memory store's search).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from ingest_tasks.core.errors import InvalidWhere
from ingest_tasks.store.base import Where

LOGICAL = ("$and", "$or")
ORDER = ("$gt", "$gte", "$lt", "$lte")
OPERATORS = ("$eq", "$ne", *ORDER, "$in", "$nin")
MAX_DEPTH = 8  # conditions nested in $and/$or: a filter is written by hand, not generated deep
_INT64 = 2**63


def check_where(where: object) -> Where:
    """The filter, if a store can run it ({} for None: no filter); InvalidWhere saying why not."""
    if where is None:
        return {}
    if not isinstance(where, Mapping):
        raise InvalidWhere(f"a filter is an object, not {type(where).__name__}: {where!r}")
    if where:
        _check(where, 1)
    return where


def _check(where: object, depth: int) -> None:
    """Check one condition and those nested in it."""
    if depth > MAX_DEPTH:
        raise InvalidWhere(f"a filter nests at most {MAX_DEPTH} levels of $and and $or")
    if not isinstance(where, Mapping) or len(where) != 1:
        raise InvalidWhere(f"each condition is an object of one field, or of $and or $or "
                           f"(join more with $and): {where!r}")
    ((key, condition),) = where.items()
    if key in LOGICAL:
        if not isinstance(condition, list) or len(condition) < 2:
            raise InvalidWhere(f"{key} takes a list of two or more conditions: {condition!r}")
        for part in condition:
            _check(part, depth + 1)
        return
    _check_field(key)
    if isinstance(condition, Mapping):
        if len(condition) != 1:
            raise InvalidWhere(f"a field takes one operator (join more with $and): {condition!r}")
        ((op, operand),) = condition.items()
    else:
        op, operand = "$eq", condition
    _check_operand(key, op, operand)


def _check_field(key: object) -> None:
    if not isinstance(key, str) or not key:
        raise InvalidWhere(f"a field name is a non-empty string: {key!r}")
    if key.startswith("$"):
        raise InvalidWhere(f"unknown operator {key} where a field or $and/$or belongs")
    if key.startswith("#"):
        raise InvalidWhere(f"field {key}: names starting with # are Chroma's own")


def _check_operand(key: str, op: object, operand: object) -> None:
    """Check an operator of a field and what it compares with."""
    if op not in OPERATORS:
        raise InvalidWhere(f"unknown operator {op!r} on {key} (known: {', '.join(OPERATORS)})")
    if op in ("$in", "$nin"):
        if not isinstance(operand, list) or not operand:
            raise InvalidWhere(f"{op} on {key} takes a non-empty list: {operand!r}")
        for value in operand:
            _check_value(key, value)
        if len({type(value) for value in operand}) > 1:
            raise InvalidWhere(f"{op} on {key} takes values of one type: {operand!r}")
        return
    _check_value(key, operand)
    if op in ORDER and _kind(operand) != "number":
        raise InvalidWhere(f"{op} on {key} compares numbers, not {operand!r}")


def _check_value(key: str, value: object) -> None:
    if not isinstance(value, (str, int, float)):  # bool is an int
        raise InvalidWhere(f"{key} is compared with a string, number or boolean, not {value!r}")
    if isinstance(value, float) and not math.isfinite(value):
        raise InvalidWhere(f"{key} is compared with a finite number, not {value!r}")
    if isinstance(value, int) and not -_INT64 <= value < _INT64:
        raise InvalidWhere(f"{key} is compared with an integer of 64 bits, not {value}")


def matches(meta: Mapping[str, Any], where: Where) -> bool:
    """True if a chunk's metadata passes a filter ({} passes all); see the module's docstring."""
    if not where:
        return True
    ((key, condition),) = where.items()
    if key == "$and":
        return all(matches(meta, part) for part in condition)
    if key == "$or":
        return any(matches(meta, part) for part in condition)
    ((op, operand),) = condition.items() if isinstance(condition, Mapping) else (("$eq", condition),)
    value = meta.get(key, _MISSING)
    if op in ("$eq", "$ne"):
        return _equal(value, operand) == (op == "$eq")
    if op in ("$in", "$nin"):
        return any(_equal(value, one) for one in operand) == (op == "$in")
    if op in ORDER:
        return _kind(value) == "number" and _ORDERS[op](value, operand)
    raise InvalidWhere(f"unknown operator {op!r} on {key}")


_MISSING = object()
_ORDERS = {"$gt": lambda a, b: a > b, "$gte": lambda a, b: a >= b,
           "$lt": lambda a, b: a < b, "$lte": lambda a, b: a <= b}


def _kind(value: object) -> str:
    """bool, number (int or float) or str: values of two kinds are never equal."""
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    return "str" if isinstance(value, str) else "other"


def _equal(value: object, operand: object) -> bool:
    return value is not _MISSING and _kind(value) == _kind(operand) and value == operand
