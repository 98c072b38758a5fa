"""Guards for graded tests that check an absence.

"No order shipped twice" is true when nothing shipped. A test that checks an absence first
calls ``require_work`` with how much of the work was done; a submission that did too little of
it fails the test with that reason, so that doing nothing earns nothing.
"""

from __future__ import annotations


class NothingDone(AssertionError):
    """The submission did too little of the work for an absence to mean anything."""


def require_work(done: int, expected: int, what: str, share: float = 0.8) -> None:
    """Fail unless ``done`` is at least ``share`` of ``expected`` (and at least one)."""
    if expected <= 0:
        raise ValueError("require_work needs the amount of work expected (> 0)")
    if done < max(1, share * expected):
        raise NothingDone(
            f"no points for what did not happen when the work was not done: {done} of "
            f"{expected} {what} (at least {share:.0%} needed)")
