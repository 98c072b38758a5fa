"""AWS IoT Core's rules engine played on the rules moto stores (lambdasim/rules/iot.py,
lambdasim/iot.py, lambdasim/_moto_patches/iot.py).

Each test's docstring names the AWS documentation page whose rule it pins (the site's fidelity
table is built from them). The SQL tests need no simulation; the others share one simulation
(its streams, function, table, queues, topic and delivery stream made once) and each makes its
own rules on topics of its own.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from lambdasim import Simulator
from lambdasim.iot import PayloadTooLarge
from lambdasim.rules import iot as rules

FIXTURES = Path(__file__).parent / "fixtures"
ROLE = "arn:aws:iam::123456789012:role/iot-rules"
MISSING_QUEUE = "https://sqs.us-east-1.amazonaws.com/123456789012/no-such-queue"
# One worker runs the module's tests in order: they share one simulation (module scope).
pytestmark = pytest.mark.xdist_group("iot_rules")


def _run(sql: str, payload: bytes | dict, topic: str = "fleet/truck-7/location", version: str | None = None,
         client_id: str | None = "truck-7") -> rules.Result:
    body = json.dumps(payload).encode() if isinstance(payload, dict) else payload
    message = rules.Message(topic=topic, payload=body, client_id=client_id, timestamp_ms=1_767_225_600_000)
    return rules.evaluate(rules.parse(sql, version), rules.Evaluation(message, lambda: "uuid-1"))


# -- the rule SQL (no simulation) -------------------------------------------------------------------


def test_select_star_functions_aliases_and_the_where_clause():
    """The course's rule: `*` copies the message, topic(2) and timestamp() under their aliases,
    WHERE drops a fix whose accuracy is not under 50
    (https://docs.aws.amazon.com/iot/latest/developerguide/iot-sql-reference.html,
    https://docs.aws.amazon.com/iot/latest/developerguide/iot-sql-functions.html)."""
    sql = "SELECT *, topic(2) AS device_id, timestamp() AS received_at FROM 'fleet/+/location' WHERE accuracy < 50"
    kept = _run(sql, {"lat": 52.5, "lon": 13.4, "accuracy": 12})
    assert kept.matched and kept.document == {"lat": 52.5, "lon": 13.4, "accuracy": 12, "device_id": "truck-7",
                                              "received_at": 1_767_225_600_000}
    assert json.loads(kept.payload) == kept.document
    assert not _run(sql, {"lat": 52.5, "lon": 13.4, "accuracy": 80}).matched
    assert not _run(sql, {"lat": 52.5}).matched  # a missing field is Undefined: WHERE is not true


def test_nested_fields_arithmetic_and_boolean_operators():
    """The "." operator reads nested objects; + - * / with precedence; AND, OR, NOT and
    comparisons; an unaliased field keeps its name
    (https://docs.aws.amazon.com/iot/latest/developerguide/iot-sql-json.html,
    https://docs.aws.amazon.com/iot/latest/developerguide/iot-sql-operators.html)."""
    payload = {"pos": {"lat": 10, "lon": 20}, "speed": 3, "status": "moving"}
    result = _run("SELECT pos.lat, speed * 2 + 1 AS doubled, -speed AS back, clientid() AS client, "
                  "newuuid() AS id FROM 'fleet/#' WHERE NOT (status = 'parked' OR speed > 100) AND pos.lon >= 20",
                  payload)
    assert result.document == {"lat": 10, "doubled": 7, "back": -3, "client": "truck-7", "id": "uuid-1"}
    assert not _run("SELECT * FROM 'fleet/#' WHERE status = 'moving' AND speed > 5", payload).matched
    assert _run("SELECT * FROM 'fleet/#' WHERE status = 'moving' OR speed > 5", payload).matched
    no_client = _run("SELECT clientid() AS c, topic() AS t, topic(9) AS missing FROM 'fleet/#'", payload,
                     client_id=None)
    assert no_client.document == {"c": "n/a", "t": "fleet/truck-7/location"}  # topic(9) is Undefined: left out


def test_sql_versions_value_and_encode_need_2016_03_23_and_non_json_payloads():
    """SELECT VALUE and encode() arrived with 2016-03-23; `*` of a non-JSON payload is its raw
    bytes (https://docs.aws.amazon.com/iot/latest/developerguide/iot-rule-sql-version.html,
    https://docs.aws.amazon.com/iot/latest/developerguide/iot-sql-json.html)."""
    for sql in ("SELECT VALUE arr FROM 'a'", "SELECT encode(*, 'base64') AS raw FROM 'a'"):
        with pytest.raises(rules.SqlParseError, match="2016-03-23"):
            rules.parse(sql)  # the default version, 2015-10-08
        rules.parse(sql, rules.SQL_VERSION_2016)
    assert _run("SELECT VALUE arr FROM 'a'", {"a": {"b": "c"}, "arr": [1, 2, 3, 4]}, topic="a",
                version=rules.SQL_VERSION_2016).payload == b"[1,2,3,4]"
    binary = b"\x00\x01\xff"
    assert _run("SELECT * FROM 'a'", binary, topic="a").payload == binary
    encoded = _run("SELECT encode(*, 'base64') AS raw FROM 'a'", binary, topic="a", version=rules.SQL_VERSION_2016)
    assert base64.b64decode(encoded.document["raw"]) == binary
    for bad in ("SELECT FROM 'a'", "SELECT a FROM 'a' WHERE", "SELECT unknown_fn() AS x FROM 'a'",
                "SELECT a + 1 FROM 'a'"):
        with pytest.raises(rules.SqlParseError):
            rules.parse(bad)


def test_substitution_templates_see_the_original_message_not_the_select_aliases():
    """A `${...}` template is evaluated apart from the SELECT: functions, operators and the
    original payload's fields, never an alias made with AS
    (https://docs.aws.amazon.com/iot/latest/developerguide/iot-substitution-templates.html)."""
    message = rules.Message(topic="fleet/truck-7/location", payload=b'{"pos": {"lat": 52.5}, "n": 2}',
                            client_id="truck-7", timestamp_ms=1_000)
    evaluation = rules.Evaluation(message, lambda: "uuid-1")
    rules.evaluate(rules.parse("SELECT topic(2) AS device_id FROM 'fleet/+/location'"), evaluation)
    assert rules.substitute("${topic(2)}/${pos.lat}/${n * 10}/${timestamp()}", evaluation) == "truck-7/52.5/20/1000"
    assert rules.substitute("${device_id}", evaluation) == ""  # an alias is not in the original message


@pytest.mark.parametrize(("topic_filter", "topic", "matches"), [
    ("fleet/+/location", "fleet/truck-7/location", True),
    ("fleet/+/location", "fleet/truck-7/status", False),
    ("fleet/+/location", "fleet/a/b/location", False),
    ("fleet/#", "fleet", True),
    ("fleet/#", "fleet/truck-7/location", True),
    ("+/+", "fleet/truck-7", True),
    ("fleet/truck-7", "fleet/truck-7/location", False),
])
def test_topic_filters_plus_one_level_hash_the_rest(topic_filter, topic, matches):
    """`+` matches exactly one level, `#` any number of levels, the parent's included
    (https://docs.aws.amazon.com/iot/latest/developerguide/topics.html)."""
    assert rules.topic_matches(topic_filter, topic) is matches


def test_a_hash_anywhere_but_the_end_is_refused():
    """`#` must be the last character of a topic filter
    (https://docs.aws.amazon.com/iot/latest/developerguide/topics.html)."""
    for bad in ("fleet/#/location", "fleet/tr#", "fleet/tr+"):
        with pytest.raises(rules.SqlParseError):
            rules.check_topic_filter(bad)


# -- the data plane and the actions (one simulation) ----------------------------------------------


# Before the shared simulation below starts: one simulation runs at a time.
def test_with_iot_rules_off_moto_only_keeps_the_message():
    """`Simulator(iot_rules=False)`: iot-data Publish is moto's (the message kept, no rule run)
    (https://docs.aws.amazon.com/iot/latest/apireference/API_iotdata_Publish.html)."""
    from moto.iotdata.models import iotdata_backends

    with Simulator(seed=1, iot_rules=False) as sim:
        url = sim.client("sqs").create_queue(QueueName="never")["QueueUrl"]
        sim.client("iot").create_topic_rule(ruleName="idle", topicRulePayload={
            "sql": "SELECT * FROM 'off/#'", "actions": [{"sqs": {"queueUrl": url, "roleArn": ROLE}}]})
        sim.client("iot-data").publish(topic="off/one", payload=b"{}")
        assert iotdata_backends["123456789012"]["us-east-1"].published_payloads == [("off/one", b"{}")]
        assert sim.iot.matches == [] and _receive(sim, url) == []




@pytest.fixture(scope="module")
def world():
    with Simulator(seed=3) as sim:
        sim.client("kinesis").create_stream(StreamName="fixes", ShardCount=1)
        function = sim.create_function(FunctionName="consumer", Handler="handlers.record",
                                       code_dir=FIXTURES / "iot")
        sim.client("dynamodb").create_table(
            TableName="positions", BillingMode="PAY_PER_REQUEST",
            KeySchema=[{"AttributeName": "device_id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "device_id", "AttributeType": "S"}])
        sqs = sim.client("sqs")
        queues = {name: sqs.create_queue(QueueName=name)["QueueUrl"] for name in ("fixes", "sns-copy", "errors")}
        topic = sim.client("sns").create_topic(Name="alerts")["TopicArn"]
        copy_arn = sqs.get_queue_attributes(QueueUrl=queues["sns-copy"], AttributeNames=["QueueArn"])
        sim.client("sns").subscribe(TopicArn=topic, Protocol="sqs", Endpoint=copy_arn["Attributes"]["QueueArn"],
                                    Attributes={"RawMessageDelivery": "true"})
        sim.client("s3").create_bucket(Bucket="fixes-archive")
        sim.client("firehose").create_delivery_stream(
            DeliveryStreamName="archive", ExtendedS3DestinationConfiguration={
                "RoleARN": ROLE, "BucketARN": "arn:aws:s3:::fixes-archive"})
        yield {"sim": sim, "function_arn": function["FunctionArn"], "queues": queues, "topic_arn": topic}


@pytest.fixture
def rule(world):
    """rule(name, sql, *actions, error_action=None, version=None, disabled=False); the rules
    made are deleted after the test."""
    iot = world["sim"].client("iot")
    made: list[str] = []

    def create(name, sql, *actions, error_action=None, version=None, disabled=False):
        payload = {"sql": sql, "actions": list(actions), "ruleDisabled": disabled}
        if error_action is not None:
            payload["errorAction"] = error_action
        if version is not None:
            payload["awsIotSqlVersion"] = version
        iot.create_topic_rule(ruleName=name, topicRulePayload=payload)
        made.append(name)

    yield create
    for name in made:
        iot.delete_topic_rule(ruleName=name)


def _publish(sim, topic: str, payload: dict) -> None:
    sim.client("iot-data").publish(topic=topic, qos=1, payload=json.dumps(payload).encode())


def _receive(sim, url: str) -> list[str]:
    messages = sim.client("sqs").receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
    for m in messages:
        sim.client("sqs").delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
    return [m["Body"] for m in messages]


def test_kinesis_partition_key_from_a_substitution_template(world, rule):
    """The Kinesis action writes the SELECT result with its partitionKey template evaluated
    against the original message (${topic(2)}: one device, one shard order)
    (https://docs.aws.amazon.com/iot/latest/developerguide/kinesis-rule-action.html,
    https://docs.aws.amazon.com/iot/latest/developerguide/iot-substitution-templates.html)."""
    sim = world["sim"]
    kinesis = sim.client("kinesis")
    shard = kinesis.describe_stream(StreamName="fixes")["StreamDescription"]["Shards"][0]["ShardId"]
    iterator = kinesis.get_shard_iterator(StreamName="fixes", ShardId=shard, ShardIteratorType="LATEST")
    rule("to_kinesis", "SELECT *, topic(2) AS device_id FROM 'kfleet/+/location' WHERE accuracy < 50",
         {"kinesis": {"streamName": "fixes", "partitionKey": "${topic(2)}", "roleArn": ROLE}})
    for device, accuracy in (("truck-1", 5), ("truck-2", 90), ("truck-3", 20)):
        _publish(sim, f"kfleet/{device}/location", {"accuracy": accuracy})
    records = kinesis.get_records(ShardIterator=iterator["ShardIterator"])["Records"]
    assert [(r["PartitionKey"], json.loads(r["Data"])) for r in records] == [
        ("truck-1", {"accuracy": 5, "device_id": "truck-1"}), ("truck-3", {"accuracy": 20, "device_id": "truck-3"})]


def test_every_matching_rule_fires_and_a_disabled_rule_does_not(world, rule):
    """Each rule whose topic filter matches runs on its own; a disabled rule is skipped
    (https://docs.aws.amazon.com/iot/latest/developerguide/iot-rules.html,
    https://docs.aws.amazon.com/iot/latest/apireference/API_DisableTopicRule.html)."""
    sim = world["sim"]
    to_queue = {"sqs": {"queueUrl": world["queues"]["fixes"], "roleArn": ROLE}}
    rule("all_fixes", "SELECT 'all' AS via FROM 'mfleet/#'", to_queue)
    rule("one_level", "SELECT 'plus' AS via FROM 'mfleet/+/location'", to_queue)
    rule("switched_off", "SELECT 'off' AS via FROM 'mfleet/#'", to_queue, disabled=True)
    rule("other_topic", "SELECT 'other' AS via FROM 'elsewhere/#'", to_queue)
    _publish(sim, "mfleet/truck-1/location", {})
    assert sorted(json.loads(body)["via"] for body in _receive(sim, world["queues"]["fixes"])) == ["all", "plus"]


def test_basic_ingest_runs_only_its_rule_without_the_broker(world, rule):
    """A `$aws/rules/<rule>/...` topic reaches that rule only, bypassing the message broker, and
    topic() does not see the prefix (https://docs.aws.amazon.com/iot/latest/developerguide/iot-basic-ingest.html)."""
    from moto.iotdata.models import iotdata_backends

    sim = world["sim"]
    to_queue = {"sqs": {"queueUrl": world["queues"]["fixes"], "roleArn": ROLE}}
    rule("ingest_target", "SELECT topic() AS t, topic(2) AS device FROM 'bfleet/+/location'", to_queue)
    rule("ingest_bystander", "SELECT 'bystander' AS t FROM 'bfleet/#'", to_queue)
    broker = iotdata_backends["123456789012"]["us-east-1"].published_payloads
    kept = len(broker)
    sim.iot.publish("$aws/rules/ingest_target/bfleet/truck-9/location", {"accuracy": 3}, client_id="truck-9")
    assert [json.loads(b) for b in _receive(sim, world["queues"]["fixes"])] == [
        {"t": "bfleet/truck-9/location", "device": "truck-9"}]
    assert len(broker) == kept and sim.iot.messages[-1].basic_ingest


def test_lambda_action_invokes_asynchronously_with_the_select_result(world, rule):
    """The Lambda action invokes the function asynchronously; its event is the SELECT result
    (https://docs.aws.amazon.com/iot/latest/developerguide/lambda-rule-action.html)."""
    sim = world["sim"]
    rule("to_lambda", "SELECT lat, lon, topic(2) AS device_id FROM 'lfleet/+/location'",
         {"lambda": {"functionArn": world["function_arn"]}})
    before = len(sim.invocations)
    _publish(sim, "lfleet/truck-4/location", {"lat": 1.5, "lon": 2.5, "accuracy": 9})
    assert len(sim.invocations) == before  # queued, not run inside the publish
    sim.run_for(1)
    (record,) = sim.invocations[before:]
    assert record.invocation_type == "Event" and record.source == "iot"
    assert json.loads(record.payload) == {"lat": 1.5, "lon": 2.5, "device_id": "truck-4"}


def test_dynamodbv2_action_writes_the_top_level_attributes(world, rule):
    """DynamoDBv2 writes each top-level attribute of the SELECT result as a column
    (https://docs.aws.amazon.com/iot/latest/developerguide/dynamodb-v2-rule-action.html)."""
    sim = world["sim"]
    rule("to_table", "SELECT topic(2) AS device_id, lat, pos FROM 'dfleet/+/location'",
         {"dynamoDBv2": {"putItem": {"tableName": "positions"}, "roleArn": ROLE}})
    _publish(sim, "dfleet/truck-5/location", {"lat": 52.25, "pos": {"x": 1}, "ignored": True})
    item = sim.client("dynamodb").get_item(TableName="positions", Key={"device_id": {"S": "truck-5"}})["Item"]
    assert item == {"device_id": {"S": "truck-5"}, "lat": {"N": "52.25"}, "pos": {"M": {"x": {"N": "1"}}}}


def test_sqs_action_sends_the_result_and_base64_with_use_base64(world, rule):
    """SQS SendMessage with the SELECT result as the body, base64-encoded when useBase64 is true
    (https://docs.aws.amazon.com/iot/latest/developerguide/sqs-rule-action.html)."""
    sim = world["sim"]
    url = world["queues"]["fixes"]
    rule("to_sqs", "SELECT accuracy FROM 'qfleet/+/location'", {"sqs": {"queueUrl": url, "roleArn": ROLE}},
         {"sqs": {"queueUrl": url, "roleArn": ROLE, "useBase64": True}})
    _publish(sim, "qfleet/truck-6/location", {"accuracy": 7})
    assert sorted(_receive(sim, url)) == sorted(['{"accuracy":7}', base64.b64encode(b'{"accuracy":7}').decode()])


def test_sns_action_publishes_raw_and_json_message_formats(world, rule):
    """SNS Publish of the SELECT result; messageFormat JSON sends it as a JSON message structure
    (https://docs.aws.amazon.com/iot/latest/developerguide/sns-rule-action.html)."""
    sim = world["sim"]
    rule("to_sns", "SELECT 'slow down' AS default FROM 'sfleet/+/alert'",
         {"sns": {"targetArn": world["topic_arn"], "roleArn": ROLE, "messageFormat": "RAW"}},
         {"sns": {"targetArn": world["topic_arn"], "roleArn": ROLE, "messageFormat": "JSON"}})
    _publish(sim, "sfleet/truck-8/alert", {})
    assert sorted(_receive(sim, world["queues"]["sns-copy"])) == ['slow down', '{"default":"slow down"}']


def test_republish_reaches_rules_of_the_new_topic(world, rule):
    """Republish publishes the result to another topic (a substitution template), where it runs
    that topic's rules (https://docs.aws.amazon.com/iot/latest/developerguide/republish-rule-action.html)."""
    sim = world["sim"]
    rule("republisher", "SELECT accuracy FROM 'rfleet/+/raw'",
         {"republish": {"topic": "rfleet/${topic(2)}/clean", "roleArn": ROLE, "qos": 1}})
    rule("clean_reader", "SELECT topic() AS t, accuracy FROM 'rfleet/+/clean'",
         {"sqs": {"queueUrl": world["queues"]["fixes"], "roleArn": ROLE}})
    _publish(sim, "rfleet/truck-2/raw", {"accuracy": 4, "noise": 1})
    assert [json.loads(b) for b in _receive(sim, world["queues"]["fixes"])] == [
        {"t": "rfleet/truck-2/clean", "accuracy": 4}]


def test_firehose_action_puts_the_record_with_its_separator(world, rule):
    """Firehose PutRecord of the result, the separator appended
    (https://docs.aws.amazon.com/iot/latest/developerguide/kinesis-firehose-rule-action.html)."""
    sim = world["sim"]
    rule("to_firehose", "SELECT accuracy FROM 'ffleet/+/location'",
         {"firehose": {"deliveryStreamName": "archive", "roleArn": ROLE, "separator": "\n"}})
    calls = sim.faults.calls("firehose", "PutRecord")
    _publish(sim, "ffleet/truck-1/location", {"accuracy": 2})
    (action,) = sim.iot.matches[-1].actions
    assert action.ok and action.resource == "archive"
    assert sim.faults.calls("firehose", "PutRecord") == calls + 1


def test_error_action_gets_one_message_with_every_failure_and_other_actions_still_run(world, rule):
    """A failed action does not stop the others; the error action receives one message per rule
    and message: ruleName, topic, cloudwatchTraceId, clientId, base64OriginalPayload, failures
    (https://docs.aws.amazon.com/iot/latest/developerguide/rule-error-handling.html)."""
    sim = world["sim"]
    good, errors = world["queues"]["fixes"], world["queues"]["errors"]
    rule("with_errors", "SELECT accuracy FROM 'efleet/+/location'",
         {"sqs": {"queueUrl": MISSING_QUEUE, "roleArn": ROLE}},
         {"sqs": {"queueUrl": good, "roleArn": ROLE}},
         {"kinesis": {"streamName": "no-such-stream", "partitionKey": "k", "roleArn": ROLE}},
         error_action={"sqs": {"queueUrl": errors, "roleArn": ROLE}})
    original = {"accuracy": 3}
    sim.iot.publish("efleet/truck-3/location", original, client_id="truck-3")
    assert _receive(sim, good) == ['{"accuracy":3}']
    (body,) = _receive(sim, errors)
    message = json.loads(body)
    assert set(message) == {"ruleName", "topic", "cloudwatchTraceId", "clientId", "base64OriginalPayload", "failures"}
    assert (message["ruleName"], message["topic"], message["clientId"]) == ("with_errors", "efleet/truck-3/location",
                                                                            "truck-3")
    assert json.loads(base64.b64decode(message["base64OriginalPayload"])) == original
    assert [(f["failedAction"], f["failedResource"]) for f in message["failures"]] == [
        ("SqsAction", MISSING_QUEUE), ("KinesisAction", "no-such-stream")]
    assert all(f["errorMessage"] for f in message["failures"])
    assert sim.iot.errors[-1] == message


def test_a_payload_over_128_kb_is_refused(world, rule):
    """The message payload is at most 128 KB: iot-data Publish answers 413
    RequestEntityTooLargeException and no rule runs (https://docs.aws.amazon.com/general/latest/gr/iot-core.html,
    https://docs.aws.amazon.com/iot/latest/apireference/API_iotdata_Publish.html)."""
    sim = world["sim"]
    rule("big", "SELECT * FROM 'big/#'", {"sqs": {"queueUrl": world["queues"]["fixes"], "roleArn": ROLE}})
    matches = len(sim.iot.matches)
    with pytest.raises(ClientError) as refused:
        sim.client("iot-data").publish(topic="big/one", payload=b"x" * (rules.MAX_PAYLOAD_BYTES + 1))
    assert refused.value.response["Error"]["Code"] == "RequestEntityTooLargeException"
    assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 413
    with pytest.raises(PayloadTooLarge):
        sim.iot.publish("big/two", b"x" * (rules.MAX_PAYLOAD_BYTES + 1))
    sim.client("iot-data").publish(topic="big/three", payload=b"x" * rules.MAX_PAYLOAD_BYTES)
    assert len(sim.iot.matches) == matches + 1


def test_rule_sql_is_checked_at_creation_and_the_default_version_is_2015_10_08(world):
    """CreateTopicRule refuses SQL it cannot parse (SqlParseException); without awsIotSqlVersion
    a rule uses 2015-10-08
    (https://docs.aws.amazon.com/iot/latest/apireference/API_CreateTopicRule.html,
    https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-properties-iot-topicrule-topicrulepayload.html)."""
    iot = world["sim"].client("iot")
    with pytest.raises(ClientError) as refused:
        iot.create_topic_rule(ruleName="broken", topicRulePayload={"sql": "SELECT FROM nowhere", "actions": []})
    assert refused.value.response["Error"]["Code"] == "SqlParseException"
    iot.create_topic_rule(ruleName="defaulted", topicRulePayload={"sql": "SELECT * FROM 'x'", "actions": []})
    assert iot.get_topic_rule(ruleName="defaulted")["rule"]["awsIotSqlVersion"] == "2015-10-08"
    iot.delete_topic_rule(ruleName="defaulted")


def test_sam_iot_rule_event_invokes_its_function_with_the_select_result(world):
    """SAM's IoTRule event becomes an AWS::IoT::TopicRule whose Lambda action is the function;
    a matching message reaches it as the SELECT result
    (https://docs.aws.amazon.com/serverless-application-model/latest/developerguide/sam-property-function-iotrule.html,
    https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-iot-topicrule.html)."""
    sim = world["sim"]
    stack = sim.deploy(FIXTURES / "sam" / "iot_rule" / "template.yaml", stack_name="iot-rule", validate=False)
    function = stack.outputs["FunctionName"]
    _publish(sim, "fleet/truck-7/location", {"lat": 48.1, "accuracy": 80})  # dropped by WHERE
    _publish(sim, "fleet/truck-7/location", {"lat": 48.2, "accuracy": 8})
    sim.run_for(1)
    events = [json.loads(r.payload) for r in sim.invocations if r.function_name == function]
    assert events == [{"lat": 48.2, "accuracy": 8, "device_id": "truck-7", "received_at": events[0]["received_at"]}]
    assert events[0]["received_at"] == int(sim.now.timestamp() * 1000) - 1000  # the publish's virtual instant
