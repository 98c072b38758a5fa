"""Deploy an AWS SAM template into the simulator: the one definition of a stack, run locally.

    from lambdasim import Simulator
    from lambdasim.sam import deploy

    with Simulator(seed=7) as sim:
        stack = deploy(sim, "pipelines/orders/template.yaml", parameters={"Stage": "dev"})
        stack.outputs["OrdersQueueUrl"]                 # Outputs, resolved
        name = stack.function_names["OrderWriterFunction"]
        boto3.client("lambda").invoke(FunctionName=name, Payload=b"{}")  # runs CodeUri's handler

The same template goes to a real account with `sam deploy`; nothing is defined twice. `deploy`
takes the steps `sam build` + `sam deploy` take, offline:

1. Validate (optional, on by default): cfn-lint's error-level rules, the closest offline
   stand-in for the checks CloudFormation makes against each resource type's schema (moto makes
   none, and fails on a broken resource with a Python error instead).
2. Parse: cfn-lint's YAML/JSON loader, which reads the short-form intrinsics (`!Ref`,
   `!GetAtt`, `!Sub`, ...) as CloudFormation does.
3. Package: each function's local `CodeUri` (and `Globals.Function.CodeUri`; a missing
   `CodeUri` means the template's folder, as in the SAM CLI) becomes a placeholder S3 URI whose
   object, a tiny placeholder zip, is uploaded to a bucket in moto's S3 (`sam deploy` uploads
   the built folder to its managed bucket). `InlineCode` is written to a private folder as
   `index.py`. Layers' local `ContentUri` is packaged the same way.
4. Transform: aws-sam-translator turns the SAM template into plain CloudFormation
   (https://docs.aws.amazon.com/serverless-application-model/latest/developerguide/sam-specification.html),
   offline: AWS managed policy names resolve from the translator's bundled map, then from
   moto's copy of the AWS managed policies; there are no IAM calls.
5. Create: `create_stack` in moto's CloudFormation. moto creates everything synchronously;
   a resource that fails ends the deploy with `StackCreateError` (the failed resource and its
   reason, from its CREATE_FAILED stack event), after the partly created stack is deleted, as
   CloudFormation rolls back by default. A Lambda-backed custom resource's function is invoked
   during the creation (`lambdasim.custom_resources`), so a function the stack has just created
   is mapped to its local code as soon as a custom resource calls it.
6. Map: every `AWS::Lambda::Function` of the stack with local code is mapped to its folder
   (`Simulator.map_handler`), so invocations run the template's `Handler` from `CodeUri`.
   Event source mappings, rules and permissions are moto's own resources, read by the
   simulator through the public API like any others.

What moto's CloudFormation does not implement (for instance `AWS::SQS::QueuePolicy`,
`AWS::Scheduler::ScheduleGroup`, `AWS::Lambda::Alias`) is not created (`AWS::Lambda::EventInvokeConfig`,
`AWS::SNS::Subscription`, `AWS::ApiGateway::Stage`, the `AWS::ApiGatewayV2::` Api, Stage, Integration,
Route and Authorizer, and `AWS::Scheduler::Schedule` are added by `lambdasim._moto_patches`);
`Stack.not_created` lists it and `deploy` warns with `SamDeployWarning`, except for resource
policies, which nothing in moto enforces for service-to-service deliveries.
"""

from __future__ import annotations

import ast
import copy
import functools
import hashlib
import json
import logging
import os
import re
import shutil
import tempfile
import warnings
import weakref
import zipfile
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from unittest import mock

from . import running
from .errors import SimulatorError, SimulatorNotRunning
from .functions import placeholder_zip
from .rules.custom_resources import CFNRESPONSE_IMPORT

if TYPE_CHECKING:
    from .simulator import Simulator

__all__ = [
    "ARTIFACT_BUCKET",
    "SAM_TRANSFORM",
    "SamDeployError",
    "SamDeployWarning",
    "Stack",
    "StackCreateError",
    "StackFunction",
    "TemplateError",
    "deploy",
    "find_template",
    "stacks",
]

SAM_TRANSFORM = "AWS::Serverless-2016-10-31"
LANGUAGE_EXTENSIONS = "AWS::LanguageExtensions"
# The bucket the placeholder packages go to (the SAM CLI uses a managed bucket the same way).
ARTIFACT_BUCKET = "lambdasim-sam-artifacts"
# The SAM CLI looks for these names in a folder (`sam deploy` / `sam build` without -t).
TEMPLATE_NAMES = ("template.yaml", "template.yml", "template.json")
# https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_CreateStack.html
_STACK_NAME = re.compile(r"[A-Za-z][A-Za-z0-9-]{0,127}")
# Resource policies: moto's CloudFormation does not create these, and nothing in moto enforces
# them for service-to-service deliveries (EventBridge -> SQS, S3 -> SNS, ...), so their absence
# changes nothing the simulation shows. They are still listed in Stack.not_created.
_POLICY_ONLY_TYPES = frozenset({"AWS::SQS::QueuePolicy", "AWS::SNS::TopicPolicy", "AWS::S3::BucketPolicy"})
# A resource that packages local code: type -> (property, what the property is called in errors).
_FUNCTION_TYPES = {"AWS::Serverless::Function": "CodeUri", "AWS::Lambda::Function": "Code"}
_LAYER_TYPES = {"AWS::Serverless::LayerVersion": "ContentUri", "AWS::Lambda::LayerVersion": "Content"}
_CAPABILITIES = ["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM", "CAPABILITY_AUTO_EXPAND"]


class SamDeployError(SimulatorError):
    """A SAM template could not be deployed into the simulator."""


class TemplateError(SamDeployError):
    """The template is invalid: parse, lint, packaging or SAM transform errors (nothing created)."""

    def __init__(self, message: str, problems: list[str] | None = None):
        self.problems = list(problems or [])
        super().__init__(message + "".join(f"\n- {p}" for p in self.problems))


class StackCreateError(SamDeployError):
    """moto's CloudFormation failed to create the stack (it was deleted again afterwards).

    `failures` maps each failed resource's logical id to its status reason, as
    `describe_stack_events` shows a CREATE_FAILED resource on AWS ("" when moto's error does not
    say which resource failed).
    """

    def __init__(self, stack_name: str, failures: dict[str, str], rolled_back: bool):
        self.stack_name = stack_name
        self.failures = failures
        self.rolled_back = rolled_back
        lines = [f"stack {stack_name!r} failed to create in moto's CloudFormation (CREATE_FAILED):"]
        for logical_id, reason in failures.items():
            lines.append(f"- {logical_id or '(resource not identified)'}: {reason}")
        lines.append("the stack was deleted (rolled back)" if rolled_back else "the stack was not rolled back")
        super().__init__("\n".join(lines))


class SamDeployWarning(UserWarning):
    """A template deployed, but part of it is not simulated (see `Stack.not_created`)."""


@dataclass(frozen=True)
class StackFunction:
    """A function the stack created, and the local code the simulator runs for it."""

    logical_id: str
    name: str
    arn: str
    handler: str | None
    runtime: str | None
    code_dir: Path | None  # None: no local code (an image, or code the template gives in S3)


@dataclass
class Stack:
    """A stack deployed into the simulator from a template.

    `outputs` maps OutputKey -> OutputValue; `parameters` the template's parameters (defaults
    included) -> the values the stack uses; `resources` each logical id -> physical id (a
    queue's URL, a table's or function's name, an event source mapping's UUID, ...), as
    `list_stack_resources` shows them; `template` is the CloudFormation template after the SAM
    transform (what `sam deploy` shows as the processed template).
    """

    name: str
    stack_id: str
    status: str
    template_path: Path
    outputs: dict[str, str]
    parameters: dict[str, str]
    resources: dict[str, str]
    resource_types: dict[str, str]
    functions: dict[str, StackFunction]
    layers: dict[str, Path]
    not_created: dict[str, str]
    template: dict[str, Any] = field(repr=False)

    @property
    def function_names(self) -> dict[str, str]:
        """Function logical id -> the function's name in Lambda."""
        return {logical_id: fn.name for logical_id, fn in self.functions.items()}

    def function_name(self, logical_id: str) -> str:
        """The Lambda name of the function `logical_id` of the template."""
        try:
            return self.functions[logical_id].name
        except KeyError:
            raise KeyError(f"{logical_id!r} is not a function of stack {self.name!r}; "
                           f"its functions: {sorted(self.functions)}") from None

    def physical_id(self, logical_id: str) -> str:
        """The physical id of the resource `logical_id` (what `Ref` returns for most types)."""
        try:
            return self.resources[logical_id]
        except KeyError:
            where = " (moto's CloudFormation does not create it)" if logical_id in self.not_created else ""
            raise KeyError(f"stack {self.name!r} has no created resource {logical_id!r}{where}") from None

    def of_type(self, resource_type: str) -> dict[str, str]:
        """Logical id -> physical id of the created resources of one type."""
        return {lid: self.resources[lid] for lid, t in self.resource_types.items()
                if t == resource_type and lid in self.resources}

    @property
    def event_source_mappings(self) -> dict[str, str]:
        """Logical id -> UUID of the stack's event source mappings (SAM's SQS, DynamoDB,
        Kinesis, ... events), for `get_event_source_mapping(UUID=...)`."""
        return self.of_type("AWS::Lambda::EventSourceMapping")


_registry: weakref.WeakKeyDictionary[Any, dict[str, Stack]] = weakref.WeakKeyDictionary()


def stacks(sim: Simulator) -> dict[str, Stack]:
    """The stacks deployed into `sim` with `deploy`, by stack name (a live view)."""
    return _registry.setdefault(sim, {})


def find_template(path: str | Path) -> Path:
    """The template file `path` names: a file, or a folder holding template.yaml/.yml/.json."""
    p = Path(path)
    if p.is_dir():
        for name in TEMPLATE_NAMES:
            if (p / name).is_file():
                return (p / name).resolve()
        raise FileNotFoundError(f"no {' / '.join(TEMPLATE_NAMES)} in {p}")
    if not p.is_file():
        raise FileNotFoundError(f"template {p} does not exist")
    return p.resolve()


def deploy(
    sim: Simulator,
    template: str | Path,
    *,
    stack_name: str | None = None,
    parameters: Mapping[str, Any] | None = None,
    validate: bool = True,
) -> Stack:
    """Deploy a SAM (or plain CloudFormation) template into the running simulator.

    Args:
        sim: the running simulator.
        template: the template file, or the folder holding template.yaml.
        stack_name: the stack's name (default: the template folder's name).
        parameters: parameter values (`sam deploy --parameter-overrides`); lists become
            comma-separated strings, other values `str(value)`.
        validate: lint the template with cfn-lint first and refuse it on any error-level
            finding (`TemplateError`), as CloudFormation refuses resources that break their
            type's schema.

    Returns the `Stack`. Raises `TemplateError` (nothing was created) or `StackCreateError`.
    """
    if running.active_simulator() is not sim:
        # Without moto running, boto3 calls would go to whatever account the environment names.
        raise SimulatorNotRunning("deploy needs a running simulator: `with Simulator() as sim:`")
    path = find_template(template)
    name = stack_name or _default_stack_name(path)
    if not _STACK_NAME.fullmatch(name):
        raise TemplateError(f"invalid stack name {name!r}: it must match [a-zA-Z][-a-zA-Z0-9]* "
                            "and be at most 128 characters (API_CreateStack.html)")
    registry = stacks(sim)
    cfn = sim.client("cloudformation")
    if _stack_exists(cfn, name):
        raise SamDeployError(f"stack {name!r} already exists (AlreadyExistsException); deploy under another "
                             "stack_name, or delete_stack it first (stack updates are not simulated)")
    if validate:
        _lint(path, sim.region)

    sam_template = _parse(path)
    values = _parameter_values(sam_template, parameters or {})
    packaged = _package(sam_template, path.parent, name)
    try:
        cfn_template = _transform(sam_template, values) if _is_sam(sam_template) else sam_template
        _upload_placeholders(sim, packaged.keys)
        with _quiet_moto_parsing(), _mapped_as_created(sim, name, packaged):
            created = _create_stack(sim, name, cfn_template, values)
            stack = _describe(sim, name, path, cfn_template, packaged, created)
        for fn in stack.functions.values():
            if fn.code_dir is not None:
                sim.map_handler(fn.name, code_dir=fn.code_dir)
    except BaseException:
        packaged.cleanup()
        raise
    if packaged.inline_root is not None:
        weakref.finalize(stack, shutil.rmtree, packaged.inline_root, True)
    _warn_gaps(stack)
    registry[name] = stack
    return stack


def transformed(
    template: str | Path, parameters: Mapping[str, Any] | None = None, region: str = "us-east-1"
) -> dict[str, Any]:
    """The template as CloudFormation receives it from `sam deploy`: parsed, its code packaged
    and, when it declares the SAM transform, transformed, as `deploy` does it (steps 2 to 4),
    without a simulator. Nothing is deployed: for reading what SAM generates (roles, event
    source mappings, permissions, subscriptions) as the readiness review does."""
    path = find_template(template)
    sam_template = _parse(path)
    values = _parameter_values(sam_template, parameters or {})
    if not _is_sam(sam_template):
        return sam_template
    packaged = _package(sam_template, path.parent, _default_stack_name(path))
    # The translator reads the Region from boto3's session; outside a simulator none may be set.
    try:
        with mock.patch.dict(os.environ, {"AWS_DEFAULT_REGION": region}):
            return _transform(sam_template, values)
    finally:
        packaged.cleanup()


# -------------------------------------------------------------------------------------------
# 1-2. Validate and parse
# -------------------------------------------------------------------------------------------


def _lint(path: Path, region: str) -> None:
    errors = [m for m in lint(path, region) if m.rule.id.upper().startswith("E")]
    if errors:
        raise TemplateError(
            f"{path} fails validation (cfn-lint, {len(errors)} error(s)); nothing was deployed:",
            [_lint_problem(m) for m in errors],
        )


def lint(path: Path, region: str) -> list[Any]:
    """cfn-lint's findings on one template file: what
    `cfnlint.api.lint_file(path, config=ManualArgs(regions=[region]))` answers, kept by the file's
    text, as a course deploys the same template again and again (about 0.5 s of CPU a course
    template) and findings depend only on the text, the Region, the day (a runtime's deprecation
    dates) and cfn-lint's version."""
    import datetime as dt

    from freezegun.api import real_datetime

    virtual = dt.datetime is not real_datetime  # inside a simulation: its clock
    return list(_lint_text(str(path), path.read_text(encoding="utf-8"), region, dt.date.today(), virtual))


@functools.lru_cache(maxsize=64)
def _lint_text(path: str, text: str, region: str, day: date, virtual: bool) -> tuple[Any, ...]:
    from cfnlint import ManualArgs
    from cfnlint.config import ConfigMixIn
    from cfnlint.runner.template.runner import run_template_by_file_paths

    config = ConfigMixIn(["--template", path], **ManualArgs(regions=[region]))
    return tuple(run_template_by_file_paths(config, _cfn_lint_rules(virtual)))


@functools.cache
def _cfn_lint_rules(virtual: bool) -> Any:
    """cfn-lint's rules, built once per process: `cfnlint.api.lint_file` builds all of them for
    every template (0.5 s of CPU each time, as much as linting a course template), and they do
    not depend on the template (cfn-lint's own command line lints many templates with one set).
    One set for inside simulations and one for outside: cfn-lint loads its rule modules without
    registering them in sys.modules, so those loaded under the virtual clock keep freezegun's
    datetime, which fails once the clock is real again, and those loaded outside would read the
    real day inside a simulation."""
    from cfnlint.config import ConfigMixIn
    from cfnlint.runner.cli import Runner

    return Runner(ConfigMixIn([])).rules


def _lint_problem(match: Any) -> str:
    path = list(getattr(match, "path", None) or [])
    where = f"{path[1]} (line {match.linenumber})" if len(path) > 1 and path[0] == "Resources" \
        else f"line {match.linenumber}"
    return f"{where}: {match.rule.id} {match.message}"


def _parse(path: Path) -> dict[str, Any]:
    import yaml

    try:
        template = json.loads(_template_json(path.read_text(encoding="utf-8")))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}: " if mark is not None else ""
        raise TemplateError(f"{path} cannot be parsed:",
                            [f"{where}{getattr(exc, 'problem', None) or exc}"]) from None
    if not isinstance(template, dict):
        raise TemplateError(f"{path} cannot be parsed:", ["not a mapping"])
    return template


@functools.lru_cache(maxsize=64)
def _template_json(text: str) -> str:
    """A template's text read as CloudFormation reads it, as JSON text; kept by the text, as a
    course deploys the same template again and again (pure-Python YAML: 15 ms for the orders
    pipeline's), and each deploy gets its own copy from `json.loads`."""
    # SAM's own reader of templates (the short forms !Ref, !GetAtt, !Sub... as CloudFormation
    # reads them): cfn-lint's decoder reads the same, but importing it costs 0.6 s of cfn-lint's
    # rules, which a deploy without `validate` never uses.
    from samtranslator.yaml_helper import yaml_parse

    # Plain JSON values: YAML reads an unquoted 2012-10-17 as a date where CloudFormation reads
    # the text.
    return json.dumps(yaml_parse(text), default=_json_default)


def _json_default(value: Any) -> str:
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not a template value")


def _is_sam(template: dict[str, Any]) -> bool:
    transform = template.get("Transform")
    names = transform if isinstance(transform, list) else [transform] if transform else []
    if LANGUAGE_EXTENSIONS in names:
        _refuse_language_extensions_in_use(template)
    others = [t for t in names if t not in (SAM_TRANSFORM, LANGUAGE_EXTENSIONS)]
    if others:
        raise TemplateError(f"transform(s) {others} cannot run offline; lambdasim runs only {SAM_TRANSFORM}")
    return SAM_TRANSFORM in names


def _refuse_language_extensions_in_use(template: dict[str, Any]) -> None:
    """AWS::LanguageExtensions resolves its functions before the other transforms run
    (https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/transform-aws-languageextensions.html):
    a template that declares it and uses none of them is unchanged by it, and deploys; one that
    uses them is refused by name, as lambdasim does not expand them."""
    used: set[str] = set()

    def visit(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key.startswith("Fn::ForEach") or key in ("Fn::Length", "Fn::ToJsonString"):
                    used.add(key.split("::")[0] + "::" + key.split("::")[1])
                elif key == "Fn::FindInMap" and isinstance(value, list) and len(value) > 3:
                    used.add("Fn::FindInMap with DefaultValue")
                elif key == "Ref" and not isinstance(value, str):
                    used.add("an intrinsic function inside Ref")
                elif key == "Fn::GetAtt" and isinstance(value, list) and any(not isinstance(v, str) for v in value):
                    used.add("an intrinsic function inside Fn::GetAtt")
                visit(value)
        elif isinstance(node, list):
            for item in node:
                visit(item)

    visit(template)
    for resource in (template.get("Resources") or {}).values():
        for policy in ("DeletionPolicy", "UpdateReplacePolicy"):
            if isinstance(resource, dict) and not isinstance(resource.get(policy, ""), str):
                used.add(f"an intrinsic function as {policy}")
    if used:
        raise TemplateError(f"{LANGUAGE_EXTENSIONS}: the template uses {', '.join(sorted(used))}, "
                            "which lambdasim does not expand offline")


def _default_stack_name(path: Path) -> str:
    name = re.sub(r"[^A-Za-z0-9-]+", "-", path.parent.name).strip("-")
    if not name or not name[0].isalpha():
        name = "stack-" + name
    return name[:128]


def _parameter_values(template: dict[str, Any], given: Mapping[str, Any]) -> dict[str, str]:
    declared = template.get("Parameters") or {}
    unknown = sorted(set(given) - set(declared))
    if unknown:
        # CloudFormation's own messages (ValidationError).
        raise TemplateError(f"Parameters: [{', '.join(unknown)}] do not exist in the template")
    values = {key: _parameter_text(value) for key, value in given.items()}
    missing = sorted(k for k, spec in declared.items() if k not in values and "Default" not in (spec or {}))
    if missing:
        raise TemplateError(f"Parameters: [{', '.join(missing)}] must have values")
    problems = []
    for key, spec in declared.items():
        value = values.get(key, _parameter_text((spec or {}).get("Default", "")))
        problem = _constraint_problem(key, spec or {}, value)
        if problem:
            problems.append(problem)
    if problems:
        raise TemplateError("parameter values break their constraints (CloudFormation refuses them):", problems)
    return values


def _constraint_problem(key: str, spec: dict[str, Any], value: str) -> str | None:
    """The first constraint of parameters-section-structure.html that `value` breaks, if any.

    moto does not check them; CloudFormation refuses the stack. ConstraintDescription, when
    given, is the message.
    """
    ptype = str(spec.get("Type", "String"))
    items = [v.strip() for v in value.split(",")] if ptype.startswith(("CommaDelimitedList", "List<")) else [value]
    problem = None
    for item in items:
        if "AllowedValues" in spec and item not in [str(v) for v in spec["AllowedValues"]]:
            problem = f"Parameter '{key}' must be one of AllowedValues"
        elif "AllowedPattern" in spec and not re.fullmatch(str(spec["AllowedPattern"]), item):
            problem = f"Parameter '{key}' must match pattern {spec['AllowedPattern']}"
        elif "MinLength" in spec and len(item) < int(spec["MinLength"]):
            problem = f"Parameter '{key}' must contain at least {spec['MinLength']} characters"
        elif "MaxLength" in spec and len(item) > int(spec["MaxLength"]):
            problem = f"Parameter '{key}' must contain at most {spec['MaxLength']} characters"
        elif ptype in ("Number", "List<Number>"):
            try:
                number = float(item)
            except ValueError:
                problem = f"Parameter '{key}' must be a number"
            else:
                if "MinValue" in spec and number < float(spec["MinValue"]):
                    problem = f"Parameter '{key}' must be a number not less than {spec['MinValue']}"
                elif "MaxValue" in spec and number > float(spec["MaxValue"]):
                    problem = f"Parameter '{key}' must be a number not greater than {spec['MaxValue']}"
        if problem:
            if spec.get("ConstraintDescription"):
                problem = f"Parameter '{key}' failed to satisfy constraint: {spec['ConstraintDescription']}"
            return problem
    return None


def _parameter_text(value: Any) -> str:
    if isinstance(value, bool):  # YAML's true/false, as the template's text
        return str(value).lower()
    if isinstance(value, (list, tuple)):
        return ",".join(str(v) for v in value)
    return str(value)


# -------------------------------------------------------------------------------------------
# 3. Package: local code -> placeholder S3 locations
# -------------------------------------------------------------------------------------------


@dataclass
class _Packaged:
    code_dirs: dict[str, Path]  # function logical id -> local folder
    layer_dirs: dict[str, Path]  # layer logical id -> local folder
    keys: list[str]  # S3 keys of the placeholder packages
    inline_root: Path | None = None

    def cleanup(self) -> None:
        if self.inline_root is not None:
            shutil.rmtree(self.inline_root, ignore_errors=True)
            self.inline_root = None


def _unpacked(archive: Path) -> Path:
    """The folder a code .zip unpacks to: one per content, under the system's temporary folder
    (unpacked once, then reused; zipfile keeps every member inside it)."""
    digest = hashlib.sha256(archive.read_bytes()).hexdigest()[:16]
    folder = Path(tempfile.gettempdir()) / "lambdasim-code" / digest
    if not folder.is_dir():
        folder.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(dir=folder.parent))
        with zipfile.ZipFile(archive) as zipped:
            zipped.extractall(staging)
        try:
            staging.rename(folder)
        except OSError:  # another process unpacked the same archive meanwhile
            shutil.rmtree(staging, ignore_errors=True)
    return folder


def _package(template: dict[str, Any], base: Path, stack_name: str) -> _Packaged:
    """Replace local code locations with placeholder S3 locations (in place); remember folders."""
    packaged = _Packaged({}, {}, [])
    problems: list[str] = []
    resources = template.get("Resources")
    if not isinstance(resources, dict) or not resources:
        raise TemplateError("the template has no Resources")

    def placeholder(logical_id: str) -> str:
        key = f"{stack_name}/{logical_id}.zip"
        packaged.keys.append(key)
        return key

    def local_folder(owner: str, prop: str, value: Any) -> Path | None:
        if not isinstance(value, str) or value.startswith("s3://"):
            problems.append(f"{owner}: {prop} {value!r} is not a local folder; lambdasim runs functions "
                            "from local code (use the template `sam build` reads, not a packaged one)")
            return None
        folder = (base / value).resolve()
        if folder.suffix == ".zip" and folder.is_file():
            return _unpacked(folder)  # `sam deploy` uploads a local .zip as it is
        if not folder.is_dir():
            problems.append(f"{owner}: {prop} {value!r} is not a folder or a .zip file ({folder})")
            return None
        return folder

    # Globals.Function.CodeUri: the folder of every function that has no CodeUri of its own.
    global_fn = ((template.get("Globals") or {}).get("Function") or {})
    global_dir: Path | None = None
    if "CodeUri" in global_fn:
        global_dir = local_folder("Globals.Function", "CodeUri", global_fn["CodeUri"])
        if global_dir is not None:
            # Logical ids are alphanumeric: "Globals.Function" names no resource.
            global_fn["CodeUri"] = f"s3://{ARTIFACT_BUCKET}/{placeholder('Globals.Function')}"

    try:
        _package_resources(resources, global_fn, global_dir, packaged, placeholder, local_folder)
    except BaseException:
        packaged.cleanup()
        raise
    if problems:
        packaged.cleanup()
        raise TemplateError("the template's code cannot be packaged:", problems)
    return packaged


def _package_resources(
    resources: dict[str, Any],
    global_fn: dict[str, Any],
    global_dir: Path | None,
    packaged: _Packaged,
    placeholder: Callable[[str], str],
    local_folder: Callable[[str, str, Any], Path | None],
) -> None:
    for logical_id, resource in resources.items():
        if not isinstance(resource, dict):
            continue
        rtype, props = resource.get("Type"), resource.get("Properties")
        if rtype in _FUNCTION_TYPES:
            if props is None and rtype == "AWS::Serverless::Function":
                props = resource["Properties"] = {}  # everything may come from Globals
            if not isinstance(props, dict):
                continue  # the transform or CloudFormation reports the missing properties
            package_type = props.get("PackageType", global_fn.get("PackageType", "Zip"))
            if package_type == "Image" or "ImageUri" in props:
                continue  # a container image: nothing local to map (the core needs map_handler)
            if rtype == "AWS::Serverless::Function":
                if "InlineCode" in props:
                    packaged.code_dirs[logical_id] = _write_inline(packaged, logical_id, props["InlineCode"])
                    continue
                if "CodeUri" not in props and global_dir is not None:
                    packaged.code_dirs[logical_id] = global_dir
                    continue
                # The SAM CLI packages the template's folder when CodeUri is missing.
                folder = local_folder(logical_id, "CodeUri", props.get("CodeUri", "."))
                if folder is not None:
                    packaged.code_dirs[logical_id] = folder
                    props["CodeUri"] = f"s3://{ARTIFACT_BUCKET}/{placeholder(logical_id)}"
            else:
                code = props.get("Code")
                if isinstance(code, dict) and "ZipFile" in code:
                    packaged.code_dirs[logical_id] = _write_inline(packaged, logical_id, code["ZipFile"])
                elif isinstance(code, str):  # `aws cloudformation package` convention: a local path
                    folder = local_folder(logical_id, "Code", code)
                    if folder is not None:
                        packaged.code_dirs[logical_id] = folder
                        props["Code"] = {"S3Bucket": ARTIFACT_BUCKET, "S3Key": placeholder(logical_id)}
                # Code given as {S3Bucket, S3Key}: the object must exist in moto's S3; not mapped.
        elif rtype in _LAYER_TYPES and isinstance(props, dict):
            prop = _LAYER_TYPES[rtype]
            value = props.get(prop)
            if isinstance(value, str) and not value.startswith("s3://"):
                folder = local_folder(logical_id, prop, value)
                if folder is not None:
                    packaged.layer_dirs[logical_id] = folder
                    key = placeholder(logical_id)
                    props[prop] = (f"s3://{ARTIFACT_BUCKET}/{key}" if rtype == "AWS::Serverless::LayerVersion"
                                   else {"S3Bucket": ARTIFACT_BUCKET, "S3Key": key})


def _write_inline(packaged: _Packaged, logical_id: str, code: Any) -> Path:
    """Inline code runs from a private folder as index.py (Lambda's file name for ZipFile).

    Code that imports the `cfn-response` module with exactly `import cfnresponse` gets it beside
    index.py, as CloudFormation adds it to ZipFile code (SAM's InlineCode becomes ZipFile); code
    folders do not (cfn-lambda-function-code-cfnresponsemodule.html). The module is AWS's own,
    from the `cfnresponse` package.
    """
    if not isinstance(code, str):
        raise TemplateError(f"{logical_id}: inline code must be text, not {type(code).__name__}")
    if packaged.inline_root is None:
        packaged.inline_root = Path(tempfile.mkdtemp(prefix="lambdasim-inline-"))
    folder = packaged.inline_root / logical_id
    folder.mkdir()
    (folder / "index.py").write_text(code, encoding="utf-8")
    if CFNRESPONSE_IMPORT.search(code):
        import cfnresponse

        shutil.copyfile(str(cfnresponse.__file__), folder / "cfnresponse.py")
    return folder


def _upload_placeholders(sim: Simulator, keys: list[str]) -> None:
    if not keys:
        return
    s3 = sim.client("s3")
    try:
        s3.head_bucket(Bucket=ARTIFACT_BUCKET)
    except s3.exceptions.ClientError:
        if sim.region == "us-east-1":
            s3.create_bucket(Bucket=ARTIFACT_BUCKET)
        else:
            s3.create_bucket(Bucket=ARTIFACT_BUCKET, CreateBucketConfiguration={"LocationConstraint": sim.region})
    body = placeholder_zip()
    for key in keys:
        s3.put_object(Bucket=ARTIFACT_BUCKET, Key=key, Body=body)


# -------------------------------------------------------------------------------------------
# 4. The SAM transform, offline
# -------------------------------------------------------------------------------------------


class _OfflineManagedPolicies:
    """AWS managed policy name -> ARN from moto's bundled copy of the AWS managed policies.

    The translator asks only for names missing from its own bundled map (and never for ARNs);
    samtranslator's `ManagedPolicyLoader` would call IAM `ListPolicies` instead.
    """

    def __init__(self, partition: str):
        self.partition = partition
        self._map: dict[str, str] | None = None

    def load(self) -> dict[str, str]:
        if self._map is None:
            from moto.iam.aws_managed_policies import aws_managed_policies_data

            data = json.loads(aws_managed_policies_data)
            self._map = {
                name: f"arn:{self.partition}:iam::aws:policy{spec.get('Path', '/')}{name}"
                for name, spec in data.items()
            }
        return self._map


@contextmanager
def _real_date_classes() -> Iterator[None]:
    """Import code with the real `datetime.date`/`datetime` while the virtual clock runs.

    The translator uses pydantic.v1, whose `class ConstrainedDate(date, metaclass=...)` cannot
    be created while freezegun has replaced `datetime.date` (metaclass conflict). Only a first
    import inside a running simulation needs this; afterwards the module is loaded.
    """
    import datetime as dt

    from freezegun.api import real_date, real_datetime

    saved = dt.date, dt.datetime
    dt.date, dt.datetime = real_date, real_datetime  # type: ignore[misc]
    try:
        yield
    finally:
        dt.date, dt.datetime = saved  # type: ignore[misc]


def _transform(template: dict[str, Any], values: dict[str, str]) -> dict[str, Any]:
    """samtranslator's own `transform()` (`_transform_afresh`), kept by everything it reads: the
    template, the parameter values and the Region (AWS::Region, and the partition in ARNs). A
    course deploys the same packaged template again and again (25 ms a transform for the orders
    pipeline's); each deploy gets its own copy from `json.loads`."""
    import boto3

    # Keys in their order, as the transform's output follows it (moto creates resources in it).
    return json.loads(_transformed_json(json.dumps(template), json.dumps(values),
                                        boto3.session.Session().region_name))


@functools.lru_cache(maxsize=64)
def _transformed_json(template: str, values: str, region: str | None) -> str:
    # `region` is only the key: the transform reads the same Region from the environment.
    return json.dumps(_transform_afresh(json.loads(template), json.loads(values)))


def _transform_afresh(template: dict[str, Any], values: dict[str, str]) -> dict[str, Any]:
    """samtranslator's own `transform()`, with its metrics published to its offline publisher
    (`transform()` leaves them unpublished, and the translator then logs a warning)."""
    with _real_date_classes():
        from samtranslator.metrics.metrics import DummyMetricsPublisher, Metrics
        from samtranslator.model.exceptions import ExceptionWithMessage, InvalidDocumentException
        from samtranslator.parser.parser import Parser
        from samtranslator.translator.arn_generator import ArnGenerator
        from samtranslator.translator.translator import Translator
        from samtranslator.utils.py27hash_fix import (
            to_py27_compatible_template,
            undo_mark_unicode_str_in_template,
        )

    loader = _OfflineManagedPolicies(ArnGenerator.get_partition_name())
    fragment, parameter_values = copy.deepcopy(template), dict(values)
    metrics = Metrics("ServerlessTransform", DummyMetricsPublisher())
    # Without a feature toggle configuration every toggled feature is off, as in `sam deploy`;
    # the translator says so on stderr once per feature a template touches (DeploymentPreference).
    toggle_log = logging.getLogger("samtranslator.feature_toggle.feature_toggle")
    toggle_log.addFilter(_not_a_toggle_notice)
    try:
        to_py27_compatible_template(fragment, parameter_values)
        translated = Translator(None, Parser(), metrics=metrics).translate(
            fragment, parameter_values=parameter_values, get_managed_policy_map=loader.load
        )
    except InvalidDocumentException as e:
        raise TemplateError("the SAM transform failed: " + e.message,
                            [cause.message for cause in e.causes]) from None
    except ExceptionWithMessage as e:
        raise TemplateError("the SAM transform failed: " + e.message) from None
    finally:
        metrics.publish()
        toggle_log.removeFilter(_not_a_toggle_notice)
    result: dict[str, Any] = undo_mark_unicode_str_in_template(translated)
    return result


# -------------------------------------------------------------------------------------------
# 5. Create the stack in moto's CloudFormation
# -------------------------------------------------------------------------------------------


def _not_a_toggle_notice(record: logging.LogRecord) -> bool:
    return "not available in Feature Toggle Config" not in str(record.msg)


def _not_a_moto_gap_notice(record: logging.LogRecord) -> bool:
    return not str(record.msg).startswith("No Moto CloudFormation support")


@contextmanager
def _quiet_moto_parsing() -> Iterator[None]:
    # moto logs and warns each time it meets a resource type it does not implement; deploy
    # reports those resources once itself (Stack.not_created, SamDeployWarning).
    logger = logging.getLogger("moto")
    logger.addFilter(_not_a_moto_gap_notice)
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="Tried to parse .* not supported by moto")
            yield
    finally:
        logger.removeFilter(_not_a_moto_gap_notice)


@contextmanager
def _mapped_as_created(sim: Simulator, stack_name: str, packaged: _Packaged) -> Iterator[None]:
    """While the stack is created: a function a custom resource invokes runs its local code,
    though the stack is not complete yet (the functions are mapped after it, in step 6).
    CloudFormation's stack-level tags say which template function a function is."""
    lam = sim.client("lambda")

    def map_function(function_arn: str) -> None:
        arn = ":".join(function_arn.split(":")[:7])  # without a version or alias
        try:
            tags = lam.list_tags(Resource=arn)["Tags"]
        except lam.exceptions.ClientError:
            return  # not a function: the custom resource reports it
        folder = packaged.code_dirs.get(tags.get("aws:cloudformation:logical-id", ""))
        if tags.get("aws:cloudformation:stack-name") == stack_name and folder is not None:
            sim.map_handler(arn.rsplit(":", 1)[-1], code_dir=folder)

    sim.custom_resources.before_request = map_function
    try:
        yield
    finally:
        sim.custom_resources.before_request = None


def _stack_exists(cfn: Any, name: str) -> bool:
    try:
        stack = cfn.describe_stacks(StackName=name)["Stacks"][0]
    except cfn.exceptions.ClientError:
        return False
    return stack["StackStatus"] != "DELETE_COMPLETE"


def _create_stack(sim: Simulator, name: str, template: dict[str, Any], values: dict[str, str]) -> dict[str, Any]:
    """create_stack, and the stack's description once CREATE_COMPLETE."""
    cfn = sim.client("cloudformation")
    try:
        cfn.create_stack(
            StackName=name,
            TemplateBody=json.dumps(template),
            Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in values.items()],
            Capabilities=_CAPABILITIES,
        )
    except Exception as e:  # moto raises from inside the resource that failed
        raise _create_failure(cfn, name, template, e) from e
    # moto creates every resource inside create_stack: the stack is complete on return. A
    # status other than CREATE_COMPLETE is reported as CloudFormation reports it.
    stack = cfn.describe_stacks(StackName=name)["Stacks"][0]
    if stack["StackStatus"] != "CREATE_COMPLETE":
        events = cfn.describe_stack_events(StackName=name)["StackEvents"]
        failures = {ev["LogicalResourceId"]: ev.get("ResourceStatusReason", "")
                    for ev in events if ev["ResourceStatus"].endswith("FAILED")}
        raise StackCreateError(name, failures or {"": stack.get("StackStatusReason", stack["StackStatus"])},
                               rolled_back=False)
    return stack


def _create_failure(cfn: Any, name: str, template: dict[str, Any], error: Exception) -> StackCreateError:
    # moto has no CREATE_FAILED: the resource's error escapes create_stack and the stack stays
    # CREATE_IN_PROGRESS. (Do not list its resources now: moto's list_stack_resources would
    # create the remaining ones on the way.)
    failures = _failed_events(cfn, name)
    if not failures:
        reason = _error_reason(error)
        logical_id = _failed_resource(error)
        if logical_id:
            rtype = ((template.get("Resources") or {}).get(logical_id) or {}).get("Type", "?")
            reason = f"({rtype}) {reason}"
        failures = {logical_id or "": reason}
    rolled_back = False
    try:
        cfn.delete_stack(StackName=name)  # deletes what was created, as a rollback does
        rolled_back = True
    except Exception:  # noqa: S110 - the error being reported matters more
        pass
    return StackCreateError(name, failures, rolled_back)


def _failed_events(cfn: Any, name: str) -> dict[str, str]:
    """Logical id -> "(type) reason" of the stack's CREATE_FAILED resources, oldest first, as
    describe_stack_events shows them (the adapter records them for moto)."""
    try:
        events = cfn.describe_stack_events(StackName=name)["StackEvents"]
    except cfn.exceptions.ClientError:
        return {}
    return {ev["LogicalResourceId"]: f"({ev.get('ResourceType', '?')}) {ev.get('ResourceStatusReason', '')}"
            for ev in reversed(events) if ev["ResourceStatus"] == "CREATE_FAILED"}


def _error_reason(error: Exception) -> str:
    response = getattr(error, "response", None)
    if isinstance(response, dict) and "Error" in response:  # botocore ClientError
        err = response["Error"]
        return f"{err.get('Code', 'Error')}: {err.get('Message', '')}"
    text = str(error)
    # A JSON service error inside CloudFormation's XML API reaches boto3 as an unparsable body:
    # b'{"__type": "...", "message": "..."}'.
    match = re.search(r"b(['\"])(\{.*\})\1\s*$", text, re.S)
    if match:
        try:
            body = json.loads(ast.literal_eval("b" + match.group(1) + match.group(2) + match.group(1)))
            return f"{body.get('__type', 'Error')}: {body.get('message') or body.get('Message', '')}"
        except (ValueError, SyntaxError):
            pass
    return f"{type(error).__name__}: {text}"


def _failed_resource(error: BaseException) -> str | None:
    """The logical id moto was creating when it raised (read from the traceback), if known."""
    logical_id = None
    tb = error.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_name == "parse_and_create_resource":
            value = tb.tb_frame.f_locals.get("logical_id")
            if isinstance(value, str):
                logical_id = value  # keep the innermost: dependencies are created recursively
        tb = tb.tb_next
    return logical_id


# -------------------------------------------------------------------------------------------
# 6. Describe the stack and map its functions
# -------------------------------------------------------------------------------------------


def _moto_types() -> set[str]:
    from moto.cloudformation.parsing import NULL_MODELS, get_model_map

    return set(get_model_map()) | set(NULL_MODELS)


def _describe(
    sim: Simulator, name: str, path: Path, template: dict[str, Any], packaged: _Packaged, stack: dict[str, Any]
) -> Stack:
    cfn = sim.client("cloudformation")
    resources: dict[str, str] = {}
    for page in cfn.get_paginator("list_stack_resources").paginate(StackName=name):
        for summary in page["StackResourceSummaries"]:
            if summary["LogicalResourceId"]:  # moto lists the types it skipped with blank ids
                resources[summary["LogicalResourceId"]] = summary.get("PhysicalResourceId", "")
    declared = template.get("Resources") or {}
    types = {lid: r.get("Type", "") for lid, r in declared.items()}
    supported = _moto_types()
    # A custom resource missing here was not created on purpose (a false Condition), not for want
    # of moto support.
    not_created = {lid: t for lid, t in types.items()
                   if lid not in resources and t not in supported
                   and not (t.startswith("Custom::") or t == "AWS::CloudFormation::CustomResource")}

    lam = sim.client("lambda")
    functions: dict[str, StackFunction] = {}
    for logical_id, rtype in types.items():
        if rtype != "AWS::Lambda::Function" or logical_id not in resources:
            continue
        config = lam.get_function_configuration(FunctionName=resources[logical_id])
        functions[logical_id] = StackFunction(
            logical_id=logical_id,
            name=config["FunctionName"],
            arn=config["FunctionArn"],
            handler=config.get("Handler"),
            runtime=config.get("Runtime"),
            code_dir=packaged.code_dirs.get(logical_id),
        )

    params = {p["ParameterKey"]: p.get("ParameterValue", "") for p in stack.get("Parameters", [])}
    for key, spec in (template.get("Parameters") or {}).items():
        if key not in params and "Default" in (spec or {}):
            params[key] = _parameter_text(spec["Default"])
        if (spec or {}).get("NoEcho") in (True, "true", "True") and key in params:
            params[key] = "****"  # what describe_stacks shows for a NoEcho parameter
    return Stack(
        name=name,
        stack_id=stack["StackId"],
        status=stack["StackStatus"],
        template_path=path,
        outputs={o["OutputKey"]: o.get("OutputValue", "") for o in stack.get("Outputs", [])},
        parameters=params,
        resources=resources,
        resource_types=types,
        functions=functions,
        layers=dict(packaged.layer_dirs),
        not_created=not_created,
        template=template,
    )


def _warn_gaps(stack: Stack) -> None:
    gaps = {lid: t for lid, t in stack.not_created.items() if t not in _POLICY_ONLY_TYPES}
    if gaps:
        listed = ", ".join(f"{lid} ({t})" for lid, t in gaps.items())
        warnings.warn(f"stack {stack.name!r}: moto's CloudFormation does not implement {listed}; "
                      "not created, so not simulated", SamDeployWarning, stacklevel=3)
    if stack.layers:
        warnings.warn(f"stack {stack.name!r}: layers {sorted(stack.layers)} were deployed, but the simulator "
                      "does not put layer code on the functions' import path", SamDeployWarning, stacklevel=3)
