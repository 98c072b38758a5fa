"""Lab 05's runs: a learner's orders stack (a folder holding template.yaml and its handlers)
deployed into the simulator, orders sent through its API, and what a grader checks afterwards.

The partner's key is a secret the grader provisions in Secrets Manager (`SECRET_NAME`) before
the stack is deployed; a template that still takes it as the `PartnerKey` parameter (the
starter) is given it that way. `run_orders` sends seeded orders through POST /orders and, with
`bad_version_at_s`, deploys a broken version of the processor in the middle of the traffic
(`sim.deployments.deploy_code`): the learner's deployment configuration decides what happens.
With `iam`, the run is made under IAM enforcement (`sim.iam`): what was denied, and each grant
of each function's role with whether the run used it; `beyond_use` says which grants exceed
what the run needed.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from random import Random
from typing import Any

from lambdasim import Simulator
from lambdasim.deployments import Deployment
from lambdasim.isolation import Isolation
from lambdasim.sam import SamDeployError

from serverless_course.code_folders import scratch_folder

from .readiness_rules import scopable

SECRET_NAME = "lab05/partner-key"
STACK_NAME = "lab05"
# The logical ids and route the lab keeps fixed (its README says so).
INGEST, PROCESSOR, TABLE, API = "IngestFunction", "ProcessorFunction", "OrdersTable", "ServerlessRestApi"
DRAIN_S = 15 * 60  # after the last order: visibility timeouts, five receives, the alarm's minutes
# Appended to a copy of the processor's module: every batch fails, whatever the code did.
# Grants a role may hold beyond what the run used: CloudWatch Logs actions on every log group
# (Lambda writes the function's logs with its role, and SAM's AWSLambdaBasicExecutionRole names
# no group), and action prefixes such as SAM policy templates' sqs:SendMessage*.
TOLERATED_SERVICES = ("logs",)
BAD_VERSION = '''

def {handler}(event, context):  # the broken version the grader deploys
    raise RuntimeError("version under test: every batch fails")
'''


def signature(order_id: str, key: str) -> str:
    """The signature the partner expects on an order (HMAC-SHA256 of its id with the key)."""
    return hmac.new(key.encode(), order_id.encode(), hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class Grant:
    """One action pattern on one resource pattern of a function's role, and whether the run used it."""

    policy: str
    action: str
    resource: str
    used: bool


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
    denied: list[str] = field(default_factory=list)  # calls IAM refused (with `iam`)
    grants: dict[str, list[Grant]] = field(default_factory=dict)  # function -> its role's grants (with `iam`)

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
                and not self.badly_signed and not self.denied)

    def summary(self) -> str:
        if self.problem:
            return self.problem
        text = (f"{len(self.sent)} orders accepted, {len(self.refused)} refused, {len(self.stored)} stored, "
                f"{len(self.missing)} missing, {len(self.badly_signed)} with a wrong signature")
        if self.denied:
            text += f"; {len(self.denied)} calls denied, e.g. {self.denied[0]}"
        if self.not_deployable:
            text += f"; the broken version was not deployed: {self.not_deployable}"
        if self.deployment is not None:
            d = self.deployment
            text += (f"; deployment of version {d.new_version} ({d.config_name or 'no deployment preference'}): "
                     f"{d.status}, {d.reason}; {self.new_version_invocations} invocations of it; "
                     f"the alias ends on version {self.alias_version_at_end}")
        return text


    def beyond_use(self) -> list[str]:
        """The grants broader than the run needed: unused ones, a whole service's actions, and
        `*` as the resource of an action that can name one (but `TOLERATED_SERVICES`)."""
        found = []
        for function, grants in self.grants.items():
            for g in grants:
                service = g.action.split(":")[0].lower()
                if service in TOLERATED_SERVICES:
                    continue
                if not g.used:
                    found.append(f"{function}: {g.action} on {g.resource} was never used")
                elif g.action == "*" or g.action.endswith(":*"):
                    found.append(f"{function}: {g.action} allows every action of the service")
                elif g.resource == "*" and scopable(g.action.rstrip("*")):
                    found.append(f"{function}: {g.action} on every resource")
        return found


def run_orders(stack_dir: Path, *, seed: int, orders: int, every_s: float,
               bad_version_at_s: float | None = None, iam: bool = False,
               isolation: Isolation | None = None) -> OrdersRun:
    """Deploy the stack in `stack_dir`, send `orders` orders `every_s` seconds apart through its
    API and let the pipeline drain; with `bad_version_at_s`, deploy a broken processor then;
    with `iam`, under IAM enforcement. The stack's code runs in worker processes, one per
    execution environment as on AWS, so nothing a handler caches (a secret, a client) outlives
    its run; graders pass their own `isolation`."""
    isolation = isolation or Isolation()
    rng = Random(seed)
    run = OrdersRun(key=f"{rng.getrandbits(128):032x}")
    if custom := _custom_resources(stack_dir):
        # CloudFormation would run their code while it deploys, before any isolation applies.
        run.problem = f"the template declares custom resources ({', '.join(custom)}), which the lab does not run"
        return run
    with Simulator(seed=seed, iam=iam) as sim:
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
            if iam:
                run.grants[logical_id] = [Grant(p.policy.rsplit("/", 1)[-1], p.action, p.resource, p.used)
                                          for p in sim.iam.permissions(function.name)]
        if iam:
            run.denied = [f"{c.action} on {c.resource} ({c.function})" for c in sim.iam.denied()]
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


def _deploy_bad_version(sim: Simulator, stack: Any, stack_dir: Path, isolation: Isolation) -> Deployment:
    """The processor's code with its handler replaced by one that fails, deployed as the
    template's deployment configuration says."""
    handler = stack.functions[PROCESSOR].handler or ""
    module, _, function = handler.rpartition(".")
    bad_dir = scratch_folder("lab05-bad-")
    shutil.copytree(stack_dir, bad_dir, dirs_exist_ok=True, ignore=shutil.ignore_patterns("__pycache__"))
    module_file = bad_dir / (module.replace(".", "/") + ".py")
    with module_file.open("a") as out:
        out.write(BAD_VERSION.format(handler=function))
    deployment = sim.deployments.deploy_code(stack, PROCESSOR, bad_dir)
    sim.map_handler(stack.function_name(PROCESSOR), code_dir=bad_dir, isolation=isolation)
    return deployment
