"""Events the simulator delivers pass Powertools' strict parser models for their source."""

import json
from pathlib import Path

import boto3

from lambdasim import Simulator

APP = Path(__file__).parent / "fixtures" / "shapes_app"


def test_eventbridge_rule_target_event_passes_the_eventbridge_model() -> None:
    """eb-events-structure.html: an event delivered to a Lambda target carries version, id,
    detail-type, source, account, time, region, resources and detail (moto leaves out
    `account`; the simulator adds it). The handler imports Powertools' parser models during its
    INIT, under the virtual clock, as a real handler module does."""
    with Simulator(seed=2) as sim:
        fn = sim.create_function(FunctionName="consumer", Handler="handler.lambda_handler", code_dir=APP,
                                 Environment={"Variables": {"MODEL": "EventBridgeModel"}})
        events = boto3.client("events")
        events.put_rule(Name="orders", EventPattern=json.dumps({"source": ["shop.orders"]}))
        events.put_targets(Rule="orders", Targets=[{"Id": "consumer", "Arn": fn["FunctionArn"]}])
        events.put_events(Entries=[{"Source": "shop.orders", "DetailType": "OrderPlaced",
                                    "Detail": json.dumps({"order_id": "o-1"})}])
        sim.run_until_idle()
        [invocation] = sim.invocations
        assert invocation.error_type is None, invocation.payload
        assert invocation.source != "api"

