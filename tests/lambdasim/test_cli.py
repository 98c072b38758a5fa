"""The command line (`python -m lambdasim run|serve`, `lambdasim.cli`): a SAM template run on the
virtual clock with an events file and summarised, the same template served over real HTTP, and
the user's mistakes answered with exit status 2 and one line."""

from __future__ import annotations

import io
import json
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from lambdasim.cli import main
from lambdasim.local_api import Api, invoke_url, stack_apis
from lambdasim.server import LocalServer

SAM = Path(__file__).parent / "fixtures" / "sam"
API = SAM / "api"
ORDERS = SAM / "orders"
API_QUEUE = SAM / "api_queue"
REPO = Path(__file__).resolve().parents[2]


def cli(*argv: str | Path) -> int:
    """`python -m lambdasim ...` in this process: its exit status."""
    try:
        return main([str(a) for a in argv])
    except SystemExit as exit_:  # argparse's own errors
        return int(exit_.code or 0)


def events_file(tmp_path: Path, entries: object) -> Path:
    path = tmp_path / "events.json"
    path.write_text(json.dumps(entries), encoding="utf-8")
    return path


def test_run_sends_the_events_at_their_times_and_summarises_the_run(tmp_path, capsys) -> None:
    """The orders fixture: a queue with a DLQ (maxReceiveCount 5, visibility 60 s) read by
    OrderWriterFunction with ReportBatchItemFailures; a bus rule to the queue and to
    OrderEventsFunction, which also reads the table's stream."""
    events = events_file(tmp_path, [
        {"sqs": "OrdersQueue", "body": {"orderId": "o-1"}},
        {"at": "1s", "sqs": "OrdersQueue", "body": "not json"},
        {"at": "10s", "eventbridge": {"EventBusName": "OrdersBus", "Source": "course.orders",
                                      "DetailType": "OrderPlaced", "Detail": {"orderId": "o-2"}}},
        {"at": "20s", "invoke": "OrderEventsFunction", "payload": {"detail-type": "Manual"}},
        {"at": "30s", "invoke": "OrderWriterFunction", "payload": {}, "type": "Event"},
    ])
    assert cli("run", ORDERS, "--events", events, "--for", "10m", "--no-validate", "--json") == 0
    summary = json.loads(capsys.readouterr().out)
    assert [e["outcome"] for e in summary["events"]] == ["sent", "sent", "sent", "200", "202 queued"]
    assert [e["sent_at"] for e in summary["events"]] == [
        "2026-01-01T00:00:00Z", "2026-01-01T00:00:01Z", "2026-01-01T00:00:10Z", "2026-01-01T00:00:20Z",
        "2026-01-01T00:00:30Z"]
    # Writer: the batch of both messages and 4 redeliveries of "not json" (5 receives, then the
    # DLQ), the same for the bus's envelope (no orderId), and the async event's 3 attempts (a
    # KeyError each: errors). Audit: the bus event, the stream record of o-1, the direct invoke.
    writer = summary["functions"]["OrderWriterFunction"]
    assert (writer["invocations"], writer["errors"], writer["cold_starts"], writer["throttles"]) == (13, 3, 1, 0)
    assert summary["functions"]["OrderEventsFunction"]["invocations"] == 3
    assert summary["queues"] == {
        "OrdersDeadLetterQueue": {"dead_letter_queue": True, "visible": 2, "in_flight": 0, "delayed": 0},
        "OrdersQueue": {"dead_letter_queue": False, "visible": 0, "in_flight": 0, "delayed": 0}}
    assert summary["async_events"] == {"OrderEventsFunction": {"received": 1, "Success": 1},
                                       "OrderWriterFunction": {"received": 1, "RetriesExhausted": 1}}
    [failure] = summary["failures"]
    assert (failure["function"], failure["failed_invocations"], failure["error_type"]) == (
        "OrderWriterFunction", 3, "KeyError")
    assert "[ERROR] KeyError: 'Records'" in failure["log"]
    assert failure["log"][-1].startswith(f"REPORT RequestId: {failure['request_id']}")
    assert summary["outputs"]["OrdersBusName"] == "orders-orders"


def test_run_prints_a_summary_for_people_with_http_requests_through_the_front_door(tmp_path, capsys) -> None:
    """`http` entries reach the REST API with or without the stage, as `sam local` serves them;
    an entry its API refuses is shown with AWS's error and makes the exit status 1."""
    events = events_file(tmp_path, [
        {"http": {"path": "/orders/42"}},
        {"at": "5s", "http": {"method": "POST", "path": "/v1/orders", "body": {"n": 1}}},
        {"at": "10s", "http": {"path": "/fail/raise"}},
        {"at": "15s", "http": {"path": "/nowhere"}},
        {"at": "20s", "eventbridge": {"EventBusName": "no-such-bus", "Source": "s", "DetailType": "d", "Detail": {}}},
    ])
    assert cli("run", API, "--events", events, "--for", "90s", "--no-validate") == 1
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].endswith("seed 0: ran 1m30s of virtual time, to 2026-01-01T00:01:30Z")
    outcomes = [line.split()[-2:] for line in lines[lines.index("Events sent (5)") + 2:][:4]]
    assert outcomes == [["HTTP", "200"], ["HTTP", "200"], ["HTTP", "502"], ["HTTP", "403"]]
    assert lines[lines.index("Events sent (5)") + 6].endswith(
        "refused: ResourceNotFoundException: Event bus no-such-bus does not exist.")
    table = lines[lines.index("Invocations") + 1:][:3]
    assert [row.split() for row in table[1:]] == [["EchoFunction", "2", "0", "1", "0"],
                                                  ["FailingFunction", "1", "1", "1", "0"]]
    assert "  [ERROR] RuntimeError: the function failed" in lines
    assert any(line.startswith("  ApiUrl = https://") for line in lines)


def test_run_reaches_http_apis_at_their_root_their_stages_and_their_default_route(tmp_path, capsys) -> None:
    """fixtures/sam/http_api: the implicit HTTP API on its `$default` stage (served at the root,
    with a `$default` route) and StagedApi on stage v1 behind a Lambda authorizer."""
    events = events_file(tmp_path, [
        {"http": {"path": "/orders/42"}},
        {"http": {"path": "/v1/open"}},
        {"http": {"path": "/me"}},
        {"at": "1s", "http": {"path": "/me", "headers": {"Authorization": "allow"}}},
        {"at": "2s", "http": {"method": "PUT", "path": "/anything/else"}},
        {"at": "3s", "http": {"path": "/plain/raise"}},
    ])
    assert cli("run", SAM / "http_api", "--events", events, "--for", "1m", "--no-validate", "--json") == 0
    summary = json.loads(capsys.readouterr().out)
    assert [e["outcome"] for e in summary["events"]] == [
        "HTTP 200", "HTTP 200", "HTTP 401", "HTTP 200", "HTTP 200", "HTTP 500"]
    functions = summary["functions"]
    assert (functions["AuthorizerFunction"]["invocations"], functions["EchoFunction"]["invocations"],
            functions["PlainFunction"]["errors"]) == (1, 4, 1)


@pytest.mark.parametrize("fixture, entries, function, queue_messages", [
    # The Listener's filter policy takes kind=order only; the queue's subscription takes both.
    ("sns", [{"sns": "Topic", "message": {"id": 1}, "subject": "new", "attributes": {"kind": "order"}},
             {"at": "1s", "sns": "Topic", "message": "other", "attributes": {"kind": "other"}}], "Listener", 2),
    # The function takes uploads/, the queue .csv objects (and S3's s3:TestEvent from the
    # notification configuration).
    ("s3", [{"s3": {"bucket": "Bucket", "key": "uploads/a.csv", "body": "a,b"}},
            {"at": "1s", "s3": {"bucket": "Bucket", "key": "notes.txt", "body": {"x": 1}}}], "Uploaded", 2),
])
def test_run_publishes_to_topics_and_writes_to_buckets_named_by_logical_id(
        tmp_path, capsys, fixture, entries, function, queue_messages) -> None:
    assert cli("run", SAM / fixture, "--events", events_file(tmp_path, entries), "--for", "1m",
               "--no-validate", "--json") == 0
    summary = json.loads(capsys.readouterr().out)
    assert [e["outcome"] for e in summary["events"]] == ["sent", "sent"]
    assert summary["functions"][function]["invocations"] == 1
    assert summary["async_events"] == {function: {"received": 1, "Success": 1}}
    assert summary["queues"]["Queue"]["visible"] == queue_messages


def one_line_error(capsys) -> str:
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "Traceback" not in captured.err
    assert captured.err.count("\n") == 1, captured.err
    return captured.err


@pytest.mark.parametrize("argv, entries, message", [
    (["run", SAM / "no-such-stack", "--for", "1m"], None, "no-such-stack does not exist"),
    (["run", API, "--for", "10x"], None, "invalid duration '10x'"),
    (["run", API, "--for", "0"], None, "it must be more than 0"),
    (["run", API, "--for", "1m", "--param", "Stage"], None, "invalid parameter 'Stage': write Key=Value"),
    (["run", API, "--for", "1m", "--events"], "[{\"sqs\": ", "is not JSON: Expecting value (line 1, column 10)"),
    (["run", API, "--for", "1m", "--events"], [{"sqs": "Queue"}], "entry 1: an sqs entry needs a \"body\""),
    (["run", API, "--for", "1m", "--events"], [{"sqs": "Q", "body": 1, "invoke": "F"}],
     "name exactly one target of invoke, sqs, sns, eventbridge, http, s3 (found sqs, invoke)"),
    (["run", API, "--for", "1m", "--events"], [{"invoke": "F", "paylod": {}}], "unknown key(s) paylod"),
    (["run", API, "--for", "1m", "--events"], [{"at": "2m", "invoke": "F"}], "due at 2m, after the run ends (1m)"),
])
def test_a_mistake_in_the_command_or_its_input_is_one_line_and_exit_status_2(
        tmp_path, capsys, argv, entries, message) -> None:
    if entries is not None:
        path = tmp_path / "events.json"
        path.write_text(entries if isinstance(entries, str) else json.dumps(entries), encoding="utf-8")
        argv = [*argv, path]
    assert cli(*argv) == 2
    assert message in one_line_error(capsys)


def test_an_events_file_naming_what_the_stack_does_not_have_is_refused_before_the_run(tmp_path, capsys) -> None:
    events = events_file(tmp_path, [{"invoke": "EchoFunction"}, {"at": "1s", "invoke": "NoSuchFunction"}])
    assert cli("run", API, "--events", events, "--for", "1m", "--no-validate") == 2
    assert ("entry 2 (invoke NoSuchFunction): no function 'NoSuchFunction' in the stack; its functions: "
            "EchoFunction, FailingFunction") in one_line_error(capsys)


def get(url: str) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(url, timeout=30) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_serve_answers_real_http_requests_runs_what_is_behind_the_api_and_stops_on_ctrl_c() -> None:
    """`serve` on an ephemeral port, in a process of its own (as people run it): the API's URLs
    and routes printed on start; requests with and without the stage answered by the function;
    the queue's poller running between requests as the virtual clock follows real time (the
    order is stored after its 1 s batching window); Ctrl-C (SIGINT) ending it with status 0."""
    server = subprocess.Popen([sys.executable, "-m", "lambdasim", "serve", str(API_QUEUE), "--port", "0",
                               "--no-validate"], cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        banner = server.stdout.readline()
        assert banner.startswith("Serving stack api-queue on http://127.0.0.1:"), banner + server.stderr.read()
        base = banner.split(" on ")[1].split()[0]
        routes = [server.stdout.readline().rstrip() for _ in range(3)]
        assert routes[0].startswith("  ServerlessRestApi (REST API ") and f"{base}/Prod/" in routes[0]
        assert routes[1:] == ["    POST    /orders -> ApiFunction", "    GET     /orders/{id} -> ApiFunction"]

        placed = urllib.request.Request(f"{base}/orders", data=b'{"id": "o-1", "total": 12}', method="POST")
        with urllib.request.urlopen(placed, timeout=30) as answer:
            assert (answer.status, json.loads(answer.read())) == (202, {"accepted": "o-1"})
        deadline = time.monotonic() + 20
        while (found := get(f"{base}/Prod/orders/o-1"))[0] == 404 and time.monotonic() < deadline:
            time.sleep(0.2)  # real time: the server's clock follows it
        assert found == (200, {"id": "o-1", "total": "12"})
        assert get(f"{base}/no/such/path") == (403, {"message": "Missing Authentication Token"})
    finally:
        server.send_signal(signal.SIGINT)
        out, err = server.communicate(timeout=30)
    assert server.returncode == 0, err
    assert "POST /orders -> 202: ran ApiFunction (api, 1 ms)" in err
    # The batch falls due at a real instant: it runs between requests ("behind the API: ran
    # ...") or, on a loaded machine, while a GET is being answered (listed on that GET's line).
    # Either way the queue's poller ran it; which line names it is timing.
    assert "WorkerFunction (sqs, 1 ms)" in err
    assert "GET /no/such/path -> 403\n" in err
    assert out.rstrip().endswith("invocation(s)") and "Stopped: " in out


def test_a_local_path_goes_to_the_api_and_stage_the_front_door_would_route() -> None:
    """`/{stage}/...` goes to that stage; a path without a stage to the first API whose routes
    take it (`sam local start-api` serves without stages), then to an HTTP API's `$default`
    route; an HTTP API's `$default` stage is its root. Nothing deployed: the APIs as
    `local_api.stack_apis` reads them."""
    rest = Api("ServerlessRestApi", "rest1", "REST API", "us-east-1", ("Prod", "Stage"),
               {"/orders/{id}": {"GET": "EchoFunction"}, "/files/{proxy+}": {"ANY": "EchoFunction"}})
    staged = Api("StagedApi", "http1", "HTTP API", "us-east-1", ("v1",), {"/me": {"GET": "EchoFunction"}})
    default = Api("ServerlessHttpApi", "http2", "HTTP API", "us-east-1", ("$default",),
                  {"/v1/orders/{id}": {"GET": "EchoFunction"}}, catch_all="EchoFunction")
    apis = [rest, staged, default]

    def host(api_id: str) -> str:
        return f"https://{api_id}.execute-api.us-east-1.amazonaws.com/"

    assert invoke_url(apis, "GET", "/Prod/orders/1?a=b") == host("rest1") + "Prod/orders/1?a=b"
    assert invoke_url(apis, "GET", "/orders/1") == host("rest1") + "Prod/orders/1"
    assert invoke_url(apis, "delete", "/files/a/b") == host("rest1") + "Prod/files/a/b"
    assert invoke_url(apis, "GET", "/v1/me") == host("http1") + "v1/me"
    assert invoke_url(apis, "GET", "/me") == host("http1") + "v1/me"
    assert invoke_url(apis, "GET", "/v1/orders/7") == host("http2") + "v1/orders/7"
    assert invoke_url(apis, "POST", "/anything") == host("http2") + "anything"
    assert invoke_url([rest], "POST", "/Stage/nowhere") == host("rest1") + "Stage/nowhere"  # 403 there
    assert invoke_url([rest], "POST", "/nowhere") == host("rest1") + "Prod/nowhere"


def test_the_local_server_serves_http_apis_with_their_cookies_and_authorizers(sim) -> None:
    """`LocalServer` in this process, on the simulation's thread (as `serve` runs it), with
    urllib on another: fixtures/sam/http_api's implicit API at the root (its cookies become
    Set-Cookie headers) and StagedApi's authorizer answering 401 without a token."""
    stack = sim.deploy(SAM / "http_api", validate=False)
    server = LocalServer(sim, stack_apis(sim, stack), port=0, log=io.StringIO())
    stopped = threading.Event()
    answers: dict[str, object] = {}

    def client() -> None:
        try:
            with urllib.request.urlopen(f"{server.base_url}/orders/42", timeout=30) as answer:
                answers["orders"] = (answer.status, answer.headers.get_all("Set-Cookie"),
                                     json.loads(answer.read())["routeKey"])
            answers["me"] = get(f"{server.base_url}/v1/me")
        finally:
            stopped.set()

    threading.Thread(target=client).start()
    server.serve_until(stopped)
    assert answers == {"orders": (200, ["session=abc; Secure", "theme=dark"], "GET /orders/{id}"),
                       "me": (401, {"message": "Unauthorized"})}
