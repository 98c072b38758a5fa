"""The virtual clock and the discrete-event scheduler.

Time in a simulation moves only when the simulator moves it. The clock holds the current virtual
time as integer microseconds since the Unix epoch (integers keep sums exact, so a seed replays to
the same digits) and shows it to every piece of code in the process through freezegun:
`time.time()`, `datetime.now()`, moto's visibility timeouts and the handler's own clock all read
it.

The scheduler is a heap of `(time, sequence number, call)`: calls due at the same virtual time
run in the order they were scheduled. While a call runs, the scheduler's time is the call's time;
code running inside a Lambda invocation may see a later time (the invocation's own progress, see
`runtime.InvocationFrame`), and the scheduler takes no notice of it.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from freezegun import freeze_time

from .errors import SimulatorError

MICROS_PER_SECOND = 1_000_000
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def to_micros(value: datetime) -> int:
    """An aware (or naive UTC) datetime as integer microseconds since the epoch."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    delta = value - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * MICROS_PER_SECOND + delta.microseconds


def from_micros(us: int) -> datetime:
    """Integer microseconds since the epoch as an aware UTC datetime."""
    return _EPOCH + timedelta(microseconds=us)


def seconds_to_micros(seconds: float | timedelta) -> int:
    """A duration in seconds (or a timedelta) as integer microseconds, rounded to the nearest."""
    if isinstance(seconds, timedelta):
        return (seconds.days * 86_400 + seconds.seconds) * MICROS_PER_SECOND + seconds.microseconds
    return round(seconds * MICROS_PER_SECOND)


class VirtualClock:
    """The simulation's current time, shown to the whole process through freezegun."""

    def __init__(self, start: datetime):
        self._us = to_micros(start)
        self._freezer: Any = None
        self._factory: Any = None

    @property
    def micros(self) -> int:
        """Current virtual time, integer microseconds since the Unix epoch."""
        return self._us

    @property
    def now(self) -> datetime:
        """Current virtual time as an aware UTC datetime."""
        return from_micros(self._us)

    def set(self, us: int) -> None:
        """Show `us` to the process. It may go back: an invocation's time returns to its start."""
        if us == self._us:
            return
        self._us = us
        if self._factory is not None:
            self._factory.move_to(from_micros(us).replace(tzinfo=None))

    def freeze(self) -> None:
        """Start showing virtual time to the process (freezegun)."""
        # real_asyncio: asyncio event loops (Jupyter's kernel) keep real monotonic time, or
        # their timers would never fire while a simulation is open in a notebook.
        # Starting, freezegun reads every attribute of every loaded module; Powertools' parser
        # models import their submodules lazily on that read and would build pydantic models
        # against the fake datetime: it is left out (it reads no clock).
        self._freezer = freeze_time(self.now.replace(tzinfo=None), real_asyncio=True,
                                    ignore=["aws_lambda_powertools.utilities.parser.models"])
        self._factory = self._freezer.start()
        _teach_pydantic_fake_datetimes()

    def unfreeze(self) -> None:
        """Give the process its real clock back."""
        if self._freezer is not None:
            self._freezer.stop()
        self._freezer = None
        self._factory = None


@dataclass(eq=False)
class ScheduledCall:
    """A callback due at a virtual time. `cancel()` stops it from running."""

    at_us: int
    seq: int
    callback: Callable[..., Any]
    args: tuple[Any, ...] = ()
    daemon: bool = False
    cancelled: bool = field(default=False, init=False)
    _scheduler: Scheduler | None = field(default=None, repr=False)

    @property
    def at(self) -> datetime:
        """When the call is due."""
        return from_micros(self.at_us)

    def cancel(self) -> None:
        """Do not run this call. Cancelling twice, or after it ran, does nothing."""
        if not self.cancelled and self._scheduler is not None:
            self._scheduler._cancelled(self)
        self.cancelled = True


class Scheduler:
    """A discrete-event scheduler on a `VirtualClock`.

    A *daemon* call (like a daemon thread) does not keep the simulation busy:
    `run_until_idle` stops when only daemon calls are left. Pollers that check for work forever
    should schedule themselves as daemons and schedule real work as ordinary calls.
    """

    def __init__(self, clock: VirtualClock):
        self.clock = clock
        self._now = clock.micros
        self._heap: list[tuple[int, int, ScheduledCall]] = []
        self._seq = 0
        self._live = 0  # scheduled, not cancelled, not run, not daemon
        self.dispatching = False

    @property
    def now_us(self) -> int:
        """The scheduler's time: the time of the call running now, or where the last run stopped."""
        return self._now

    def call_at(
        self, at_us: int, callback: Callable[..., Any], *args: Any, daemon: bool = False
    ) -> ScheduledCall:
        """Run `callback(*args)` at virtual time `at_us` (never earlier than now)."""
        self._seq += 1
        call = ScheduledCall(max(at_us, self._now), self._seq, callback, args, daemon)
        call._scheduler = self
        heapq.heappush(self._heap, (call.at_us, call.seq, call))
        if not daemon:
            self._live += 1
        return call

    def _cancelled(self, call: ScheduledCall) -> None:
        if not call.daemon and call._scheduler is self:
            self._live -= 1
        call._scheduler = None

    def pending(self, *, include_daemon: bool = False) -> int:
        """How many calls are waiting (by default, only those that keep the simulation busy)."""
        if include_daemon:
            return sum(1 for _, _, c in self._heap if not c.cancelled)
        return self._live

    def next_due_us(self) -> int | None:
        """When the next call is due, or None."""
        self._drop_cancelled()
        return self._heap[0][0] if self._heap else None

    def _drop_cancelled(self) -> None:
        while self._heap and self._heap[0][2].cancelled:
            heapq.heappop(self._heap)

    def run_until(self, end_us: int) -> int:
        """Run every call due at or before `end_us`, in order; stop with the clock at `end_us`.

        Returns how many calls ran. A call that raises stops the run and the error propagates:
        a broken simulator callback must not pass silently.
        """
        if self.dispatching:
            raise SimulatorError(
                "the simulation cannot be advanced from inside a scheduled call; schedule "
                "another call instead"
            )
        ran = 0
        try:
            while self._heap and self._heap[0][0] <= end_us:
                _, _, call = heapq.heappop(self._heap)
                if call.cancelled:
                    continue
                if not call.daemon:
                    self._live -= 1
                call._scheduler = None
                self._now = max(self._now, call.at_us)
                self.clock.set(self._now)
                self.dispatching = True
                try:
                    call.callback(*call.args)
                finally:
                    self.dispatching = False
                    self.clock.set(self._now)
                ran += 1
            self._now = max(self._now, end_us)
        finally:
            self.clock.set(self._now)
        return ran

    def run_until_idle(self, max_us: int) -> bool:
        """Run until no non-daemon call is left, for at most `max_us` of virtual time.

        Returns True if the simulation went idle, False if the time limit came first (the
        clock then stands at the limit).
        """
        deadline = self._now + max_us
        while self._live > 0:
            nxt = self.next_due_us()
            if nxt is None:  # pragma: no cover - _live counts only heap entries
                break
            if nxt > deadline:
                self.run_until(deadline)
                return False
            self.run_until(nxt)
        return True


def _teach_pydantic_fake_datetimes() -> None:
    """Let pydantic v2 build models that are first imported while the clock is frozen.

    freezegun swaps `datetime.datetime` and `datetime.date` for subclasses; a module imported
    during the simulation (a handler importing Powertools' parser models at init) annotates its
    fields with those, and pydantic, which knows the real classes only, refuses to build the
    model. Validating them as the real types is what the handler's code means.
    """
    try:
        from pydantic_core import core_schema
    except ImportError:  # pragma: no cover - pydantic is optional for the simulator
        return
    from freezegun.api import FakeDate, FakeDatetime

    FakeDatetime.__get_pydantic_core_schema__ = classmethod(  # type: ignore[attr-defined]
        lambda cls, source, handler: core_schema.datetime_schema())
    FakeDate.__get_pydantic_core_schema__ = classmethod(  # type: ignore[attr-defined]
        lambda cls, source, handler: core_schema.date_schema())
