"""A parsed Logs Insights query as one DuckDB SQL statement.

Each command becomes a step (a common table expression) reading the step before it; the first
reads the table of log events with one column per discovered field (`engine`). Fields are
loosely typed in Logs Insights: a field holds numbers, strings or times (epoch milliseconds),
and an operation that wants a number reads a string as one (`TRY_CAST`), as a parsed `latency`
is averaged (CWL_QuerySyntax-Parse.html). Order is explicit: every step carries an order column
(`row_number()`), so `sort`, `dedup` and `limit` mean the same wherever they stand.

The functions are the documented ones the course uses
(https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/CWL_QuerySyntax-operations-functions.html):
numeric abs, ceil, floor, greatest, least, log, sqrt; general ispresent, coalesce; string
isempty, isblank, concat, ltrim, rtrim, trim, strlen, toupper, tolower, substr, replace,
strcontains; datetime bin, datefloor, dateceil (periods ms, s, m, h, d, w); and the
aggregations of `stats` (CWL_QuerySyntax-Stats.html) avg, count, count_distinct, max, min, pct,
stddev, sum. A function outside this list raises `query.UnsupportedQuery` (a `SimulatorError`, not
an AWS error: AWS would run the query).

Where DuckDB and Logs Insights could differ, the simulator chooses (the manual's fidelity table):

- `pct(field, n)` is the nearest rank: the smallest value the field took with at least n percent
  of the values at or below it, never an interpolation (the page: "the value at which n percent
  of the values are lower");
- `count_distinct` is exact (AWS: approximate for very high cardinality);
- `stddev` is the sample standard deviation;
- `sort` without a direction sorts ascending; missing values sort last either way;
- without `sort`, events come newest first (CWL_QuerySyntax-Dedup.html names @timestamp
  descending as the default order) and `stats` groups in ascending order of their `by` values;
- `stats` without `by` over no events returns no row.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from ..rules import logs_insights as rules
from . import query as q

Kind = Literal["number", "string", "time", "bool"]

_PERIOD_MS = {"ms": 1, "s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000, "w": 604_800_000}

# Created on every connection the engine opens: a number as Logs Insights prints it (no ".0" on
# integers), the same text the results show.
MACROS = (
    "CREATE OR REPLACE MACRO lis_text(x) AS CASE WHEN x = trunc(x) AND abs(x) < 1e15 "
    "THEN CAST(CAST(x AS BIGINT) AS VARCHAR) ELSE CAST(x AS VARCHAR) END",
)


@dataclass(frozen=True)
class Column:
    sql: str  # an expression over the current step's columns
    kind: Kind


@dataclass
class Plan:
    """The statement's steps and what the results show."""

    steps: list[str]
    order: str  # the last step's order column
    output: list[tuple[str, Column]]  # displayed fields, in order
    matched_step: int  # the step whose rows are the events that matched (recordsMatched)
    aggregated: bool  # a stats command ran: rows are groups, with no @ptr

    def statement(self, table: str, limit: int) -> str:
        ctes = [f"s0 AS (SELECT * FROM {table})"]
        ctes += [f"s{index + 1} AS ({body.replace('{prev}', f's{index}')})" for index, body in enumerate(self.steps)]
        columns = [f"{column.sql} AS out{position}" for position, (_, column) in enumerate(self.output)]
        if not self.aggregated:
            columns.append("__ptr")
        last = f"s{len(self.steps)}"
        return (f"WITH {', '.join(ctes)} SELECT {', '.join(columns) or 'NULL'} FROM {last} "
                f"ORDER BY {self.order} LIMIT {int(limit)}")

    def matched_statement(self, table: str) -> str:
        ctes = [f"s0 AS (SELECT * FROM {table})"]
        ctes += [f"s{index + 1} AS ({body.replace('{prev}', f's{index}')})"
                 for index, body in enumerate(self.steps[:self.matched_step])]
        return f"WITH {', '.join(ctes)} SELECT count(*) FROM s{self.matched_step}"


@dataclass
class _State:
    schema: dict[str, Column]
    order: str
    display: list[str] | None = None  # set by `display`; else the fields named so far
    named: list[str] = field(default_factory=list)
    default_display: tuple[str, ...] = (rules.TIMESTAMP, rules.MESSAGE)
    steps: list[str] = field(default_factory=list)
    matched_step: int | None = None
    aggregated: bool = False
    counter: int = 0

    def fresh(self, prefix: str = "c") -> str:
        self.counter += 1
        return f"{prefix}_{self.counter}"


def translate(commands: tuple[q.Command, ...], schema: dict[str, Column], order: str) -> Plan:
    """The plan of `commands` over a table whose fields are `schema` and whose initial order is
    the column `order`."""
    state = _State(schema=dict(schema), order=order)
    for command in commands:
        _COMMANDS[type(command)](state, command)
    names = state.display if state.display is not None else (state.named or list(state.default_display))
    output = [(name, state.schema[name]) for name in dict.fromkeys(names) if name in state.schema]
    matched = state.matched_step if state.matched_step is not None else len(state.steps)
    return Plan(state.steps, state.order, output, matched, state.aggregated)


# -- commands ------------------------------------------------------------------------------------


def _fields(state: _State, command: q.Fields) -> None:
    # CWL_QuerySyntax-Fields.html: fields and expressions, shown in the results; an alias made
    # earlier in the same command can be used by a later item.
    scope: dict[str, Column] = {}
    selected = []
    for item in command.items:
        sql, kind = _Expr(state.schema, scope).of(item.expr)
        if not (isinstance(item.expr, q.Field) and item.expr.name == item.name and item.name in state.schema):
            name = state.fresh()
            selected.append(f"{sql} AS {name}")
            scope[item.name] = Column(f"({sql})", kind)
            state.schema[item.name] = Column(name, kind)
        state.named.append(item.name)
    if selected:
        state.steps.append(f"SELECT *, {', '.join(selected)} FROM {{prev}}")


def _display(state: _State, command: q.Display) -> None:
    # CWL_QuerySyntax-Display.html: the fields the results show; the last display wins.
    state.display = list(command.fields)


def _filter(state: _State, command: q.Filter) -> None:
    # CWL_QuerySyntax-Filter.html
    sql, kind = _Expr(state.schema).of(command.condition)
    state.steps.append(f"SELECT * FROM {{prev}} WHERE {_truthy(sql, kind)}")


def _parse(state: _State, command: q.Parse) -> None:
    # CWL_QuerySyntax-Parse.html: "If a log event doesn't match the specified pattern, you still
    # see it in the results, but without the extracted fields."
    source = state.schema.get(command.source)
    if source is None:
        text = "NULL"
    else:
        text = _text(source.sql, source.kind)
    if command.glob is not None:
        pattern, groups = _glob_regex(command.glob), range(1, len(command.names) + 1)
    else:
        import re

        pattern = q.python_regex(command.regex or "")
        indexes = re.compile(pattern).groupindex
        groups = [indexes[name] for name in command.names]
    literal = _string(pattern)
    selected = []
    for name, group in zip(command.names, groups):
        column = state.fresh()
        selected.append(f"CASE WHEN regexp_matches({text}, {literal}) "
                        f"THEN regexp_extract({text}, {literal}, {group}) END AS {column}")
        state.schema[name] = Column(column, "string")
    state.steps.append(f"SELECT *, {', '.join(selected)} FROM {{prev}}")


def _glob_regex(glob: str) -> str:
    """A parse glob as a regular expression: each `*` a group, lazy except at the very end."""
    import re

    parts = glob.split("*")
    pattern = re.escape(parts[0])
    for index, part in enumerate(parts[1:], start=1):
        last = index == len(parts) - 1 and part == ""
        pattern += ("(.*)" if last else "(.*?)") + re.escape(part)
    return pattern


def _stats(state: _State, command: q.Stats) -> None:
    # CWL_QuerySyntax-Stats.html: aggregations by fields or bin(period); an aggregation's alias
    # can be used by a later item of the same command.
    if state.matched_step is None:
        state.matched_step = len(state.steps)
    selected, schema = [], {}
    for item in command.groups:
        sql, kind = _Expr(state.schema).of(item.expr)
        name = state.fresh()
        selected.append(f"{sql} AS {name}")
        schema[item.name] = Column(name, kind)
    scope: dict[str, Column] = {}
    for item in command.aggregations:
        sql, kind = _Expr(state.schema, scope, aggregate=True).of(item.expr)
        name = state.fresh()
        selected.append(f"{sql} AS {name}")
        scope[item.name] = Column(f"({sql})", kind)
        schema[item.name] = Column(name, kind)
    groups = len(command.groups)
    grouping = f" GROUP BY {', '.join(str(i) for i in range(1, groups + 1))}" if groups else " HAVING count(*) > 0"
    state.steps.append(f"SELECT {', '.join(selected)} FROM {{prev}}{grouping}")
    group_columns = [schema[item.name].sql for item in command.groups]
    state.order = state.fresh("ord")
    order_by = ", ".join(f"{column} NULLS LAST" for column in group_columns) or "1"
    state.steps.append(f"SELECT *, row_number() OVER (ORDER BY {order_by}) AS {state.order} FROM {{prev}}")
    state.schema = schema
    state.default_display = tuple(schema)
    state.named, state.display, state.aggregated = [], None, True


def _sort(state: _State, command: q.Sort) -> None:
    # CWL_QuerySyntax-Sort.html: asc or desc per key; ties keep the order they had. A text
    # field whose values read as numbers sorts by number (modelled: fields are loosely typed).
    keys = []
    for key in command.keys:
        sql, kind = _Expr(state.schema).of(key.expr)
        direction = f"{'DESC' if key.descending else 'ASC'} NULLS LAST"
        if kind == "string":  # a parsed number sorts as a number, before the texts
            keys.append(f"TRY_CAST({sql} AS DOUBLE) {direction}")
        keys.append(f"{sql} {direction}")
    previous, state.order = state.order, state.fresh("ord")
    state.steps.append(f"SELECT *, row_number() OVER (ORDER BY {', '.join(keys)}, {previous}) AS {state.order} "
                       f"FROM {{prev}}")


def _limit(state: _State, command: q.Limit) -> None:
    # CWL_QuerySyntax-Limit.html
    if state.matched_step is None:
        state.matched_step = len(state.steps)
    state.steps.append(f"SELECT * FROM {{prev}} ORDER BY {state.order} LIMIT {command.count}")


def _dedup(state: _State, command: q.Dedup) -> None:
    # CWL_QuerySyntax-Dedup.html: the first result in sort order per unique combination; events
    # with a null in any of the fields are all kept.
    if state.matched_step is None:
        state.matched_step = len(state.steps)
    columns = [state.schema[name].sql if name in state.schema else "NULL" for name in command.fields]
    nulls = " OR ".join(f"{column} IS NULL" for column in columns)
    state.steps.append(f"SELECT * FROM {{prev}} QUALIFY row_number() OVER (PARTITION BY {', '.join(columns)} "
                       f"ORDER BY {state.order}) = 1 OR {nulls}")


_COMMANDS: dict[type, Callable[..., None]] = {
    q.Fields: _fields, q.Display: _display, q.Filter: _filter, q.Parse: _parse, q.Stats: _stats,
    q.Sort: _sort, q.Limit: _limit, q.Dedup: _dedup,
}


# -- expressions ---------------------------------------------------------------------------------


def _string(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _number(sql: str, kind: Kind) -> str:
    return f"TRY_CAST({sql} AS DOUBLE)" if kind == "string" else f"CAST({sql} AS DOUBLE)"


def _text(sql: str, kind: Kind) -> str:
    if kind == "string":
        return sql
    if kind == "bool":
        return f"CASE WHEN {sql} THEN 'true' WHEN NOT {sql} THEN 'false' END"
    return f"lis_text({sql})"


def _truthy(sql: str, kind: Kind) -> str:
    if kind == "bool":
        return f"({sql})"
    if kind == "string":
        return f"(coalesce({sql}, '') <> '')"
    return f"(coalesce({sql}, 0) <> 0)"


def _number_literal(value: float) -> str:
    return f"CAST({value!r} AS DOUBLE)"


def display_number(value: float) -> str:
    return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)


class _Expr:
    """One expression over a schema; `scope` holds the aliases of the same command."""

    def __init__(self, schema: dict[str, Column], scope: dict[str, Column] | None = None, aggregate: bool = False):
        self.schema, self.scope, self.aggregate = schema, scope or {}, aggregate

    def of(self, expr: q.Expr) -> tuple[str, Kind]:
        if isinstance(expr, q.Field):
            column = self.scope.get(expr.name) or self.schema.get(expr.name)
            return (column.sql, column.kind) if column else ("NULL", "string")
        if isinstance(expr, q.Number):
            return _number_literal(expr.value), "number"
        if isinstance(expr, q.String):
            return _string(expr.value), "string"
        if isinstance(expr, q.Unary):
            sql, kind = self.of(expr.operand)
            if expr.op == "not":
                return f"(NOT {_truthy(sql, kind)})", "bool"
            return f"(-{_number(sql, kind)})", "number"
        if isinstance(expr, q.Binary):
            return self.binary(expr)
        if isinstance(expr, q.Like):
            sql, kind = self.of(expr.operand)
            text = _text(sql, kind)
            test = (f"contains({text}, {_string(expr.pattern.value)})" if isinstance(expr.pattern, q.String)
                    else f"regexp_matches({text}, {_string(q.python_regex(expr.pattern.pattern))})")
            return (f"(NOT {test})" if expr.negated else f"({test})"), "bool"
        if isinstance(expr, q.Member):
            return self.member(expr)
        if isinstance(expr, q.Call):
            return self.call(expr)
        raise q.MalformedQuery(f"{type(expr).__name__.lower()} is not a value here")

    def binary(self, expr: q.Binary) -> tuple[str, Kind]:
        if expr.op in ("and", "or"):
            left, right = self.of(expr.left), self.of(expr.right)
            return f"({_truthy(*left)} {expr.op.upper()} {_truthy(*right)})", "bool"
        if expr.op in ("=", "!=", "<", "<=", ">", ">="):
            return self.compare(expr), "bool"
        left, right = self.of(expr.left), self.of(expr.right)
        a, b = _number(*left), _number(*right)
        if expr.op == "^":
            return f"power({a}, {b})", "number"
        if expr.op == "%":
            return f"fmod({a}, {b})", "number"
        if expr.op == "/":
            return f"({a} / nullif({b}, 0))", "number"  # no value rather than infinity
        return f"({a} {expr.op} {b})", "number"

    def compare(self, expr: q.Binary) -> str:
        # Comparisons "accept all data types" (CWL_QuerySyntax-operations-functions.html): a
        # number beside a string that reads as a number compares as numbers, else as text.
        (a, a_kind), (b, b_kind) = self.of(expr.left), self.of(expr.right)
        op = "<>" if expr.op == "!=" else expr.op
        numeric = {"number", "time"}
        if a_kind in numeric or b_kind in numeric:
            literal = expr.right if a_kind in numeric else expr.left
            if isinstance(literal, q.String) and _as_number(literal.value) is None:
                return f"({_text(a, a_kind)} {op} {_text(b, b_kind)})"
            return f"({_number(a, a_kind)} {op} {_number(b, b_kind)})"
        return f"({_text(a, a_kind)} {op} {_text(b, b_kind)})"

    def member(self, expr: q.Member) -> tuple[str, Kind]:
        # CWL_QuerySyntax-Filter.html: `in` tests set membership with complete matches.
        sql, kind = self.of(expr.operand)
        values = [_literal_value(item) for item in expr.items]
        if kind in ("number", "time") and all(isinstance(v, float) for v in values):
            test = f"{_number(sql, kind)} IN ({', '.join(_number_literal(v) for v in values)})"
        else:
            texts = [display_number(v) if isinstance(v, float) else v for v in values]
            test = f"{_text(sql, kind)} IN ({', '.join(_string(t) for t in texts)})" if texts else "FALSE"
        return (f"(NOT ({test}))" if expr.negated else f"({test})"), "bool"

    def call(self, expr: q.Call) -> tuple[str, Kind]:
        if expr.name in AGGREGATIONS:
            if not self.aggregate:
                raise q.MalformedQuery(f"{expr.name}() can only be used in stats")
            inner = _Expr(self.schema)  # an aggregation's arguments read the events, not aliases
            return AGGREGATIONS[expr.name](inner, expr.args)
        function = FUNCTIONS.get(expr.name)
        if function is None:
            raise q.UnsupportedQuery(f"the function {expr.name}() is not one lambdasim runs "
                                   f"(see lambdasim/logs_insights/sql.py)")
        return function(self, expr.args)

    def time_field(self) -> str:
        column = self.schema.get(rules.TIMESTAMP)
        return column.sql if column else "NULL"


# A function's translation: its arguments (in a context) to SQL and the kind of its value.
_Builder = Callable[[_Expr, tuple[q.Expr, ...]], tuple[str, Kind]]


def _as_number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def _literal_value(expr: q.Expr) -> float | str:
    if isinstance(expr, q.Number):
        return expr.value
    if isinstance(expr, q.Unary) and isinstance(expr.operand, q.Number):
        return -expr.operand.value
    if isinstance(expr, q.String):
        return expr.value
    raise q.MalformedQuery("in [...] takes literal values")


def _period_ms(expr: q.Expr) -> int:
    if not isinstance(expr, q.Period):
        raise q.MalformedQuery("expected a period such as 5m")
    digits = expr.text.rstrip("abcdefghijklmnopqrstuvwxyz")
    unit = expr.text[len(digits):]
    if unit not in _PERIOD_MS:
        raise q.UnsupportedQuery(f"periods in {unit} are not run by lambdasim (ms, s, m, h, d, w are)")
    return int(digits) * _PERIOD_MS[unit]


def _arity(name: str, args: tuple[q.Expr, ...], low: int, high: int | None = None) -> None:
    high = low if high is None else high
    if not low <= len(args) <= (high if high >= 0 else len(args)):
        raise q.MalformedQuery(f"{name}() takes {low}{'' if high == low else '+' if high < 0 else f'-{high}'} "
                               f"argument(s), got {len(args)}")


def _numeric(sql_function: str, low: int, high: int | None = None) -> _Builder:
    def build(context: _Expr, args: tuple[q.Expr, ...]) -> tuple[str, Kind]:
        _arity(sql_function, args, low, high)
        return f"{sql_function}({', '.join(_number(*context.of(a)) for a in args)})", "number"
    return build


def _textual(sql_function: str, low: int, high: int | None = None) -> _Builder:
    def build(context: _Expr, args: tuple[q.Expr, ...]) -> tuple[str, Kind]:
        _arity(sql_function, args, low, high)
        return f"{sql_function}({', '.join(_text(*context.of(a)) for a in args)})", "string"
    return build


def _ispresent(context: _Expr, args: tuple[q.Expr, ...]) -> tuple[str, Kind]:
    _arity("ispresent", args, 1)
    return f"({context.of(args[0])[0]} IS NOT NULL)", "bool"


def _isempty(context: _Expr, args: tuple[q.Expr, ...]) -> tuple[str, Kind]:
    _arity("isempty", args, 1)
    return f"(coalesce({_text(*context.of(args[0]))}, '') = '')", "bool"


def _isblank(context: _Expr, args: tuple[q.Expr, ...]) -> tuple[str, Kind]:
    _arity("isblank", args, 1)
    return f"(trim(coalesce({_text(*context.of(args[0]))}, '')) = '')", "bool"


def _coalesce(context: _Expr, args: tuple[q.Expr, ...]) -> tuple[str, Kind]:
    _arity("coalesce", args, 1, -1)
    values = [context.of(a) for a in args]
    kinds = {kind for _, kind in values}
    if len(kinds) == 1:
        return f"coalesce({', '.join(sql for sql, _ in values)})", kinds.pop()
    return f"coalesce({', '.join(_text(*v) for v in values)})", "string"


def _strlen(context: _Expr, args: tuple[q.Expr, ...]) -> tuple[str, Kind]:
    _arity("strlen", args, 1)
    return f"length({_text(*context.of(args[0]))})", "number"


def _strcontains(context: _Expr, args: tuple[q.Expr, ...]) -> tuple[str, Kind]:
    # "Returns 1 if string1 contains string2 and 0 otherwise."
    _arity("strcontains", args, 2)
    a, b = (_text(*context.of(arg)) for arg in args)
    return f"CAST(contains({a}, {b}) AS DOUBLE)", "number"


def _substr(context: _Expr, args: tuple[q.Expr, ...]) -> tuple[str, Kind]:
    # substr("xyZfooxyZ", 3, 3) returns "foo": the index counts from 0.
    _arity("substr", args, 2, 3)
    text = _text(*context.of(args[0]))
    start = f"CAST({_number(*context.of(args[1]))} AS BIGINT) + 1"
    if len(args) == 2:
        return f"substr({text}, {start})", "string"
    return f"substr({text}, {start}, CAST({_number(*context.of(args[2]))} AS BIGINT))", "string"


def _bin(context: _Expr, args: tuple[q.Expr, ...]) -> tuple[str, Kind]:
    _arity("bin", args, 1)
    period = _period_ms(args[0])
    return f"(floor({context.time_field()} / {period}) * {period})", "time"


def _date_round(rounding: str) -> _Builder:
    def build(context: _Expr, args: tuple[q.Expr, ...]) -> tuple[str, Kind]:
        _arity(f"date{rounding}", args, 2)
        period = _period_ms(args[1])
        return f"({rounding}({_number(*context.of(args[0]))} / {period}) * {period})", "time"
    return build


FUNCTIONS: dict[str, _Builder] = {
    "abs": _numeric("abs", 1), "ceil": _numeric("ceil", 1), "floor": _numeric("floor", 1),
    "greatest": _numeric("greatest", 1, -1), "least": _numeric("least", 1, -1), "log": _numeric("ln", 1),
    "sqrt": _numeric("sqrt", 1),
    "ispresent": _ispresent, "coalesce": _coalesce,
    "isempty": _isempty, "isblank": _isblank, "concat": _textual("concat", 1, -1),
    "ltrim": _textual("ltrim", 1, 2), "rtrim": _textual("rtrim", 1, 2), "trim": _textual("trim", 1, 2),
    "strlen": _strlen, "toupper": _textual("upper", 1), "tolower": _textual("lower", 1), "substr": _substr,
    "replace": _textual("replace", 3), "strcontains": _strcontains,
    "bin": _bin, "datefloor": _date_round("floor"), "dateceil": _date_round("ceil"),
}


def _count(context: _Expr, args: tuple[q.Expr, ...]) -> tuple[str, Kind]:
    # count(*) counts every event, count(field) the events that have the field.
    _arity("count", args, 0, 1)
    if not args or isinstance(args[0], q.Star):
        return "count(*)", "number"
    return f"count({context.of(args[0])[0]})", "number"


def _count_distinct(context: _Expr, args: tuple[q.Expr, ...]) -> tuple[str, Kind]:
    _arity("count_distinct", args, 1)
    return f"count(DISTINCT {context.of(args[0])[0]})", "number"


def _extreme(function: str) -> _Builder:
    def build(context: _Expr, args: tuple[q.Expr, ...]) -> tuple[str, Kind]:
        _arity(function, args, 1)
        sql, kind = context.of(args[0])
        if kind != "string":
            return f"{function}({sql})", kind
        # A string field of numbers (a parsed latency) compares as numbers, others as text.
        number = f"TRY_CAST({sql} AS DOUBLE)"
        return (f"CASE WHEN count({sql}) = count({number}) THEN lis_text({function}({number})) "
                f"ELSE {function}({sql}) END"), "string"
    return build


def _pct(context: _Expr, args: tuple[q.Expr, ...]) -> tuple[str, Kind]:
    # The nearest rank: the smallest value with at least n percent of the values at or below it.
    _arity("pct", args, 2)
    if not isinstance(args[1], q.Number) or not 0 <= args[1].value <= 100:
        raise q.MalformedQuery("pct() takes a percentile between 0 and 100")
    value = _number(*context.of(args[0]))
    rank = f"greatest(1, CAST(ceil({args[1].value / 100!r} * count({value})) AS BIGINT))"
    return f"list_sort(list({value}) FILTER (WHERE {value} IS NOT NULL))[{rank}]", "number"


def _numeric_aggregate(function: str, name: str) -> _Builder:
    def build(context: _Expr, args: tuple[q.Expr, ...]) -> tuple[str, Kind]:
        _arity(name, args, 1)
        return f"{function}({_number(*context.of(args[0]))})", "number"
    return build


AGGREGATIONS: dict[str, _Builder] = {
    "avg": _numeric_aggregate("avg", "avg"), "sum": _numeric_aggregate("sum", "sum"),
    "stddev": _numeric_aggregate("stddev_samp", "stddev"),
    "count": _count, "count_distinct": _count_distinct,
    "min": _extreme("min"), "max": _extreme("max"), "pct": _pct,
}
