"""CodeDeploy's gradual Lambda deployments, played on the virtual clock (`sim.deployments`).

A stack deployed from a SAM template whose function has `AutoPublishAlias` and
`DeploymentPreference` holds a version, an alias whose UpdatePolicy names a CodeDeploy
application and deployment group, and that group (its predefined configuration, the alarms it
watches, automatic rollback). `deploy_code` plays what a `sam deploy` with changed code does
(https://docs.aws.amazon.com/lambda/latest/dg/automating-updates-to-serverless-apps.html):
the function's code changes, a new version is published, and the alias moves to it through a
CodeDeploy deployment: the BeforeAllowTraffic hook, the traffic shifted by the configuration's
steps (the alias's RoutingConfig weights, which the simulator routes invocations by), the
AfterAllowTraffic hook; a watched alarm in ALARM stops the deployment and rolls the alias back to
the old version. The stack itself is not updated through CloudFormation (moto does not update
stacks as CloudFormation does); an alias without a CodeDeploy UpdatePolicy moves to the new
version at once, as CloudFormation updates it. AWS's rules are in `rules/deployments.py`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from random import Random
from typing import TYPE_CHECKING, Any

from . import moto_state
from .functions import placeholder_zip
from .rules import deployments as rules

if TYPE_CHECKING:
    from .alarms import AlarmTransition
    from .sam import Stack
    from .simulator import Simulator

__all__ = ["AlarmObservation", "Deployment", "Deployments", "HookRun", "TrafficPoint"]


@dataclass(frozen=True)
class TrafficPoint:
    """From `at` on, the new version gets `percent` of the alias's invocations."""

    at: datetime
    percent: float


@dataclass(frozen=True)
class AlarmObservation:
    """A watched alarm's state, seen by the deployment at `at`."""

    at: datetime
    alarm: str
    state: str


@dataclass
class HookRun:
    """One lifecycle hook: the function invoked, and the status it reported (None: none yet)."""

    event: str  # BeforeAllowTraffic | AfterAllowTraffic
    function_name: str
    execution_id: str
    invoked_at: datetime
    status: str | None = None
    reported_at: datetime | None = None


@dataclass
class Deployment:
    """One deployment of a new version to an alias, and what happened to it."""

    deployment_id: str
    function_name: str
    alias: str
    old_version: str
    new_version: str
    config_name: str | None  # None: no deployment preference (the alias moved at once)
    watched_alarms: tuple[str, ...]
    started_at: datetime
    status: str = rules.IN_PROGRESS  # InProgress | Succeeded | RolledBack | Failed
    reason: str = ""
    ended_at: datetime | None = None
    traffic: list[TrafficPoint] = field(default_factory=list)
    alarm_states: list[AlarmObservation] = field(default_factory=list)
    hooks: list[HookRun] = field(default_factory=list)
    rollback_events: tuple[str, ...] = ()

    @property
    def percent_now(self) -> float:
        """The new version's share of traffic at the latest point."""
        return self.traffic[-1].percent if self.traffic else 0.0


@dataclass
class _Plan:
    deployment: Deployment
    steps: list[rules.TrafficStep]
    pre_hook: str | None
    post_hook: str | None
    account_id: str
    region: str
    pending: list[Any] = field(default_factory=list)  # scheduled calls, cancelled when it ends


class Deployments:
    """The deployments of the simulation (`sim.deployments`): `deployments` (every
    `Deployment`, oldest first), `deploy_code(stack, function, code_dir)` to start one."""

    def __init__(self, sim: Simulator, rng: Random):
        self._sim = sim
        self._rng = rng
        self.deployments: list[Deployment] = []
        self._plans: dict[str, _Plan] = {}
        self._hooks: dict[str, tuple[str, HookRun]] = {}  # execution id -> (deployment id, hook)

    # -- starting -------------------------------------------------------------------------------
    def deploy_code(self, stack: Stack, function: str, code_dir: str | Path) -> Deployment:
        """Change the code of the stack's function `function` (logical id) to `code_dir`, publish
        a version and move the function's alias to it as its UpdatePolicy says. Returns the
        `Deployment` (in progress while traffic shifts: run the clock)."""
        sim = self._sim
        name = stack.function_name(function)
        alias_spec = _alias_of(stack, function)
        runtime = sim._runtime
        for version in moto_state.function_versions(sim.account_id, sim.region, name):
            if f"{name}:{version}" not in runtime.mappings:  # published before its code was mapped
                runtime.pin_version(name, version)
        sim.map_handler(name, code_dir=code_dir)
        lam = sim.client("lambda")
        lam.update_function_code(FunctionName=name, ZipFile=placeholder_zip())
        new_version = lam.publish_version(FunctionName=name)["Version"]
        alias_name = str(alias_spec["Properties"]["Name"])
        old_version = lam.get_alias(FunctionName=name, Name=alias_name)["FunctionVersion"]
        update = (alias_spec.get("UpdatePolicy") or {}).get("CodeDeployLambdaAliasUpdate")
        deployment = Deployment(
            deployment_id=self._new_id(), function_name=name, alias=alias_name, old_version=old_version,
            new_version=new_version, config_name=None, watched_alarms=(), started_at=sim.now)
        self.deployments.append(deployment)
        if not update:
            self._set_weights(deployment, 100.0)
            self._end(deployment, rules.SUCCEEDED, "no CodeDeploy UpdatePolicy: the alias moved at once")
            return deployment
        group = moto_state.deployment_group(sim.account_id, sim.region, _physical(stack, update["ApplicationName"]),
                                            _physical(stack, update["DeploymentGroupName"]))
        deployment.config_name = group.config_name
        deployment.watched_alarms = group.alarms
        deployment.rollback_events = group.rollback_events
        plan = _Plan(deployment, rules.traffic_steps(group.config_name),
                     _hook_function(stack, update.get("BeforeAllowTrafficHook")),
                     _hook_function(stack, update.get("AfterAllowTrafficHook")), sim.account_id, sim.region)
        self._plans[deployment.deployment_id] = plan
        deployment.traffic.append(TrafficPoint(sim.now, 0.0))
        if plan.pre_hook:
            self._run_hook(plan, rules.BEFORE_ALLOW_TRAFFIC, plan.pre_hook)
        else:
            self._shift_traffic(plan)
        return deployment

    # -- hooks ------------------------------------------------------------------------------------
    def _run_hook(self, plan: _Plan, event: str, function_name: str) -> None:
        deployment = plan.deployment
        hook = HookRun(event, function_name, self._new_execution_id(), self._sim.now)
        deployment.hooks.append(hook)
        self._hooks[hook.execution_id] = (deployment.deployment_id, hook)
        payload = {"DeploymentId": deployment.deployment_id, "LifecycleEventHookExecutionId": hook.execution_id}
        self._sim.client("lambda").invoke(FunctionName=function_name, InvocationType="Event",
                                          Payload=json.dumps(payload).encode())
        plan.pending.append(self._sim.schedule(rules.HOOK_TIMEOUT_S, self._hook_timed_out, plan, hook))

    def hook_status(self, deployment_id: str, execution_id: str, status: str) -> str:
        """PutLifecycleEventHookExecutionStatus: a hook reports. Raises LookupError for an unknown
        deployment or hook, or one already reported; ValueError for a status other than
        Succeeded or Failed."""
        if status not in rules.HOOK_STATUSES:
            raise ValueError(f"status {status!r}: only Succeeded and Failed can be reported")
        found = self._hooks.get(execution_id)
        if found is None or found[0] != deployment_id:
            raise LookupError(f"no lifecycle hook execution {execution_id!r} in deployment {deployment_id!r}")
        hook = found[1]
        if hook.status is not None:
            raise LookupError(f"lifecycle hook execution {execution_id!r} already completed")
        hook.status, hook.reported_at = status, self._sim.now
        plan = self._plans.get(deployment_id)
        if plan is not None:  # the deployment goes on after the hook's call returns, not inside it
            plan.pending.append(self._sim.schedule(0, self._after_hook, plan, hook))
        return execution_id

    def _after_hook(self, plan: _Plan, hook: HookRun) -> None:
        if plan.deployment.status != rules.IN_PROGRESS:
            return
        if hook.status == "Failed":
            self._roll_back(plan, f"{hook.event} hook {hook.function_name} reported Failed", rules.FAILED)
        elif hook.event == rules.BEFORE_ALLOW_TRAFFIC:
            self._shift_traffic(plan)
        else:
            self._finish(plan, rules.SUCCEEDED, "all traffic on the new version; hooks succeeded")

    def _hook_timed_out(self, plan: _Plan, hook: HookRun) -> None:
        if hook.status is None and plan.deployment.status == rules.IN_PROGRESS:
            self._roll_back(plan, f"{hook.event} hook {hook.function_name} reported no status within "
                                  f"{rules.HOOK_TIMEOUT_S:.0f} s", rules.FAILED)

    # -- traffic ----------------------------------------------------------------------------------
    def _shift_traffic(self, plan: _Plan) -> None:
        for step in plan.steps:
            plan.pending.append(self._sim.schedule(step.offset_s, self._step, plan, step))

    def _step(self, plan: _Plan, step: rules.TrafficStep) -> None:
        deployment = plan.deployment
        if deployment.status != rules.IN_PROGRESS or self._check_alarms(plan):
            return
        self._set_weights(deployment, step.percent)
        if step.percent >= 100.0:
            if plan.post_hook:
                self._run_hook(plan, rules.AFTER_ALLOW_TRAFFIC, plan.post_hook)
            else:
                self._finish(plan, rules.SUCCEEDED, "all traffic on the new version")

    def _set_weights(self, deployment: Deployment, percent: float) -> None:
        lam = self._sim.client("lambda")
        if percent >= 100.0:
            lam.update_alias(FunctionName=deployment.function_name, Name=deployment.alias,
                             FunctionVersion=deployment.new_version, RoutingConfig={"AdditionalVersionWeights": {}})
        else:
            weights = {deployment.new_version: percent / 100.0} if percent > 0 else {}
            lam.update_alias(FunctionName=deployment.function_name, Name=deployment.alias,
                             FunctionVersion=deployment.old_version,
                             RoutingConfig={"AdditionalVersionWeights": weights})
        deployment.traffic.append(TrafficPoint(self._sim.now, percent))

    # -- alarms -----------------------------------------------------------------------------------
    def alarm_changed(self, transition: AlarmTransition) -> None:
        """The alarm evaluator's listener: a watched alarm's new state stops a deployment."""
        for plan in list(self._plans.values()):
            if transition.alarm in plan.deployment.watched_alarms:
                self._check_alarms(plan)

    def _check_alarms(self, plan: _Plan) -> bool:
        """Record the watched alarms' states; True when one in ALARM stopped the deployment."""
        deployment = plan.deployment
        if not deployment.watched_alarms:
            return False
        states = moto_state.alarm_states(plan.account_id, plan.region, deployment.watched_alarms)
        now = self._sim.now
        for alarm, state in states.items():
            last = next((o for o in reversed(deployment.alarm_states) if o.alarm == alarm), None)
            if last is None or last.state != state:
                deployment.alarm_states.append(AlarmObservation(now, alarm, state))
        firing = sorted(a for a, s in states.items() if s == "ALARM")
        if not firing:
            return False
        reason = f"alarm {', '.join(firing)} in ALARM"
        if "DEPLOYMENT_STOP_ON_ALARM" in deployment.rollback_events:
            self._roll_back(plan, reason, rules.ROLLED_BACK)
        else:
            self._finish(plan, rules.FAILED, reason + "; stopped without a rollback (automatic rollback is off)")
        return True

    # -- ending -----------------------------------------------------------------------------------
    def _roll_back(self, plan: _Plan, reason: str, status: str) -> None:
        """All traffic back on the old version (deployments-rollback-and-redeploy.html)."""
        deployment = plan.deployment
        if deployment.percent_now > 0:
            lam = self._sim.client("lambda")
            lam.update_alias(FunctionName=deployment.function_name, Name=deployment.alias,
                             FunctionVersion=deployment.old_version, RoutingConfig={"AdditionalVersionWeights": {}})
            deployment.traffic.append(TrafficPoint(self._sim.now, 0.0))
        self._finish(plan, status, reason + "; traffic rolled back to version " + deployment.old_version)

    def _finish(self, plan: _Plan, status: str, reason: str) -> None:
        for call in plan.pending:
            call.cancel()
        self._plans.pop(plan.deployment.deployment_id, None)
        self._end(plan.deployment, status, reason)

    def _end(self, deployment: Deployment, status: str, reason: str) -> None:
        deployment.status, deployment.reason, deployment.ended_at = status, reason, self._sim.now

    # -- ids --------------------------------------------------------------------------------------
    def _new_id(self) -> str:
        # CodeDeploy's deployment ids look like d-A1B2C3D4E (API_DeploymentInfo.html examples).
        return "d-" + "".join(self._rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") for _ in range(9))

    def _new_execution_id(self) -> str:
        return "".join(self._rng.choice("abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(40))


def _alias_of(stack: Stack, function: str) -> dict[str, Any]:
    for spec in stack.template.get("Resources", {}).values():
        props = spec.get("Properties") or {}
        if spec.get("Type") == "AWS::Lambda::Alias" and props.get("FunctionName") == {"Ref": function}:
            return spec
    raise ValueError(f"function {function!r} of stack {stack.name!r} has no alias (SAM's AutoPublishAlias makes one)")


def _physical(stack: Stack, value: Any) -> str:
    return stack.physical_id(value["Ref"]) if isinstance(value, dict) and "Ref" in value else str(value)


def _hook_function(stack: Stack, value: Any) -> str | None:
    if value is None:
        return None
    return _physical(stack, value)
