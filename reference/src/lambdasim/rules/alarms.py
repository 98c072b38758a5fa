"""CloudWatch alarms: how a metric alarm and a composite alarm are evaluated, as pure rules.

Pure functions and constants: no moto, no clock, no simulator. `lambdasim.alarms` evaluates the
account's alarms on the virtual clock with them. Metric math expressions and composite alarm
rules are parsed with the Lark parser library (the grammars below), never by splitting text.

Sources:

- https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/alarm-evaluation.html ("Evaluating
  an alarm", once a section of AlarmThatSendsEmail.html): Period, Evaluation Periods (N) and
  Datapoints to Alarm (M: "M out of N", the breaching points need not be consecutive but must be
  within the last N); "for any period of one minute or longer, an alarm is evaluated every
  minute and the evaluation is based on the window of time defined by the Period and Evaluation
  Periods" (a 5-minute period evaluated at the end of minute 6 reads minutes 2 to 6: the windows
  end at the evaluation); periods of 10, 20 or 30 s are evaluated every 10 s; an alarm whose
  N x Period exceeds a day is evaluated once an hour, on data up to the hour.
- https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/alarms-and-missing-data.html
  ("Configuring how CloudWatch alarms treat missing data"): TreatMissingData notBreaching,
  breaching, ignore (the current state is maintained), missing (the default: INSUFFICIENT_DATA
  only when every point of the evaluation range is missing). The evaluation range is more
  periods than N; with N real points or more the N most recent real points are evaluated and
  missing data is not treated at all; with fewer, all real points are used and the rest filled
  "as few times as possible"; the "premature alarm" rule: with missing points, the alarm goes to
  ALARM when the oldest breaching point within the last N periods is at least M periods old and
  every more recent one is breaching or missing. The page's two tables (M = N = 3 and M = 2,
  N = 3, a range of 5) are the conformance test. Alarms on AWS/DynamoDB metrics always ignore
  missing data.
- https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/percentiles-with-low-samples.html
  (EvaluateLowSampleCountPercentile): a percentile alarm with `ignore` keeps its state while a
  period has fewer than 10/(1-p) samples (p >= 0.5) or 10/p (p < 0.5); `evaluate` (the default,
  API_PutMetricAlarm.html) always evaluates.
- https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_GetMetricStatistics.html:
  percentiles need raw values; from a statistic set only when its SampleCount is 1 or its Min
  equals its Max; none when a value is negative.
- https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutMetricData.html:
  Values and Counts publish each value with the number of times it occurred, "and supports
  retrieving percentile statistics on this data": a `Distribution` counts as that many raw values.
- https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/Statistics-definitions.html:
  "p95 ... means that 95 percent of the data within the period is lower than this value".
- https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/using-metric-math.html: metric
  math (arithmetic + - * / ^ where a missing value counts as 0 and a division by zero drops the
  point; comparisons and AND/&&, OR/|| giving 0 or 1; IF, FILL with a value or REPEAT, SUM, AVG,
  MIN, MAX of a series (a scalar) or of an array (a series), ABS, CEIL, FLOOR, PERIOD,
  TIME_SERIES, METRICS() with an optional Id filter).
- https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutCompositeAlarm.html:
  AlarmRule with ALARM, OK, INSUFFICIENT_DATA of an alarm name or ARN, TRUE, FALSE, AND, OR,
  NOT and parentheses; a composite alarm is INSUFFICIENT_DATA only between its creation and its
  first evaluation.

Modelled where AWS is silent (named below): the evaluation range is N + 2 periods (the pages
show 5 for N = 3 and say only that it is more than N); a period's percentile interpolates
linearly between ranks (numpy's default); the wording of the state reasons is AWS's as seen in
alarms' StateReason (`Threshold Crossed: 1 out of the last 1 datapoints [5.0 (01/01/26
00:04:00)] was greater than or equal to the threshold (1.0) (minimum 1 datapoint for OK ->
ALARM transition).`), its missing-data and composite forms included; the reason data JSON is
StateReasonData's (version, queryDate, startDate, statistic, period, recentDatapoints,
threshold, evaluatedDatapoints); MIN and MAX of an array skip missing values.
"""

from __future__ import annotations

import json
import math
import operator
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import lru_cache
from typing import Any, Final, Union

OK: Final = "OK"
ALARM: Final = "ALARM"
INSUFFICIENT_DATA: Final = "INSUFFICIENT_DATA"
STATES: Final = (OK, ALARM, INSUFFICIENT_DATA)

MISSING: Final = "missing"
IGNORE: Final = "ignore"
BREACHING: Final = "breaching"
NOT_BREACHING: Final = "notBreaching"
TREAT_MISSING_DATA: Final = (MISSING, IGNORE, BREACHING, NOT_BREACHING)

# alarms-and-missing-data.html: "CloudWatch attempts to retrieve a higher number of data points
# than the number specified as Evaluation Periods"; the examples retrieve 5 for 3. How many for
# other N is not documented: modelled as N + 2.
EVALUATION_RANGE_EXTRA_PERIODS: Final = 2

INITIAL_REASON: Final = "Unchecked: Initial alarm creation"  # API_PutMetricAlarm.html: INSUFFICIENT_DATA at creation
DYNAMODB_NAMESPACE: Final = "AWS/DynamoDB"  # always ignores missing data (alarms-and-missing-data.html)

_COMPARISONS: Final[dict[str, tuple[Callable[[float, float], bool], str]]] = {
    "GreaterThanOrEqualToThreshold": (operator.ge, "greater than or equal to"),
    "GreaterThanThreshold": (operator.gt, "greater than"),
    "LessThanThreshold": (operator.lt, "less than"),
    "LessThanOrEqualToThreshold": (operator.le, "less than or equal to"),
}
# LessThanLowerOrGreaterThanUpperThreshold and the other anomaly-band operators need an anomaly
# detection model's band: not modelled.
COMPARISON_OPERATORS: Final = tuple(_COMPARISONS)
STATISTICS: Final = ("SampleCount", "Average", "Sum", "Minimum", "Maximum")


class AlarmConfigurationError(ValueError):
    """An alarm the rules cannot evaluate (an operator, statistic or expression AWS has and the
    simulator does not model, or one AWS would refuse)."""


# ---------------------------------------------------------------------------------------------
# When an alarm is evaluated, and over which periods
# ---------------------------------------------------------------------------------------------


def evaluation_interval_s(period_s: int, evaluation_periods: int) -> int:
    """Seconds between two evaluations of a metric alarm (alarm-evaluation.html): every 10 s for
    a 10, 20 or 30 s period, once an hour when N x Period exceeds a day, else every minute."""
    if period_s < 60:
        return 10
    if period_s * evaluation_periods > 86_400:
        return 3_600
    return 60


def evaluation_range(evaluation_periods: int) -> int:
    """How many periods an evaluation reads (modelled: N + 2, the pages' 5 for N = 3)."""
    return evaluation_periods + EVALUATION_RANGE_EXTRA_PERIODS


def window_starts_us(at_us: int, period_s: int, count: int) -> list[int]:
    """The starts of the `count` periods that end at the evaluation instant, oldest first: the
    windows slide with the evaluation (alarm-evaluation.html's 5-minute example)."""
    period_us = period_s * 1_000_000
    return [at_us - i * period_us for i in range(count, 0, -1)]


# ---------------------------------------------------------------------------------------------
# Statistics of one period
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StatisticSet:
    """A statistic set as PutMetricData's StatisticValues gives it."""

    sample_count: float
    total: float
    minimum: float
    maximum: float


@dataclass(frozen=True)
class Distribution:
    """Values and the number of times each occurred, as PutMetricData's Values and Counts give them."""

    values: tuple[float, ...]
    counts: tuple[float, ...]

    @property
    def statistic_set(self) -> StatisticSet:
        return StatisticSet(sum(self.counts), sum(v * c for v, c in zip(self.values, self.counts)),
                            min(self.values), max(self.values))


def percentile_of(stat: str) -> float | None:
    """0.99 for "p99", 0.999 for "p99.9"; None for a plain statistic. Raises
    AlarmConfigurationError for an extended statistic other than pNN (tm, wm, TC, PR, IQM...:
    not modelled)."""
    if stat in STATISTICS:
        return None
    if stat.startswith("p"):
        try:
            value = float(stat[1:])
        except ValueError:
            value = -1.0
        if 0.0 < value < 100.0:
            return value / 100.0
    raise AlarmConfigurationError(f"the statistic {stat!r} is not modelled (SampleCount, Average, Sum, Minimum, "
                                  "Maximum and percentiles pNN are)")


def period_statistic(stat: str, values: Sequence[float], sets: Sequence[StatisticSet],
                     distributions: Sequence[Distribution] = ()) -> tuple[float | None, float]:
    """(the statistic of one period, its sample count) from raw values, statistic sets and
    Values/Counts distributions; the value is None when the period has no data, or when a
    percentile cannot be computed (API_GetMetricStatistics.html: a statistic set counts only
    with SampleCount 1 or Min = Max; no percentile when a value is negative)."""
    p = percentile_of(stat)
    if p is not None:
        import numpy

        raw = [numpy.asarray(values, dtype=float)]
        for s in sets:
            if s.sample_count == 1 or s.minimum == s.maximum:
                raw.append(numpy.full(int(round(s.sample_count)), s.minimum))
            else:
                return None, len(values) + sum(x.sample_count for x in sets) + sum(
                    sum(d.counts) for d in distributions)
        for d in distributions:
            raw.append(numpy.repeat(numpy.asarray(d.values, dtype=float),
                                    numpy.rint(numpy.asarray(d.counts)).astype(int)))
        samples = numpy.concatenate(raw)
        if samples.size == 0:
            return None, 0.0
        if samples.min() < 0:
            return None, float(samples.size)
        return float(numpy.percentile(samples, p * 100.0)), float(samples.size)
    sets = [*sets, *(d.statistic_set for d in distributions)]
    count = len(values) + sum(s.sample_count for s in sets)
    if count <= 0:
        return None, 0.0
    total = sum(values) + sum(s.total for s in sets)
    if stat == "SampleCount":
        return float(count), count
    if stat == "Sum":
        return float(total), count
    if stat == "Average":
        return float(total / count), count
    lows = list(values) + [s.minimum for s in sets]
    highs = list(values) + [s.maximum for s in sets]
    return float(min(lows) if stat == "Minimum" else max(highs)), count


def low_sample_count(stat: str, sample_count: float) -> bool:
    """True when a percentile period has too few samples to be significant
    (percentiles-with-low-samples.html: fewer than 10/(1-p) for p >= 0.5, 10/p below)."""
    p = percentile_of(stat)
    if p is None:
        return False
    needed = 10.0 / (1.0 - p) if p >= 0.5 else 10.0 / p
    return sample_count < needed


# ---------------------------------------------------------------------------------------------
# Evaluating a metric alarm
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Datapoint:
    """One period of the evaluation range: its start and value (None: missing)."""

    start_us: int
    value: float | None
    sample_count: float | None = None  # None: not known (a metric math result)
    low_sample: bool = False


@dataclass(frozen=True)
class ThresholdRule:
    """What a metric alarm compares: PutMetricAlarm's settings."""

    period_s: int
    evaluation_periods: int
    threshold: float
    comparison: str
    datapoints_to_alarm: int | None = None
    treat_missing_data: str | None = None
    statistic: str | None = None  # the Statistic or ExtendedStatistic; None for a math alarm
    ignore_low_samples: bool = False  # EvaluateLowSampleCountPercentile "ignore"
    always_ignore_missing: bool = False  # an AWS/DynamoDB metric

    def __post_init__(self) -> None:
        if self.comparison not in _COMPARISONS:
            raise AlarmConfigurationError(
                f"ComparisonOperator {self.comparison!r} is not modelled (anomaly detection bands are not); "
                f"one of {', '.join(COMPARISON_OPERATORS)}")
        if self.treat_missing_data not in (None, *TREAT_MISSING_DATA):
            raise AlarmConfigurationError(f"TreatMissingData {self.treat_missing_data!r} is not one of "
                                          f"{', '.join(TREAT_MISSING_DATA)}")
        if not 1 <= self.m <= self.evaluation_periods:
            raise AlarmConfigurationError("DatapointsToAlarm must be between 1 and EvaluationPeriods")

    @property
    def m(self) -> int:
        return self.datapoints_to_alarm or self.evaluation_periods

    @property
    def missing_as(self) -> str:
        return IGNORE if self.always_ignore_missing else (self.treat_missing_data or MISSING)

    def breaches(self, value: float) -> bool:
        return _COMPARISONS[self.comparison][0](value, self.threshold)


@dataclass(frozen=True)
class Evaluation:
    """The outcome of one evaluation: the state (the current one when it is kept), the reason
    and the reason data, as StateReason and StateReasonData carry them."""

    state: str
    reason: str
    reason_data: dict[str, Any] = field(default_factory=dict)
    kept: bool = False  # True: the alarm keeps its state (ignore, low samples)


def evaluate(rule: ThresholdRule, points: Sequence[Datapoint], current_state: str, at_us: int) -> Evaluation:
    """Evaluate a metric alarm at `at_us` from the periods of its evaluation range, oldest first
    (alarms-and-missing-data.html; see the module docstring)."""
    n, m = rule.evaluation_periods, rule.m
    real = [p for p in points if p.value is not None]
    treat = rule.missing_as
    if rule.ignore_low_samples and any(p.low_sample for p in real[-n:]):
        return _kept(current_state, rule, points, at_us)
    if len(real) >= n:
        used = real[-n:]
        breaching = [p for p in used if rule.breaches(p.value)]  # type: ignore[arg-type]
        return _threshold_crossed(rule, used, breaching, 0, None, at_us)
    if not real:
        if treat == MISSING:
            return Evaluation(INSUFFICIENT_DATA, _insufficient_reason(n), _reason_data(rule, [], at_us, points[-n:]))
        if treat == IGNORE:
            return _kept(current_state, rule, points, at_us)
        missing_breach = treat == BREACHING
        state = ALARM if missing_breach else OK
        label = "Breaching" if missing_breach else "NonBreaching"
        reason = (f"Threshold Crossed: no datapoints were received for {_count(n, 'period')} and "
                  f"{_count(n, 'missing datapoint')} {'was' if n == 1 else 'were'} treated as [{label}].")
        return Evaluation(state, reason, _reason_data(rule, [], at_us, points[-n:]))
    filled = n - len(real)
    breaching = [p for p in real if rule.breaches(p.value)]  # type: ignore[arg-type]
    if treat in (BREACHING, NOT_BREACHING):
        extra = filled if treat == BREACHING else 0
        return _threshold_crossed(rule, real, breaching, extra, treat, at_us, filled)
    if _premature_alarm(rule, points):
        if treat == IGNORE:
            return _kept(current_state, rule, points, at_us)
        return _threshold_crossed(rule, real, breaching, 0, None, at_us, forced=True)
    return _threshold_crossed(rule, real, breaching, 0, None, at_us)


def _premature_alarm(rule: ThresholdRule, points: Sequence[Datapoint]) -> bool:
    """alarms-and-missing-data.html, "Avoiding premature transitions": within the last N periods
    the oldest breaching point is at least M periods old and every more recent point is
    breaching or missing. The pages' tables apply it only where every real point of the range
    breaches (`0 - X - -` with M = 2 stays OK)."""
    real = [p for p in points if p.value is not None]
    if not real or not all(rule.breaches(p.value) for p in real):  # type: ignore[arg-type]
        return False
    last_n = list(points[-rule.evaluation_periods:])
    ages = [len(last_n) - i for i, p in enumerate(last_n) if p.value is not None]
    return bool(ages) and max(ages) >= rule.m


def _threshold_crossed(rule: ThresholdRule, used: Sequence[Datapoint], breaching: Sequence[Datapoint],
                       missing_breaching: int, treat: str | None, at_us: int, filled: int = 0,
                       forced: bool = False) -> Evaluation:
    n, m = rule.evaluation_periods, rule.m
    alarm = forced or len(breaching) + missing_breaching >= m
    shown = breaching if alarm else [p for p in used if p not in breaching]
    shown_newest_first = sorted(shown, key=lambda p: p.start_us, reverse=True)
    listed = ", ".join(f"{_number(p.value)} ({_reason_time(p.start_us)})" for p in shown_newest_first)
    wording = _COMPARISONS[rule.comparison][1]
    verb = "was" if len(shown) == 1 else "were"
    minimum = m if alarm else n - m + 1
    transition = "OK -> ALARM" if alarm else "ALARM -> OK"
    reason = (f"Threshold Crossed: {len(shown)} out of the last {n} datapoints [{listed}] {verb} "
              f"{'' if alarm else 'not '}{wording} the threshold ({_number(rule.threshold)})")
    if filled and treat is not None:
        label = "Breaching" if treat == BREACHING else "NonBreaching"
        reason += (f" and {_count(filled, 'missing datapoint')} {'was' if filled == 1 else 'were'} "
                   f"treated as [{label}]")
    reason += f" (minimum {_count(minimum, 'datapoint')} for {transition} transition)."
    return Evaluation(ALARM if alarm else OK, reason, _reason_data(rule, used, at_us, used))


def _kept(current_state: str, rule: ThresholdRule, points: Sequence[Datapoint], at_us: int) -> Evaluation:
    return Evaluation(current_state, "", _reason_data(rule, [p for p in points if p.value is not None], at_us, points),
                      kept=True)


def _insufficient_reason(n: int) -> str:
    return f"Insufficient Data: {_count(n, 'datapoint')} {'was' if n == 1 else 'were'} unknown."


def _reason_data(rule: ThresholdRule, used: Sequence[Datapoint], at_us: int,
                 evaluated: Sequence[Datapoint]) -> dict[str, Any]:
    data: dict[str, Any] = {"version": "1.0", "queryDate": _iso_ms(at_us)}
    if used:
        data["startDate"] = _iso_ms(min(p.start_us for p in used))
    if rule.statistic is not None:
        data["statistic"] = rule.statistic
    data["period"] = rule.period_s
    data["recentDatapoints"] = [p.value for p in sorted(used, key=lambda p: p.start_us)]
    data["threshold"] = float(rule.threshold)
    data["evaluatedDatapoints"] = [_evaluated(p) for p in sorted(evaluated, key=lambda p: p.start_us, reverse=True)]
    return data


def _evaluated(point: Datapoint) -> dict[str, Any]:
    out: dict[str, Any] = {"timestamp": _iso_ms(point.start_us)}
    if point.value is not None:
        if point.sample_count is not None:
            out["sampleCount"] = point.sample_count
        out["value"] = point.value
    return out


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _number(value: float | None) -> str:
    return repr(float(value)) if value is not None else "null"


def _reason_time(us: int) -> str:
    return datetime.fromtimestamp(us / 1e6, tz=timezone.utc).strftime("%d/%m/%y %H:%M:%S")


def iso_ms(us: int) -> str:
    """CloudWatch's timestamps in reasons and notifications: 2026-01-01T00:05:00.000+0000."""
    return _iso_ms(us)


def _iso_ms(us: int) -> str:
    when = datetime.fromtimestamp(us / 1e6, tz=timezone.utc)
    return when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}+0000"


# ---------------------------------------------------------------------------------------------
# Metric math (using-metric-math.html)
# ---------------------------------------------------------------------------------------------

Series = dict[int, float]  # period start (us) -> value; a missing period is absent
Value = Union[float, "SeriesValue", "SeriesArray"]


@dataclass(frozen=True)
class SeriesValue:
    points: Series


@dataclass(frozen=True)
class SeriesArray:
    items: tuple[Series, ...]


_MATH_GRAMMAR = r"""
?start: or_
?or_: and_ | or_ _OR and_ -> or_op
?and_: cmp | and_ _AND cmp -> and_op
?cmp: sum | sum CMP sum -> compare
?sum: product | sum ADD product -> arith
?product: unary | product MUL unary -> arith
?unary: power | "-" unary -> neg
?power: atom | atom POW unary -> arith
?atom: NUMBER -> number
     | ID -> ref
     | STRING -> string
     | UPPER "(" [args] ")" -> call
     | UPPER -> keyword
     | "[" args "]" -> array
     | "(" or_ ")"
args: or_ ("," or_)*
_OR: "OR" | "||"
_AND: "AND" | "&&"
CMP: "==" | "!=" | "<=" | ">=" | "<" | ">"
ADD: "+" | "-"
MUL: "*" | "/"
POW: "^"
ID: /[a-z][A-Za-z0-9_]*/
UPPER: /[A-Z][A-Z0-9_]*/
STRING: /"[^"]*"/ | /\u201c[^\u201d]*\u201d/
%import common.NUMBER
%import common.WS
%ignore WS
"""


@lru_cache(maxsize=1)
def _math_parser() -> Any:
    from lark import Lark

    return Lark(_MATH_GRAMMAR, parser="lalr")


@lru_cache(maxsize=256)
def parse_expression(expression: str) -> Any:
    """The parse tree of a metric math expression (AlarmConfigurationError if it does not parse)."""
    from lark.exceptions import LarkError

    try:
        return _math_parser().parse(expression)
    except LarkError as problem:
        raise AlarmConfigurationError(f"the expression {expression!r} does not parse: {problem}") from None


def expression_references(expression: str) -> set[str]:
    """The Ids an expression names (METRICS() aside)."""
    return {str(token) for token in parse_expression(expression).scan_values(lambda t: getattr(t, "type", "") == "ID")}


@dataclass(frozen=True)
class MathContext:
    """What an expression is evaluated against: each query's series by Id, the Ids of the
    metric (not expression) queries in request order, each metric's period, and the evaluation
    range's period starts (for FILL and TIME_SERIES)."""

    series: Mapping[str, Series]
    metric_ids: tuple[str, ...]
    periods: Mapping[str, int]
    grid: tuple[int, ...]


def evaluate_expression(expression: str, context: MathContext) -> Value:
    """A metric math expression's value: a scalar, a series or an array of series."""
    return _Math(context).visit(parse_expression(expression))


class _Math:
    def __init__(self, context: MathContext):
        self.context = context

    def visit(self, node: Any) -> Value:
        from lark import Token

        if isinstance(node, Token):
            return self._token(node)
        return getattr(self, "_" + node.data)(*node.children)

    def _token(self, token: Any) -> Value:
        if token.type == "NUMBER":
            return float(token)
        if token.type == "ID":
            name = str(token)
            if name not in self.context.series:
                raise AlarmConfigurationError(f"the expression names {name!r}, which is not a query of the alarm")
            return SeriesValue(dict(self.context.series[name]))
        raise AlarmConfigurationError(f"unexpected {token!r} in a metric math expression")

    def _number(self, token: Any) -> Value:
        return float(token)

    def _ref(self, token: Any) -> Value:
        return self._token(token)

    def _string(self, token: Any) -> Value:
        raise AlarmConfigurationError(f"a string ({token}) is only an argument of METRICS()")

    def _keyword(self, token: Any) -> Value:
        raise AlarmConfigurationError(f"{token} is only an argument of FILL()")

    def _array(self, args: Any) -> Value:
        items: list[Series] = []
        for child in args.children:
            value = self.visit(child)
            if isinstance(value, SeriesValue):
                items.append(value.points)
            elif isinstance(value, SeriesArray):
                items.extend(value.items)
            else:
                raise AlarmConfigurationError("an array holds time series, not scalars")
        return SeriesArray(tuple(items))

    def _neg(self, operand: Any) -> Value:
        return _elementwise(self.visit(operand), lambda v: -v)

    def _arith(self, left: Any, op: Any, right: Any) -> Value:
        symbol = str(op)
        fn: Callable[[float, float], float | None] = {
            "+": operator.add, "-": operator.sub, "*": operator.mul,
            "/": lambda a, b: None if b == 0 else a / b,  # a division by zero drops the point
            "^": _power,
        }[symbol]
        return _combine(self.visit(left), self.visit(right), fn)

    def _compare(self, left: Any, op: Any, right: Any) -> Value:
        fn = {"==": operator.eq, "!=": operator.ne, "<=": operator.le, ">=": operator.ge, "<": operator.lt,
              ">": operator.gt}[str(op)]
        return _combine(self.visit(left), self.visit(right), lambda a, b: 1.0 if fn(a, b) else 0.0)

    def _and_op(self, left: Any, right: Any) -> Value:
        return _combine(self.visit(left), self.visit(right), lambda a, b: 1.0 if a and b else 0.0)

    def _or_op(self, left: Any, right: Any) -> Value:
        return _combine(self.visit(left), self.visit(right), lambda a, b: 1.0 if a or b else 0.0)

    def _call(self, name: Any, args: Any = None) -> Value:
        children = list(args.children) if args is not None else []
        function = str(name)
        if function == "METRICS":
            return self._metrics(children)
        if function == "IF":
            return self._if(children)
        if function == "FILL":
            return self._fill(children)
        if function == "PERIOD":
            return self._period(children)
        values = [self.visit(child) for child in children]
        if function in ("ABS", "CEIL", "FLOOR") and len(values) == 1:
            fn = {"ABS": abs, "CEIL": math.ceil, "FLOOR": math.floor}[function]
            return _elementwise(values[0], lambda v: float(fn(v)))
        if function in ("SUM", "AVG", "MIN", "MAX") and len(values) == 1:
            return _aggregate(function, values[0])
        if function == "TIME_SERIES" and len(values) == 1 and isinstance(values[0], float):
            scalar = values[0]
            return SeriesValue({t: scalar for t in self.context.grid})
        raise AlarmConfigurationError(f"{function}() is not modelled, or not with these arguments")

    def _metrics(self, children: list[Any]) -> Value:
        wanted = None
        if children:
            from lark import Tree

            node = children[0]
            if not (isinstance(node, Tree) and node.data == "string"):
                raise AlarmConfigurationError("METRICS() takes nothing or a string")
            wanted = str(node.children[0])[1:-1]
        return SeriesArray(tuple(dict(self.context.series[i]) for i in self.context.metric_ids
                                 if wanted is None or wanted in i))

    def _period(self, children: list[Any]) -> Value:
        from lark import Tree

        if len(children) == 1 and isinstance(children[0], Tree) and children[0].data == "ref":
            name = str(children[0].children[0])
            if name in self.context.periods:
                return float(self.context.periods[name])
        raise AlarmConfigurationError("PERIOD() takes the Id of a metric")

    def _if(self, children: list[Any]) -> Value:
        if len(children) not in (2, 3):
            raise AlarmConfigurationError("IF(condition, trueValue[, falseValue])")
        condition = self.visit(children[0])
        when_true = self.visit(children[1])
        when_false = self.visit(children[2]) if len(children) == 3 else None
        if isinstance(condition, float):
            chosen = when_true if condition else when_false
            return chosen if chosen is not None else SeriesValue({})
        if not isinstance(condition, SeriesValue):
            raise AlarmConfigurationError("IF's condition is a time series or a scalar")
        out: Series = {}
        for t, c in condition.points.items():
            if c:
                if isinstance(when_true, float):
                    out[t] = when_true
                elif isinstance(when_true, SeriesValue):
                    out[t] = when_true.points.get(t, 0.0)  # TRUE with no point in trueValue: 0
            elif isinstance(when_false, float):
                out[t] = when_false
            elif isinstance(when_false, SeriesValue) and t in when_false.points:
                out[t] = when_false.points[t]  # FALSE with no point in falseValue: dropped
        return SeriesValue(out)

    def _fill(self, children: list[Any]) -> Value:
        from lark import Tree

        if len(children) != 2:
            raise AlarmConfigurationError("FILL(series, value | REPEAT)")
        target = self.visit(children[0])
        how = children[1]
        grid = self.context.grid
        if isinstance(how, Tree) and how.data == "keyword" and str(how.children[0]) == "REPEAT":
            def fill(points: Series) -> Series:
                out: Series = {}
                last: float | None = None
                for t in grid:
                    if t in points:
                        last = points[t]
                    if last is not None:
                        out[t] = last
                return out
        elif isinstance(how, Tree) and how.data == "keyword":
            raise AlarmConfigurationError(f"FILL with {how.children[0]} is not modelled (a value or REPEAT are)")
        else:
            filler = self.visit(how)

            def fill(points: Series) -> Series:
                out: Series = {}
                for t in grid:
                    if t in points:
                        out[t] = points[t]
                    elif isinstance(filler, float):
                        out[t] = filler
                    elif isinstance(filler, SeriesValue) and t in filler.points:
                        out[t] = filler.points[t]
                return out
        if isinstance(target, SeriesValue):
            return SeriesValue(fill(target.points))
        if isinstance(target, SeriesArray):
            return SeriesArray(tuple(fill(s) for s in target.items))
        raise AlarmConfigurationError("FILL's first argument is a time series or an array of them")


def _power(a: float, b: float) -> float | None:
    try:
        result = a ** b
    except (OverflowError, ZeroDivisionError):
        return None
    return result if isinstance(result, float | int) else None


def _elementwise(value: Value, fn: Callable[[float], float]) -> Value:
    if isinstance(value, float):
        return fn(value)
    if isinstance(value, SeriesValue):
        return SeriesValue({t: fn(v) for t, v in value.points.items()})
    return SeriesArray(tuple({t: fn(v) for t, v in s.items()} for s in value.items))


def _combine_series(a: Series | float, b: Series | float, fn: Callable[[float, float], float | None]) -> Series:
    # "Missing values in a time series are treated as 0" (using-metric-math.html): the result has
    # a point wherever either series has one.
    stamps = sorted(set(a if isinstance(a, dict) else ()) | set(b if isinstance(b, dict) else ()))
    out: Series = {}
    for t in stamps:
        x = a.get(t, 0.0) if isinstance(a, dict) else a
        y = b.get(t, 0.0) if isinstance(b, dict) else b
        result = fn(x, y)
        if result is not None:
            out[t] = float(result)
    return out


def _combine(left: Value, right: Value, fn: Callable[[float, float], float | None]) -> Value:
    if isinstance(left, float) and isinstance(right, float):
        result = fn(left, right)
        if result is None:
            raise AlarmConfigurationError("a scalar division by zero")
        return float(result)
    if isinstance(left, SeriesArray) or isinstance(right, SeriesArray):
        if isinstance(left, SeriesArray) and isinstance(right, SeriesArray):
            raise AlarmConfigurationError("an operation between two arrays of time series")
        if isinstance(left, SeriesArray):
            other = right.points if isinstance(right, SeriesValue) else right
            return SeriesArray(tuple(_combine_series(s, other, fn) for s in left.items))  # type: ignore[arg-type]
        assert isinstance(right, SeriesArray)
        other = left.points if isinstance(left, SeriesValue) else left
        return SeriesArray(tuple(_combine_series(other, s, fn) for s in right.items))  # type: ignore[arg-type]
    a = left.points if isinstance(left, SeriesValue) else left
    b = right.points if isinstance(right, SeriesValue) else right
    return SeriesValue(_combine_series(a, b, fn))  # type: ignore[arg-type]


def _aggregate(function: str, value: Value) -> Value:
    if isinstance(value, float):
        raise AlarmConfigurationError(f"{function}() takes a time series or an array")
    if isinstance(value, SeriesValue):
        values = list(value.points.values())
        if not values:
            raise AlarmConfigurationError(f"{function}() of an empty time series")
        return float(_reduce(function, values, len(values)))
    stamps = sorted(set().union(*(s.keys() for s in value.items))) if value.items else []
    out: Series = {}
    for t in stamps:
        present = [s[t] for s in value.items if t in s]
        # SUM and AVG count a missing value as 0 (documented for AVG); MIN and MAX skip it (modelled).
        out[t] = float(_reduce(function, present, len(value.items)))
    return SeriesValue(out)


def _reduce(function: str, values: list[float], count: int) -> float:
    if function == "SUM":
        return sum(values)
    if function == "AVG":
        return sum(values) / count
    return min(values) if function == "MIN" else max(values)


# ---------------------------------------------------------------------------------------------
# Composite alarms (API_PutCompositeAlarm.html)
# ---------------------------------------------------------------------------------------------

_RULE_GRAMMAR = r"""
?start: or_
?or_: and_ | or_ "OR" and_ -> any_of
?and_: not_ | and_ "AND" not_ -> all_of
?not_: atom | "NOT" not_ -> negate
?atom: STATE "(" NAME ")" -> state_of
     | "TRUE" -> true
     | "FALSE" -> false
     | "(" or_ ")"
STATE: "ALARM" | "OK" | "INSUFFICIENT_DATA"
NAME: /"[^"]+"/ | /[^\s()"]+/
%import common.WS
%ignore WS
"""


@lru_cache(maxsize=1)
def _rule_parser() -> Any:
    from lark import Lark

    return Lark(_RULE_GRAMMAR, parser="lalr")


@dataclass(frozen=True)
class AlarmRule:
    """A parsed AlarmRule: `holds(states)` says whether it is true given the child alarms'
    states by name; `references` are the (state, alarm name) pairs it names."""

    text: str
    tree: Any
    references: tuple[tuple[str, str], ...]

    def holds(self, states: Mapping[str, str]) -> bool:
        return _rule_holds(self.tree, states)


@lru_cache(maxsize=256)
def parse_rule(text: str) -> AlarmRule:
    """Parse an AlarmRule (AlarmConfigurationError if it does not parse). Alarm ARNs become names."""
    from lark.exceptions import LarkError

    try:
        tree = _rule_parser().parse(text)
    except LarkError as problem:
        raise AlarmConfigurationError(f"the AlarmRule {text!r} does not parse: {problem}") from None
    refs = tuple((str(node.children[0]), alarm_name_of(str(node.children[1])))
                 for node in tree.iter_subtrees_topdown() if node.data == "state_of")
    return AlarmRule(text, tree, refs)


def alarm_name_of(name_or_arn: str) -> str:
    """`my-alarm` for `my-alarm`, `"my-alarm"` or `arn:aws:cloudwatch:...:alarm:my-alarm`."""
    name = name_or_arn.strip('"')
    return name.split(":alarm:", 1)[1] if ":alarm:" in name else name


def _rule_holds(node: Any, states: Mapping[str, str]) -> bool:
    kind = node.data
    if kind == "true":
        return True
    if kind == "false":
        return False
    if kind == "negate":
        return not _rule_holds(node.children[0], states)
    if kind == "all_of":
        return all(_rule_holds(child, states) for child in node.children)
    if kind == "any_of":
        return any(_rule_holds(child, states) for child in node.children)
    wanted, name = str(node.children[0]), alarm_name_of(str(node.children[1]))
    return states.get(name) == wanted


@dataclass(frozen=True)
class ChildState:
    """A child alarm as a composite's reason names it."""

    name: str
    arn: str
    state: str
    updated_us: int


def evaluate_composite(rule: AlarmRule, children: Mapping[str, ChildState]) -> Evaluation:
    """ALARM when the rule holds, else OK (API_PutCompositeAlarm.html). The reason names the
    child that changed last, `<arn> transitioned to <state> at <Weekday DD Month, YYYY HH:MM:SS
    UTC>`; the reason data lists the triggering alarms (modelled: for ALARM the children in
    ALARM, else every child the rule names), as composite alarms' StateReasonData shows them."""
    states = {name: child.state for name, child in children.items()}
    alarm = rule.holds(states)
    named = [children[name] for _, name in dict.fromkeys(rule.references) if name in children]
    in_alarm = [child for child in named if child.state == ALARM]
    triggering = in_alarm if alarm and in_alarm else named
    unique = list({c.name: c for c in triggering}.values())
    latest = max(unique, key=lambda c: c.updated_us, default=None)
    reason = (f"{latest.arn} transitioned to {latest.state} at {_composite_time(latest.updated_us)}"
              if latest is not None else f"The rule is {'true' if alarm else 'false'}")
    data = {"triggeringAlarms": [{"arn": c.arn, "state": {"value": c.state, "timestamp": _iso_ms(c.updated_us)}}
                                 for c in unique]}
    return Evaluation(ALARM if alarm else OK, reason, data)


def _composite_time(us: int) -> str:
    when = datetime.fromtimestamp(us / 1e6, tz=timezone.utc)
    return when.strftime("%A %d %B, %Y %H:%M:%S UTC")


# ---------------------------------------------------------------------------------------------
# What a state change produces: history items and the notification
# ---------------------------------------------------------------------------------------------


def state_history_data(old: tuple[str, str, str], new: tuple[str, str, str]) -> str:
    """DescribeAlarmHistory's HistoryData of a StateUpdate item: the old and the new state, each
    (value, reason, reason data JSON)."""
    def part(state: tuple[str, str, str]) -> dict[str, Any]:
        value, reason, data = state
        out: dict[str, Any] = {"stateValue": value, "stateReason": reason}
        try:
            parsed = json.loads(data) if data else None
        except ValueError:
            parsed = None
        if parsed:
            out["stateReasonData"] = parsed
        return out

    return json.dumps({"version": "1.0", "oldState": part(old), "newState": part(new)}, separators=(",", ":"))


# The Region's name as alarm notifications write it (Region and the Subject's "in ...").
REGION_NAMES: Final = {
    "us-east-1": "US East (N. Virginia)", "us-east-2": "US East (Ohio)", "us-west-1": "US West (N. California)",
    "us-west-2": "US West (Oregon)", "eu-west-1": "EU (Ireland)", "eu-west-2": "EU (London)",
    "eu-west-3": "EU (Paris)", "eu-central-1": "EU (Frankfurt)", "eu-north-1": "EU (Stockholm)",
    "ap-northeast-1": "Asia Pacific (Tokyo)", "ap-northeast-2": "Asia Pacific (Seoul)",
    "ap-southeast-1": "Asia Pacific (Singapore)", "ap-southeast-2": "Asia Pacific (Sydney)",
    "ap-south-1": "Asia Pacific (Mumbai)", "ca-central-1": "Canada (Central)", "sa-east-1": "South America (Sao Paulo)",
}


def notification_subject(state: str, alarm_name: str, region: str) -> str:
    """`ALARM: "name" in US East (N. Virginia)`, at most 100 characters (SNS's Subject limit)."""
    return f'{state}: "{alarm_name}" in {REGION_NAMES.get(region, region)}'[:100]


def notification_trigger(alarm: Mapping[str, Any]) -> dict[str, Any]:
    """The notification's Trigger of a metric alarm, from DescribeAlarms' fields: a single
    metric's name, namespace, statistic (upper case, or ExtendedStatistic's) and lower-case
    dimensions, or a math alarm's Metrics, as AWS's notifications carry them."""
    trigger: dict[str, Any] = {}
    if alarm.get("Metrics"):
        trigger["Metrics"] = [_notification_query(q) for q in alarm["Metrics"]]
    else:
        extended = alarm.get("ExtendedStatistic")
        trigger.update({
            "MetricName": alarm.get("MetricName"),
            "Namespace": alarm.get("Namespace"),
            "StatisticType": "ExtendedStatistic" if extended else "Statistic",
            "Statistic": extended if extended else str(alarm.get("Statistic") or "").upper(),
            "Unit": alarm.get("Unit"),
            "Dimensions": [{"value": d["Value"], "name": d["Name"]} for d in alarm.get("Dimensions") or []],
            "Period": alarm.get("Period"),
        })
    trigger.update({
        "EvaluationPeriods": alarm.get("EvaluationPeriods"),
        "DatapointsToAlarm": alarm.get("DatapointsToAlarm") or alarm.get("EvaluationPeriods"),
        "ComparisonOperator": alarm.get("ComparisonOperator"),
        "Threshold": float(alarm.get("Threshold") or 0.0),
        "TreatMissingData": alarm.get("TreatMissingData") or MISSING,
        "EvaluateLowSampleCountPercentile": alarm.get("EvaluateLowSampleCountPercentile") or "",
    })
    return trigger


def _notification_query(query: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if query.get("Expression"):
        out["Expression"] = query["Expression"]
    out["Id"] = query.get("Id")
    if query.get("Label"):
        out["Label"] = query["Label"]
    stat = query.get("MetricStat")
    if stat:
        metric = stat.get("Metric", {})
        out["MetricStat"] = {
            "Metric": {"Dimensions": [{"value": d["Value"], "name": d["Name"]} for d in metric.get("Dimensions") or []],
                       "MetricName": metric.get("MetricName"), "Namespace": metric.get("Namespace")},
            "Period": stat.get("Period"), "Stat": stat.get("Stat")}
    out["ReturnData"] = bool(query.get("ReturnData", True))
    return out


def notification_message(alarm: Mapping[str, Any], account_id: str, region: str, new: tuple[str, str],
                         old_state: str, changed_us: int) -> dict[str, Any]:
    """The JSON an alarm publishes to its SNS topics on a transition (new = (state, reason)).
    AWS documents no schema; the fields and their order are those of AWS's own sample payloads
    (github.com/aws/aws-lambda-go events/testdata/cloudwatch-alarm-sns-payload-*.json) and of
    notifications received from AWS: AlarmName, AlarmDescription, AWSAccountId,
    AlarmConfigurationUpdatedTimestamp, NewStateValue, NewStateReason, StateChangeTime, Region,
    AlarmArn, OldStateValue, the three action lists, and the Trigger (metric alarms) or
    AlarmRule (composite alarms)."""
    updated = alarm.get("AlarmConfigurationUpdatedTimestamp")
    message: dict[str, Any] = {
        "AlarmName": alarm["AlarmName"],
        "AlarmDescription": alarm.get("AlarmDescription"),
        "AWSAccountId": account_id,
        "AlarmConfigurationUpdatedTimestamp": iso_ms(int(updated.timestamp() * 1e6)) if updated else None,
        "NewStateValue": new[0],
        "NewStateReason": new[1],
        "StateChangeTime": iso_ms(changed_us),
        "Region": REGION_NAMES.get(region, region),
        "AlarmArn": alarm["AlarmArn"],
        "OldStateValue": old_state,
        "OKActions": list(alarm.get("OKActions") or []),
        "AlarmActions": list(alarm.get("AlarmActions") or []),
        "InsufficientDataActions": list(alarm.get("InsufficientDataActions") or []),
    }
    if alarm.get("AlarmRule"):
        message["AlarmRule"] = alarm["AlarmRule"]
    else:
        message["Trigger"] = notification_trigger(alarm)
    return message


def actions_for(state: str, alarm: Mapping[str, Any]) -> list[str]:
    """The actions of the state an alarm went into."""
    key = {ALARM: "AlarmActions", OK: "OKActions", INSUFFICIENT_DATA: "InsufficientDataActions"}[state]
    return list(alarm.get(key) or [])


def iter_metric_ids(queries: Iterable[Mapping[str, Any]]) -> tuple[str, ...]:
    """The Ids of a math alarm's metric (MetricStat) queries, in order."""
    return tuple(str(q["Id"]) for q in queries if q.get("MetricStat"))
