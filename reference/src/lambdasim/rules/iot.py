"""AWS IoT Core's rules engine: the rule SQL the course uses, topic filters, Basic Ingest topics,
substitution templates, the error action's message and the payload limit.

Pure: no moto, no boto3, no clock of its own (the caller passes the time, the client id and a
uuid source). The simulator's `iot.IotRulesEngine` runs these rules on the rules moto stores.

Sources:

- https://docs.aws.amazon.com/iot/latest/developerguide/iot-sql-reference.html (AWS IoT SQL
  reference): SELECT (required), FROM (the MQTT topic filter; "Optional for rules that are only
  activated using the Basic Ingest feature"), WHERE (optional); comments are not supported.
- https://docs.aws.amazon.com/iot/latest/developerguide/iot-sql-select.html,
  iot-sql-from.html, iot-sql-where.html: `SELECT color AS rgb`, `*`, functions and operators;
  "In the WHERE clause, you cannot reference any aliases created with the AS keyword in the
  SELECT".
- https://docs.aws.amazon.com/iot/latest/developerguide/iot-sql-json.html (JSON extensions): the
  "." operator reads nested objects; `*` "creates a new JSON object containing the message data.
  If the message payload is not in JSON format, * returns the entire message payload as raw
  bytes".
- https://docs.aws.amazon.com/iot/latest/developerguide/iot-sql-operators.html and
  iot-sql-data-types.html: AND, OR, NOT, comparisons, + - * / %; a missing field is Undefined,
  and an operation on Undefined is Undefined (a WHERE that is not true drops the message; an
  Undefined SELECT item is left out of the result).
- https://docs.aws.amazon.com/iot/latest/developerguide/iot-sql-functions.html: topic() (the
  whole topic), topic(n) (its n-th level, from 1), timestamp() (milliseconds since the epoch, as
  the rules engine sees the message), clientid() (the publisher's client id; "n/a" when there is
  none), newuuid() (a random 16-byte UUID), principal(), get(object, key), encode(value,
  'base64').
- https://docs.aws.amazon.com/iot/latest/developerguide/iot-rule-sql-version.html (SQL
  versions): 2015-10-08 (the original) and 2016-03-23; what 2016-03-23 added includes "Support to
  output an array as a top-level object" (`SELECT VALUE`) and "Addition of the
  encode(value, encodingScheme) function"; a rule keeps the version it was created with. The
  default when none is given is 2015-10-08
  (https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-properties-iot-topicrule-topicrulepayload.html).
- https://docs.aws.amazon.com/iot/latest/developerguide/topics.html (MQTT topics): `+` matches
  one level, `#` any number of levels and must be the last character of the filter; topics that
  begin with `$` are reserved.
- https://docs.aws.amazon.com/iot/latest/developerguide/iot-basic-ingest.html: a topic
  `$aws/rules/<rule_name>/...` goes to that rule only, without the message broker (no
  subscriber receives it); the prefix "isn't available to the topic(Decimal) function".
- https://docs.aws.amazon.com/iot/latest/developerguide/iot-substitution-templates.html:
  `${expression}` in an action's parameters, "evaluated separately from the SELECT ...
  statement, you can't reference an alias created using the AS clause. You can only reference
  information present in the original payload, functions, and operators."
- https://docs.aws.amazon.com/iot/latest/developerguide/rule-error-handling.html: "A single
  message is generated per rule and message"; its fields ruleName, topic, cloudwatchTraceId,
  clientId, base64OriginalPayload, failures[{failedAction, failedResource, errorMessage}].
- https://docs.aws.amazon.com/general/latest/gr/iot-core.html (AWS IoT Core endpoints and
  quotas): the message payload is at most 128 KB; iot-data Publish answers
  RequestEntityTooLargeException, "The payload exceeds the maximum size allowed"
  (https://docs.aws.amazon.com/iot/latest/apireference/API_iotdata_Publish.html).

Modelled where AWS is silent (listed in the manual's fidelity table):

- a SELECT item without an alias is named by its last field (`a.b` -> `b`) or its function's name
  (`timestamp()` -> `timestamp`); other unaliased expressions are refused as a parse error;
- `/` always answers a decimal (AWS's Int / Int typing is not modelled); comparisons and
  arithmetic between a string and a number are Undefined (AWS converts some strings);
- the error action's `failedAction` is the action's name in the example's form, `<Name>Action`
  (the page shows only `S3Action`), and `errorMessage` carries the target service's error code
  and message;
- Basic Ingest runs the named rule whatever its FROM filter (AWS makes FROM optional for such
  rules and does not say it is checked).
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

SQL_VERSION_2015 = "2015-10-08"
SQL_VERSION_2016 = "2016-03-23"
SQL_VERSIONS = (SQL_VERSION_2015, SQL_VERSION_2016)
DEFAULT_SQL_VERSION = SQL_VERSION_2015

MAX_PAYLOAD_BYTES = 128 * 1024  # iot-core.html: "Maximum size of a message payload: 128 KB"
PAYLOAD_TOO_LARGE_CODE = "RequestEntityTooLargeException"
PAYLOAD_TOO_LARGE_STATUS = 413
PAYLOAD_TOO_LARGE_MESSAGE = "The payload exceeds the maximum size allowed"
SQL_PARSE_CODE = "SqlParseException"  # API_CreateTopicRule.html: "The Rule-SQL expression can't be parsed correctly."

BASIC_INGEST_PREFIX = "$aws/rules/"
NO_CLIENT_ID = "n/a"


class SqlParseError(ValueError):
    """A rule's SQL outside what AWS (or the simulator's subset) accepts."""


class _Undefined:
    """AWS IoT SQL's Undefined: a missing field, or an operation that has no value."""

    def __repr__(self) -> str:
        return "Undefined"


UNDEFINED: Any = _Undefined()


# ---------------------------------------------------------------------------------------------
# Grammar
# ---------------------------------------------------------------------------------------------

_GRAMMAR = r"""
statement: _SELECT select_list from_clause? where_clause?
select_list: VALUE? item ("," item)*
?item: STAR -> star
     | expr (_AS NAME)? -> column
from_clause: _FROM STRING
where_clause: _WHERE expr

?expr: or_expr
?or_expr: and_expr (_OR and_expr)*
?and_expr: not_expr (_AND not_expr)*
?not_expr: _NOT not_expr -> not_
         | comparison
?comparison: sum (COMPARE sum)?
?sum: product (ADD product)*
?product: unary ((MUL | STAR) unary)*
?unary: ADD unary -> signed
      | atom
?atom: NUMBER -> number
     | STRING -> string
     | TRUE -> true
     | FALSE -> false
     | call
     | path
     | "(" expr ")"
call: NAME "(" [argument ("," argument)*] ")"
?argument: expr | STAR -> star
path: NAME ("." NAME | "[" INT "]")*

_SELECT.2: /select\b/i
_FROM.2: /from\b/i
_WHERE.2: /where\b/i
_AS.2: /as\b/i
_AND.2: /and\b/i
_OR.2: /or\b/i
_NOT.2: /not\b/i
// VALUE is a keyword only before an expression, so a field named "value" still reads.
VALUE.2: /value(?=\s+(?!(from|as|and|or)\b)[A-Za-z_('"\d])/i
TRUE.2: /true\b/i
FALSE.2: /false\b/i
STAR: "*"
COMPARE: "<>" | "<=" | ">=" | "!=" | "=" | "<" | ">"
ADD: "+" | "-"
MUL: "/" | "%"
NAME: /(?!(select|from|where|as|and|or|not|true|false)\b)[A-Za-z_][A-Za-z0-9_]*/i
STRING: /'[^']*'/ | /"[^"]*"/
NUMBER: /\d+(\.\d+)?([eE][+-]?\d+)?/
INT: /\d+/
%ignore /\s+/
"""


@lru_cache(maxsize=1)
def _parser() -> Any:
    import lark

    return lark.Lark(_GRAMMAR, start="statement", parser="lalr")


@lru_cache(maxsize=1)
def _expression_parser() -> Any:
    import lark

    return lark.Lark(_GRAMMAR, start="expr", parser="lalr")


# ---------------------------------------------------------------------------------------------
# Parsed statements
# ---------------------------------------------------------------------------------------------

Expr = tuple[Any, ...]  # ("path", names...), ("call", name, args), ("op", op, left, right), ...


@dataclass(frozen=True)
class Column:
    expr: Expr | None  # None: `*`
    name: str | None  # the key in the result; None for `*`


@dataclass(frozen=True)
class Statement:
    """A rule's parsed SQL."""

    columns: tuple[Column, ...]
    value: bool  # SELECT VALUE: the single item itself is the result (2016-03-23)
    topic_filter: str | None
    where: Expr | None
    version: str


def _unquote(token: str) -> str:
    return str(token)[1:-1]


def _to_expr(tree: Any) -> Expr:
    from lark import Token

    if isinstance(tree, Token):
        raise SqlParseError(f"unexpected {tree!s}")
    kind = tree.data
    kids = tree.children
    if kind == "number":
        text = str(kids[0])
        return ("lit", float(text) if any(c in text for c in ".eE") else int(text))
    if kind == "string":
        return ("lit", _unquote(kids[0]))
    if kind == "true":
        return ("lit", True)
    if kind == "false":
        return ("lit", False)
    if kind == "star":
        return ("star",)
    if kind == "path":
        return ("path", *(int(k) if k.type == "INT" else str(k) for k in kids))
    if kind == "call":
        args = tuple(_to_expr(k) for k in kids[1:] if k is not None)
        return ("call", str(kids[0]).lower(), args)
    if kind == "signed":
        operand = _to_expr(kids[1])
        return ("neg", operand) if str(kids[0]) == "-" else operand
    if kind == "not_":
        return ("not", _to_expr(kids[0]))
    if kind in ("or_expr", "and_expr"):
        return ("bool", kind[:-5], tuple(_to_expr(k) for k in kids))
    if kind in ("sum", "product", "comparison"):
        expr = _to_expr(kids[0])
        for op, right in zip(kids[1::2], kids[2::2]):
            expr = ("op", str(op), expr, _to_expr(right))
        return expr
    raise SqlParseError(f"unsupported {kind}")


def _column(tree: Any) -> Column:
    if tree.data == "star":
        return Column(None, None)
    expr = _to_expr(tree.children[0])
    alias = tree.children[1] if len(tree.children) > 1 else None
    if alias is not None:
        return Column(expr, str(alias))
    if expr[0] == "path" and isinstance(expr[-1], str):
        return Column(expr, expr[-1])
    if expr[0] == "call":
        return Column(expr, expr[1])
    raise SqlParseError("an expression in SELECT needs a name: add AS <name>")


def parse(sql: str, version: str | None = None) -> Statement:
    """A rule's SQL as its `Statement`, under its SQL version (default 2015-10-08); raises
    `SqlParseError` for what the rules engine (or this subset) refuses."""
    from lark.exceptions import LarkError

    version = version or DEFAULT_SQL_VERSION
    if version not in SQL_VERSIONS:
        raise SqlParseError(f"unknown awsIotSqlVersion {version!r}: {', '.join(SQL_VERSIONS)}")
    try:
        tree = _parser().parse(sql)
    except LarkError as error:
        raise SqlParseError(f"Expression could not be parsed: {sql!r} ({str(error).splitlines()[0]})") from None
    select, *rest = tree.children
    value = bool(select.children) and getattr(select.children[0], "type", None) == "VALUE"
    items = select.children[1:] if value else select.children
    columns = tuple(_column(item) for item in items)
    if value and (version != SQL_VERSION_2016 or len(columns) != 1 or columns[0].expr is None):
        raise SqlParseError("SELECT VALUE takes one expression and needs awsIotSqlVersion 2016-03-23")
    topic_filter = where = None
    for clause in rest:
        if clause.data == "from_clause":
            topic_filter = _unquote(clause.children[0])
            check_topic_filter(topic_filter)
        else:
            where = _to_expr(clause.children[0])
    for expr in [c.expr for c in columns if c.expr is not None] + ([where] if where else []):
        _check_functions(expr, version)
    return Statement(columns, value, topic_filter, where, version)


@lru_cache(maxsize=256)  # a rule's few templates, parsed once instead of at every message
def parse_expression(text: str) -> Expr:
    """One expression (a substitution template's), as `parse` reads expressions."""
    from lark.exceptions import LarkError

    try:
        return _to_expr(_expression_parser().parse(text))
    except LarkError as error:
        raise SqlParseError(f"Expression could not be parsed: {text!r} ({str(error).splitlines()[0]})") from None


_FUNCTIONS = {"topic": (0, 1), "timestamp": (0, 0), "clientid": (0, 0), "newuuid": (0, 0), "principal": (0, 0),
              "get": (2, 2), "encode": (2, 2)}


def _check_functions(expr: Expr, version: str) -> None:
    if expr[0] == "call":
        name, args = expr[1], expr[2]
        if name not in _FUNCTIONS:
            raise SqlParseError(f"function {name}() is not in the simulator's subset: {', '.join(_FUNCTIONS)}")
        low, high = _FUNCTIONS[name]
        if not low <= len(args) <= high:
            raise SqlParseError(f"{name}() takes {low}-{high} arguments")
        if name == "encode" and version != SQL_VERSION_2016:
            raise SqlParseError("encode() needs awsIotSqlVersion 2016-03-23")
        for arg in args:
            _check_functions(arg, version)
    elif expr[0] in ("op",):
        _check_functions(expr[2], version)
        _check_functions(expr[3], version)
    elif expr[0] in ("neg", "not"):
        _check_functions(expr[1], version)
    elif expr[0] == "bool":
        for part in expr[2]:
            _check_functions(part, version)


# ---------------------------------------------------------------------------------------------
# Topics
# ---------------------------------------------------------------------------------------------


def check_topic_filter(topic_filter: str) -> None:
    """Refuse a filter MQTT refuses: `#` not alone in the last level, `+` not alone in its level."""
    levels = topic_filter.split("/")
    for i, level in enumerate(levels):
        if "#" in level and (level != "#" or i != len(levels) - 1):
            raise SqlParseError(f"topic filter {topic_filter!r}: '#' must be the last level, alone")
        if "+" in level and level != "+":
            raise SqlParseError(f"topic filter {topic_filter!r}: '+' must be a level alone")


def topic_matches(topic_filter: str, topic: str) -> bool:
    """Whether `topic` matches the MQTT `topic_filter` (`+` one level, `#` the rest, the parent
    level included: `a/#` matches `a`)."""
    filter_levels = topic_filter.split("/")
    levels = topic.split("/")
    for i, level in enumerate(filter_levels):
        if level == "#":
            return True
        if i >= len(levels) or (level != "+" and level != levels[i]):
            return False
    return len(levels) == len(filter_levels)


def basic_ingest(topic: str) -> tuple[str, str] | None:
    """(rule name, topic without the prefix) of a Basic Ingest topic, else None."""
    if not topic.startswith(BASIC_INGEST_PREFIX):
        return None
    rest = topic[len(BASIC_INGEST_PREFIX):]
    rule, _, inner = rest.partition("/")
    return (rule, inner) if rule else None


# ---------------------------------------------------------------------------------------------
# Evaluation
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Message:
    """What a rule sees of one message."""

    topic: str  # without a Basic Ingest prefix
    payload: bytes
    client_id: str | None
    timestamp_ms: int
    principal: str | None = None

    @property
    def document(self) -> Any:
        """The payload as JSON, or UNDEFINED when it is not JSON."""
        try:
            return json.loads(self.payload)
        except ValueError:
            return UNDEFINED


class Evaluation:
    """Expressions evaluated against one message (`new_uuid` gives newuuid() its values)."""

    def __init__(self, message: Message, new_uuid: Callable[[], str]):
        self.message = message
        self.document = message.document
        self._new_uuid = new_uuid

    def value(self, expr: Expr) -> Any:
        kind = expr[0]
        if kind == "lit":
            return expr[1]
        if kind == "path":
            return _lookup(self.document, expr[1:])
        if kind == "star":
            return self.document if self.document is not UNDEFINED else self.message.payload
        if kind == "call":
            return self._call(expr[1], expr[2])
        if kind == "neg":
            v = self.value(expr[1])
            return -v if _is_number(v) else UNDEFINED
        if kind == "not":
            v = self.value(expr[1])
            return (not v) if isinstance(v, bool) else UNDEFINED
        if kind == "bool":
            return self._boolean(expr[1], expr[2])
        if kind == "op":
            return _operate(expr[1], self.value(expr[2]), self.value(expr[3]))
        raise SqlParseError(f"unsupported expression {kind}")

    def _boolean(self, kind: str, parts: tuple[Expr, ...]) -> Any:
        values = [self.value(p) for p in parts]
        if not all(isinstance(v, bool) for v in values):
            return UNDEFINED
        return all(values) if kind == "and" else any(values)

    def _call(self, name: str, args: tuple[Expr, ...]) -> Any:
        m = self.message
        if name == "topic":
            if not args:
                return m.topic
            n = self.value(args[0])
            levels = m.topic.split("/")
            return levels[n - 1] if isinstance(n, int) and 1 <= n <= len(levels) else UNDEFINED
        if name == "timestamp":
            return m.timestamp_ms
        if name == "clientid":
            return m.client_id or NO_CLIENT_ID
        if name == "newuuid":
            return self._new_uuid()
        if name == "principal":
            return m.principal if m.principal is not None else UNDEFINED
        if name == "get":
            container, key = self.value(args[0]), self.value(args[1])
            if isinstance(container, dict) and isinstance(key, str):
                return container.get(key, UNDEFINED)
            if isinstance(container, list) and isinstance(key, int) and 0 <= key < len(container):
                return container[key]
            return UNDEFINED
        if name == "encode":
            scheme = self.value(args[1])
            if scheme != "base64":
                return UNDEFINED
            value = m.payload if args[0] == ("star",) else self.value(args[0])
            if value is UNDEFINED:
                return UNDEFINED
            raw = value if isinstance(value, bytes) else _json_text(value).encode()
            return base64.b64encode(raw).decode()
        raise SqlParseError(f"unsupported function {name}()")


def _lookup(document: Any, names: tuple[Any, ...]) -> Any:
    value = document
    for name in names:
        if isinstance(name, int) and isinstance(value, list) and 0 <= name < len(value):
            value = value[name]
        elif isinstance(name, str) and isinstance(value, dict) and name in value:
            value = value[name]
        else:
            return UNDEFINED
    return value


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


_COMPARISONS: dict[str, Callable[[Any, Any], bool]] = {
    "=": lambda a, b: a == b, "<>": lambda a, b: a != b, "!=": lambda a, b: a != b,
    "<": lambda a, b: a < b, "<=": lambda a, b: a <= b, ">": lambda a, b: a > b, ">=": lambda a, b: a >= b,
}


def _operate(op: str, left: Any, right: Any) -> Any:
    if left is UNDEFINED or right is UNDEFINED:
        return UNDEFINED
    if op in _COMPARISONS:
        comparable = (_is_number(left) and _is_number(right)) or type(left) is type(right)
        if not comparable:
            return UNDEFINED
        if op not in ("=", "<>", "!=") and not (_is_number(left) or isinstance(left, str)):
            return UNDEFINED
        return _COMPARISONS[op](left, right)
    if not (_is_number(left) and _is_number(right)):
        return UNDEFINED
    if op == "+":
        return left + right
    if op == "-":
        return left - right
    if op == "*":
        return left * right
    if right == 0:
        return UNDEFINED
    if op == "/":
        return left / right
    return left % right


def _json_text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))


@dataclass(frozen=True)
class Result:
    """A rule's output for one message: `matched` when its WHERE held; `payload` is what its
    actions receive (bytes), `document` the same as JSON (None for a raw payload)."""

    matched: bool
    payload: bytes = b""
    document: Any = None


def evaluate(statement: Statement, evaluation: Evaluation) -> Result:
    """Run a parsed statement on one message: WHERE, then SELECT."""
    if statement.where is not None and evaluation.value(statement.where) is not True:
        return Result(False)
    if statement.value:
        value = evaluation.value(statement.columns[0].expr)  # type: ignore[arg-type]
        if value is UNDEFINED:
            return Result(True, b"", None)
        if isinstance(value, bytes):
            return Result(True, value, None)
        return Result(True, _json_text(value).encode(), value)
    output: dict[str, Any] = {}
    for column in statement.columns:
        if column.expr is None:
            if evaluation.document is UNDEFINED:
                if len(statement.columns) == 1:
                    return Result(True, evaluation.message.payload, None)  # raw bytes through `*`
                continue
            if isinstance(evaluation.document, dict):
                output.update(evaluation.document)
            continue
        value = evaluation.value(column.expr)
        if value is not UNDEFINED:
            output[column.name] = value.decode("latin-1") if isinstance(value, bytes) else value  # type: ignore[index]
    return Result(True, json.dumps(output, separators=(",", ":")).encode(), output)


# ---------------------------------------------------------------------------------------------
# Substitution templates
# ---------------------------------------------------------------------------------------------

_TEMPLATE = re.compile(r"\$\{([^}]*)\}")


def substitute(template: str, evaluation: Evaluation) -> str:
    """`template` with each `${expression}` replaced by its value against the original message
    (never the SELECT's aliases); an Undefined value becomes the empty string."""

    def replace(match: re.Match[str]) -> str:
        value = evaluation.value(parse_expression(match.group(1)))
        if value is UNDEFINED:
            return ""
        if isinstance(value, bool):
            return "true" if value else "false"
        return _json_text(value)

    return _TEMPLATE.sub(replace, template)


# ---------------------------------------------------------------------------------------------
# The error action
# ---------------------------------------------------------------------------------------------

ACTION_NAMES = {
    "kinesis": "KinesisAction", "lambda": "LambdaAction", "dynamoDBv2": "DynamoDBv2Action", "sqs": "SqsAction",
    "sns": "SnsAction", "republish": "RepublishAction", "firehose": "FirehoseAction",
}


@dataclass(frozen=True)
class ActionFailure:
    action: str  # the action's key in the rule ("kinesis", "lambda", ...)
    resource: str  # the stream, function, table, queue, topic or delivery stream
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"failedAction": ACTION_NAMES.get(self.action, f"{self.action[:1].upper()}{self.action[1:]}Action"),
                "failedResource": self.resource, "errorMessage": self.message}


def error_message(*, rule_name: str, topic: str, trace_id: str, client_id: str | None, payload: bytes,
                  failures: list[ActionFailure]) -> dict[str, Any]:
    """The one message a rule's error action receives for one message whose actions failed."""
    return {"ruleName": rule_name, "topic": topic, "cloudwatchTraceId": trace_id,
            "clientId": client_id or NO_CLIENT_ID, "base64OriginalPayload": base64.b64encode(payload).decode(),
            "failures": [f.as_dict() for f in failures]}


def action_kind(action: Mapping[str, Any]) -> str:
    """The action's type: its one key in the rule's actions list ("kinesis", "lambda"...)."""
    kinds = [k for k, v in action.items() if v]
    if len(kinds) != 1:
        raise ValueError(f"an action names exactly one type, got {sorted(action)}")
    return kinds[0]
