"""Kinesis: the throughput ceilings moto does not enforce.

moto's Kinesis backend accepts every PutRecord, PutRecords and GetRecords call, however fast. The
replacements ask the simulator's `kinesis_throughput.KinesisThroughput` first (set by
`set_kinesis_throughput`; None while no simulation runs, and then moto is unchanged):

- `put_record`: the record's shard is the one moto's own routing picks (MD5 of the partition
  key, or the ExplicitHashKey); refused, the call raises ProvisionedThroughputExceededException
  (HTTP 400) and nothing is written.
- `put_records`: after moto's own request checks (500 records, 5 MiB, 1 MiB per record), each
  record in order is admitted or refused; the refused ones never reach moto and answer
  `ErrorCode`/`ErrorMessage` in their place, counted in `FailedRecordCount`
  (API_PutRecords.html); the others are written as moto writes them.
- `get_records`: the shard named by the iterator is asked before moto reads; refused, the call
  raises ProvisionedThroughputExceededException; admitted, the bytes it returned are counted.

Speed, with the same answers: moto's `Shard.get_records` walks the shard from its first record
on every read, and `Shard.get_max_sequence_number` (each put asks it) copies every sequence
number into a list, so a stream's reads and writes got slower as it filled (through boto3, with
20,000 records in the shard, reading the newest one cost 1.79 ms of CPU and a put 1.19 ms; with
1,000, 0.90 and 0.80 ms; now 0.7-0.8 ms either way). Every key moto gives a shard's record is
the last one plus 1, from 1 (`Shard.put_record` is the only writer), so the records after a
sequence number are found by key (`_read`), and the last key is the dict's last.
"""

from __future__ import annotations

from base64 import b64decode
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..rules import kinesis as rules
from ._patching import Patch

if TYPE_CHECKING:
    from ..kinesis_throughput import KinesisThroughput

_throughput: KinesisThroughput | None = None

_MAX_RECORDS_PER_REQUEST = 500  # moto's own PutRecords checks, run before any record is judged
_MAX_REQUEST_BYTES = 5 * rules.MIB
_MAX_RECORD_BYTES = rules.MIB


def set_kinesis_throughput(throughput: KinesisThroughput | None) -> None:
    """The simulator's ceilings (None: moto's behaviour, every call accepted)."""
    global _throughput
    _throughput = throughput


def _throughput_exceeded(message: str) -> Exception:
    from moto.core.exceptions import JsonRESTError

    return JsonRESTError(rules.THROUGHPUT_EXCEEDED_CODE, message)


def _size(record_data: str, partition_key: str) -> int:
    return rules.record_size(len(b64decode(record_data or "")), partition_key or "")


def _write(backend: Any, stream: Any, operation: str, partition_key: str, explicit_hash_key: str | None,
           data: str) -> str | None:
    """None if the record is accepted (and counted), else the refusal's message."""
    assert _throughput is not None
    shard = stream.get_shard_for_key(partition_key, explicit_hash_key)
    if shard is None:
        return None  # moto's own call answers a key no shard covers
    return _throughput.write(operation=operation, stream_arn=stream.arn, stream_name=stream.stream_name,
                             account_id=backend.account_id, shard_id=shard.shard_id,
                             stream_mode=(stream.stream_mode or {}).get("StreamMode"),
                             size=_size(data, partition_key))


def _wrap_put_record(original: Callable[..., Any]) -> Callable[..., Any]:
    def put_record(self: Any, stream_arn: str, stream_name: str, partition_key: str, explicit_hash_key: str,
                   data: str) -> Any:
        if _throughput is not None:
            stream = self.describe_stream(stream_arn=stream_arn, stream_name=stream_name)
            refusal = _write(self, stream, "PutRecord", partition_key, explicit_hash_key, data)
            if refusal is not None:
                raise _throughput_exceeded(refusal)
        return original(self, stream_arn, stream_name, partition_key, explicit_hash_key, data)

    put_record.__wrapped__ = original  # type: ignore[attr-defined]
    return put_record


def _request_checks_pass(records: list[dict[str, Any]]) -> bool:
    sizes = [_size(r.get("Data", ""), r.get("PartitionKey", "")) for r in records]
    return (len(records) <= _MAX_RECORDS_PER_REQUEST and sum(sizes) <= _MAX_REQUEST_BYTES
            and all(size <= _MAX_RECORD_BYTES for size in sizes))


def _wrap_put_records(original: Callable[..., Any]) -> Callable[..., Any]:
    def put_records(self: Any, stream_arn: str, stream_name: str, records: list[dict[str, Any]]) -> Any:
        if _throughput is None or not _request_checks_pass(records):
            return original(self, stream_arn, stream_name, records)  # moto answers its own errors
        stream = self.describe_stream(stream_arn=stream_arn, stream_name=stream_name)
        refusals = [_write(self, stream, "PutRecords", r.get("PartitionKey"), r.get("ExplicitHashKey"),
                           r.get("Data", "")) for r in records]
        accepted = [r for r, refusal in zip(records, refusals) if refusal is None]
        written = iter(original(self, stream_arn, stream_name, accepted)["Records"] if accepted else [])
        results = [next(written) if refusal is None
                   else {"ErrorCode": rules.THROUGHPUT_EXCEEDED_CODE, "ErrorMessage": refusal}
                   for refusal in refusals]
        return {"FailedRecordCount": len(records) - len(accepted), "Records": results}

    put_records.__wrapped__ = original  # type: ignore[attr-defined]
    return put_records


def _wrap_get_records(original: Callable[..., Any]) -> Callable[..., Any]:
    def get_records(self: Any, stream_arn: str | None, shard_iterator: str, limit: int | None) -> Any:
        if _throughput is None:
            return original(self, stream_arn, shard_iterator, limit)
        from moto.kinesis.utils import decompose_shard_iterator

        try:
            stream_name, shard_id, after = decompose_shard_iterator(shard_iterator)
            stream = self.describe_stream(stream_arn=stream_arn, stream_name=stream_name)
        except Exception:  # a malformed iterator or a missing stream: moto's own call answers it
            return original(self, stream_arn, shard_iterator, limit)
        refusal = _throughput.read(stream_arn=stream.arn, stream_name=stream.stream_name,
                                   account_id=self.account_id, shard_id=shard_id)
        if refusal is not None:
            raise _throughput_exceeded(refusal)
        answer = _read(stream_name, stream.get_shard(shard_id), after, limit) \
            or original(self, stream_arn, shard_iterator, limit)
        _throughput.returned(stream_arn=stream.arn, shard_id=shard_id,
                             size=sum(_size(record.data, record.partition_key) for record in answer[1]))
        return answer

    get_records.__wrapped__ = original  # type: ignore[attr-defined]
    return get_records


def _read(stream_name: str, shard: Any, after: str, limit: int | None) -> tuple[str, list[Any], int] | None:
    """What moto's `KinesisBackend.get_records` answers for a read after sequence number
    `after` (next iterator, records, MillisBehindLatest), found by key; None where the shard's
    keys are not 1 to its record count, or for a limit below 1 (moto's own walk answers)."""
    from moto.kinesis.utils import compose_shard_iterator

    records = shard.records
    count = len(records)
    if (limit is not None and limit < 1) or (count and (next(iter(records)) != 1 or next(reversed(records)) != count)):
        return None
    first = max(int(after), 0) + 1
    last = count if limit is None else min(count, first + limit - 1)
    found = [records[key] for key in range(first, last + 1)]
    # moto: the newest record's arrival minus the last returned record's, in whole milliseconds.
    behind = int((records[count].created_at - found[-1].created_at) * 1000) if found else 0
    return compose_shard_iterator(stream_name, shard, last if found else int(after)), found, behind


def _last_key(self: Any) -> int:
    """Shard.get_max_sequence_number: its newest record's key (0 for none), without listing them all."""
    return next(reversed(self.records)) if self.records else 0


def patches() -> list[Patch]:
    """The patches of this module, applied on start and removed on stop."""
    from moto.kinesis.models import KinesisBackend, Shard

    return [
        Patch(KinesisBackend, "put_record", None,
              ("self", "stream_arn", "stream_name", "partition_key", "explicit_hash_key", "data"),
              "Kinesis per-shard and on-demand write ceilings", wrap=_wrap_put_record),
        Patch(KinesisBackend, "put_records", None, ("self", "stream_arn", "stream_name", "records"),
              "Kinesis per-record write ceilings (FailedRecordCount)", wrap=_wrap_put_records),
        Patch(KinesisBackend, "get_records", None, ("self", "stream_arn", "shard_iterator", "limit"),
              "Kinesis per-shard read ceilings (5 calls, 2 MiB per second)", wrap=_wrap_get_records),
        Patch(Shard, "get_max_sequence_number", _last_key, ("self",),
              "speed: a shard's last key without listing its records"),
    ]
