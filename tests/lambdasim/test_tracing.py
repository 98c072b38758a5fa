"""Lambda's X-Ray tracing as OpenTelemetry spans, and trace context propagation.

Pages: https://docs.aws.amazon.com/xray/latest/devguide/xray-concepts.html (the trace header),
xray-console-sampling.html (the default rule: 1 a second + 5 %),
https://docs.aws.amazon.com/lambda/latest/dg/services-xray.html (Lambda's segments and
subsegments), aws-properties-lambda-function-tracingconfig.html (Active / PassThrough),
xray-services-sqs.html (AWSTraceHeader), eb-related-service-xray.html (EventBridge to its
targets), xray-services-apigateway.html (a traced stage starts the trace).
"""

from __future__ import annotations

import json
from random import Random

import boto3
import pytest
from opentelemetry.propagators.aws import AwsXRayPropagator
from opentelemetry.trace import get_current_span

from lambdasim import Simulator
from lambdasim.rules import tracing as tr
from lambdasim.telemetry.tracing import Tracing, xray_trace_id

APP = __import__("pathlib").Path(__file__).parent / "fixtures" / "observability_app"
ACTIVE = {"Mode": "Active"}


def test_trace_header_parse_and_build_agree_with_the_aws_xray_propagator():
    """xray-concepts.html#xray-concepts-tracingheader: Root=1-<8 hex>-<24 hex>;Parent=<16 hex>;Sampled=1."""
    text = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1;Lineage=a87bd80c:1"
    header = tr.parse(text)
    assert header is not None and str(header) == text
    context = get_current_span(AwsXRayPropagator().extract({"X-Amzn-Trace-Id": text})).get_span_context()
    assert context.trace_id == header.otel_trace_id and f"{context.span_id:016x}" == header.parent
    assert context.trace_flags.sampled
    assert tr.parse("Root=1-5759e988-bd862e3fe1be46a994272793").sampled is None
    assert tr.parse("Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=0").sampled is False
    assert tr.parse("Root=nonsense;Sampled=1") is None and tr.parse(None) is None
    assert xray_trace_id(header.otel_trace_id) == header.root


def test_lambda_decision_follows_the_tracing_mode():
    """tracingconfig: Active respects an upstream decision and samples when there is none;
    PassThrough traces only an upstream Sampled=1."""
    assert [tr.lambda_decision(tr.ACTIVE, u) for u in (True, False, None)] == [True, False, None]
    assert [tr.lambda_decision(tr.PASS_THROUGH, u) for u in (True, False, None)] == [True, False, False]


def test_default_sampling_rule_one_per_second_and_five_percent_of_the_rest():
    """xray-console-sampling.html: the first request each second, then 5 % (seeded): 20 requests
    a second for 500 s sample 500 + ~5 % of 9,500."""
    tracing = Tracing(seed=11)
    decisions = [tracing.sample("lambda:f", second * 1_000_000 + i * 50_000) for second in range(500) for i in range(20)]
    firsts = decisions[::20]
    assert all(firsts)
    rest = [d for i, d in enumerate(decisions) if i % 20]
    assert 0.04 < sum(rest) / len(rest) < 0.06
    assert (tracing.sampled, tracing.not_sampled) == (sum(decisions), len(decisions) - sum(decisions))
    again = Tracing(seed=11)
    assert decisions == [again.sample("lambda:f", s * 1_000_000 + i * 50_000) for s in range(500) for i in range(20)]


@pytest.fixture(scope="module")
def sim():
    with Simulator(seed=9) as s:
        lam = boto3.client("lambda")
        for name, mode in (("front", ACTIVE), ("back", None), ("sink", ACTIVE), ("quiet", None)):
            s.create_function(FunctionName=name, Handler="app.work", code_dir=APP,
                              **({"TracingConfig": mode} if mode else {}))
        sqs = boto3.client("sqs")
        s.queue_url = sqs.create_queue(QueueName="work")["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=s.queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        events = boto3.client("events")
        events.create_event_bus(Name="bus")
        events.put_rule(Name="placed", EventBusName="bus", EventPattern=json.dumps({"source": ["orders"]}))
        sink_arn = lam.get_function(FunctionName="sink")["Configuration"]["FunctionArn"]
        events.put_targets(Rule="placed", EventBusName="bus", Targets=[{"Id": "fn", "Arn": sink_arn}])
        s.raw_queue = sqs.create_queue(QueueName="raw")["QueueUrl"]
        raw_arn = sqs.get_queue_attributes(QueueUrl=s.raw_queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        events.put_targets(Rule="placed", EventBusName="bus", Targets=[{"Id": "q", "Arn": raw_arn}])
        lam.create_event_source_mapping(FunctionName="back", EventSourceArn=queue_arn, BatchSize=1)
        yield s


def test_an_active_function_records_lambdas_segments_with_virtual_times(sim):
    """services-xray.html: the AWS::Lambda segment, the AWS::Lambda::Function segment with
    Initialization, Invocation and Overhead; the handler's own span is a child of the function
    span, and every time is the virtual clock's."""
    header = json.loads(boto3.client("lambda").invoke(FunctionName="front", Payload=b"{}")["Payload"].read())
    record = sim.invocations[-1]
    parsed = tr.parse(header)
    assert parsed.sampled is True
    spans = sim.tracing.traces()[parsed.root]
    by_name = {(s.name, s.attributes.get("aws.xray.origin")): s for s in spans}
    service, function = by_name[("front", "AWS::Lambda")], by_name[("front", "AWS::Lambda::Function")]
    assert service.parent is None and function.parent.span_id == service.context.span_id
    assert f"{function.context.span_id:016x}" == parsed.parent  # _X_AMZN_TRACE_ID's Parent
    init, invocation, overhead = (by_name[(n, None)] for n in ("Initialization", "Invocation", "Overhead"))
    assert {init.parent.span_id, invocation.parent.span_id, overhead.parent.span_id} == {function.context.span_id}
    assert init.start_time == record.start_us * 1000
    assert invocation.start_time == (record.start_us + round(record.init_duration_ms * 1000)) * 1000
    assert function.end_time == invocation.end_time == overhead.start_time == overhead.end_time
    assert function.end_time == (record.start_us + record.total_us) * 1000
    process = by_name[("process", None)]
    assert process.parent.span_id == function.context.span_id
    assert abs((process.end_time - process.start_time) - 50_000_000) < 1_000  # the handler's virtual 50 ms
    assert service.attributes["faas.invocation_id"] == record.request_id


def test_passthrough_without_upstream_is_not_traced(sim):
    """A PassThrough function called without a sampled header: Sampled=0, no spans."""
    before = len(sim.tracing.spans)
    header = json.loads(boto3.client("lambda").invoke(FunctionName="quiet", Payload=b"{}")["Payload"].read())
    assert tr.parse(header).sampled is False and len(sim.tracing.spans) == before


def test_sqs_carries_awstraceheader_and_the_mapping_continues_the_trace(sim):
    """xray-services-sqs.html: a traced sender's message gets the AWSTraceHeader system
    attribute; the SQS event source mapping passes it in the record's attributes and the
    consumer (PassThrough) joins the sender's trace."""
    sim.run_for(1)  # a new second: the reservoir samples its first request
    header = json.loads(boto3.client("lambda").invoke(
        FunctionName="front", Payload=json.dumps({"queue_url": sim.queue_url}).encode())["Payload"].read())
    sim.run_for(5)
    consumer = sim.invocations[-1]
    assert consumer.function_name == "back"
    sent = tr.parse(header)
    assert sent.sampled is True
    consumer_header = tr.parse(consumer.result())  # the handler returns the header it saw
    assert consumer_header.root == sent.root and consumer_header.sampled is True
    names = [(s.name, s.attributes.get("aws.xray.origin")) for s in sim.tracing.traces()[sent.root]]
    assert ("back", "AWS::Lambda") in names


def test_awstraceheader_is_visible_to_receive_message(sim):
    """ReceiveMessage answers AWSTraceHeader when asked (API_ReceiveMessage.html)."""
    boto3.client("lambda").invoke(FunctionName="quiet", Payload=json.dumps({"queue_url": sim.raw_queue}).encode())
    message = boto3.client("sqs").receive_message(QueueUrl=sim.raw_queue, MessageSystemAttributeNames=["AWSTraceHeader"])
    assert tr.parse(message["Messages"][0]["Attributes"]["AWSTraceHeader"]).sampled is False


def test_eventbridge_passes_the_trace_to_lambda_and_sqs_targets_and_async_invoke_keeps_it(sim):
    """eb-related-service-xray.html: PutEvents from a traced function: the Lambda target joins
    the trace and the SQS target's message carries it; an asynchronous Invoke keeps it too."""
    sqs = boto3.client("sqs")
    sqs.purge_queue(QueueUrl=sim.raw_queue)
    sim.run_for(1)
    header = json.loads(boto3.client("lambda").invoke(
        FunctionName="front", Payload=json.dumps({"bus": "bus", "invoke": "quiet"}).encode())["Payload"].read())
    sim.run_for(5)
    root = tr.parse(header).root
    names = {(s.name, s.attributes.get("aws.xray.origin")) for s in sim.tracing.traces()[root]}
    assert {("sink", "AWS::Lambda"), ("quiet", "AWS::Lambda")} <= names
    message = sqs.receive_message(QueueUrl=sim.raw_queue, MessageSystemAttributeNames=["All"])["Messages"][0]
    assert tr.parse(message["Attributes"]["AWSTraceHeader"]).root == root


def test_a_trace_joins_its_log_lines_by_request_id(sim):
    """The invocation span's faas.invocation_id is the request id of the function's log lines."""
    # A trace of its own (the module's other tests may run on another pytest-xdist worker), made
    # by the first request of a second, which X-Ray's default rule always samples: nothing else
    # left to run, then into the next second.
    sim.run_until_idle()
    sim.run_for(1)
    header = json.loads(boto3.client("lambda").invoke(FunctionName="front", Payload=b"{}")["Payload"].read())
    root = tr.parse(header).root
    span = next(s for s in sim.tracing.traces()[root] if s.attributes.get("aws.xray.origin") == "AWS::Lambda::Function")
    request_id = span.attributes["faas.invocation_id"]
    lines = boto3.client("logs").filter_log_events(logGroupName=f"/aws/lambda/{span.name}",
                                                   filterPattern=f'"{request_id}"')["events"]
    assert any("working" in e["message"] for e in lines)


def test_api_to_lambda_to_eventbridge_to_sqs_to_lambda_under_one_trace(sim):
    """The module 1 orders pipeline with Tracing Active on both functions and X-Ray on the
    stage (xray-services-apigateway.html): one trace id from the front door to the processor."""
    from serverless_course import pipeline

    stack = pipeline.deploy(sim, validate=False)
    lam = sim.client("lambda")
    for logical in ("IngestFunction", "ProcessorFunction"):
        lam.update_function_configuration(FunctionName=stack.function_name(logical), TracingConfig=ACTIVE)
    url = stack.outputs["ApiUrl"]
    sim.client("apigateway").update_stage(restApiId=url.split("//")[1].split(".")[0], stageName="Prod",
                                          patchOperations=[{"op": "replace", "path": "/tracingEnabled", "value": "true"}])
    order = {"order_id": "o-1", "customer_id": "c-1", "currency": "EUR",
             "items": [{"sku": "ABC-123", "quantity": 1, "unit_price": "10.00"}]}
    assert sim.http("POST", url, body=json.dumps({"orders": [order]})).status == 202
    sim.run_for(30)
    spans = next(t for t in sim.tracing.traces().values()
                 if t[0].attributes.get("aws.xray.origin") == "AWS::ApiGateway::Stage")
    assert spans[0].parent is None
    functions = [s.name for s in spans if s.attributes.get("aws.xray.origin") == "AWS::Lambda"]
    assert functions == [stack.function_name("IngestFunction"), stack.function_name("ProcessorFunction")]
