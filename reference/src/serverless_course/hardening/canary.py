"""A bad version deployed to the orders pipeline's processor by a canary, and rolled back by an
alarm, on the virtual clock (lesson 05-02, lab 05).

The pipeline's template gains what SAM needs for a gradual deployment
(https://docs.aws.amazon.com/lambda/latest/dg/automating-updates-to-serverless-apps.html): the
processor's `AutoPublishAlias` (its SQS event source then invokes the alias), a
`DeploymentPreference` of the chosen type watching an alarm on the processor's Errors
(https://docs.aws.amazon.com/lambda/latest/dg/monitoring-metrics-types.html), one-order batches (so
that an error is one order's). Version 2 fails about 30 % of orders (`bad_processor/`);
`sim.deployments` plays its deployment while orders flow.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from samtranslator.yaml_helper import yaml_parse

from serverless_course import pipeline
from serverless_course.code_folders import scratch_folder
from serverless_course.observability.orders_run import send_orders

HERE = Path(__file__).resolve().parent
BAD = HERE / "bad_processor"
ALIAS = "live"
PROCESSOR = "ProcessorFunction"
ALARM = "ProcessorErrorsAlarm"


# --8<-- [start:template]
def canary_template(deployment_type: str, alarm_threshold: int) -> Path:
    """The pipeline's template with a gradual deployment of the processor, in a new folder."""
    template = yaml_parse(pipeline.TEMPLATE.read_text())
    template["Globals"]["Function"]["CodeUri"] = str(pipeline.HERE)
    processor = template["Resources"][PROCESSOR]["Properties"]
    processor["AutoPublishAlias"] = ALIAS
    processor["DeploymentPreference"] = {"Type": deployment_type, "Alarms": [{"Ref": ALARM}]}
    template["Resources"][ALARM] = {"Type": "AWS::CloudWatch::Alarm", "Properties": {
        "AlarmDescription": "The processor failed orders: stop and roll back its deployment",
        "Namespace": "AWS/Lambda", "MetricName": "Errors", "Statistic": "Sum", "Period": 60,
        "EvaluationPeriods": 1, "Threshold": alarm_threshold,
        "ComparisonOperator": "GreaterThanOrEqualToThreshold", "TreatMissingData": "notBreaching",
        "Dimensions": [{"Name": "FunctionName", "Value": {"Ref": PROCESSOR}}]}}
    folder = scratch_folder("orders-canary-")
    (folder / "template.json").write_text(json.dumps(template, indent=1))
    return folder / "template.json"
# --8<-- [end:template]


@dataclass(frozen=True)
class Minute:
    """One minute of the processor's invocations since the deployment started."""

    minute: int
    by_version: dict[str, int]
    errors: int


@dataclass(frozen=True)
class CanaryRun:
    """What happened: the deployment (`lambdasim.deployments.Deployment`: traffic, the alarm
    states it saw, outcome), the processor's invocations minute by minute, the alarm's state
    changes over the whole run (time, new state), and the orders sent."""

    deployment: Any
    minutes: list[Minute]
    alarm_states: list[tuple[datetime, str]]
    orders: int
    alarm: str


def bad_version_canary(sim: Any, *, deployment_type: str = "Canary10Percent5Minutes", alarm_threshold: int = 1,
                       orders_per_minute: int = 30, minutes: int = 8, seed: int = 1) -> CanaryRun:
    """Deploy the pipeline with a gradual deployment, deploy the bad version while orders flow
    (`orders_per_minute` for `minutes`), and return what happened."""
    stack = sim.deploy(canary_template(deployment_type, alarm_threshold), stack_name="orders", validate=False,
                       parameters={"BatchSize": "1", "MaximumBatchingWindowInSeconds": "0"})
    bad_code = pipeline.code_folder({"processor/app.py": BAD / "app.py", "processor/regression.py": BAD / "regression.py",
                                     "processor/released_app.py": pipeline.HERE / "processor" / "app.py"})
    deployment = sim.deployments.deploy_code(stack, PROCESSOR, bad_code)
    sent = send_orders(sim, stack, orders_per_minute * minutes, every_s=60 / orders_per_minute, seed=seed)
    alarm = stack.physical_id(ALARM)
    return CanaryRun(deployment, _minutes(sim, stack.function_name(PROCESSOR), deployment.started_at, minutes),
                     [(t.at, t.new_state) for t in sim.alarms.transitions if t.alarm == alarm], len(sent), alarm)


def _minutes(sim: Any, function_name: str, started_at: datetime, minutes: int) -> list[Minute]:
    rows: dict[int, dict[str, int]] = {m: {} for m in range(minutes)}
    errors = dict.fromkeys(rows, 0)
    origin = started_at.timestamp()
    for record in sim.invocations:
        if record.function_name != function_name:
            continue
        minute = int((record.start_us / 1e6 - origin) // 60)
        if minute not in rows:
            continue
        rows[minute][record.version] = rows[minute].get(record.version, 0) + 1
        errors[minute] += 1 if record.function_error else 0
    return [Minute(m, rows[m], errors[m]) for m in sorted(rows)]
