"""Typed access to what xmlschema decoded: nested dicts keyed by element name.

xmlschema returns a dict per complex element, a list for elements declared with
``maxOccurs > 1`` (fixed by the XSD, not by the file), ``{'@Ccy': ..., '$': ...}`` for an
amount, and ``Decimal``/``bool``/``str`` for simple values.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

Node = Mapping[str, Any]


def node(parent: Node | None, *path: str) -> Node | None:
    """The complex element at ``path`` (first occurrence of repeated ones), or None."""
    current: Any = parent
    for name in path:
        if not isinstance(current, Mapping):
            return None
        current = current.get(name)
        if isinstance(current, list):
            current = current[0] if current else None
    return current if isinstance(current, Mapping) else None


def nodes(parent: Node | None, name: str) -> list[Node]:
    """All occurrences of the complex element ``name`` under ``parent``."""
    if parent is None:
        return []
    value = parent.get(name)
    items = value if isinstance(value, list) else [value]
    return [item for item in items if isinstance(item, Mapping)]


def text(parent: Node | None, *path: str) -> str | None:
    """The string value at ``path``, or None."""
    *head, last = path
    holder = node(parent, *head) if head else parent
    value = holder.get(last) if holder is not None else None
    if isinstance(value, list):
        value = value[0] if value else None
    return value if isinstance(value, str) else None


def texts(parent: Node | None, name: str) -> list[str]:
    """All string values of the repeated element ``name``."""
    if parent is None:
        return []
    value = parent.get(name)
    items = value if isinstance(value, list) else [value]
    return [item for item in items if isinstance(item, str)]


def flag(parent: Node | None, name: str) -> bool | None:
    """A decoded ``xs:boolean``, or None when absent."""
    value = parent.get(name) if parent is not None else None
    return value if isinstance(value, bool) else None


def amount(parent: Node | None, *path: str) -> tuple[Decimal, str] | None:
    """``(value, currency)`` of an ``ActiveOrHistoricCurrencyAndAmount``, or None."""
    holder = node(parent, *path)
    if holder is None:
        return None
    value, currency = holder.get("$"), holder.get("@Ccy")
    if isinstance(value, Decimal) and isinstance(currency, str):
        return value, currency
    return None
