"""The Logs Insights query language (Logs Insights QL), the subset the simulator runs: parsed
with lark into commands and expressions.

Each command is pinned to its page of the query syntax reference
(https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/CWL_QuerySyntax.html):

- `fields` (CWL_QuerySyntax-Fields.html): fields and expressions, `as` aliases;
- `filter` and its alias `where` (CWL_QuerySyntax-Filter.html, CWL_QuerySyntax-Where.html):
  = != < <= > >=, and/or/not, `like` / `=~` with a "substring" or a /regex/, `in [...]`, `not`;
- `parse` (CWL_QuerySyntax-Parse.html): a glob with `*` and `as` names, or a /regex/ with named
  groups `(?<name>...)`; the field defaults to @message;
- `stats` (CWL_QuerySyntax-Stats.html): aggregations with `as`, `by` fields and `bin(period)`;
- `sort` (CWL_QuerySyntax-Sort.html): `asc` / `desc` per key (`sort by` accepted);
- `limit` (CWL_QuerySyntax-Limit.html), `dedup` (CWL_QuerySyntax-Dedup.html), `display`
  (CWL_QuerySyntax-Display.html);
- `#` comments, backticks around field names with other characters (CWL_QuerySyntax.html).

Functions are checked by name and arity when the query is translated (`sql.FUNCTIONS`).
A query that does not parse raises `MalformedQuery` with the offending span, which the adapter
answers as AWS's MalformedQueryException (API_QueryCompileError.html).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

from ..errors import SimulatorError

_GRAMMAR = r"""
    query: command ("|" command)*
    ?command: fields | display | filter | stats | sort | limit | parse | dedup

    fields: "fields"i item ("," item)*
    display: "display"i field ("," field)*
    filter: ("filter"i | "where"i) expr
    stats: "stats"i item ("," item)* by?
    by: "by"i item ("," item)*
    sort: "sort"i "by"i? sort_key ("," sort_key)*
    sort_key: expr DIRECTION?
    limit: "limit"i INT
    dedup: "dedup"i field ("," field)*
    parse: "parse"i source? (STRING "as"i field ("," field)* | REGEX)
    // A terminal of its own: after a field, "/" divides, after parse's source it opens a regex.
    source: SOURCE_FIELD | QUOTED_FIELD
    item: expr ("as"i field)?

    ?expr: or_expr
    ?or_expr: and_expr (_OR and_expr)*
    ?and_expr: not_expr (_AND not_expr)*
    ?not_expr: _NOT not_expr -> negation
             | comparison
    ?comparison: sum
               | sum COMPARE sum -> compare
               | sum _LIKE (STRING | REGEX) -> like
               | sum _MATCHES REGEX -> like
               | sum _NOT _LIKE (STRING | REGEX) -> not_like
               | sum _IN "[" [literal ("," literal)*] "]" -> member
               | sum _NOT _IN "[" [literal ("," literal)*] "]" -> not_member
    ?sum: product (ADD_OP product)*
    ?product: power (MUL_OP power)*
    ?power: unary ("^" unary)?
    ?unary: "-" unary -> minus
          | atom
    ?atom: number | string | field | call | "(" expr ")"
    call: NAME "(" [argument ("," argument)*] ")"
    ?argument: expr | PERIOD -> period | "*" -> star
    ?literal: number | string | "-" number -> minus
    number: NUMBER
    string: STRING
    field: FIELD | QUOTED_FIELD

    _OR.2: /or\b/i
    _AND.2: /and\b/i
    _NOT.3: /not\b/i
    _LIKE.2: /like\b/i
    _IN.2: /in\b/i
    DIRECTION: /(asc|desc)\b/i
    _MATCHES.3: "=~"
    COMPARE: "=" | "!=" | "<=" | ">=" | "<" | ">"
    ADD_OP: "+" | "-"
    MUL_OP: "*" | "/" | "%"
    PERIOD.2: /\d+(ms|mo|s|m|h|d|w|q|y)\b/
    NAME.2: /[A-Za-z_][A-Za-z0-9_]*(?=\s*\()/
    FIELD: /@*[A-Za-z_][A-Za-z0-9_.@$]*/
    SOURCE_FIELD: /@*[A-Za-z_][A-Za-z0-9_.@$]*/
    QUOTED_FIELD: /`[^`]+`/
    STRING: /"(\\.|[^"\\])*"/ | /'(\\.|[^'\\])*'/
    REGEX: /\/(\\.|[^\/\\])*\//
    NUMBER: /\d+(\.\d+)?([eE][+-]?\d+)?/
    INT: /\d+/
    COMMENT: /#[^\n]*/

    %import common.WS
    %ignore WS
    %ignore COMMENT
"""


class MalformedQuery(ValueError):
    """The query does not parse; `start`/`end` are character offsets into it."""

    def __init__(self, message: str, start: int = 0, end: int = 0):
        super().__init__(message)
        self.message, self.start, self.end = message, start, end


class UnsupportedQuery(SimulatorError):
    """Valid Logs Insights QL that the simulator does not run (a function or period it lacks)."""


# -- expressions ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Field:
    name: str


@dataclass(frozen=True)
class Number:
    value: float


@dataclass(frozen=True)
class String:
    value: str


@dataclass(frozen=True)
class Regex:
    pattern: str


@dataclass(frozen=True)
class Period:
    text: str  # `5m`: a number and a unit (CWL_QuerySyntax-operations-functions.html, datetime functions)


@dataclass(frozen=True)
class Star:
    """The `*` of `count(*)`."""


@dataclass(frozen=True)
class Call:
    name: str
    args: tuple[Expr, ...]


@dataclass(frozen=True)
class Unary:
    op: str  # "-" or "not"
    operand: Expr


@dataclass(frozen=True)
class Binary:
    op: str  # arithmetic, comparison, "and", "or"
    left: Expr
    right: Expr


@dataclass(frozen=True)
class Like:
    operand: Expr
    pattern: String | Regex
    negated: bool


@dataclass(frozen=True)
class Member:
    operand: Expr
    items: tuple[Expr, ...]
    negated: bool


Expr = Field | Number | String | Regex | Period | Star | Call | Unary | Binary | Like | Member


# -- commands ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Item:
    """An expression with the name it is shown under: its alias, else its text in the query."""

    expr: Expr
    name: str


@dataclass(frozen=True)
class Fields:
    items: tuple[Item, ...]


@dataclass(frozen=True)
class Display:
    fields: tuple[str, ...]


@dataclass(frozen=True)
class Filter:
    condition: Expr


@dataclass(frozen=True)
class Stats:
    aggregations: tuple[Item, ...]
    groups: tuple[Item, ...]


@dataclass(frozen=True)
class SortKey:
    expr: Expr
    descending: bool


@dataclass(frozen=True)
class Sort:
    keys: tuple[SortKey, ...]


@dataclass(frozen=True)
class Limit:
    count: int


@dataclass(frozen=True)
class Dedup:
    fields: tuple[str, ...]


@dataclass(frozen=True)
class Parse:
    source: str
    names: tuple[str, ...]
    glob: str | None = None  # glob mode: the pattern, one `*` per name
    regex: str | None = None  # regex mode: the pattern, names from its named groups


Command = Fields | Display | Filter | Stats | Sort | Limit | Dedup | Parse


@functools.cache
def _parser() -> Any:
    import lark

    return lark.Lark(_GRAMMAR, start="query", parser="lalr", propagate_positions=True,
                     maybe_placeholders=False)


def parse(text: str) -> tuple[Command, ...]:
    """The commands of a query, in order; `MalformedQuery` if it does not parse."""
    import lark

    try:
        tree = _parser().parse(text)
    except lark.exceptions.UnexpectedInput as error:
        token = getattr(error, "token", None)
        if token is not None and token.type == "$END":
            raise MalformedQuery("unexpected end of query", len(text), len(text)) from None
        position = getattr(error, "pos_in_stream", None) or 0
        end = position + len(str(token)) if token is not None else position + 1
        raise MalformedQuery(f"unexpected input at character {position}: {text[position:position + 20]!r}",
                             position, end) from None
    commands = tuple(_Build(text).command(child) for child in tree.children)
    for index, command in enumerate(commands):
        # CWL_QuerySyntax-Dedup.html: "The only query command that you can use in a query after
        # the dedup command is limit."
        if isinstance(command, Dedup) and any(not isinstance(c, Limit) for c in commands[index + 1:]):
            raise MalformedQuery("only limit can follow dedup", 0, len(text))
    return commands


class _Build:
    """lark's tree into the dataclasses above."""

    def __init__(self, text: str):
        self.text = text

    def command(self, tree: Any) -> Command:
        kind = tree.data
        if kind == "fields":
            return Fields(tuple(self.item(child) for child in tree.children))
        if kind == "display":
            return Display(tuple(self.field_name(child) for child in tree.children))
        if kind == "filter":
            return Filter(self.expr(tree.children[0]))
        if kind == "stats":
            by = [child for child in tree.children if child.data == "by"]
            return Stats(tuple(self.item(child) for child in tree.children if child.data == "item"),
                         tuple(self.item(child) for child in by[0].children) if by else ())
        if kind == "sort":
            return Sort(tuple(SortKey(self.expr(key.children[0]),
                                      len(key.children) > 1 and str(key.children[1]).lower() == "desc")
                              for key in tree.children))
        if kind == "limit":
            return Limit(int(tree.children[0]))
        if kind == "dedup":
            return Dedup(tuple(self.field_name(child) for child in tree.children))
        if kind == "parse":
            return self.parse_command(tree)
        raise MalformedQuery(f"unknown command {kind}")  # the grammar admits no other

    def parse_command(self, tree: Any) -> Parse:
        children = list(tree.children)
        source = "@message"
        if getattr(children[0], "data", None) == "source":
            source = self.field_name(children.pop(0))
        pattern = children[0]
        if pattern.type == "REGEX":
            regex = _unquote_regex(str(pattern))
            names = _named_groups(regex)
            if not names:
                raise MalformedQuery("a parse regular expression needs named groups (?<name>...)",
                                     pattern.start_pos, pattern.end_pos)
            return Parse(source, names, regex=regex)
        glob = _unquote_string(str(pattern))
        names = tuple(self.field_name(child) for child in children[1:])
        if glob.count("*") != len(names):
            raise MalformedQuery(f"the glob has {glob.count('*')} wildcards and {len(names)} names",
                                 pattern.start_pos, pattern.end_pos)
        return Parse(source, names, glob=glob)

    def item(self, tree: Any) -> Item:
        expr = self.expr(tree.children[0])
        if len(tree.children) > 1:
            return Item(expr, self.field_name(tree.children[1]))
        return Item(expr, expr.name if isinstance(expr, Field) else self.source_text(tree.children[0]))

    def source_text(self, tree: Any) -> str:
        if hasattr(tree, "meta"):
            return self.text[tree.meta.start_pos:tree.meta.end_pos]
        return str(tree)  # a token

    @staticmethod
    def field_name(tree: Any) -> str:
        token = str(tree.children[0])
        return token[1:-1] if token.startswith("`") else token

    def expr(self, tree: Any) -> Expr:
        kind = tree.data
        children = tree.children
        if kind == "field":
            return Field(self.field_name(tree))
        if kind == "number":
            return Number(float(children[0]))
        if kind == "string":
            return String(_unquote_string(str(children[0])))
        if kind == "period":
            return Period(str(children[0]))
        if kind == "star":
            return Star()
        if kind == "call":
            return Call(str(children[0]).lower(), tuple(self.expr(child) for child in children[1:]))
        if kind == "minus":
            return Unary("-", self.expr(children[0]))
        if kind == "negation":
            return Unary("not", self.expr(children[0]))
        if kind in ("or_expr", "and_expr"):
            op = "or" if kind == "or_expr" else "and"
            result = self.expr(children[0])
            for child in children[1:]:
                result = Binary(op, result, self.expr(child))
            return result
        if kind in ("sum", "product"):
            result = self.expr(children[0])
            for op, child in zip(children[1::2], children[2::2]):
                result = Binary(str(op), result, self.expr(child))
            return result
        if kind == "power":
            return Binary("^", self.expr(children[0]), self.expr(children[1]))
        if kind == "compare":
            return Binary(str(children[1]), self.expr(children[0]), self.expr(children[2]))
        if kind in ("like", "not_like"):
            token = children[-1]
            pattern: String | Regex = (Regex(_unquote_regex(str(token))) if token.type == "REGEX"
                                       else String(_unquote_string(str(token))))
            return Like(self.expr(children[0]), pattern, kind == "not_like")
        if kind in ("member", "not_member"):
            return Member(self.expr(children[0]), tuple(self.expr(child) for child in children[1:]),
                          kind == "not_member")
        raise MalformedQuery(f"unexpected {kind}")  # the grammar admits no other


def _unquote_string(token: str) -> str:
    body = token[1:-1]
    return body.replace("\\" + token[0], token[0]).replace("\\\\", "\\")


def _unquote_regex(token: str) -> str:
    return token[1:-1].replace("\\/", "/")


def _named_groups(regex: str) -> tuple[str, ...]:
    import re

    try:
        return tuple(re.compile(python_regex(regex)).groupindex)
    except re.error as error:
        raise MalformedQuery(f"invalid regular expression: {error}") from None


def python_regex(regex: str) -> str:
    """Logs Insights writes named groups `(?<name>...)`; Python's re and RE2 (DuckDB) want
    `(?P<name>...)`."""
    import re

    return re.sub(r"\(\?<(?=[A-Za-z_@])", "(?P<", regex)
