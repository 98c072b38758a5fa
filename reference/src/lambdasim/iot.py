"""AWS IoT Core's rules engine on the rules moto stores (moto stores topic rules but never runs
them): every message published (boto3 `iot-data` Publish, or a device's MQTT publish through
`sim.iot.publish`) is offered to every enabled rule whose FROM filter matches its topic, and a
Basic Ingest topic (`$aws/rules/<rule>/...`) to that rule only, without the broker. A rule that
matches runs its actions, each on its own: Kinesis PutRecord (partition key from its substitution
template), Lambda (an asynchronous invoke with the SELECT result as the event), DynamoDBv2
PutItem (the result's top-level attributes), SQS SendMessage (useBase64), SNS Publish
(messageFormat RAW or JSON), Republish (to another topic, which can trigger rules) and Firehose
PutRecord (with its separator; a JSON array record by record with batchMode). The actions call
the services through boto3 as the rule's role would, so the simulator's ceilings and injected
faults apply to them; one whose call fails is an action failure, and the rule's error action
then receives AWS's error message, one per rule and message. The SQL, topics, templates and the
error message are AWS's rules in `rules/iot.py`.

Actions run at the virtual instant of the publish, in the rule's order; rules in creation order.
"""

from __future__ import annotations

import base64
import json
import uuid
from dataclasses import dataclass, field
from decimal import Decimal
from functools import lru_cache
from random import Random
from typing import TYPE_CHECKING, Any

from . import moto_state
from .errors import SimulatorError
from .rules import iot as rules

if TYPE_CHECKING:
    from .simulator import Simulator

# A Republish action whose topic triggers its own rule would loop for ever; AWS documents no
# depth, so the simulator stops a chain this deep and says so.
MAX_REPUBLISH_DEPTH = 16


class PayloadTooLarge(SimulatorError):
    """A device published a payload over the 128 KB message limit (iot-core.html)."""


@dataclass(frozen=True)
class PublishedMessage:
    at_us: int
    topic: str  # as published, a Basic Ingest prefix included
    payload: bytes
    client_id: str | None
    basic_ingest: bool


@dataclass(frozen=True)
class ActionResult:
    """One action's outcome for one message: `error` is empty when it succeeded."""

    action: str  # the action's type ("kinesis", "lambda", ...)
    resource: str
    error: str = ""
    response: Any = None

    @property
    def ok(self) -> bool:
        return not self.error


@dataclass
class RuleMatch:
    """A rule that matched a message: what its SELECT produced and what its actions did."""

    at_us: int
    rule: str
    topic: str  # without a Basic Ingest prefix
    payload: bytes
    document: Any
    actions: list[ActionResult] = field(default_factory=list)
    error_message: dict[str, Any] | None = None  # what the error action received
    error_action: ActionResult | None = None


class IotRulesEngine:
    """`sim.iot`: publish as a device, and what the rules engine did.

    `messages` (every message received, Basic Ingest ones included), `matches` (`RuleMatch` per
    rule and message), `errors` (the error action messages), `sql_errors` (rules whose SQL the
    simulator could not run, with why)."""

    def __init__(self, sim: Simulator, rng: Random):
        self._sim = sim
        self._rng = rng
        self.messages: list[PublishedMessage] = []
        self.matches: list[RuleMatch] = []
        self.sql_errors: dict[str, str] = {}
        self.enabled = True  # Simulator(iot_rules=False): messages are kept, no rule runs
        self._depth = 0

    @property
    def errors(self) -> list[dict[str, Any]]:
        return [m.error_message for m in self.matches if m.error_message is not None]

    # -- publishing -------------------------------------------------------------------------------
    def publish(self, topic: str, payload: bytes | str | dict[str, Any] | list[Any], *,
                client_id: str | None = None) -> None:
        """A device's MQTT publish (with its client id, which clientid() returns); a dict or a
        list is sent as JSON. The broker keeps it as moto keeps iot-data's messages; a Basic
        Ingest topic bypasses the broker."""
        body = (json.dumps(payload).encode() if isinstance(payload, (dict, list))
                else payload.encode() if isinstance(payload, str) else payload)
        if len(body) > rules.MAX_PAYLOAD_BYTES:
            raise PayloadTooLarge(f"{rules.PAYLOAD_TOO_LARGE_MESSAGE}: {len(body)} bytes, at most "
                                  f"{rules.MAX_PAYLOAD_BYTES}")
        if rules.basic_ingest(topic) is None:
            moto_state.record_iot_publish(self._sim.account_id, self._sim.region, topic, body)
        if self.enabled:
            self.receive(self._sim.account_id, self._sim.region, topic, body, client_id)

    def receive(self, account_id: str, region: str, topic: str, payload: bytes, client_id: str | None) -> None:
        """A message the broker (or Basic Ingest) accepted: every rule it matches runs."""
        now = self._sim._clock.micros
        ingest = rules.basic_ingest(topic)
        self.messages.append(PublishedMessage(now, topic, payload, client_id, ingest is not None))
        message = rules.Message(topic=ingest[1] if ingest else topic, payload=payload, client_id=client_id,
                                timestamp_ms=now // 1000)
        for rule in moto_state.iot_topic_rules(account_id, region):
            if rule.disabled or (ingest is not None and rule.name != ingest[0]):
                continue
            statement = self._statement(rule)
            if statement is None:
                continue
            if ingest is None and (statement.topic_filter is None
                                   or not rules.topic_matches(statement.topic_filter, topic)):
                continue
            evaluation = rules.Evaluation(message, self._new_uuid)
            result = rules.evaluate(statement, evaluation)
            if result.matched:
                self._run(account_id, region, rule, message, evaluation, result, now)

    def _statement(self, rule: moto_state.TopicRule) -> rules.Statement | None:
        try:
            return _parsed(rule.sql, rule.sql_version)
        except rules.SqlParseError as error:
            self.sql_errors[rule.name] = str(error)
            return None

    def _new_uuid(self) -> str:
        return str(uuid.UUID(int=self._rng.getrandbits(128), version=4))

    # -- actions ----------------------------------------------------------------------------------
    def _run(self, account_id: str, region: str, rule: moto_state.TopicRule, message: rules.Message,
             evaluation: rules.Evaluation, result: rules.Result, now: int) -> None:
        match = RuleMatch(now, rule.name, message.topic, result.payload, result.document)
        self.matches.append(match)
        match.actions = [self._perform(account_id, region, action, evaluation, result.payload)
                         for action in rule.actions]
        failures = [rules.ActionFailure(a.action, a.resource, a.error) for a in match.actions if not a.ok]
        if failures and rule.error_action:
            match.error_message = rules.error_message(
                rule_name=rule.name, topic=message.topic, trace_id=self._new_uuid(), client_id=message.client_id,
                payload=message.payload, failures=failures)
            body = json.dumps(match.error_message, separators=(",", ":")).encode()
            match.error_action = self._perform(account_id, region, rule.error_action, evaluation, body)

    def _perform(self, account_id: str, region: str, action: dict[str, Any], evaluation: rules.Evaluation,
                 payload: bytes) -> ActionResult:
        kind = rules.action_kind(action)
        params = {key: rules.substitute(value, evaluation) if isinstance(value, str) and key != "roleArn" else value
                  for key, value in action[kind].items()}
        perform = _ACTIONS.get(kind)
        resource = _resource(kind, params)
        if perform is None:
            return ActionResult(kind, resource, f"the simulator does not run {kind} actions")
        try:
            response = perform(self, account_id, params, payload, evaluation)
        except Exception as error:  # the target service's refusal is the action's failure
            return ActionResult(kind, resource, _describe(error))
        return ActionResult(kind, resource, response=response)

    def _kinesis(self, account_id: str, params: dict[str, Any], payload: bytes, evaluation: rules.Evaluation) -> Any:
        # kinesis-rule-action.html: partitionKey is optional; without one the key is a new UUID here.
        key = params.get("partitionKey") or self._new_uuid()
        return self._sim.client("kinesis").put_record(StreamName=params["streamName"], Data=payload, PartitionKey=key)

    def _lambda(self, account_id: str, params: dict[str, Any], payload: bytes, evaluation: rules.Evaluation) -> Any:
        # lambda-rule-action.html: AWS IoT invokes the function asynchronously.
        return self._sim._service.enqueue_by_arn(account_id, params["functionArn"], payload, source="iot")

    def _dynamodb_v2(self, account_id: str, params: dict[str, Any], payload: bytes,
                     evaluation: rules.Evaluation) -> Any:
        from boto3.dynamodb.types import TypeSerializer

        document = json.loads(payload, parse_float=Decimal)
        if not isinstance(document, dict):
            raise ValueError("the SELECT result is not a JSON object")
        serializer = TypeSerializer()
        item = {key: serializer.serialize(value) for key, value in document.items()}
        return self._sim.client("dynamodb").put_item(TableName=params["putItem"]["tableName"], Item=item)

    def _sqs(self, account_id: str, params: dict[str, Any], payload: bytes, evaluation: rules.Evaluation) -> Any:
        body = base64.b64encode(payload).decode() if _true(params.get("useBase64")) else payload.decode()
        return self._sim.client("sqs").send_message(QueueUrl=params["queueUrl"], MessageBody=body)

    def _sns(self, account_id: str, params: dict[str, Any], payload: bytes, evaluation: rules.Evaluation) -> Any:
        extra = {"MessageStructure": "json"} if params.get("messageFormat") == "JSON" else {}
        return self._sim.client("sns").publish(TargetArn=params["targetArn"], Message=payload.decode(), **extra)

    def _republish(self, account_id: str, params: dict[str, Any], payload: bytes,
                   evaluation: rules.Evaluation) -> Any:
        if self._depth >= MAX_REPUBLISH_DEPTH:
            raise SimulatorError(f"Republish chain deeper than {MAX_REPUBLISH_DEPTH} (a rule republishing to "
                                 "a topic that triggers it again?)")
        self._depth += 1
        try:
            return self._sim.client("iot-data").publish(topic=params["topic"], qos=int(params.get("qos") or 0),
                                                        payload=payload)
        finally:
            self._depth -= 1

    def _firehose(self, account_id: str, params: dict[str, Any], payload: bytes,
                  evaluation: rules.Evaluation) -> Any:
        separator = (params.get("separator") or "").encode()
        firehose = self._sim.client("firehose")
        name = params["deliveryStreamName"]
        if _true(params.get("batchMode")):
            records = json.loads(payload)
            if not isinstance(records, list):
                raise ValueError("batchMode needs the SELECT result to be a JSON array")
            return firehose.put_record_batch(DeliveryStreamName=name, Records=[
                {"Data": json.dumps(r, separators=(",", ":")).encode() + separator} for r in records])
        return firehose.put_record(DeliveryStreamName=name, Record={"Data": payload + separator})


_ACTIONS = {
    "kinesis": IotRulesEngine._kinesis, "lambda": IotRulesEngine._lambda, "dynamoDBv2": IotRulesEngine._dynamodb_v2,
    "sqs": IotRulesEngine._sqs, "sns": IotRulesEngine._sns, "republish": IotRulesEngine._republish,
    "firehose": IotRulesEngine._firehose,
}

_RESOURCE_PARAMS = {"kinesis": "streamName", "lambda": "functionArn", "sqs": "queueUrl", "sns": "targetArn",
                    "republish": "topic", "firehose": "deliveryStreamName"}


def _resource(kind: str, params: dict[str, Any]) -> str:
    if kind == "dynamoDBv2":
        return str((params.get("putItem") or {}).get("tableName", ""))
    return str(params.get(_RESOURCE_PARAMS.get(kind, ""), ""))


def _true(value: Any) -> bool:
    return value is True or str(value).lower() == "true"


def _describe(error: Exception) -> str:
    response = getattr(error, "response", None)
    if isinstance(response, dict) and "Error" in response:
        return f"{response['Error'].get('Code')}: {response['Error'].get('Message')}"
    return f"{type(error).__name__}: {error}"


@lru_cache(maxsize=256)
def _parsed(sql: str, version: str) -> rules.Statement:
    return rules.parse(sql, version)
