"""The simulation's own fault injector (`sim.faults`): seeded, active inside handler code."""

import json
from pathlib import Path

import boto3
from botocore.config import Config

from lambdasim import PartialFailure, Simulator, Throttle

APP = Path(__file__).parent / "fixtures" / "faults_app"


def run_once(seed: int) -> tuple[dict, int]:
    with Simulator(seed=seed) as sim:
        boto3.client("events").create_event_bus(Name="orders")
        sim.create_function(FunctionName="publisher", Handler="handler.lambda_handler", code_dir=APP,
                            Environment={"Variables": {"BUS_NAME": "orders"}})
        sim.faults.add("events", "PutEvents", PartialFailure(rate=0.3, error_code="InternalFailure"))
        response = boto3.client("lambda").invoke(
            FunctionName="publisher", Payload=json.dumps({"items": [{"n": n} for n in range(10)]}))
        return json.loads(response["Payload"].read()), sim.faults.calls("events", "PutEvents")


def test_partial_putevents_failures_reach_handler_code_and_repeat_with_the_seed() -> None:
    """API_PutEvents.html: a partly failed call answers 200 with FailedEntryCount and the
    failed entries' ErrorCode; the injection is drawn from the simulation's seed."""
    result, calls = run_once(seed=3)
    assert calls == 1
    assert 0 < result["failed"] < 10
    assert result["codes"].count("InternalFailure") == result["failed"]
    assert run_once(seed=3)[0] == result


def test_a_throttled_call_from_the_driving_code_raises_as_aws_does() -> None:
    """CommonErrors (EventBridge API reference): a throttled request raises ThrottlingException."""
    with Simulator(seed=1) as sim:
        events = boto3.client("events", config=Config(retries={"mode": "standard", "total_max_attempts": 1}))
        sim.faults.add("events", "ListEventBuses", Throttle())
        try:
            events.list_event_buses()
        except events.exceptions.ClientError as error:
            assert error.response["Error"]["Code"] == "ThrottlingException"
        else:  # pragma: no cover - the assertion below explains the failure
            raise AssertionError("the injected throttle did not reach the caller")
        assert [injection.operation for injection in sim.faults.injected] == ["ListEventBuses"]
