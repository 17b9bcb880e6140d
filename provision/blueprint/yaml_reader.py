"""Parse YAML into plain data plus the position of every key and value.

Uses PyYAML's composer (node tree with marks) and converts nodes itself, so that it can
record positions, reject duplicate keys, resolve `<<` merge keys and bound what a hostile file
can cost (nesting depth, alias expansion). Every failure is a `Diagnostic`, never an exception.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from provision.blueprint.source import Located, Path, Position, SourceMap
from provision.errors import Diagnostic

MAX_DEPTH = 64
MAX_NODES = 200_000
_MERGE_TAG = "tag:yaml.org,2002:merge"


@dataclass
class ParsedYaml:
    data: Any
    source: SourceMap
    problems: list[Diagnostic] = field(default_factory=list)
    """Non-fatal problems (duplicate keys, ...); the data is still usable for more checks."""


class _FatalError(Exception):
    def __init__(self, diagnostic: Diagnostic) -> None:
        super().__init__(diagnostic.message)
        self.diagnostic = diagnostic


def parse_yaml(text: str, file: str) -> ParsedYaml:
    """Parse one YAML document. Raises nothing: syntax errors come back as a fatal problem list
    with `data` None (check `problems` for errors before using `data`)."""
    source = SourceMap(file)
    try:
        loader = yaml.SafeLoader(text)
        try:
            node = loader.get_single_node()
            if node is None:
                return ParsedYaml(None, source)
            converter = _Converter(loader, source)
            data = converter.convert(node, (), 0)
            source.add((), Located(Position(file, 1, 1), converter.position(node)))
            return ParsedYaml(data, source, converter.problems)
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as error:
        return ParsedYaml(None, source, [_syntax_diagnostic(file, error)])
    except yaml.reader.ReaderError as error:
        line, column = _line_column(text, error.position)
        char = error.character
        code = char if isinstance(char, int) else ord(char[:1] or "\0")
        message = f"invalid YAML: the control character U+{code:04X} is not allowed"
        return ParsedYaml(None, source, [_diag(file, line, column, message)])
    except yaml.YAMLError as error:
        return ParsedYaml(None, source, [_diag(file, None, None, f"invalid YAML: {error}")])
    except RecursionError:
        message = f"the YAML is nested too deeply (more than {MAX_DEPTH} levels are not supported)"
        return ParsedYaml(None, source, [_diag(file, None, None, message)])
    except _FatalError as fatal:
        return ParsedYaml(None, source, [fatal.diagnostic])


def _line_column(text: str, offset: int) -> tuple[int, int]:
    before = text[:offset]
    return before.count("\n") + 1, offset - (before.rfind("\n") + 1) + 1


def _diag(file: str, line: int | None, column: int | None, message: str) -> Diagnostic:
    return Diagnostic(file=file, line=line, column=column, path="", message=message)


def _syntax_diagnostic(file: str, error: yaml.MarkedYAMLError) -> Diagnostic:
    mark = error.problem_mark or error.context_mark
    parts = [p for p in (error.context, error.problem) if p]
    message = "invalid YAML: " + (", ".join(parts) if parts else "syntax error")
    if mark is None:
        return _diag(file, None, None, message)
    return _diag(file, mark.line + 1, mark.column + 1, message)


class _Converter:
    def __init__(self, loader: yaml.SafeLoader, source: SourceMap) -> None:
        self.loader = loader
        self.source = source
        self.problems: list[Diagnostic] = []
        self.visited = 0
        self.active: set[int] = set()

    def position(self, node: Node) -> Position:
        mark = node.start_mark
        return Position(self.source.file, mark.line + 1, mark.column + 1)

    def fatal(self, node: Node, message: str) -> _FatalError:
        where = self.position(node)
        return _FatalError(_diag(where.file, where.line, where.column, message))

    def convert(self, node: Node, path: Path, depth: int) -> Any:
        self.visited += 1
        if self.visited > MAX_NODES:
            raise self.fatal(node, "the YAML is too large once aliases are expanded")
        if depth > MAX_DEPTH:
            raise self.fatal(node, f"the YAML is nested more than {MAX_DEPTH} levels deep")
        if id(node) in self.active:
            raise self.fatal(node, "an alias refers to the mapping or list that contains it")
        if isinstance(node, ScalarNode):
            return self.scalar(node)
        self.active.add(id(node))
        try:
            if isinstance(node, SequenceNode):
                return self.sequence(node, path, depth)
            if isinstance(node, MappingNode):
                return self.mapping(node, path, depth)
        finally:
            self.active.discard(id(node))
        raise self.fatal(node, "unsupported YAML node")

    def scalar(self, node: ScalarNode) -> Any:
        try:
            return self.loader.construct_object(node)
        except yaml.constructor.ConstructorError:
            raise self.fatal(node, f"unsupported YAML tag {node.tag!r}") from None
        except (ValueError, OverflowError, TypeError):
            # PyYAML fails on e.g. impossible dates such as 2024-13-45: keep the text.
            return node.value

    def sequence(self, node: SequenceNode, path: Path, depth: int) -> list[Any]:
        items: list[Any] = []
        for index, child in enumerate(node.value):
            where = self.position(child)
            self.source.add((*path, index), Located(where, where))
            items.append(self.convert(child, (*path, index), depth + 1))
        return items

    def mapping(self, node: MappingNode, path: Path, depth: int) -> dict[Any, Any]:
        result: dict[Any, Any] = {}
        first_seen: dict[Any, Position] = {}
        merges: list[Node] = []
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE_TAG:
                merges.append(value_node)
                continue
            if not isinstance(key_node, ScalarNode):
                raise self.fatal(
                    key_node, "mapping keys must be plain values, not lists or mappings"
                )
            key = self.scalar(key_node)
            try:
                hash(key)
            except TypeError:
                raise self.fatal(key_node, "mapping keys must be plain values") from None
            where = self.position(key_node)
            if key in first_seen:
                self.problems.append(
                    _diag(
                        where.file,
                        where.line,
                        where.column,
                        f"duplicate key {key!r} (first at {_where(first_seen[key], where)}); "
                        "YAML would silently keep only the last one",
                    )
                )
            else:
                first_seen[key] = where
            child_path = (*path, _path_key(key))
            self.source.add(child_path, Located(where, self.position(value_node)))
            result[key] = self.convert(value_node, child_path, depth + 1)
        for merge in merges:
            self.merge_into(result, merge, path, depth)
        return result

    def merge_into(self, result: dict[Any, Any], merge: Node, path: Path, depth: int) -> None:
        """`<<: *base` or `<<: [*a, *b]`: copy keys the mapping does not set itself."""
        sources = merge.value if isinstance(merge, SequenceNode) else [merge]
        for source in sources:
            if not isinstance(source, MappingNode):
                raise self.fatal(source, "a `<<` merge key needs a mapping or a list of mappings")
            outer = self.source
            self.source = SourceMap(outer.file)
            try:
                merged = self.convert(source, path, depth + 1)
            finally:
                inner, self.source = self.source, outer
            for key, value in merged.items():
                if key in result:
                    continue
                result[key] = value
                for child_path, located in inner.items_under((*path, _path_key(key))):
                    outer.add(child_path, located)


def _where(first: Position, here: Position) -> str:
    if first.line == here.line:
        return f"line {first.line}, column {first.column}"
    return f"line {first.line}"


def _path_key(key: Any) -> str | int:
    if isinstance(key, str):
        return key
    if isinstance(key, int) and not isinstance(key, bool):
        return key
    return str(key)
