"""A parser for IGDB's Apicalypse query language (the plain-text bodies of /v4 requests).

`parse_query` turns one body (`fields *; where id > 5; sort id asc; limit 500;`) into a
`Query`; `parse_multiquery` turns a /v4/multiquery body into its blocks. Errors carry the
kind IGDB distinguishes (syntax, invalid field, limit) so the server can answer with
IGDB's own error bodies. Field names are checked against an entity later, in `query`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

DEFAULT_LIMIT = 10
MAX_LIMIT = 500

ErrorKind = Literal["syntax", "invalid_field", "limit"]


class ApicalypseError(ValueError):
    """A request body IGDB would reject; `kind` selects the error response."""

    def __init__(self, kind: ErrorKind, cause: str | None = None) -> None:
        super().__init__(cause or kind)
        self.kind: ErrorKind = kind
        self.cause = cause


@dataclass(frozen=True)
class Pattern:
    """A string literal with `*` wildcards outside its quotes: `*"zel"*`."""

    text: str
    prefix_wildcard: bool
    suffix_wildcard: bool


@dataclass(frozen=True)
class AnyOf:
    """`(a, b)`: the field (or any element of an array field) equals one of the values."""

    values: tuple[Scalar, ...]


@dataclass(frozen=True)
class AllOf:
    """`[a, b]`: the array field contains every value."""

    values: tuple[Scalar, ...]


@dataclass(frozen=True)
class ExactSet:
    """`{a, b}`: the array field holds exactly these values."""

    values: tuple[Scalar, ...]


Scalar = int | float | str | bool | None
Value = Scalar | Pattern | AnyOf | AllOf | ExactSet
Operator = Literal["=", "!=", ">", ">=", "<", "<=", "~"]


@dataclass(frozen=True)
class Comparison:
    field: str
    op: Operator
    value: Value


@dataclass(frozen=True)
class And:
    terms: tuple[Condition, ...]


@dataclass(frozen=True)
class Or:
    terms: tuple[Condition, ...]


Condition = Comparison | And | Or


@dataclass(frozen=True)
class Sort:
    field: str
    descending: bool = False


@dataclass(frozen=True)
class Query:
    fields: tuple[str, ...] = ("id",)
    exclude: tuple[str, ...] = ()
    where: Condition | None = None
    sort: Sort | None = None
    limit: int = DEFAULT_LIMIT
    offset: int = 0
    search: str | None = None

    def referenced_fields(self) -> set[str]:
        """Every field name the query mentions outside `fields *`."""
        names = {name for name in self.fields if name != "*"} | set(self.exclude)
        if self.sort is not None:
            names.add(self.sort.field)
        if self.where is not None:
            names |= _condition_fields(self.where)
        return names


@dataclass(frozen=True)
class Block:
    """One `query endpoint[/count] "name" { ... };` block of a multiquery."""

    endpoint: str
    name: str
    count: bool
    query: Query = field(default_factory=Query)


def _condition_fields(condition: Condition) -> set[str]:
    if isinstance(condition, Comparison):
        return {condition.field}
    names: set[str] = set()
    for term in condition.terms:
        names |= _condition_fields(term)
    return names


# --- lexer -------------------------------------------------------------------------------

_TOKEN = re.compile(
    r"""
    (?P<space>\s+)
  | (?P<string>"(?:[^"\\]|\\.)*")
  | (?P<number>-?\d+(?:\.\d+)?(?![\w.]))
  | (?P<name>[A-Za-z_]\w*(?:\.(?:[A-Za-z_]\w*|\*))*)
  | (?P<op>>=|<=|!=|=|>|<|~)
  | (?P<punct>[;,()\[\]{}&|*/])
    """,
    re.VERBOSE,
)


@dataclass(frozen=True)
class _Token:
    kind: str  # "string", "number", "name", "op", "punct", "end"
    text: str


def _tokenize(body: str) -> list[_Token]:
    tokens: list[_Token] = []
    position = 0
    while position < len(body):
        match = _TOKEN.match(body, position)
        if match is None:
            raise ApicalypseError("syntax")
        kind = match.lastgroup or ""
        if kind != "space":
            tokens.append(_Token(kind, match.group()))
        position = match.end()
    tokens.append(_Token("end", ""))
    return tokens


# --- parser ------------------------------------------------------------------------------

_CLAUSES = {
    "fields": "fields",
    "f": "fields",
    "exclude": "exclude",
    "x": "exclude",
    "where": "where",
    "w": "where",
    "sort": "sort",
    "s": "sort",
    "limit": "limit",
    "l": "limit",
    "offset": "offset",
    "o": "offset",
    "search": "search",
}


class _Parser:
    def __init__(self, tokens: list[_Token]) -> None:
        self._tokens = tokens
        self._index = 0

    # token helpers
    def _peek(self) -> _Token:
        return self._tokens[self._index]

    def _next(self) -> _Token:
        token = self._tokens[self._index]
        if token.kind != "end":
            self._index += 1
        return token

    def _at(self, kind: str, text: str | None = None) -> bool:
        token = self._peek()
        return token.kind == kind and (text is None or token.text == text)

    def _expect(self, kind: str, text: str | None = None) -> _Token:
        if not self._at(kind, text):
            raise ApicalypseError("syntax")
        return self._next()

    def _skip(self, kind: str, text: str) -> bool:
        if self._at(kind, text):
            self._next()
            return True
        return False

    # bodies
    def query(self, closing: str | None = None) -> Query:
        """Clauses up to the end of input, or up to the `closing` punctuation (a block's `}`)."""
        values: dict[str, object] = {}
        while not (self._at("end") or (closing is not None and self._at("punct", closing))):
            keyword = self._expect("name").text
            clause = _CLAUSES.get(keyword)
            if clause is None:
                raise ApicalypseError("syntax")
            values[clause] = self._clause(clause)
            self._expect("punct", ";")
        sort, search = values.get("sort"), values.get("search")
        return Query(
            fields=_as_names(values.get("fields", ("id",))),
            exclude=_as_names(values.get("exclude", ())),
            where=_as_condition(values.get("where")),
            sort=sort if isinstance(sort, Sort) else None,
            limit=_as_int(values.get("limit", DEFAULT_LIMIT)),
            offset=_as_int(values.get("offset", 0)),
            search=search if isinstance(search, str) else None,
        )

    def _clause(self, clause: str) -> object:
        if clause in ("fields", "exclude"):
            return self._field_list(allow_star=clause == "fields")
        if clause == "where":
            return self._or()
        if clause == "sort":
            name = self._expect("name").text
            direction = "asc"
            if self._at("name"):
                direction = self._next().text
                if direction not in ("asc", "desc"):
                    raise ApicalypseError("syntax")
            return Sort(name, descending=direction == "desc")
        if clause in ("limit", "offset"):
            number = self._expect("number").text
            if not number.isdigit():
                raise ApicalypseError("syntax")
            value = int(number)
            if clause == "limit" and value > MAX_LIMIT:
                raise ApicalypseError(
                    "limit", f"You typed in {value} as limit but your maximum is {MAX_LIMIT}"
                )
            return value
        return _unquote(self._expect("string").text)  # search

    def _field_list(self, *, allow_star: bool) -> tuple[str, ...]:
        if allow_star and self._skip("punct", "*"):
            return ("*",)
        names = [self._expect("name").text]
        while self._skip("punct", ","):
            names.append(self._expect("name").text)
        return tuple(names)

    def _or(self) -> Condition:
        terms = [self._and()]
        while self._skip("punct", "|"):
            terms.append(self._and())
        return terms[0] if len(terms) == 1 else Or(tuple(terms))

    def _and(self) -> Condition:
        terms = [self._primary()]
        while self._skip("punct", "&"):
            terms.append(self._primary())
        return terms[0] if len(terms) == 1 else And(tuple(terms))

    def _primary(self) -> Condition:
        if self._skip("punct", "("):
            condition = self._or()
            self._expect("punct", ")")
            return condition
        name = self._expect("name").text
        op = self._expect("op").text
        return Comparison(name, op, self._value())  # type: ignore[arg-type]  # the lexer only yields known operators

    def _value(self) -> Value:
        for opening, closing, kind in (("(", ")", AnyOf), ("[", "]", AllOf), ("{", "}", ExactSet)):
            if self._skip("punct", opening):
                values = [self._scalar()]
                while self._skip("punct", ","):
                    values.append(self._scalar())
                self._expect("punct", closing)
                return kind(tuple(values))
        prefix = self._skip("punct", "*")
        if self._at("string"):
            text = _unquote(self._next().text)
            suffix = self._skip("punct", "*")
            return Pattern(text, prefix, suffix) if prefix or suffix else text
        if prefix:
            raise ApicalypseError("syntax")
        return self._scalar()

    def _scalar(self) -> Scalar:
        token = self._next()
        if token.kind == "number":
            return float(token.text) if "." in token.text else int(token.text)
        if token.kind == "string":
            return _unquote(token.text)
        if token.kind == "name" and token.text in ("true", "false", "null"):
            return {"true": True, "false": False, "null": None}[token.text]
        raise ApicalypseError("syntax")

    # multiquery
    def blocks(self) -> list[Block]:
        blocks: list[Block] = []
        while not self._at("end"):
            if self._expect("name").text != "query":
                raise ApicalypseError("syntax")
            endpoint = self._expect("name").text
            count = False
            if self._skip("punct", "/"):
                if self._expect("name").text != "count":
                    raise ApicalypseError("syntax")
                count = True
            name = _unquote(self._expect("string").text)
            self._expect("punct", "{")
            query = self.query(closing="}")
            self._expect("punct", "}")
            self._expect("punct", ";")
            blocks.append(Block(endpoint, name, count, query))
        return blocks


def _unquote(literal: str) -> str:
    return re.sub(r"\\(.)", r"\1", literal[1:-1])


def _as_names(value: object) -> tuple[str, ...]:
    assert isinstance(value, tuple)
    return tuple(str(name) for name in value)


def _as_condition(value: object) -> Condition | None:
    return value if isinstance(value, Comparison | And | Or) else None


def _as_int(value: object) -> int:
    assert isinstance(value, int)
    return value


def parse_query(body: str) -> Query:
    """Parse one Apicalypse body; raises ApicalypseError."""
    return _Parser(_tokenize(body)).query()


def parse_multiquery(body: str) -> list[Block]:
    """Parse the blocks of a /v4/multiquery body, in order; raises ApicalypseError."""
    return _Parser(_tokenize(body)).blocks()
