"""Retention and the stalled consumer: a projection that falls more than 24 hours behind loses records.

DynamoDB Streams keeps a record 24 hours
(https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Streams.html); a read of a
position already trimmed is refused with TrimmedDataAccessException
(https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_streams_GetRecords.html).
``run_stall`` plays a consumer that stops keeping up while orders keep coming: the CDC stack's
summary projection, retrying until the record expires (``ProjectionRetries`` -1, the mapping's
MaximumRetryAttempts, https://docs.aws.amazon.com/lambda/latest/dg/services-ddb-params.html), is
misconfigured at ``broken_at_h`` (its read-model table's name points at
no table, so every record fails) and repaired at ``fixed_at_h``. Meanwhile:

* the mapping retries the oldest record again and again; AWS/Lambda IteratorAge, the age of the
  last record of each batch when Lambda sends it
  (https://docs.aws.amazon.com/lambda/latest/dg/monitoring-metrics-types.html), climbs;
* at 24 hours the oldest records leave the stream: the mapping discards them and sends a
  pointer (shard and sequence numbers, not the records) to the on-failure queue
  (https://docs.aws.amazon.com/lambda/latest/dg/services-dynamodb-errors.html), a pointer to
  records already trimmed;
* the template's alarm on IteratorAge (Maximum) pages when the consumer is ``threshold_h``
  behind (its IteratorAgeAlarmMs parameter).

After the repair the projection is audited against the table (``orders.summarize``), then
rebuilt as lesson 04 builds one (``backfill.ScanJob``) and audited again.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError

from serverless_course import cdc
from serverless_course.cdc import orders as model
from serverless_course.cdc.backfill import ScanJob
from serverless_course.cdc.harness import projected_summaries, table_orders
from serverless_course.cdc.workload import Mix, Writer, make_workload

RETENTION_H = 24.0  #: DynamoDB Streams' retention (Streams.html)
MISSING_TABLE = "customer-summaries-renamed"  #: the broken configuration's table: it does not exist


@dataclass
class StallRun:
    threshold_h: float
    broken_at_h: float
    fixed_at_h: float
    writes: int = 0
    iterator_age_h: list[tuple[float, float]] = field(default_factory=list)  #: (hour, Maximum of 10 minutes)
    alarm_states: dict[str, list[tuple[float, str]]] = field(default_factory=dict)  #: alarm -> (hour, new state)
    iterator_age_alarm: str = ""
    invocations: int = 0  #: the projection's invocations by its mapping
    discarded_by_age: int = 0  #: records the mapping gave up because they left the stream
    first_loss_h: float | None = None  #: when the first of them was given up
    pointers: list[dict[str, Any]] = field(default_factory=list)  #: DDBStreamBatchInfo of the on-failure messages
    pointers_trimmed: int = 0  #: pointers whose first record the stream refuses (TrimmedDataAccessException)
    wrong_after_repair: list[str] = field(default_factory=list)  #: customers whose summary is not the table's
    customers: int = 0
    wrong_after_rebuild: list[str] = field(default_factory=list)
    cpu_s: float = 0.0

    def first_alarm_h(self, alarm: str) -> float | None:
        """When ``alarm`` first went to ALARM (hours from the start), if it did."""
        return next((h for h, state in self.alarm_states.get(alarm, []) if state == "ALARM"), None)


def run_stall(*, seed: int = 0, hours: float = 28.0, broken_at_h: float = 1.0, fixed_at_h: float = 27.0,
              write_gap_s: float = 900.0, threshold_h: float = 1.0, customers: int = 12,
              retries: int = -1, retry_every_s: float = 600.0) -> StallRun:
    """Play ``hours`` of orders (one every ``write_gap_s`` on average) with the summary projection
    broken from ``broken_at_h`` to ``fixed_at_h``; audit, rebuild, audit again. ``retries`` is the
    mapping's MaximumRetryAttempts (the template's ProjectionRetries; -1: until the record expires).

    ``retry_every_s`` caps the wait between the mapping's tries of a failing batch. AWS documents
    no interval; the simulator's model waits 1 s, doubling up to 60 s. Ten minutes here makes a
    tenth of the invocations over a day; IteratorAge, the age of the oldest waiting record, does
    not depend on how often it is tried."""
    from lambdasim import Simulator

    cpu = time.process_time()
    run = StallRun(threshold_h, broken_at_h, fixed_at_h)
    # Time to Live off: its deletions are REMOVE records like erasures, nothing new here.
    with Simulator(seed=seed, logs=False, metrics=True, alarms=True, dynamodb_ttl=False) as sim:
        stack = cdc.deploy(sim, stack_name=f"stall{seed}", validate=False,
                           parameters={"ProjectionRetries": str(retries),
                                       "IteratorAgeAlarmMs": str(round(threshold_h * 3_600_000))})
        out, lam = stack.outputs, sim.client("lambda")
        lam.update_event_source_mapping(UUID=stack.event_source_mappings["SearchFunctionOrderChanges"], Enabled=False)
        sim.client("pipes").stop_pipe(Name=out["OutboxPipeName"])
        function, table = stack.function_name("SummaryFunction"), out["OrdersTableName"]
        run.iterator_age_alarm = out["SummaryIteratorAgeAlarmName"]  # the template's (IteratorAgeAlarmMs)
        poller = sim.poller(stack.event_source_mappings["SummaryFunctionOrderChanges"])
        poller.retry_delay_s = lambda failures: min(retry_every_s, 2.0 ** min(failures - 1, 16))
        variables = lam.get_function_configuration(FunctionName=function)["Environment"]["Variables"]
        start = sim.now

        def configure(summary_table: str) -> None:
            lam.update_function_configuration(FunctionName=function,
                                              Environment={"Variables": {**variables, "SUMMARY_TABLE": summary_table}})

        actions = [(broken_at_h * 3600, lambda: configure(MISSING_TABLE)),
                   (fixed_at_h * 3600, lambda: configure(variables["SUMMARY_TABLE"]))]
        writer = Writer(sim.client("dynamodb"), table)
        for write in make_workload(seed, int(hours * 3600 / write_gap_s), customers=customers,
                                   mean_gap_s=write_gap_s, mix=Mix(poison=0.0)):
            if write.at_s > hours * 3600:
                break
            while actions and actions[0][0] <= write.at_s:
                sim.run_until(start + timedelta(seconds=actions[0][0]))
                actions.pop(0)[1]()
            sim.run_until(start + timedelta(seconds=write.at_s))
            writer.write(write, sim.now)
            run.writes += 1
        for at_s, action in actions:
            sim.run_until(start + timedelta(seconds=at_s))
            action()
        sim.run_until(start + timedelta(hours=hours))
        sim.run_until_idle()

        run.invocations, run.discarded_by_age = poller.stats.invocations, poller.stats.discarded_by_age
        if poller.discards:
            run.first_loss_h = (poller.discards[0].at_us / 1e6 - start.timestamp()) / 3600
        run.iterator_age_h = _iterator_age(sim, function, start, sim.now)
        for t in sim.alarms.transitions:
            run.alarm_states.setdefault(t.alarm, []).append(((t.at - start).total_seconds() / 3600, t.new_state))
        run.pointers = _pointers(sim, out["SummaryFailuresQueueUrl"])
        run.pointers_trimmed = sum(_trimmed(sim, out["OrdersStreamArn"], p) for p in run.pointers)
        expected = model.summarize(table_orders(sim, table))
        run.customers = len(expected)
        run.wrong_after_repair = _wrong(expected, projected_summaries(sim, out["CustomerSummaryTableName"]))
        rebuild(sim, table, out["CustomerSummaryTableName"], function)
        run.wrong_after_rebuild = _wrong(expected, projected_summaries(sim, out["CustomerSummaryTableName"]))
    run.cpu_s = time.process_time() - cpu
    return run


# --8<-- [start:rebuild]
def rebuild(sim: Any, orders_table: str, summary_table: str, function: str) -> None:
    """Rebuild the read model in place while its mapping keeps running: empty it, then scan the
    orders into the same function (lesson 04's copies, ranked below every stream record). Readers
    see a partial read model meanwhile; in production, build a new table and switch readers."""
    ddb = sim.client("dynamodb")
    keys = [{"customer_id": i["customer_id"], "entry": i["entry"]}
            for page in ddb.get_paginator("scan").paginate(TableName=summary_table, ConsistentRead=True)
            for i in page["Items"]]
    for start in range(0, len(keys), 25):
        deletes = [{"DeleteRequest": {"Key": key}} for key in keys[start:start + 25]]
        ddb.batch_write_item(RequestItems={summary_table: deletes})
    job = ScanJob(sim, orders_table, function)
    while not job.done:
        job.read_pages()
        sim.run_for(job.page_interval_s)
    sim.run_until_idle()
# --8<-- [end:rebuild]


def _wrong(expected: dict[str, model.CustomerSummary], projected: dict[str, model.CustomerSummary]) -> list[str]:
    return sorted(c for c in set(expected) | set(projected) if expected.get(c) != projected.get(c))


def _iterator_age(sim: Any, function: str, start: datetime, end: datetime) -> list[tuple[float, float]]:
    points = sim.client("cloudwatch").get_metric_statistics(
        Namespace="AWS/Lambda", MetricName="IteratorAge", Dimensions=[{"Name": "FunctionName", "Value": function}],
        StartTime=start, EndTime=end, Period=600, Statistics=["Maximum"])["Datapoints"]
    return sorted(((p["Timestamp"] - start).total_seconds() / 3600, p["Maximum"] / 3_600_000) for p in points)


def _pointers(sim: Any, url: str) -> list[dict[str, Any]]:
    sqs, found = sim.client("sqs"), []
    while messages := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
        for message in messages:
            found.append(json.loads(message["Body"])["DDBStreamBatchInfo"])
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return found


def _trimmed(sim: Any, stream_arn: str, pointer: dict[str, Any]) -> bool:
    """Whether the stream refuses to read from the pointer's first record (it was trimmed)."""
    streams = sim.client("dynamodbstreams")
    try:
        iterator = streams.get_shard_iterator(StreamArn=stream_arn, ShardId=pointer["shardId"],
                                              ShardIteratorType="AT_SEQUENCE_NUMBER",
                                              SequenceNumber=pointer["startSequenceNumber"])["ShardIterator"]
        streams.get_records(ShardIterator=iterator, Limit=1)
    except ClientError as error:
        if error.response["Error"]["Code"] == "TrimmedDataAccessException":
            return True
        raise
    return False
