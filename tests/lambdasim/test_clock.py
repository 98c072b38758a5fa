"""The simulation: virtual clock, scheduler, seed, process hygiene."""

from __future__ import annotations

import datetime as dt
import json
import os
import random
import subprocess
import sys
import time
import uuid
from pathlib import Path

import boto3
import pytest

from lambdasim import Simulator, SimulatorAlreadyRunning, SimulatorError, SimulatorNotRunning

BASIC = Path(__file__).parent / "fixtures" / "basic"


def test_starts_at_a_fixed_virtual_time_seen_by_the_whole_process():
    """Time is virtual: datetime, time.time() and moto all read the simulation's clock."""
    with Simulator() as sim:
        assert sim.now == dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
        assert dt.datetime.now(dt.timezone.utc) == sim.now
        assert time.time() == 1767225600.0
        sim.run_for(90.5)
        assert time.time() == 1767225690.5
        assert sim.elapsed == 90.5
    with Simulator(start="2030-06-01T12:00:00Z") as sim:
        assert dt.datetime.now(dt.timezone.utc) == dt.datetime(2030, 6, 1, 12, tzinfo=dt.timezone.utc)
    # The real clock again: the built-in functions, not freezegun's.
    assert type(time.time).__name__ == "builtin_function_or_method"
    assert dt.datetime.__module__ == "datetime" and dt.datetime.__name__ == "datetime"


def test_scheduler_runs_calls_in_time_then_submission_order():
    """A discrete-event scheduler: calls run at their virtual time, ties in scheduling order."""
    seen = []
    with Simulator() as sim:
        sim.schedule(5, lambda: seen.append(("b", sim.elapsed)))
        sim.schedule(1, lambda: seen.append(("a", sim.elapsed)))
        sim.schedule(5, lambda: seen.append(("c", sim.elapsed)))
        sim.schedule(sim.now + dt.timedelta(seconds=3), lambda: seen.append(("d", sim.elapsed)))
        cancelled = sim.schedule(2, lambda: seen.append(("x", sim.elapsed)))
        cancelled.cancel()
        sim.run_for(4)
        assert seen == [("a", 1.0), ("d", 3.0)]
        assert sim.elapsed == 4.0
        sim.run_for(10)
        assert seen == [("a", 1.0), ("d", 3.0), ("b", 5.0), ("c", 5.0)]
        assert sim.elapsed == 14.0


def test_run_until_idle_ignores_daemons_and_respects_the_limit():
    """run_until_idle stops when only daemon calls (pollers) remain, or at max_seconds."""
    ticks = []
    with Simulator() as sim:

        def poll():
            ticks.append(sim.elapsed)
            sim.schedule(1, poll, daemon=True)

        sim.schedule(0, poll, daemon=True)
        sim.schedule(2.5, lambda: None)
        assert sim.run_until_idle() is True
        assert sim.elapsed == 2.5 and ticks == [0.0, 1.0, 2.0]

        def forever():
            sim.schedule(10, forever)

        sim.schedule(0, forever)
        assert sim.run_until_idle(max_seconds=35) is False
        assert sim.elapsed == 37.5


def test_the_scheduler_cannot_be_advanced_from_inside_a_call():
    """A scheduled call is an instant of the simulation: it schedules more calls instead."""
    with Simulator() as sim:
        sim.schedule(1, lambda: sim.run_for(1))
        with pytest.raises(SimulatorError):
            sim.run_for(2)


def test_time_sleep_outside_handlers_runs_the_simulation_forward():
    """No real sleeps: time.sleep on the simulation's thread advances virtual time."""
    fired = []
    with Simulator() as sim:
        sim.schedule(30, lambda: fired.append(sim.elapsed))
        time.sleep(45)
        assert fired == [30.0] and sim.elapsed == 45.0
    with pytest.raises(SimulatorNotRunning):
        sim.run_for(1)


def test_sleeps_of_the_hosting_kernel_stay_real():
    """Jupyter's kernel sleeps on the main thread after every cell: that is not simulation time
    (a virtual sleep would run what is due; a real one does not)."""
    fired = []
    with Simulator() as sim:
        sim.schedule(0, lambda: fired.append("due"))
        exec("time.sleep(0)", {"__name__": "ipykernel.kernelbase", "time": time})
        assert fired == []
        exec("time.sleep(0)", {"__name__": "lesson", "time": time})
        assert fired == ["due"]


def test_moto_visibility_timeout_follows_virtual_time():
    """SQS (moto) sees the virtual clock: a message received with VisibilityTimeout=30 becomes
    visible again after run_for(30), and a delayed message after its DelaySeconds
    (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-visibility-timeout.html)."""
    with Simulator() as sim:
        sqs = boto3.client("sqs")
        url = sqs.create_queue(QueueName="q", Attributes={"VisibilityTimeout": "30"})["QueueUrl"]
        sqs.send_message(QueueUrl=url, MessageBody="m")
        sqs.send_message(QueueUrl=url, MessageBody="late", DelaySeconds=60)
        assert [m["Body"] for m in sqs.receive_message(QueueUrl=url).get("Messages", [])] == ["m"]
        sim.run_for(29.9)
        assert sqs.receive_message(QueueUrl=url).get("Messages") is None
        sim.run_for(0.2)
        again = sqs.receive_message(QueueUrl=url, AttributeNames=["All"])["Messages"]
        assert [m["Body"] for m in again] == ["m"]
        assert again[0]["Attributes"]["ApproximateReceiveCount"] == "2"
        assert again[0]["Attributes"]["SentTimestamp"] == "1767225600000"
        sim.run_for(60)
        bodies = sorted(m["Body"] for m in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"])
        assert bodies == ["late", "m"]


def test_same_seed_same_results():
    """Same seed, same code: identical moto ids, request ids, log streams and random draws."""

    def run(seed):
        with Simulator(seed=seed) as sim:
            sqs = boto3.client("sqs")
            url = sqs.create_queue(QueueName="q")["QueueUrl"]
            message_id = sqs.send_message(QueueUrl=url, MessageBody="m")["MessageId"]
            sim.create_function(FunctionName="f", Handler="handlers.context_info", code_dir=BASIC)
            context = json.loads(boto3.client("lambda").invoke(FunctionName="f")["Payload"].read())
            return (message_id, sim.random.random(), random.random(),
                    context["aws_request_id"], context["log_stream_name"])

    assert run(3) == run(3)
    assert run(3) != run(4)


def test_process_is_restored_after_stop():
    """Fake credentials and region are set only for the duration; time.sleep, uuid4 and the
    global random state come back; a second simulator cannot run at the same time."""
    before_env = dict(os.environ)
    real_sleep, real_uuid4 = time.sleep, uuid.uuid4
    state = random.getstate()
    with Simulator(region="us-east-1") as sim:
        assert os.environ["AWS_ACCESS_KEY_ID"] == "testing"
        assert os.environ["AWS_DEFAULT_REGION"] == "us-east-1"
        assert time.sleep is not real_sleep
        with pytest.raises(SimulatorAlreadyRunning):
            Simulator().start()
        random.random()
    assert dict(os.environ) == before_env
    assert time.sleep is real_sleep and uuid.uuid4 is real_uuid4
    assert random.getstate() == state
    assert sim.invocations == []


def test_a_simulation_starts_after_powertools_parser_models_were_imported():
    """A notebook or test that imports Powertools' parser models before starting a simulation
    (their package imports its submodules lazily, on any attribute read) can still start it, and
    a model imported during the simulation validates the virtual clock's datetimes."""
    probe = (
        "import datetime\n"
        "from aws_lambda_powertools.utilities.parser.models import EventBridgeModel\n"
        "from lambdasim import Simulator\n"
        "with Simulator():\n"
        "    from aws_lambda_powertools.utilities.parser.models import SqsModel\n"
        "    now = datetime.datetime.now(datetime.timezone.utc)\n"
        "    event = EventBridgeModel(version='0', id='1', source='s', account='1', time=now, region='r',\n"
        "                             resources=[], **{'detail-type': 't'}, detail={})\n"
        "    print(event.time.isoformat(), SqsModel.__name__)\n")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split() == ["2026-01-01T00:00:00+00:00", "SqsModel"]
