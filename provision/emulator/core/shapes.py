"""JSON values checked against discovery schemas, the way Google reads requests and writes answers.

Two readings of one schema:

* a **request** is read as Google's JSON parsers read it: protobuf's JSON mapping for the ESF
  APIs (a field may be named in lowerCamelCase or in its proto snake_case form; 64-bit integers
  and enums may come as strings or numbers; `null` means "not set"), and the same types without
  the snake_case names for Cloud Storage;
* an **answer** is checked against what Google writes: only declared fields, 64-bit integers as
  decimal strings, times in RFC 3339, enum values by name, no `null`s.

Each problem carries the JSON path (`bindings[0].members`) and the proto-style path that Google's
messages use (`policy.bindings[0].members`, map entries as `labels[0].value`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from provision.emulator.core.discovery import Schema

Reading = Literal["request", "answer"]

RFC3339 = re.compile(
    r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$", re.IGNORECASE
)
DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
DURATION = re.compile(r"^-?\d+(\.\d{1,9})?s$")
INTEGER = re.compile(r"^-?\d+$")
UNSIGNED = re.compile(r"^\d+$")
_TIME_FORMATS = frozenset({"google-datetime", "date-time"})
_INT64_FORMATS = frozenset({"int64", "uint64"})
_STRING_FORMATS: dict[str, tuple[re.Pattern[str], str]] = {
    **{fmt: (RFC3339, "an RFC 3339 time") for fmt in _TIME_FORMATS},
    "date": (DATE, "a date (YYYY-MM-DD)"),
    "google-duration": (DURATION, "a duration such as 3.5s"),
}
"""Formatted strings: the pattern a value must match, and what Google expects."""
_MAX_DEPTH = 64


@dataclass(frozen=True)
class Problem:
    kind: Literal["unknown", "type", "enum", "null", "depth"]
    path: str
    """The JSON path of the value (empty for the top level)."""
    proto_path: str
    """The path in Google's message style: snake_case names, map entries as `name[i].value`."""
    name: str
    """The unknown field's name, or the offending value's repr."""
    expected: str
    """What was expected: a type (`TYPE_STRING`, `int64 as a string`) or the enum's values."""


def snake(name: str) -> str:
    """A lowerCamelCase JSON name as its proto field name (`timeZone` -> `time_zone`)."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def camel(name: str) -> str:
    """A proto snake_case name as its JSON name (`time_zone` -> `timeZone`)."""
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


class Checker:
    """Checks values against the schemas of one discovery document."""

    def __init__(
        self,
        schemas: Mapping[str, Schema],
        *,
        reading: Reading,
        proto_names: bool,
        numeric_enums: bool = False,
        unknown_fields: bool = True,
    ) -> None:
        self.schemas = schemas
        self.unknown_fields = unknown_fields
        """Whether a field the schema does not declare is a problem."""
        self.reading = reading
        self.proto_names = proto_names
        """Whether the API accepts proto snake_case field names in requests (the ESF APIs)."""
        self.numeric_enums = numeric_enums or reading == "request"
        """Whether enums may be numbers: always in requests; in answers when the client asked
        for them (`$alt=json;enum-encoding=int`, as GAPIC REST clients do)."""

    def check(self, value: Any, ref: str, proto_root: str = "") -> list[Problem]:
        """Problems of `value` read as schema `ref`; `proto_root` prefixes proto paths (the
        request field the body binds to, e.g. `dicom_store`)."""
        problems: list[Problem] = []
        self._value(value, {"$ref": ref}, "", proto_root, problems, 0)
        return problems

    def canonical(self, value: Any, ref: str) -> Any:
        """`value` with every proto field name renamed to its JSON name (`time_zone` ->
        `timeZone`), as Google's parser reads it; a value that `check` passes."""
        return self._canonical(value, {"$ref": ref}, 0)

    def _canonical(self, value: Any, schema: Schema, depth: int) -> Any:
        schema = self._resolve(schema)
        if depth > _MAX_DEPTH:
            return value
        if isinstance(value, list):
            items = schema.get("items", {"type": "any"})
            return [self._canonical(item, items, depth + 1) for item in value]
        if not isinstance(value, dict) or schema.get("type") != "object":
            return value
        properties: Mapping[str, Schema] = schema.get("properties", {})
        extra = schema.get("additionalProperties")
        result = {}
        for key, item in value.items():
            declared = self._declared(properties, key)
            if declared is not None:
                result[declared[0]] = self._canonical(item, declared[1], depth + 1)
            else:
                result[key] = item if extra is None else self._canonical(item, extra, depth + 1)
        return result

    def _resolve(self, schema: Schema) -> Schema:
        ref = schema.get("$ref")
        while ref is not None:
            schema = self.schemas.get(ref, {"type": "any"})
            ref = schema.get("$ref")
        return schema

    def _value(
        self,
        value: Any,
        schema: Schema,
        path: str,
        proto: str,
        problems: list[Problem],
        depth: int,
    ) -> None:
        if depth > _MAX_DEPTH:
            problems.append(Problem("depth", path, proto, "", f"at most {_MAX_DEPTH} levels"))
            return
        schema = self._resolve(schema)
        kind = schema.get("type", "any")
        if value is None:
            if self.reading == "answer" and kind != "any":
                problems.append(Problem("null", path, proto, "null", _type_name(schema)))
            return
        if kind == "any":
            return
        if kind == "object":
            self._object(value, schema, path, proto, problems, depth)
        elif kind == "array":
            if not isinstance(value, list):
                problems.append(Problem("type", path, proto, repr(value), "TYPE_ARRAY"))
                return
            items = schema.get("items", {"type": "any"})
            for index, item in enumerate(value):
                self._value(
                    item, items, f"{path}[{index}]", f"{proto}[{index}]", problems, depth + 1
                )
        else:
            problem = self._scalar(value, schema, kind)
            if problem is not None:
                kind_of, expected = problem
                problems.append(Problem(kind_of, path, proto, _shown(value), expected))

    def _object(
        self,
        value: Any,
        schema: Schema,
        path: str,
        proto: str,
        problems: list[Problem],
        depth: int,
    ) -> None:
        if not isinstance(value, dict):
            problems.append(Problem("type", path, proto, _shown(value), "TYPE_MESSAGE"))
            return
        properties: Mapping[str, Schema] = schema.get("properties", {})
        extra = schema.get("additionalProperties")
        for index, (key, item) in enumerate(value.items()):
            declared = self._declared(properties, key)
            if declared is not None:
                name, field_schema = declared
                self._value(
                    item,
                    field_schema,
                    _join(path, name),
                    _join(proto, snake(name)),
                    problems,
                    depth + 1,
                )
            elif extra is not None:
                self._value(
                    item,
                    extra,
                    f"{path}[{key!r}]" if path else f"[{key!r}]",
                    f"{proto}[{index}].value",
                    problems,
                    depth + 1,
                )
            elif not properties and schema.get("type") == "object" and "id" not in schema:
                continue  # an inline object without declared fields (e.g. Struct): anything
            elif self.unknown_fields:
                problems.append(Problem("unknown", path, proto, key, "a declared field"))

    def _declared(self, properties: Mapping[str, Schema], key: str) -> tuple[str, Schema] | None:
        if key in properties:
            return key, properties[key]
        if self.reading == "request" and self.proto_names and "_" in key:
            name = camel(key)
            if name in properties:
                return name, properties[name]
        return None

    def _scalar(self, value: Any, schema: Schema, kind: str) -> tuple[Any, str] | None:
        """(problem kind, expected) for a bad scalar, else None."""
        request = self.reading == "request"
        fmt = schema.get("format", "")
        if kind == "boolean":
            return None if isinstance(value, bool) else ("type", "TYPE_BOOL")
        if kind == "integer":
            if _is_int(value) or (request and isinstance(value, str) and INTEGER.match(value)):
                return None
            return "type", f"TYPE_{fmt.upper() or 'INT32'}"
        if kind == "number":
            if isinstance(value, int | float) and not isinstance(value, bool):
                return None
            return "type", f"TYPE_{'FLOAT' if fmt == 'float' else 'DOUBLE'}"
        if kind != "string":
            return None
        if fmt in _INT64_FORMATS:
            return self._int64(value, fmt)
        if schema.get("enum") is not None:
            return self._enum(value, schema["enum"])
        if not isinstance(value, str):
            return "type", "TYPE_STRING"
        pattern, expected = _STRING_FORMATS.get(fmt, (None, ""))
        if pattern is not None and not pattern.match(value):
            return "type", expected
        return None

    def _int64(self, value: Any, fmt: str) -> tuple[Any, str] | None:
        """An int64 or uint64: a decimal string (a request may also send a JSON number)."""
        request = self.reading == "request"
        digits = UNSIGNED if fmt == "uint64" else INTEGER
        if (isinstance(value, str) and digits.match(value)) or (request and _is_int(value)):
            return None
        return "type", f"{fmt} as a decimal string" if not request else f"TYPE_{fmt.upper()}"

    def _enum(self, value: Any, enum: list[str]) -> tuple[Any, str] | None:
        """One of `enum`'s names (or, where numeric enums are on, its index)."""
        if isinstance(value, str) and value in enum:
            return None
        if self.numeric_enums and _is_int(value) and 0 <= value < len(enum):
            return None
        return "enum", " | ".join(enum)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _shown(value: Any) -> str:
    """A value as Google's messages show it: strings quoted, others as JSON would write them."""
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return type(value).__name__
    return str(value)


def _type_name(schema: Schema) -> str:
    return f"TYPE_{str(schema.get('type', 'any')).upper()}"
