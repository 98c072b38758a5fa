"""The AWS call path through the simulator: shared service models, moto's request dispatch
(lambdasim/sdk_models.py; lambdasim/_moto_patches/dispatch.py). Faster, and answering the
same."""

from __future__ import annotations

import contextlib
import importlib

import boto3
import botocore.session
import pytest
from moto import settings as moto_settings
from moto.core import utils as moto_utils
from moto.core.responses import BaseResponse

from lambdasim import Simulator
from lambdasim import _moto_patches as patches
from lambdasim._moto_patches import dispatch
from lambdasim import sdk_models


def test_every_session_made_during_a_simulation_shares_the_parsed_models():
    """Powertools' idempotency layer makes a session at every cold start: it must not read the
    service models from disk again, and boto3's data folder must not pile up on the shared
    loader's search path (boto3.Session appends it every time)."""
    with Simulator():
        default_loader = boto3.DEFAULT_SESSION._session.get_component("data_loader")
        paths = list(default_loader.search_paths)
        for _ in range(5):
            session = boto3.Session()
            assert session._session.get_component("data_loader") is default_loader
            session.client("dynamodb")
        assert botocore.session.Session().get_component("data_loader") is default_loader
        assert default_loader.search_paths == paths
        assert len(set(paths)) == len(paths)
    assert botocore.session.Session().get_component("data_loader") is not default_loader


def test_a_data_path_of_its_own_gets_a_loader_of_its_own(tmp_path):
    shared = sdk_models.shared_loader()
    other = sdk_models.shared_loader(str(tmp_path))
    assert other is not shared and other is sdk_models.shared_loader(str(tmp_path))
    assert other.search_paths[0] == str(tmp_path)
    assert other.search_paths[1:] == shared.search_paths[:len(other.search_paths) - 1]


def _response_classes():
    seen, stack = [], [BaseResponse]
    while stack:
        cls = stack.pop()
        seen.append(cls)
        stack.extend(cls.__subclasses__())
    return seen


def test_a_response_method_found_by_name_is_the_one_moto_lists():
    """moto lists a response class's functions on every request to ask whether the action is
    among them; the patch asks about the one name. Same answer for every name of every
    response class loaded, absent names and non-functions included."""
    for service in ("sqs", "dynamodb", "events", "awslambda", "kinesis", "s3", "cloudformation", "sns"):
        importlib.import_module(f"moto.{service}.responses")
    classes = _response_classes()
    assert len(classes) > 8
    for cls in classes:
        listed = set(moto_utils.method_names_from_class(cls))
        for name in set(dir(cls)) | {"no_such_action", "mro", "__init__", "dispatch"}:
            assert (name in dispatch._FunctionNames(cls)) == (name in listed), (cls, name)


def test_routes_are_found_once_per_url_and_forgotten_on_stop():
    with Simulator() as sim:
        sqs = sim.client("sqs")
        url = sqs.create_queue(QueueName="q")["QueueUrl"]
        for _ in range(3):
            sqs.send_message(QueueUrl=url, MessageBody="x")
        assert patches._route.cache_info().hits >= 2
        # Routes the patches add (moto has none for GetAccountSettings) are found too.
        assert sim.client("lambda").get_account_settings()["AccountLimit"]["ConcurrentExecutions"] == 1000
    assert patches._route.cache_info().currsize == 0


def test_a_url_no_service_routes_is_still_answered_404_not_yet_implemented():
    services, handler = dispatch._route("https://sqs.us-east-1.amazonaws.com/123456789012/q")
    assert services == ("sqs",) and handler is not None
    with Simulator():
        assert dispatch._process_request(None, _Request("https://nothing-here.us-east-1.amazonaws.com/x")) == (
            404, {}, "Not yet implemented")
        assert dispatch._process_request(None, _Request("https://example.com/x")) is None


class _Request:
    def __init__(self, url: str):
        self.url = url


_EVERY_TYPE = {"s": {"S": "é x"}, "n": {"N": "-1.50"}, "b": {"B": b"\x00\xff"}, "ss": {"SS": ["a", "b"]},
               "ns": {"NS": ["1", "2.5"]}, "bs": {"BS": [b"\x01", b"\x02"]}, "null": {"NULL": True},
               "no": {"BOOL": False}, "l": {"L": [{"S": "x"}, {"M": {"y": {"N": "0"}}}]},
               "m": {"M": {"deep": {"L": [{"BOOL": True}]}}}}


def _dynamodb_answers(sim: Simulator) -> list[bytes]:
    """The bodies moto answers for an item holding every AttributeValue type, nested."""
    ddb = sim.client("dynamodb")
    bodies: list[bytes] = []
    ddb.meta.events.register("before-parse.dynamodb.*", lambda response_dict, **_: bodies.append(response_dict["body"]))
    ddb.create_table(TableName="t", KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                     AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}], BillingMode="PAY_PER_REQUEST")
    ddb.put_item(TableName="t", Item={"pk": {"S": "a"}, **_EVERY_TYPE})
    ddb.put_item(TableName="t", Item={"pk": {"S": "a"}, "n": {"N": "2"}}, ReturnValues="ALL_OLD")
    ddb.put_item(TableName="t", Item={"pk": {"S": "b"}, **_EVERY_TYPE})
    ddb.get_item(TableName="t", Key={"pk": {"S": "b"}})
    ddb.query(TableName="t", KeyConditionExpression="pk = :b", ExpressionAttributeValues={":b": {"S": "b"}})
    ddb.update_item(TableName="t", Key={"pk": {"S": "b"}}, UpdateExpression="SET n = :n",
                    ExpressionAttributeValues={":n": {"N": "7"}}, ReturnValues="ALL_NEW")
    for n in ("8", "3"):  # the same condition twice (lexed once), met then not
        with contextlib.suppress(ddb.exceptions.ConditionalCheckFailedException):
            ddb.put_item(TableName="t", Item={"pk": {"S": "b"}, "n": {"N": n}}, ReturnValues="ALL_OLD",
                         ConditionExpression="attribute_not_exists(pk) OR (#n < :n AND NOT begins_with(s, :x))",
                         ExpressionAttributeNames={"#n": "n"}, ExpressionAttributeValues={":n": {"N": n}, ":x": {"S": "z"}},
                         ReturnValuesOnConditionCheckFailure="ALL_OLD")
    ddb.scan(TableName="t", FilterExpression="begins_with(s, :e) OR n IN (:n, :m)",
             ExpressionAttributeValues={":e": {"S": "é"}, ":n": {"N": "8"}, ":m": {"N": "2"}})
    return bodies[1:]  # CreateTable's answer holds the table's creation time, which differs


@pytest.mark.parametrize("operation", ["send_message", "get_queue_attributes", "dynamodb_every_type",
                                       "get_caller_identity"])
def test_answers_through_the_patched_call_path_equal_moto_s_own(operation):
    def answers():
        with Simulator(seed=3) as sim:
            if operation == "dynamodb_every_type":
                return _dynamodb_answers(sim)
            if operation == "get_caller_identity":  # moto names the account after the access key
                return sim.client("sts").get_caller_identity()
            sqs = sim.client("sqs")
            url = sqs.create_queue(QueueName="same")["QueueUrl"]
            if operation == "send_message":
                return sqs.send_message(QueueUrl=url, MessageBody="x")["MessageId"]
            return sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]

    patched = answers()
    table = patches._patch_table
    try:
        patches._patch_table = lambda: [p for p in table() if not p.why.startswith("speed: a ")]
        unpatched = answers()
    finally:
        patches._patch_table = table
    assert patched == unpatched
    if operation == "dynamodb_every_type":
        old_item, got_item = patched[1], patched[3]  # PutItem's ALL_OLD, GetItem
        assert all(b'"BS": ["AQ==", "Ag=="]' in body and b'"NULL": true' in body for body in (old_item, got_item))


def _authorization(sim: Simulator) -> str:
    sqs = sim.client("sqs")
    sent: list[str] = []
    sqs.meta.events.register("before-send.sqs.*", lambda request, **_: sent.append(request.headers["Authorization"]))
    sqs.list_queues()
    return sent[-1].decode() if isinstance(sent[-1], bytes) else sent[-1]


def test_a_client_s_request_names_its_key_unsigned_unless_moto_checks_signatures(monkeypatch):
    with Simulator() as sim:
        key = sim.client("sqs")._request_signer._credentials.access_key
        unsigned = _authorization(sim)
        assert unsigned.startswith(f"AWS4-HMAC-SHA256 Credential={key}/20260101/us-east-1/sqs/aws4_request, ")
        assert unsigned.endswith("Signature=" + "0" * 64)
        # Any finite count turns moto's own enforcement on; it checks requests after that many in
        # the process (a process-wide count), so a count no test suite reaches checks none here.
        monkeypatch.setattr(moto_settings, "INITIAL_NO_AUTH_ACTION_COUNT", 10**9)
        signed = _authorization(sim)
        assert signed.startswith(f"AWS4-HMAC-SHA256 Credential={key}/") and not signed.endswith("0" * 64)
