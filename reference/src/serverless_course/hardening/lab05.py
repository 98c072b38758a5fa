"""Lab 05's runs: a learner's orders stack (a folder holding template.yaml and its handlers)
deployed into the simulator, orders sent through its API, and what a grader checks afterwards.

The partner's key is a secret the grader provisions in Secrets Manager (`SECRET_NAME`) before
the stack is deployed; a template that still takes it as the `PartnerKey` parameter (the
starter) is given it that way. `run_orders` sends seeded orders through POST /orders and, with
`bad_version_at_s`, deploys a broken version of the processor in the middle of the traffic
(`sim.deployments.deploy_code`): the learner's deployment configuration decides what happens.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from random import Random
from typing import Any

from lambdasim import Simulator
from lambdasim.deployments import Deployment
from lambdasim.sam import SamDeployError

SECRET_NAME = "lab05/partner-key"
STACK_NAME = "lab05"
# The logical ids and route the lab keeps fixed (its README says so).
INGEST, PROCESSOR, TABLE, API = "IngestFunction", "ProcessorFunction", "OrdersTable", "ServerlessRestApi"
DRAIN_S = 15 * 60  # after the last order: visibility timeouts, five receives, the alarm's minutes
# Appended to a copy of the processor's module: every batch fails, whatever the code did.
BAD_VERSION = '''

def {handler}(event, context):  # the broken version the grader deploys
    raise RuntimeError("version under test: every batch fails")
'''


def signature(order_id: str, key: str) -> str:
    """The signature the partner expects on an order (HMAC-SHA256 of its id with the key)."""
    return hmac.new(key.encode(), order_id.encode(), hashlib.sha256).hexdigest()


@dataclass
class OrdersRun:
    """What one run of the learner's stack did."""

    key: str
    sent: list[str] = field(default_factory=list)  # order ids the API accepted
    refused: list[tuple[str, int]] = field(default_factory=list)  # (order id, HTTP status)
    stored: dict[str, dict[str, Any]] = field(default_factory=dict)  # order id -> item
    environments: dict[str, dict[str, str]] = field(default_factory=dict)  # function -> variables
    deployment: Deployment | None = None
    not_deployable: str | None = None  # why the broken version could not be deployed
    new_version_invocations: int = 0
    alias_version_at_end: str | None = None
    problem: str | None = None  # why the stack could not be run at all

    @property
    def missing(self) -> list[str]:
        return [order_id for order_id in self.sent if order_id not in self.stored]

    @property
    def badly_signed(self) -> list[str]:
        return [order_id for order_id, item in self.stored.items()
                if item.get("signature") != signature(order_id, self.key)]

    @property
    def all_stored_and_signed(self) -> bool:
        return (self.problem is None and bool(self.sent) and not self.refused and not self.missing
                and not self.badly_signed)

    def summary(self) -> str:
        if self.problem:
            return self.problem
        text = (f"{len(self.sent)} orders accepted, {len(self.refused)} refused, {len(self.stored)} stored, "
                f"{len(self.missing)} missing, {len(self.badly_signed)} with a wrong signature")
        if self.not_deployable:
            text += f"; the broken version was not deployed: {self.not_deployable}"
        if self.deployment is not None:
            d = self.deployment
            text += (f"; deployment of version {d.new_version} ({d.config_name or 'no deployment preference'}): "
                     f"{d.status}, {d.reason}; {self.new_version_invocations} invocations of it; "
                     f"the alias ends on version {self.alias_version_at_end}")
        return text


def run_orders(stack_dir: Path, *, seed: int, orders: int, every_s: float,
               bad_version_at_s: float | None = None, isolation: Any = None) -> OrdersRun:
    """Deploy the stack in `stack_dir`, send `orders` orders `every_s` seconds apart through its
    API and let the pipeline drain; with `bad_version_at_s`, deploy a broken processor then.
    `isolation` (graders) runs the stack's code in worker processes."""
    rng = Random(seed)
    run = OrdersRun(key=f"{rng.getrandbits(128):032x}")
    if custom := _custom_resources(stack_dir):
        # CloudFormation would run their code while it deploys, before any isolation applies.
        run.problem = f"the template declares custom resources ({', '.join(custom)}), which the lab does not run"
        return run
    with Simulator(seed=seed) as sim:
        sim.client("secretsmanager").create_secret(Name=SECRET_NAME, SecretString=run.key)
        try:
            stack = sim.deploy(stack_dir, stack_name=STACK_NAME, validate=False,
                               parameters=_parameters(stack_dir, run.key))
            processor = stack.function_name(PROCESSOR)
            url = f"https://{stack.physical_id(API)}.execute-api.{sim.region}.amazonaws.com/Prod/orders"
            table = stack.physical_id(TABLE)
        except (SamDeployError, KeyError) as exc:
            run.problem = f"the stack cannot be deployed as the lab needs it: {exc}"
            return run
        if isolation is not None:
            for function in stack.functions.values():
                sim.map_handler(function.name, code_dir=stack_dir, isolation=isolation)
        for i in range(orders):
            if bad_version_at_s is not None and i * every_s >= bad_version_at_s and not (run.deployment or run.not_deployable):
                try:
                    run.deployment = _deploy_bad_version(sim, stack, stack_dir, isolation)
                except (KeyError, ValueError, LookupError) as exc:
                    run.not_deployable = str(exc)
            order_id = f"order-{seed}-{i:04d}"
            response = sim.http("POST", url, body=json.dumps({"order_id": order_id, "amount": rng.randint(1, 500)}))
            if response.status == 202:
                run.sent.append(order_id)
            else:
                run.refused.append((order_id, response.status))
            sim.run_for(every_s)
        sim.run_for(DRAIN_S)
        for page in sim.client("dynamodb").get_paginator("scan").paginate(TableName=table):
            for item in page["Items"]:
                run.stored[item["order_id"]["S"]] = {k: next(iter(v.values())) for k, v in item.items()}
        lam = sim.client("lambda")
        for logical_id, function in stack.functions.items():
            config = lam.get_function_configuration(FunctionName=function.name)
            run.environments[logical_id] = (config.get("Environment") or {}).get("Variables", {})
        if run.deployment is not None:
            d = run.deployment
            run.new_version_invocations = sum(1 for inv in sim.invocations
                                              if inv.function_name == processor and inv.version == d.new_version)
            run.alias_version_at_end = lam.get_alias(FunctionName=processor, Name=d.alias)["FunctionVersion"]
    return run


def _written(stack_dir: Path) -> dict[str, Any]:
    from samtranslator.yaml_helper import yaml_parse

    try:
        template = yaml_parse((stack_dir / "template.yaml").read_text())
    except Exception:  # noqa: BLE001 - deploying it then says what is wrong, in the learner's terms
        return {}
    return template if isinstance(template, dict) else {}


def _parameters(stack_dir: Path, key: str) -> dict[str, str] | None:
    return {"PartnerKey": key} if "PartnerKey" in (_written(stack_dir).get("Parameters") or {}) else None


def _custom_resources(stack_dir: Path) -> list[str]:
    resources = _written(stack_dir).get("Resources") or {}
    return sorted(name for name, r in resources.items() if isinstance(r, dict) and (
        str(r.get("Type", "")).startswith("Custom::") or r.get("Type") == "AWS::CloudFormation::CustomResource"))


def _deploy_bad_version(sim: Simulator, stack: Any, stack_dir: Path, isolation: Any) -> Deployment:
    """The processor's code with its handler replaced by one that fails, deployed as the
    template's deployment configuration says."""
    handler = stack.functions[PROCESSOR].handler or ""
    module, _, function = handler.rpartition(".")
    bad_dir = Path(tempfile.mkdtemp(prefix="lab05-bad-"))
    shutil.copytree(stack_dir, bad_dir, dirs_exist_ok=True, ignore=shutil.ignore_patterns("__pycache__"))
    module_file = bad_dir / (module.replace(".", "/") + ".py")
    with module_file.open("a") as out:
        out.write(BAD_VERSION.format(handler=function))
    deployment = sim.deployments.deploy_code(stack, PROCESSOR, bad_dir)
    if isolation is not None:
        sim.map_handler(stack.function_name(PROCESSOR), code_dir=bad_dir, isolation=isolation)
    return deployment
