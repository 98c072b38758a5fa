"""Configuration and secrets through Powertools Parameters, counted and priced (lesson 05-04).

`config_template.yaml` deploys a function that reads a Parameter Store parameter and a Secrets
Manager secret on every invocation through Powertools Parameters
(https://docs.powertools.aws.dev/lambda/python/latest/utilities/parameters/), which caches each
value in the execution environment for `max_age` seconds (POWERTOOLS_PARAMETERS_MAX_AGE; 5 s
when unset; 0: every read is an API call). `run()` sends traffic at a given rate for a virtual
while, with IAM enforced, and counts the API calls the reads made, the execution environments
that made them, what they cost, and whether the key ever reached an environment variable or a
log line (the function logs through Powertools data masking, which erases it:
https://docs.powertools.aws.dev/lambda/python/latest/utilities/data_masking/).

Each environment fetches a value at most once per `max_age`, so the calls are about
environments x (duration / max_age) when every environment is busy more often than that, and
one per invocation without a cache.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from lambdasim import Simulator

from .. import prices

TEMPLATE = Path(__file__).resolve().with_name("config_template.yaml")
SECRET_NAME = "orders/payment-api-key"
HOURS_PER_MONTH = 730  # AWS's pricing examples' month


@dataclass(frozen=True)
class ParameterReads:
    """What one run's configuration reads cost."""

    max_age_s: int
    rate_per_s: float
    duration_s: float
    invocations: int
    environments: int
    parameter_calls: int  # ssm GetParameter
    secret_calls: int  # secretsmanager GetSecretValue
    denied: int  # calls IAM refused (0: the role allows what the function reads)
    secret_in_environment: bool
    secret_in_logs: bool
    logged: str  # the function's first "order priced" log line, as written

    def secret_calls_usd(self) -> float:
        return self.secret_calls * prices.SECRETS_MANAGER_API_CALL.usd

    def parameter_calls_usd(self, *, higher_throughput: bool = False) -> float:
        price = prices.PARAMETER_STORE_HIGHER_THROUGHPUT_CALL if higher_throughput else \
            prices.PARAMETER_STORE_STANDARD_CALL
        return self.parameter_calls * price.usd

    def monthly_usd(self, *, higher_throughput: bool = False) -> float:
        """The calls' cost over a month of this traffic (the secret's own $0.40 a month aside)."""
        hours = self.duration_s / 3600
        return (self.secret_calls_usd() + self.parameter_calls_usd(higher_throughput=higher_throughput)) \
            * HOURS_PER_MONTH / hours


def deploy(sim: Simulator, *, max_age_s: int, secret: str) -> Any:
    """The secret (made outside the template, as rotation owns it) and the stack; the Stack."""
    arn = sim.client("secretsmanager").create_secret(Name=SECRET_NAME, SecretString=secret)["ARN"]
    return sim.deploy(TEMPLATE, stack_name="pricing", validate=False,
                      parameters={"ApiKeySecretArn": arn, "ParametersMaxAge": str(max_age_s)})


def send_traffic(sim: Simulator, function: str, *, rate_per_s: float, duration_s: float, burst: int) -> int:
    """`burst` asynchronous invocations at once, every burst / rate seconds; returns how many."""
    lam = sim.client("lambda")
    every_s = burst / rate_per_s
    start = sim.now
    sent = 0
    for n in range(int(duration_s / every_s)):
        sim.run_until(start + timedelta(seconds=n * every_s))
        for i in range(burst):
            lam.invoke(FunctionName=function, InvocationType="Event",
                       Payload=json.dumps({"order_id": f"o-{n}-{i}"}).encode())
            sent += 1
    sim.run_until_idle()
    return sent


def run(max_age_s: int, *, rate_per_s: float = 0.5, duration_s: float = 3600, burst: int = 3,
        seed: int = 0, secret: str = "sk-live-lesson-0504") -> ParameterReads:
    """A virtual `duration_s` of traffic at `rate_per_s`, with IAM enforced; the reads counted."""
    with Simulator(seed=seed, iam=True) as sim:
        stack = deploy(sim, max_age_s=max_age_s, secret=secret)
        function = stack.outputs["FunctionName"]
        before_ssm, before_secrets = sim.faults.calls("ssm", "GetParameter"), \
            sim.faults.calls("secretsmanager", "GetSecretValue")
        invocations = send_traffic(sim, function, rate_per_s=rate_per_s, duration_s=duration_s, burst=burst)
        sim.telemetry.flush()
        variables = sim.client("lambda").get_function_configuration(FunctionName=function)["Environment"]["Variables"]
        lines = log_lines(sim, function)
        return ParameterReads(
            max_age_s=max_age_s, rate_per_s=rate_per_s, duration_s=duration_s, invocations=invocations,
            environments=len({r.environment_id for r in sim.invocations if r.function_name == function}),
            parameter_calls=sim.faults.calls("ssm", "GetParameter") - before_ssm,
            secret_calls=sim.faults.calls("secretsmanager", "GetSecretValue") - before_secrets,
            denied=len(sim.iam.denied(function)),
            secret_in_environment=any(secret in str(value) for value in variables.values()),
            secret_in_logs=any(secret in line for line in lines),
            logged=next(line for line in lines if "order priced" in line),
        )


def log_lines(sim: Simulator, function: str) -> list[str]:
    """Every line the function's log group holds."""
    logs = sim.client("logs")
    lines: list[str] = []
    for page in logs.get_paginator("filter_log_events").paginate(logGroupName=f"/aws/lambda/{function}"):
        lines += [event["message"] for event in page["events"]]
    return lines
