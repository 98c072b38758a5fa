"""Event source mappings played by the simulator: Lambda's pollers.

On AWS, an event source mapping is a set of pollers that Lambda runs for you: they read the
source, build batches and invoke the function synchronously. moto stores the mappings but polls
nothing (its own synchronous hooks are off, see `_moto_patches`). `PollerManager` plays the
pollers of every SQS mapping on the virtual clock (`lambdasim.pollers.sqs`).

Mappings are read through the public API (`lambda:ListEventSourceMappings`), so creating,
updating, disabling and deleting them with boto3 or CloudFormation works as on AWS. The
manager re-reads them when one changes: `_moto_patches` tells it after every
create/update/delete, and the re-read runs at that virtual instant. (Re-reading every virtual
second instead costs ~0.6 ms of real time per virtual second, 2 s per simulated hour, for
nothing while the mappings do not change.)

Kinesis and DynamoDB Streams mappings get a `StreamPoller` each (`lambdasim.pollers.streams`);
a write to a stream wakes its pollers (`moto_state.set_stream_listener`). EventBridge Pipes run
on the same pollers (`lambdasim.pollers.pipes`), which the manager wakes as it wakes its own
(`host`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .. import moto_state
from ..clock import ScheduledCall
from .pipes import PipeExecution, PipeRunner, RunningPipe
from .sqs import Batch, PollerStats, SqsPoller, _after_ms
from .streams import Discard, StreamBatch, StreamPoller, StreamPollerStats

if TYPE_CHECKING:
    from ..simulator import Simulator

__all__ = ["Batch", "Discard", "PipeExecution", "PipeRunner", "PollerManager", "PollerStats", "RunningPipe",
           "SqsPoller", "StreamBatch", "StreamPoller", "StreamPollerStats"]


class PollerManager:
    """Creates, reconfigures and stops one poller per event source mapping (`SqsPoller` for SQS,
    `StreamPoller` for Kinesis and DynamoDB Streams)."""

    def __init__(self, sim: Simulator):
        self._sim = sim
        self.pollers: dict[str, Any] = {}  # by mapping UUID, deleted ones included
        self.hosted: dict[str, Any] = {}  # pollers other parts run (a pipe's source), by their key
        self._by_queue: dict[str, list[SqsPoller]] = {}
        self._by_stream: dict[str, list[StreamPoller]] = {}
        self._discovery: ScheduledCall | None = None

    def start(self) -> None:
        moto_state.set_poller_listeners(self._mappings_changed, self._message_added)
        moto_state.set_stream_listener(self._records_added)

    def stop(self) -> None:
        moto_state.set_poller_listeners(None, None)
        moto_state.set_stream_listener(None)
        if self._discovery is not None:
            self._discovery.cancel()
            self._discovery = None

    def current(self) -> dict[str, Any]:
        """The pollers, after applying any mapping change not yet read (so a mapping created a
        moment ago already has its poller; it polls when the clock moves)."""
        if self._discovery is not None:
            self._discovery.cancel()
            self._discover()
        return self.pollers

    # -- listeners (called from inside moto) -----------------------------------------------------
    def _mappings_changed(self) -> None:
        if self._discovery is None:
            # At the caller's time: a handler's own time if handler code changed the mapping.
            self._discovery = self._sim._scheduler.call_at(self._sim._clock.micros, self._discover)

    def _message_added(self, queue_arn: str, visible_from_ms: float) -> None:
        pollers = self._by_queue.get(queue_arn)
        if pollers:
            # Not before the send itself: handler code sends at its invocation's own time.
            at_us = max(self._sim._clock.micros, _after_ms(visible_from_ms))
            for poller in pollers:
                poller.message_added(at_us)

    def _records_added(self, stream_arn: str) -> None:
        for poller in self._by_stream.get(stream_arn, ()):
            poller.records_added()

    # -- discovery ---------------------------------------------------------------------------------
    def _discover(self) -> None:
        self._discovery = None
        seen: set[str] = set()
        for config in self._list_mappings():
            arn = config.get("EventSourceArn", "")
            service = arn.split(":")[2:3]
            if service not in (["sqs"], ["kinesis"], ["dynamodb"]):
                continue
            uuid = config["UUID"]
            seen.add(uuid)
            poller = self.pollers.get(uuid)
            if poller is None or poller.state == "Deleted":
                poller = SqsPoller(self._sim, uuid) if service == ["sqs"] else StreamPoller(self._sim, uuid, service[0])
                self.pollers[uuid] = poller
            poller.configure(config)
        for uuid, poller in self.pollers.items():
            if uuid not in seen and poller.state != "Deleted":
                poller.delete()
        self._index()

    def host(self, key: str, poller: Any) -> None:
        """Wake `poller` (configured) like a mapping's when its queue or stream is written."""
        self.hosted[key] = poller
        self._index()

    def unhost(self, key: str) -> None:
        self.hosted.pop(key, None)
        self._index()

    def _index(self) -> None:
        self._by_queue = {}
        self._by_stream = {}
        for poller in (*self.pollers.values(), *self.hosted.values()):
            if poller.state == "Deleted":
                continue
            if isinstance(poller, SqsPoller):
                self._by_queue.setdefault(poller.queue_arn, []).append(poller)
            else:
                self._by_stream.setdefault(poller.stream_arn, []).append(poller)

    def _list_mappings(self) -> list[dict[str, Any]]:
        lam = self._sim.client("lambda")
        mappings: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {}
        while True:
            page = lam.list_event_source_mappings(**kwargs)
            mappings.extend(page.get("EventSourceMappings", []))
            marker = page.get("NextMarker")
            if not marker:
                return mappings
            kwargs["Marker"] = marker
