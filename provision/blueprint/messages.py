"""Turn pydantic validation errors into plain-English findings.

Pydantic says "Input should be a valid list"; a blueprint author needs "expected a list of
strings, got a mapping", "unknown field `dispalyName`; did you mean `displayName`?" or the
Google rule that an id breaks. This module knows the blueprint models well enough to say so.
"""

from __future__ import annotations

import datetime
import difflib
import types
import typing
from typing import Annotated, Any, Literal, get_args, get_origin

from pydantic import BaseModel, ValidationError
from pydantic.alias_generators import to_camel
from pydantic_core import ErrorDetails

from provision.blueprint.schema import RuleError
from provision.blueprint.source import Finding, Path

Annotation = Any


def findings_from_error(
    error: ValidationError, root: type[BaseModel], prefix: Path = ()
) -> list[Finding]:
    """One finding per problem pydantic found (a `RuleError` may hold several)."""
    findings: list[Finding] = []
    for detail in error.errors(include_url=False):
        loc: Path = tuple(detail["loc"])
        findings.extend(
            Finding((*prefix, *f.path), f.message, at=f.at) for f in _explain(detail, loc, root)
        )
    return findings


def _explain(detail: ErrorDetails, loc: Path, root: type[BaseModel]) -> list[Finding]:
    kind = detail["type"]
    value = detail.get("input")
    context = detail.get("ctx") or {}
    if kind == "extra_forbidden" and loc:
        return [Finding(loc, _unknown_field(loc[-1], model_at(root, loc[:-1])), at="key")]
    if kind == "missing" and loc:
        return [Finding(loc, f"required field `{loc[-1]}` is missing")]
    if kind == "invalid_key":
        return [Finding(loc, f"keys must be strings, got {describe_value(value)}", at="key")]
    if kind in ("value_error", "assertion_error"):
        cause = context.get("error")
        if isinstance(cause, RuleError):
            return [Finding((*loc, *sub), text, at=at) for sub, text, at in cause.problems]
        return [Finding(loc, str(cause) if cause is not None else detail["msg"])]
    if kind == "literal_error":
        expected = context.get("expected", "")
        return [Finding(loc, f"expected one of {expected}, got {_show(value)}")]
    if kind == "too_short":
        minimum = context.get("min_length", 1)
        noun = "entry" if minimum == 1 else "entries"
        return [Finding(loc, f"must have at least {minimum} {noun}; it is empty")]
    if kind.endswith(("_type", "_parsing")) or kind in ("model_attributes_type", "dataclass_type"):
        expected_text = describe_annotation(annotation_at(root, loc))
        return [
            Finding(loc, f"expected {expected_text}, got {describe_value(value)}{_hint(value)}")
        ]
    return [Finding(loc, _decapitalise(detail["msg"]))]


def _unknown_field(key: Any, model: type[BaseModel] | None) -> str:
    text = f"unknown field `{key}`"
    if model is None:
        return text
    allowed = allowed_keys(model)
    name = str(key)
    if to_camel(name) in allowed and to_camel(name) != name:
        return f"{text}; keys are camelCase: write `{to_camel(name)}`"
    lowered = {k.lower(): k for k in allowed}
    close = difflib.get_close_matches(name, allowed, n=1, cutoff=0.6) or (
        [lowered[name.lower()]] if name.lower() in lowered else []
    )
    if close:
        return f"{text}; did you mean `{close[0]}`?"
    return f"{text}; allowed here: " + ", ".join(f"`{k}`" for k in allowed)


def allowed_keys(model: type[BaseModel]) -> list[str]:
    """The YAML keys a model accepts, in declaration order."""
    return [info.alias or name for name, info in model.model_fields.items()]


def _origin(annotation: Annotation) -> Any:
    """`typing.get_origin`, typed loosely (blueprint annotations are runtime objects)."""
    return get_origin(annotation)


def _strip(annotation: Annotation) -> Annotation:
    """Remove `Annotated[...]` and `| None` wrappers."""
    while True:
        origin = _origin(annotation)
        if origin is Annotated:
            annotation = get_args(annotation)[0]
        elif origin in (typing.Union, types.UnionType):
            options = [a for a in get_args(annotation) if a is not type(None)]
            if len(options) != 1:
                return annotation
            annotation = options[0]
        else:
            return annotation


def _is_model(annotation: Annotation) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)


def annotation_at(root: type[BaseModel], loc: Path) -> Annotation:
    """The declared type at `loc` below `root`, or None when `loc` leaves the schema."""
    current: Annotation = root
    for part in loc:
        current = _strip(current)
        if _is_model(current):
            fields = {info.alias or name: info for name, info in current.model_fields.items()}
            info = fields.get(str(part))
            if info is None:
                return None
            current = info.annotation
        elif _origin(current) is list and isinstance(part, int):
            current = get_args(current)[0]
        elif _origin(current) is dict:
            current = get_args(current)[1]
        else:
            return None
    return current


def model_at(root: type[BaseModel], loc: Path) -> type[BaseModel] | None:
    found = _strip(annotation_at(root, loc))
    return found if _is_model(found) else None


def describe_annotation(annotation: Annotation) -> str:
    annotation = _strip(annotation)
    origin = _origin(annotation)
    if annotation is str:
        return "a string"
    if annotation is bool:
        return "true or false"
    if annotation is int:
        return "a whole number"
    if origin is Literal:
        return "one of " + ", ".join(repr(v) for v in get_args(annotation))
    if origin is list:
        return f"a list of {_plural(get_args(annotation)[0])}"
    if origin is dict:
        key, value = get_args(annotation)
        return f"a mapping of {_plural(key)} to {_plural(value)}"
    if _is_model(annotation) or annotation is dict:
        return "a mapping"
    return "a different kind of value"


def _plural(annotation: Annotation) -> str:
    annotation = _strip(annotation)
    if annotation is str:
        return "strings"
    if annotation is bool:
        return "true/false values"
    if annotation is int:
        return "whole numbers"
    if _origin(annotation) is list:
        return "lists"
    return "mappings"


def describe_value(value: Any) -> str:
    """What the YAML author wrote, in YAML terms."""
    if value is None:
        return "nothing (an empty value)"
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, int | float):
        return f"the number {value!r}"
    if isinstance(value, datetime.date):
        return f"the date {value.isoformat()}"
    if isinstance(value, str):
        return f"the string {_show(value)}"
    if isinstance(value, bytes):
        return "binary data"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return f"a {type(value).__name__}"


def describe_kind(value: Any) -> str:
    """What kind of YAML value the author wrote, without the value (a whole file read as one
    value must not be echoed: it may not be meant for anyone's eyes)."""
    described = describe_value(value)
    if isinstance(value, str):
        return "a string"
    if isinstance(value, bool | int | float | datetime.date):
        return described.rsplit(" ", 1)[0].replace("the ", "a ", 1)
    return described


def _hint(value: Any) -> str:
    if isinstance(value, bool | int | float | datetime.date):
        return "; put the value in quotes if you meant text"
    return ""


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _decapitalise(text: str) -> str:
    return text[:1].lower() + text[1:]
