"""xmlschema validation errors as ``FieldError``s that never echo the file's content.

xmlschema's own messages quote the offending value ("invalid value 'NL91…' for …"); they
would carry IBANs and amounts into logs and the DLQ. We keep only the element path (element
names the XSD declares; anything else becomes ``*``) and a message chosen from the kind of
rule that failed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Final

from xmlschema import XMLSchemaChildrenValidationError, XMLSchemaValidationError

from schemas.ingest_api import FieldError

MAX_LOC: Final = 512
_NAMESPACE: Final = re.compile(r"\{[^}]*\}")
_SEGMENT: Final = re.compile(r"(?P<name>[^\[\]]+)(?P<index>\[\d{1,9}\])?")
_ATTRIBUTE: Final = re.compile(
    r"^(?:missing required )?attribute '?(?P<name>[A-Za-z]{1,35})'?(?:[=\s]|$)"
)

_RULES: Final = {
    "XsdPatternFacets": "does not match the required pattern",
    "XsdEnumerationFacets": "is not one of the allowed codes",
    "XsdMaxLengthFacet": "is longer than allowed",
    "XsdMinLengthFacet": "is shorter than allowed (empty?)",
    "XsdLengthFacet": "does not have the required length",
    "XsdTotalDigitsFacet": "has more digits than allowed",
    "XsdFractionDigitsFacet": "has more decimal places than allowed",
    "XsdMinInclusiveFacet": "is below the allowed minimum",
    "XsdMinExclusiveFacet": "is below the allowed minimum",
    "XsdMaxInclusiveFacet": "is above the allowed maximum",
    "XsdMaxExclusiveFacet": "is above the allowed maximum",
}


def safe_path(path: str | None, known: frozenset[str]) -> list[str]:
    """Path segments without namespaces; names the XSD does not declare become ``*``."""
    if not path:
        return []
    segments = []
    for raw in _NAMESPACE.sub("", path).strip("/").split("/"):
        match = _SEGMENT.fullmatch(raw)
        if match is None or match["name"] not in known:
            segments.append("*")
        else:
            segments.append(match["name"] + (match["index"] or ""))
    return segments


def _join(prefix: str, segments: Sequence[str]) -> str:
    loc = "/".join([prefix.rstrip("/"), *segments]) if prefix else "/" + "/".join(segments)
    loc = loc or "$"
    return loc if len(loc) <= MAX_LOC else "…" + loc[-(MAX_LOC - 1) :]


def _message(error: XMLSchemaValidationError, known: frozenset[str]) -> str:
    if isinstance(error, XMLSchemaChildrenValidationError):
        tag = _NAMESPACE.sub("", error.invalid_tag or "")
        if tag:
            name = tag if tag in known else "not declared by the schema"
            return f"unexpected element ({name})"
        expected = sorted(
            {
                _NAMESPACE.sub("", str(getattr(particle, "name", "") or ""))
                for particle in (error.expected or [])
            }
            & known
        )
        return "missing element" + (f": expected {', '.join(expected)}" if expected else "")
    attribute = _ATTRIBUTE.match(error.reason or "")
    subject = f"attribute {attribute['name']}" if attribute else "value"
    if (error.reason or "").startswith("missing required attribute"):
        return f"missing {subject}"
    rule = _RULES.get(type(error.validator).__name__)
    if rule is not None:
        return f"{subject} {rule}"
    validator = type(error.validator).__name__
    builtin = getattr(error.validator, "local_name", None)
    if validator == "XsdAtomicBuiltin" and isinstance(builtin, str) and builtin.isalpha():
        return f"{subject} is not a valid xs:{builtin}"
    if validator == "XsdElement":
        return "content is not allowed here (child elements or text)"
    return f"{subject} is invalid"


def field_errors(
    errors: Iterable[XMLSchemaValidationError],
    *,
    known: frozenset[str],
    prefix: str = "",
    skip_segments: int = 0,
    limit: int,
) -> tuple[FieldError, ...]:
    """Sanitised errors, at most ``limit`` (plus one line counting the rest).

    ``prefix``/``skip_segments`` re-anchor paths: an entry's errors are reported under the
    entry's own indexed location instead of xmlschema's document path.
    """
    result: list[FieldError] = []
    extra = 0
    for error in errors:
        if len(result) >= limit:
            extra += 1
            continue
        segments = safe_path(error.path, known)[skip_segments:]
        result.append(FieldError(loc=_join(prefix, segments), msg=_message(error, known)))
    if extra:
        result.append(FieldError(loc=prefix or "$", msg=f"and {extra} more schema errors"))
    return tuple(result)
