"""Conformance: request-rate ceilings moto does not enforce, as token buckets on the virtual
clock (rules/throughput.py; API Gateway: rules/apigateway_throttling.py, apigateway.py;
EventBridge: rules/eventbridge.py, eventbridge.py, _moto_patches/eventbridge.py).

moto answers every request however fast it comes; on AWS, API Gateway answers 429 past a
stage's, a route's or the account's rate and burst, PutEvents fails with ThrottlingException past
the account's quota, and rule target invocations past theirs are delayed.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from lambdasim import Simulator
from lambdasim.rules import apigateway_throttling as apigw
from lambdasim.rules import eventbridge as eb
from lambdasim.rules.throughput import RateLimit, TokenBucket
from lambdasim.sam import deploy

THROTTLED_API = Path(__file__).parent / "fixtures" / "sam" / "api_throttling"


@pytest.fixture
def sim():
    with Simulator(seed=5) as simulator:
        yield simulator


# -- the bucket ---------------------------------------------------------------------------------
def test_token_bucket_starts_full_refills_at_its_rate_and_never_holds_more_than_its_burst():
    """https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-request-throttling.html:
    "API Gateway throttles requests to your API using the token bucket algorithm, where a token
    counts for a request"; the burst is the bucket's capacity, the rate its steady refill."""
    bucket = TokenBucket(RateLimit(10, 20))
    assert sum(bucket.try_take(0) for _ in range(25)) == 20
    assert bucket.next_token_us(0) == 100_000  # one token every 1/10 s
    assert sum(bucket.try_take(1_000_000) for _ in range(25)) == 10
    assert bucket.available(60_000_000) == 20  # unused rate is not banked past the burst
    assert TokenBucket(RateLimit(5, 0)).next_token_us(0) is None


# -- API Gateway ----------------------------------------------------------------------------------
@pytest.fixture
def apis(sim):
    return deploy(sim, THROTTLED_API, stack_name="throttled", validate=False).outputs


def _statuses(sim, url: str, n: int) -> list[int]:
    """The statuses of `n` requests sent at one instant: from a scheduled callback, where the
    functions' invocations take no time from the caller (from the driving code each request
    would move the clock by its function's duration, refilling the buckets in between)."""
    statuses: list[int] = []
    sim.schedule(0, lambda: statuses.extend(sim.http("GET", url).status for _ in range(n)))
    sim.run_for(0)
    return statuses


def test_api_gateway_account_throttle_defaults_per_region():
    """https://docs.aws.amazon.com/apigateway/latest/developerguide/limits.html: the throttle quota
    per account, per Region across HTTP APIs and REST APIs is 10,000 requests per second with a
    bucket of 5,000 requests; 2,500 / 1,250 in the Regions the page lists (Cape Town, Milan,
    Jakarta, UAE, Hyderabad, Melbourne, Spain, Zurich, Tel Aviv, Calgary, Malaysia, Thailand,
    Mexico)."""
    assert apigw.account_throttle("us-east-1") == RateLimit(10_000, 5_000)
    assert apigw.account_throttle("af-south-1") == apigw.account_throttle("mx-central-1") == RateLimit(2_500, 1_250)


def test_rest_stage_throttle_answers_429_past_its_burst_and_refills_at_its_rate(sim, apis):
    """https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-request-throttling.html:
    a stage's method throttling (MethodSettings ThrottlingRateLimit / ThrottlingBurstLimit, here
    10 requests per second with a burst of 20 for every method) is a token bucket; past it the
    client receives 429 Too Many Requests. 20 requests at one instant pass, the 21st is refused,
    a second later 10 more pass."""
    url = apis["OrdersUrl"] + "orders"
    assert _statuses(sim, url, 21) == [200] * 20 + [429]
    refused = sim.http("GET", url)
    assert (refused.status, refused.json()) == (429, {"message": "Too Many Requests"})
    sim.run_for(1)
    assert _statuses(sim, url, 11) == [200] * 10 + [429]
    assert [(t.service, t.scope, t.limit) for t in sim.api_gateway.throttles] == [
        ("apigateway", "method", RateLimit(10, 20))] * 3
    assert sim.api_gateway.throttles[0].resource.endswith("/prod GET /orders")


def test_a_method_setting_overrides_the_stage_wide_one_and_has_its_own_bucket(sim, apis):
    """https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-request-throttling.html:
    per-stage limits are "applied at the API method level for a stage. You can configure the same
    settings for all methods, or configure different throttle settings for each method": GET
    /orders/{id} at 1 per second, burst 2, while GET /orders keeps the stage's 10 / 20."""
    assert _statuses(sim, apis["OrdersUrl"] + "orders/1", 3) == [200, 200, 429]
    assert _statuses(sim, apis["OrdersUrl"] + "orders", 3) == [200] * 3
    sim.run_for(1)
    assert _statuses(sim, apis["OrdersUrl"] + "orders/2", 2) == [200, 429]
    # a method defined as ANY is throttled by its own ANY setting, whatever the request's method
    assert _statuses(sim, apis["OrdersUrl"] + "files/a.csv", 2) == [200, 429]


def test_method_throttling_set_through_the_api_applies_at_once(sim, apis):
    """https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-request-throttling.html:
    stage method throttling set with UpdateStage (`/{resource path}/{method}/throttling/...`
    patch operations, slashes in the path as `~1`) limits that method."""
    api_id = apis["OrdersUrl"].split("//")[1].split(".")[0]
    sim.client("apigateway").update_stage(restApiId=api_id, stageName="prod", patchOperations=[
        {"op": "replace", "path": "/~1orders/GET/throttling/rateLimit", "value": "1"},
        {"op": "replace", "path": "/~1orders/GET/throttling/burstLimit", "value": "1"}])
    assert _statuses(sim, apis["OrdersUrl"] + "orders", 2) == [200, 429]
    assert sim.api_gateway.throttles[-1].limit == RateLimit(1, 1)


def _keyed(sim, apis, **plan) -> str:
    """GET /orders of the REST API made to require an API key, and a key in a usage plan of its
    stage with `plan`'s throttle and quota; the key's value."""
    gateway = sim.client("apigateway")
    api_id = apis["OrdersUrl"].split("//")[1].split(".")[0]
    orders = next(r for r in gateway.get_resources(restApiId=api_id)["items"] if r["path"] == "/orders")
    # moto has no UpdateMethod: the method is put again with apiKeyRequired, then its integration
    integration = gateway.get_integration(restApiId=api_id, resourceId=orders["id"], httpMethod="GET")
    gateway.put_method(restApiId=api_id, resourceId=orders["id"], httpMethod="GET", authorizationType="NONE",
                       apiKeyRequired=True)
    gateway.put_integration(restApiId=api_id, resourceId=orders["id"], httpMethod="GET", type=integration["type"],
                            integrationHttpMethod=integration["httpMethod"], uri=integration["uri"])
    key = gateway.create_api_key(name="partner", enabled=True, value="partner-key-0123456789")
    usage_plan = gateway.create_usage_plan(name="partners", apiStages=[{"apiId": api_id, "stage": "prod"}], **plan)
    gateway.create_usage_plan_key(usagePlanId=usage_plan["id"], keyId=key["id"], keyType="API_KEY")
    return key["value"]


def _keyed_statuses(sim, url: str, key: str, n: int) -> list[tuple[int, str]]:
    answers: list[tuple[int, str]] = []
    sim.schedule(0, lambda: answers.extend(
        (r.status, r.json()["message"] if r.status != 200 else "")
        for r in (sim.http("GET", url, headers={"x-api-key": key}) for _ in range(n))))
    sim.run_for(0)
    return answers


def test_a_method_requiring_an_api_key_meets_its_usage_plans_throttle_first(sim, apis):
    """https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-api-usage-plans.html
    and https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-usage-plan-test-with-postman.html:
    a method that requires an API key answers 403 Forbidden without the x-api-key header or with
    a key no usage plan of the stage holds; with one, the plan's throttle (here 1 per second,
    burst 2) applies per key before the stage's and the account's
    (https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-request-throttling.html)."""
    key = _keyed(sim, apis, throttle={"rateLimit": 1.0, "burstLimit": 2})
    url = apis["OrdersUrl"] + "orders"
    assert (sim.http("GET", url).status, sim.http("GET", url).json()) == (403, {"message": "Forbidden"})
    assert sim.http("GET", url, headers={"x-api-key": "not-a-key-of-any-plan"}).status == 403
    assert _keyed_statuses(sim, url, key, 3) == [(200, ""), (200, ""), (429, "Too Many Requests")]
    assert sim.api_gateway.throttles[-1].scope == "usage-plan"
    assert _statuses(sim, apis["OrdersUrl"] + "orders/1", 1) == [200]  # a method without a key


def test_a_usage_plans_quota_answers_limit_exceeded_until_its_period_ends(sim, apis):
    """https://docs.aws.amazon.com/apigateway/latest/api/API_QuotaSettings.html: a usage plan's
    quota is "the target maximum number of requests that can be made in a given time period"
    (DAY, WEEK or MONTH); past it the key's requests get 429 "Limit Exceeded"
    (https://repost.aws/knowledge-center/api-gateway-429-limit). Where a period starts is not
    documented: the simulator counts calendar days in UTC."""
    key = _keyed(sim, apis, quota={"limit": 3, "period": "DAY"})
    url = apis["OrdersUrl"] + "orders"
    assert [status for status, _ in _keyed_statuses(sim, url, key, 3)] == [200] * 3
    assert _keyed_statuses(sim, url, key, 1) == [(429, "Limit Exceeded")]
    assert sim.api_gateway.throttles[-1].scope == "quota"
    sim.run_for(24 * 3600)
    assert _keyed_statuses(sim, url, key, 1) == [(200, "")]


def test_http_api_route_and_default_route_throttling(sim, apis):
    """https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-throttling.html:
    route-level throttling of an HTTP API stage, for every route (DefaultRouteSettings, here 5 /
    5) or one route (RouteSettings "GET /slow", 1 / 1); past it 429 Too Many Requests."""
    assert _statuses(sim, apis["PlacesUrl"] + "places", 6) == [200] * 5 + [429]
    assert _statuses(sim, apis["PlacesUrl"] + "slow", 2) == [200, 429]
    assert sim.http("GET", apis["PlacesUrl"] + "slow").json() == {"message": "Too Many Requests"}
    assert {t.scope for t in sim.api_gateway.throttles} == {"route"}


def test_the_account_throttle_covers_every_api_and_can_be_set_or_turned_off(sim, apis):
    """https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-request-throttling.html:
    the account-level limit applies to all APIs in the account in a Region, after the stage's
    limits; a request refused by it takes no token from the stage's bucket."""
    sim.api_gateway.account_throttle = RateLimit(3, 3)
    assert _statuses(sim, apis["OrdersUrl"] + "orders", 2) == [200, 200]
    assert _statuses(sim, apis["PlacesUrl"] + "places", 2) == [200, 429]
    assert sim.api_gateway.throttles[-1].scope == "account"
    sim.api_gateway.throttling = False
    assert _statuses(sim, apis["PlacesUrl"] + "slow", 5) == [200] * 5


# -- EventBridge ----------------------------------------------------------------------------------
def test_eventbridge_quota_defaults_per_region():
    """https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-quota.html: "PutEvents throttle
    limit in transactions per second" is 10,000 in us-east-1 and 2,400 in us-east-2; the
    "Invocations throttle limit" 18,750 in us-east-1, 4,500 in us-east-2, 1,100 in each Region the
    page does not list. The page names no burst: the simulator's bucket holds one second."""
    assert eb.put_events_limit("us-east-1") == RateLimit(10_000, 10_000)
    assert eb.put_events_limit("us-east-2") == RateLimit(2_400, 2_400)
    assert eb.invocations_limit("us-east-1") == RateLimit(18_750, 18_750)
    assert eb.invocations_limit("ca-central-1") == RateLimit(1_100, 1_100)
    with Simulator(seed=1, region="us-east-2") as sim:
        assert sim.eventbridge.put_events_limit == RateLimit(2_400, 2_400)
        assert sim.eventbridge.invocations_limit == RateLimit(4_500, 4_500)


def _entry(n: int) -> dict:
    return {"Source": "shop", "DetailType": "OrderPlaced", "Detail": json.dumps({"n": n})}


def test_put_events_over_the_quota_fails_whole_with_throttling_exception_and_botocore_retries(sim):
    """https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-quota.html: PutEvents calls are
    limited per account and Region; over the quota the request is throttled: the whole call fails
    with 400 ThrottlingException
    (https://docs.aws.amazon.com/eventbridge/latest/APIReference/CommonErrors.html), no entry is
    put, and the SDK's retries (with their backoff, on the virtual clock) send it again."""
    sim.eventbridge.put_events_limit = RateLimit(2, 2)
    no_retries = sim.client("events", config=Config(retries={"mode": "standard", "total_max_attempts": 1}))
    assert no_retries.put_events(Entries=[_entry(1)])["FailedEntryCount"] == 0
    assert no_retries.put_events(Entries=[_entry(2)])["FailedEntryCount"] == 0
    with pytest.raises(ClientError) as refused:
        no_retries.put_events(Entries=[_entry(3)])
    assert refused.value.response["Error"] == {"Code": "ThrottlingException", "Message": "Rate exceeded"}
    assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert [(t.service, t.scope, t.limit) for t in sim.eventbridge.throttles] == [
        ("events", "PutEvents", RateLimit(2, 2))]

    retrying = sim.client("events", config=Config(retries={"mode": "standard", "total_max_attempts": 5}))
    started = sim.elapsed
    assert retrying.put_events(Entries=[_entry(4)])["FailedEntryCount"] == 0  # after backoff
    assert sim.elapsed > started and len(sim.eventbridge.throttles) >= 2

    sim.eventbridge.put_events_limit = None  # the quota off
    for n in range(50):
        no_retries.put_events(Entries=[_entry(n)])


def test_target_invocations_over_the_quota_are_delayed_not_lost(sim):
    """https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-quota.html: "An invocation is an
    event matching a rule and being sent on to the rule's targets. After the limit is reached,
    invocations are throttled; that is, they still happen but they are delayed." Each delayed
    invocation counts in the rule's ThrottledRules metric
    (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-monitoring.html); it waits with the
    retry policy's backoff and uses none of its retry attempts."""
    sim.eventbridge.invocations_limit = RateLimit(5, 5)
    sqs, events = sim.client("sqs"), sim.client("events")
    url = sqs.create_queue(QueueName="orders")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(Name="orders", EventPattern=json.dumps({"source": ["shop"]}))
    events.put_targets(Rule="orders", Targets=[{"Id": "q", "Arn": arn,
                                                "RetryPolicy": {"MaximumRetryAttempts": 0}}])
    for start in range(0, 20, 10):
        events.put_events(Entries=[_entry(n) for n in range(start, start + 10)])
    assert int(sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])[
        "Attributes"]["ApproximateNumberOfMessages"]) == 5
    assert sim.run_until_idle()
    assert int(sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])[
        "Attributes"]["ApproximateNumberOfMessages"]) == 20
    assert {d.state for d in sim.eventbridge.deliveries} == {"delivered"}
    throttled = [t for t in sim.eventbridge.throttles if t.scope == "invocations"]
    metrics = sim.eventbridge.metrics("orders")
    assert metrics["ThrottledRules"] == len(throttled) >= 15
    assert metrics["Invocations"] == metrics["InvocationAttempts"] == 20
