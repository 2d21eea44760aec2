"""A Handlebars renderer for the subset SendGrid's dynamic templates use, without code generation.

Supported (handlebarsjs.com semantics): ``{{path}}`` HTML-escaped, ``{{{path}}}`` and ``{{& path}}``
raw, paths with ``.``/``/`` segments, ``[literal]`` segments, ``this``, ``../`` and ``@root``,
``@index``/``@key``/``@first``/``@last`` in ``each``; block helpers ``#if``, ``#unless``,
``#each`` (arrays and objects), ``#with``, with ``{{else}}``; SendGrid's comparison blocks
``#equals``, ``#notEquals``, ``#greaterThan``, ``#lessThan``, ``#and``, ``#or``; the ``insert``
helper (``{{insert name "default=x"}}``); comments ``{{! }}``/``{{!-- --}}``; ``~`` whitespace control.

Templates are parsed once into a tree and interpreted: nothing in a template is ever executed
as code (the Python ports that compile to source and ``exec`` it can be injected).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

MAX_TEMPLATE_BYTES = 1_048_576  # SendGrid's limit on a template version's content (1 MB)
MAX_DEPTH = 64  # nested blocks; deeper is refused rather than risking the recursion limit


class TemplateError(ValueError):
    """A template that does not parse (the message says where)."""


_ESCAPES = {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#x27;", "`": "&#x60;", "=": "&#x3D;"}
_ESCAPE_RE = re.compile(r"[&<>\"'`=]")
_TAG = re.compile(r"\{\{(~?)(\{?)(!--.*?--|!.*?|[^{}]*?)(\}?)(~?)\}\}", re.S)
_ARG = re.compile(r'\s*("(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|(?:[^\s"\'\[]|\[[^\]]*\])+)')
_BLOCKS = frozenset({"if", "unless", "each", "with", "equals", "notEquals", "greaterThan", "lessThan", "and", "or"})


def escape(text: str) -> str:
    return _ESCAPE_RE.sub(lambda m: _ESCAPES[m.group(0)], text)


@dataclass(frozen=True, slots=True)
class _Literal:
    value: Any


@dataclass(frozen=True, slots=True)
class _Path:
    depth: int  # how many ``../`` levels up
    parts: tuple[str, ...]  # empty: the context itself (``this``, ``.``)
    data: bool = False  # ``@index`` etc.
    root: bool = False  # ``@root.x``


_Arg = _Literal | _Path


@dataclass(slots=True)
class _Text:
    text: str


@dataclass(slots=True)
class _Mustache:
    name: _Arg
    args: list[_Arg]
    escaped: bool


@dataclass(slots=True)
class _Block:
    helper: str
    args: list[_Arg]
    body: list[Any] = field(default_factory=list)
    inverse: list[Any] = field(default_factory=list)
    in_inverse: bool = False


def _text_node(text: str) -> _Text:
    # Every well-formed tag was taken by the tag pattern: braces left over are a broken tag.
    if "{{" in text:
        raise TemplateError(f"malformed or unclosed tag near {text[text.index('{{'):][:40]!r}")
    return _Text(text)


def _parse_arg(token: str) -> _Arg:
    if token[0] in "\"'":
        return _Literal(re.sub(r"\\(.)", r"\1", token[1:-1]))
    if re.fullmatch(r"-?\d+(\.\d+)?", token):
        return _Literal(float(token) if "." in token else int(token))
    if token in ("true", "false"):
        return _Literal(token == "true")
    if token in ("null", "undefined"):
        return _Literal(None)
    return _parse_path(token)


def _parse_path(token: str) -> _Path:
    data = token.startswith("@")
    text = token[1:] if data else token
    root = False
    if data and (text == "root" or text.startswith(("root.", "root/"))):
        root, data, text = True, False, text[5:]
    depth = 0
    while text.startswith("../"):
        depth += 1
        text = text[3:]
    if text.startswith("./"):
        text = text[2:]
    parts: list[str] = []
    for match in re.finditer(r"\[([^\]]*)\]|([^./\[]+)", text):
        parts.append(match.group(1) if match.group(1) is not None else match.group(2))
    if parts and parts[0] == "this" and not data:
        parts = parts[1:]
    if text and not parts and text not in (".", "this"):
        raise TemplateError(f"invalid path {token!r}")
    return _Path(depth, tuple(parts), data, root)


def _split_args(text: str) -> list[str]:
    tokens: list[str] = []
    pos = 0
    text = text.strip()
    while pos < len(text):
        match = _ARG.match(text, pos)
        if not match:
            raise TemplateError(f"cannot read {text[pos:]!r}")
        tokens.append(match.group(1))
        pos = match.end()
    return tokens


@dataclass(frozen=True, slots=True)
class Template:
    nodes: tuple[Any, ...]

    @classmethod
    def parse(cls, source: str) -> Template:
        if len(source.encode("utf-8", "surrogatepass")) > MAX_TEMPLATE_BYTES:
            raise TemplateError("template is larger than 1 MB")
        root: list[Any] = []
        stack: list[_Block] = []

        def target() -> list[Any]:
            if not stack:
                return root
            return stack[-1].inverse if stack[-1].in_inverse else stack[-1].body

        pos = 0
        strip_next = False
        for match in _TAG.finditer(source):
            text = source[pos:match.start()]
            if strip_next:
                text = text.lstrip()
            if match.group(1):
                text = text.rstrip()
            if text:
                target().append(_text_node(text))
            pos = match.end()
            strip_next = bool(match.group(5))
            triple, body = bool(match.group(2)), match.group(3).strip()
            if triple != bool(match.group(4)):
                raise TemplateError(f"unbalanced braces in {match.group(0)!r}")
            if body.startswith("!"):
                continue
            if not body:
                raise TemplateError("empty tag {{}}")
            if body.startswith("#"):
                tokens = _split_args(body[1:])
                if not tokens or tokens[0] not in _BLOCKS:
                    raise TemplateError(f"unknown block helper {body!r}")
                if len(stack) >= MAX_DEPTH:
                    raise TemplateError("blocks nested too deeply")
                block = _Block(tokens[0], [_parse_arg(t) for t in tokens[1:]])
                target().append(block)
                stack.append(block)
            elif body.startswith("/"):
                name = body[1:].strip()
                if not stack or stack[-1].helper != name:
                    raise TemplateError(f"{{{{/{name}}}}} does not close an open block")
                stack.pop()
            elif body == "else" or body == "^":
                if not stack or stack[-1].in_inverse:
                    raise TemplateError("{{else}} outside a block")
                stack[-1].in_inverse = True
            else:
                escaped = not triple
                if body.startswith("&"):
                    escaped, body = False, body[1:].strip()
                tokens = _split_args(body)
                target().append(_Mustache(_parse_arg(tokens[0]), [_parse_arg(t) for t in tokens[1:]], escaped))
        if stack:
            raise TemplateError(f"{{{{#{stack[-1].helper}}}}} is never closed")
        tail = source[pos:]
        if strip_next:
            tail = tail.lstrip()
        if tail:
            root.append(_text_node(tail))
        return cls(tuple(root))

    def render(self, data: Any) -> str:
        out: list[str] = []
        _render(list(self.nodes), _Frame(data, None, {}, data), out)
        return "".join(out)


@dataclass(frozen=True, slots=True)
class _Frame:
    value: Any
    parent: _Frame | None
    data: dict[str, Any]
    root: Any


def _lookup(frame: _Frame, path: _Path) -> Any:
    if path.data:
        current: Any = frame.data.get(path.parts[0]) if path.parts else None
        for part in path.parts[1:]:
            current = _member(current, part)
        return current
    if path.root:
        current = frame.root
    else:
        target: _Frame | None = frame
        for _ in range(path.depth):
            target = target.parent if target is not None and target.parent is not None else target
        current = target.value if target is not None else None
    for part in path.parts:
        current = _member(current, part)
    return current


def _member(value: Any, name: str) -> Any:
    if isinstance(value, dict):
        return value.get(name)
    if isinstance(value, list) and name.isdigit():
        index = int(name)
        return value[index] if index < len(value) else None
    if isinstance(value, list | str) and name == "length":
        return len(value)
    return None


def _value(frame: _Frame, arg: _Arg) -> Any:
    return arg.value if isinstance(arg, _Literal) else _lookup(frame, arg)


def _truthy(value: Any) -> bool:
    # Handlebars' isEmpty: false, null/undefined, "", 0 and [] are empty; {} is not.
    if isinstance(value, list):
        return bool(value)
    if isinstance(value, dict):
        return True
    return bool(value)


def _text(value: Any) -> str:
    """JavaScript's string conversion, as Handlebars prints values."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e21 else repr(value)
    if isinstance(value, list):
        return ",".join(_text(item) for item in value)
    if isinstance(value, dict):
        return "[object Object]"
    return str(value)


def _compare(left: Any, right: Any, op: str) -> bool:
    if op == "equals":
        return bool(left == right or _text(left) == _text(right))
    try:
        return bool(left > right) if op == "greaterThan" else bool(left < right)
    except TypeError:
        return False


def _render(nodes: list[Any], frame: _Frame, out: list[str]) -> None:
    for node in nodes:
        if isinstance(node, _Text):
            out.append(node.text)
        elif isinstance(node, _Mustache):
            out.append(_mustache(node, frame))
        else:
            _block(node, frame, out)


def _mustache(node: _Mustache, frame: _Frame) -> str:
    if isinstance(node.name, _Path) and node.name.parts == ("insert",) and not node.name.data and node.args:
        value = _value(frame, node.args[0])
        if value in (None, ""):
            for arg in node.args[1:]:
                if isinstance(arg, _Literal) and isinstance(arg.value, str) and arg.value.startswith("default="):
                    value = arg.value[len("default="):]
        text = _text(value)
    else:
        text = _text(_value(frame, node.name))
    return escape(text) if node.escaped else text


def _block(node: _Block, frame: _Frame, out: list[str]) -> None:
    args = [_value(frame, arg) for arg in node.args]
    helper = node.helper
    if helper in ("if", "unless", "equals", "notEquals", "greaterThan", "lessThan", "and", "or"):
        if helper == "if":
            chosen = _truthy(args[0]) if args else False
        elif helper == "unless":
            chosen = not _truthy(args[0]) if args else True
        elif helper in ("and", "or"):
            chosen = all(_truthy(a) for a in args) if helper == "and" else any(_truthy(a) for a in args)
        elif len(args) < 2:
            raise TemplateError(f"#{helper} needs two values")
        elif helper == "notEquals":
            chosen = not _compare(args[0], args[1], "equals")
        else:
            chosen = _compare(args[0], args[1], helper)
        _render(node.body if chosen else node.inverse, frame, out)
    elif helper == "with":
        value = args[0] if args else None
        if _truthy(value):
            _render(node.body, _Frame(value, frame, frame.data, frame.root), out)
        else:
            _render(node.inverse, frame, out)
    else:  # each
        value = args[0] if args else None
        items: list[tuple[Any, Any]]
        if isinstance(value, list):
            items = list(enumerate(value))
        elif isinstance(value, dict):
            items = list(value.items())
        else:
            items = []
        if not items:
            _render(node.inverse, frame, out)
            return
        for position, (key, item) in enumerate(items):
            data = {**frame.data, "index": position, "key": key, "first": position == 0,
                    "last": position == len(items) - 1}
            _render(node.body, _Frame(item, frame, data, frame.root), out)
