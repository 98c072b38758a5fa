"""Kinesis Data Streams for DynamoDB, played on the virtual clock (`sim.dynamodb_kinesis`).

moto has no streaming destination API. Here boto3's dynamodb client's
EnableKinesisStreamingDestination, DescribeKinesisStreamingDestination and
DisableKinesisStreamingDestination are answered (`_moto_patches.dynamodb_kinesis`): a destination
is ENABLING, then ACTIVE after `model.status_delay_s`; while it is ACTIVE each change to an item
of the table becomes a JSON record (`rules.dynamodb_kinesis.change_record`) written to the
Kinesis data stream after a seeded delay, so two records of an item can land in either order and
a record can be written twice (`model.duplicate_rate`), as kds.html warns. A reader rebuilds the
order and drops duplicates with ApproximateCreationDateTime. Disable: DISABLING, then DISABLED;
nothing more is written.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from random import Random
from typing import Any

from . import moto_state
from .clock import Scheduler, seconds_to_micros
from .rules import dynamodb_kinesis as rules


class StreamingRefused(Exception):
    """An API call refused with AWS's error code (the adapter answers it as HTTP 400)."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code, self.message = code, message


@dataclass
class Destination:
    """One table's streaming destination."""

    account: str
    region: str
    table: str
    stream_arn: str
    precision: rules.Precision
    status: str = rules.ENABLING

    def describe(self) -> dict[str, Any]:
        return {"StreamArn": self.stream_arn, "DestinationStatus": self.status,
                "ApproximateCreationDateTimePrecision": self.precision}


@dataclass(frozen=True)
class ChangeRecord:
    """One record written to a Kinesis stream (`duplicate`: a second copy of an earlier one)."""

    written_at_us: int
    stream_arn: str
    partition_key: str
    document: dict[str, Any] = field(repr=False)
    duplicate: bool = False


class KinesisStreamingDestinations:
    """The tables' destinations and the records written (see the module docstring)."""

    def __init__(self, scheduler: Scheduler, clock_us: Callable[[], int], rng: Random):
        self._scheduler = scheduler
        self._clock_us = clock_us
        self._rng = rng
        self.model = rules.KdsModel()
        self.destinations: list[Destination] = []  # every one, DISABLED included, oldest first
        self.records: list[ChangeRecord] = []

    def stop(self) -> None:
        for destination in self.destinations:
            moto_state.watch_items(destination.account, destination.region, destination.table, None)

    # -- the API -------------------------------------------------------------------------------

    def enable(self, account: str, region: str, table_name: str, stream_arn: str,
               precision: str = rules.DEFAULT_PRECISION) -> dict[str, Any]:
        table = moto_state.table_hash_key(account, region, table_name)
        arn_parts = stream_arn.split(":")
        same_place = len(arn_parts) >= 6 and arn_parts[3] == region and arn_parts[4] == account
        current = self._current(account, region, table[0]) if table else None
        problem = rules.enable_problem(
            table_found=table is not None, precision=precision, same_account_and_region=same_place,
            stream_found=same_place and moto_state.kinesis_stream_exists(account, region, stream_arn),
            current=(current.stream_arn, current.status) if current else None,
            stream_arn=stream_arn, table_name=table_name)
        if problem or table is None:
            raise StreamingRefused(*(problem or (rules.RESOURCE_NOT_FOUND, table_name)))
        destination = Destination(account, region, table[0], stream_arn, precision)  # type: ignore[arg-type]
        self.destinations.append(destination)
        self._after_delay(destination, rules.ACTIVE)
        return {"TableName": table[0], "StreamArn": stream_arn, "DestinationStatus": rules.ENABLING,
                "EnableKinesisStreamingConfiguration": {"ApproximateCreationDateTimePrecision": precision}}

    def disable(self, account: str, region: str, table_name: str, stream_arn: str) -> dict[str, Any]:
        table = moto_state.table_hash_key(account, region, table_name)
        current = self._current(account, region, table[0]) if table else None
        problem = rules.disable_problem(table_found=table is not None,
                                        current=(current.stream_arn, current.status) if current else None,
                                        stream_arn=stream_arn, table_name=table_name)
        if problem or current is None:
            raise StreamingRefused(*(problem or (rules.RESOURCE_NOT_FOUND, table_name)))
        current.status = rules.DISABLING
        moto_state.watch_items(account, region, current.table, None)
        self._after_delay(current, rules.DISABLED)
        return {"TableName": current.table, "StreamArn": stream_arn, "DestinationStatus": rules.DISABLING}

    def describe(self, account: str, region: str, table_name: str) -> dict[str, Any]:
        table = moto_state.table_hash_key(account, region, table_name)
        if table is None:
            raise StreamingRefused(rules.RESOURCE_NOT_FOUND,
                                   f"Requested resource not found: Table: {table_name} not found")
        return {"TableName": table[0], "KinesisDataStreamDestinations": [
            d.describe() for d in self.destinations if (d.account, d.region, d.table) == (account, region, table[0])]}

    # -- replication ---------------------------------------------------------------------------

    def _current(self, account: str, region: str, table: str) -> Destination | None:
        """The table's destination that is not DISABLED (a table streams to one)."""
        return next((d for d in self.destinations if (d.account, d.region, d.table) == (account, region, table)
                     and d.status != rules.DISABLED), None)

    def _after_delay(self, destination: Destination, status: str) -> None:
        def settle() -> None:
            destination.status = status
            if status == rules.ACTIVE:
                moto_state.watch_items(destination.account, destination.region, destination.table,
                                       lambda key, old, new, by_ttl: self._changed(destination, key, old, new, by_ttl))

        self._scheduler.call_at(self._clock_us() + seconds_to_micros(self.model.status_delay_s), settle)

    def _changed(self, destination: Destination, key: dict[str, Any], old: dict[str, Any] | None,
                 new: dict[str, Any] | None, by_ttl: bool) -> None:
        if old == new:
            return  # nothing changed: no record
        now_us = self._clock_us()
        table = moto_state.table_hash_key(destination.account, destination.region, destination.table)
        if table is None:
            return
        document = rules.change_record(
            event_id=str(uuid.UUID(int=self._rng.getrandbits(128), version=4)), region=destination.region,
            table_name=destination.table, key=key, old=old, new=new, at_us=now_us,
            precision=destination.precision, by_ttl=by_ttl)
        partition_key = rules.partition_key(key, table[1])
        self._write_later(destination, partition_key, document, duplicate=False)
        if self._rng.random() < self.model.duplicate_rate:
            self._write_later(destination, partition_key, document, duplicate=True)

    def _write_later(self, destination: Destination, partition_key: str, document: dict[str, Any],
                     *, duplicate: bool) -> None:
        low, high = self.model.delay_s
        at_us = self._clock_us() + seconds_to_micros(self._rng.uniform(low, high))
        data = json.dumps(document, separators=(",", ":")).encode()

        def write() -> None:
            if moto_state.put_kinesis_record(destination.account, destination.region, destination.stream_arn,
                                             partition_key, data):
                self.records.append(ChangeRecord(self._clock_us(), destination.stream_arn, partition_key,
                                                 document, duplicate))

        self._scheduler.call_at(at_us, write)
