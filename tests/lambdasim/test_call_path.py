"""The AWS call path through the simulator: shared service models, moto's request dispatch
(lambdasim/sdk_models.py; lambdasim/_moto_patches/dispatch.py). Faster, and answering the
same."""

from __future__ import annotations

import importlib

import boto3
import botocore.session
import pytest
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


@pytest.mark.parametrize("operation", ["send_message", "get_queue_attributes"])
def test_answers_through_the_patched_dispatch_equal_moto_s_own(operation):
    def answers():
        with Simulator(seed=3) as sim:
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
