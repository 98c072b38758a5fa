"""Conformance: the Python runtime inside the simulator (handler loading, errors, environment
variables, the context object, timeouts, durations, execution environments)."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "fixtures"
PATHPKG = FIXTURES / "pathpkg"


# -- handler loading (awslambdaric bootstrap._get_handler) ----------------------------------------


def test_module_that_cannot_be_imported_is_import_module_error(sim, call):
    """python-exceptions.html / awslambdaric _get_handler: a handler module that cannot be
    imported fails every invocation with Runtime.ImportModuleError,
    "Unable to import module 'x': No module named 'x'", and an empty requestId (init error)."""
    sim.create_function(FunctionName="f", Handler="nosuchmodule.handler", code_dir=FIXTURES / "basic")
    response, body = call("f")
    assert response["StatusCode"] == 200
    assert response["FunctionError"] == "Unhandled"
    assert body == {
        "errorMessage": "Unable to import module 'nosuchmodule': No module named 'nosuchmodule'",
        "errorType": "Runtime.ImportModuleError",
        "requestId": "",
        "stackTrace": [],
    }
    # The environment never became ready: the next invocation tries the init again.
    call("f")
    assert [r.cold_start for r in sim.invocations] == [True, True]
    assert sim.environments("f") == []


def test_missing_dependency_is_import_module_error(sim, call):
    """awslambdaric _get_handler: an ImportError raised while the module initializes is
    reported with the module's name and the ImportError's text."""
    sim.create_function(FunctionName="f", Handler="handlers.handler", code_dir=FIXTURES / "broken_import")
    _, body = call("f")
    assert body["errorType"] == "Runtime.ImportModuleError"
    assert body["errorMessage"] == (
        "Unable to import module 'handlers': No module named 'lambdasim_test_module_that_does_not_exist'"
    )


def test_handler_in_folders_without_init_files_is_imported(sim, call, tmp_path):
    """awslambdaric _get_handler imports the handler's module with Python's import system, for
    which folders without __init__.py are namespace packages
    (https://docs.aws.amazon.com/lambda/latest/dg/python-handler.html, handler naming): a
    handler `src/handlers/orders.handler` in such folders runs, warm invocations included, and
    a second function's same-named folders stay its own."""
    for name, answer in (("one", 1), ("two", 2)):
        handlers = tmp_path / name / "src" / "handlers"
        handlers.mkdir(parents=True)
        (handlers / "orders.py").write_text(f"def handler(event, context):\n    return {answer}\n")
        sim.create_function(FunctionName=name, Handler="src/handlers/orders.handler", code_dir=tmp_path / name)
    assert [call(name)[1] for name in ("one", "two", "one", "two")] == [1, 2, 1, 2]
    assert [r.cold_start for r in sim.invocations] == [True, True, False, False]


def test_missing_handler_attribute_is_handler_not_found(basic, call):
    """awslambdaric _get_handler: Runtime.HandlerNotFound, "Handler 'f' missing on module 'm'"."""
    basic("f", "no_such_function")
    response, body = call("f")
    assert response["FunctionError"] == "Unhandled"
    assert body == {
        "errorMessage": "Handler 'no_such_function' missing on module 'handlers'",
        "errorType": "Runtime.HandlerNotFound",
        "requestId": "",
        "stackTrace": [],
    }


def test_handler_without_a_dot_is_malformed_handler_name(sim, call):
    """awslambdaric _get_handler: "Bad handler 'x': ..." with Runtime.MalformedHandlerName."""
    sim.create_function(FunctionName="f", Handler="handler", code_dir=FIXTURES / "basic")
    _, body = call("f")
    assert body["errorType"] == "Runtime.MalformedHandlerName"
    assert body["errorMessage"] == "Bad handler 'handler': not enough values to unpack (expected 2, got 1)"


def test_syntax_error_is_user_code_syntax_error(sim, call, tmp_path):
    """awslambdaric _get_handler: Runtime.UserCodeSyntaxError, "Syntax error in module 'm': ..."."""
    (tmp_path / "handlers.py").write_text("def handler(event, context)\n    return 1\n")
    sim.create_function(FunctionName="f", Handler="handlers.handler", code_dir=tmp_path)
    _, body = call("f")
    assert body["errorType"] == "Runtime.UserCodeSyntaxError"
    assert body["errorMessage"].startswith("Syntax error in module 'handlers': ")
    assert body["stackTrace"] == [f'  File "{tmp_path / "handlers.py"}" Line 1\n    def handler(event, context)\n']


def test_exception_during_init_reports_its_own_type(sim, call):
    """awslambdaric run/build_fault_result: any other exception in the module's init is reported
    with its own type and message and no request id; the trace runs through the module's line
    (with importlib's frames before it, as on AWS, and none of the simulator's own)."""
    sim.create_function(FunctionName="f", Handler="handlers.handler", code_dir=FIXTURES / "init_error")
    response, body = call("f")
    assert response["FunctionError"] == "Unhandled"
    assert body["errorType"] == "KeyError"
    assert body["errorMessage"] == "'TABLE_NAME_THAT_IS_NOT_SET'"
    assert body["requestId"] == ""
    assert 'init_error/handlers.py", line 3, in <module>' in body["stackTrace"][-2]
    assert body["stackTrace"][-1].startswith('  File "<frozen os>"')
    assert not any("src/lambdasim/" in line for line in body["stackTrace"])


def test_exit_during_init_is_runtime_exit_error(sim, call, tmp_path):
    """A module whose init exits the runtime process: Runtime.ExitError, no environment kept."""
    (tmp_path / "quits.py").write_text("import sys\nsys.exit(2)\n")
    sim.create_function(FunctionName="f", Handler="quits.handler", code_dir=tmp_path)
    response, body = call("f")
    assert response["FunctionError"] == "Unhandled"
    assert body["errorType"] == "Runtime.ExitError"
    assert body["errorMessage"].endswith("Error: Runtime exited with error: exit status 2")
    assert sim.environments("f") == []


def test_handler_importable_from_sys_path(sim, call, monkeypatch):
    """python-handler.html: Handler is `module.function`; a package module on sys.path (with
    its relative imports and dataclasses) works without a code folder."""
    monkeypatch.syspath_prepend(str(PATHPKG))
    sim.create_function(FunctionName="greet", Handler="simpkg.handlers.greet")
    response, body = call("greet", {"name": "Ada"})
    assert "FunctionError" not in response
    assert body == {"text": "hello Ada", "loads": 1}


def test_map_handler_for_a_function_created_elsewhere(sim, lam, call):
    """The simulator maps any function in moto (boto3, CloudFormation) to local code."""
    from lambdasim import placeholder_zip

    role = sim.client("iam").create_role(RoleName="r", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    lam.create_function(FunctionName="plain", Runtime="python3.12", Role=role, Handler="whatever.nope",
                        Code={"ZipFile": placeholder_zip()})
    sim.map_handler("plain", handler="handlers.echo", code_dir=FIXTURES / "basic")
    assert call("plain", {"k": "v"})[1] == {"k": "v"}
    with pytest.raises(FileNotFoundError):
        sim.map_handler("plain", code_dir=FIXTURES / "missing-folder")


# -- environment variables (configuration-envvars.html) --------------------------------------------


def test_function_environment_variables_visible_only_during_invocation(basic, call):
    """configuration-envvars.html: the function's variables are in os.environ while its code
    runs; the simulator's own process environment is restored afterwards."""
    basic("env", "environ", Environment={"Variables": {"TABLE": "orders", "MODE": "test"}})
    _, body = call("env", {"names": ["TABLE", "MODE"]})
    assert body == {"TABLE": "orders", "MODE": "test"}
    assert "TABLE" not in os.environ and "AWS_LAMBDA_FUNCTION_NAME" not in os.environ


def test_reserved_environment_variables(basic, call, sim):
    """configuration-envvars.html#configuration-envvars-runtime: the reserved variables Lambda
    sets in every execution environment."""
    basic("env", "environ", MemorySize=256)
    _, env = call("env")
    environment = sim.environments("env")[0]
    assert env["AWS_LAMBDA_FUNCTION_NAME"] == "env"
    assert env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] == "256"
    assert env["AWS_LAMBDA_FUNCTION_VERSION"] == "$LATEST"
    assert env["AWS_LAMBDA_LOG_GROUP_NAME"] == "/aws/lambda/env"
    assert env["AWS_LAMBDA_LOG_STREAM_NAME"] == environment.log_stream_name
    assert env["AWS_LAMBDA_INITIALIZATION_TYPE"] == "on-demand"
    assert env["AWS_REGION"] == env["AWS_DEFAULT_REGION"] == "us-east-1"
    assert env["AWS_EXECUTION_ENV"] == "AWS_Lambda_python3.12"
    assert env["_HANDLER"] == "handlers.environ"
    assert env["LAMBDA_TASK_ROOT"] == str(FIXTURES / "basic")
    assert env["_X_AMZN_TRACE_ID"].startswith("Root=1-")
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_LAMBDA_RUNTIME_API",
                "LAMBDA_RUNTIME_DIR"):
        assert env[key]


def test_environment_variable_changes_persist_in_a_warm_environment(basic, call):
    """lambda-runtime-environment.html: a warm environment keeps the process state of earlier
    invocations (here: a variable the code set); another environment never sees it."""
    basic("set", "set_env")
    basic("read", "read_env")
    assert call("set", {"value": "v1"})[1] is None
    assert os.environ.get("SET_BY_HANDLER") is None  # the simulator's process is untouched
    assert call("set", {"value": "v2"})[1] == "v1"  # same (warm) environment
    assert call("read")[1] is None  # another function's environment


# -- the context object (python-context.html) ------------------------------------------------------


def test_context_object_attributes(basic, call, sim):
    """python-context.html: request id, function name/version/ARN, memory (a string, as the
    runtime reads it from the environment), log group and stream, remaining time."""
    basic("ctx", "context_info", MemorySize=512, Timeout=30)
    _, body = call("ctx")
    record = sim.invocations[-1]
    assert body == {
        "aws_request_id": record.request_id,
        "function_name": "ctx",
        "function_version": "$LATEST",
        "invoked_function_arn": "arn:aws:lambda:us-east-1:123456789012:function:ctx",
        "memory_limit_in_mb": "512",
        "log_group_name": "/aws/lambda/ctx",
        "log_stream_name": sim.environments("ctx")[0].log_stream_name,
        "remaining": 30000,
        "client_context_custom": None,
        "identity_id": None,
    }
    stream = body["log_stream_name"]
    assert stream.startswith("2026/01/01/[$LATEST]") and len(stream) == len("2026/01/01/[$LATEST]") + 32


def test_remaining_time_follows_the_virtual_clock(basic, call):
    """python-context.html get_remaining_time_in_millis: it decreases as (virtual) time passes."""
    basic("sleepy", "sleepy", Timeout=10)
    _, body = call("sleepy", {"sleep": 2.5})
    assert body["before"] == 10000
    assert body["after"] == 7500
    assert body["slept"] == 2.5
    assert body["now"] == "2026-01-01T00:00:02.500000+00:00"


# -- timeouts and durations --------------------------------------------------------------------------


def test_sleeping_past_the_timeout_is_sandbox_timedout(basic, call, sim):
    """Invoke response for a timeout: FunctionError Unhandled,
    {"errorType": "Sandbox.Timedout", "errorMessage": "RequestId: <id> Error: Task timed out
    after 3.00 seconds"}; the duration is the timeout (lambda-runtime-environment.html)."""
    basic("sleepy", "sleepy")  # default Timeout: 3 s
    response, body = call("sleepy", {"sleep": 10})
    record = sim.invocations[-1]
    assert response["FunctionError"] == "Unhandled"
    assert body == {
        "errorType": "Sandbox.Timedout",
        "errorMessage": f"RequestId: {record.request_id} Error: Task timed out after 3.00 seconds",
    }
    assert record.timed_out and record.duration_ms == 3000.0 and record.billed_duration_ms == 3000
    assert sim.elapsed == 3.0  # the caller waited exactly until the deadline


def test_timeout_cannot_be_swallowed_by_except_exception(basic, call):
    """lambda-runtime-environment.html: at the timeout Lambda stops the runtime; handler code
    catching Exception does not get to return."""
    basic("stubborn", "stubborn", Timeout=1)
    _, body = call("stubborn", {"sleep": 5})
    assert body["errorType"] == "Sandbox.Timedout"
    assert body["errorMessage"].endswith("Task timed out after 1.00 seconds")


def test_timeout_resets_the_execution_environment(basic, call, sim):
    """lambda-runtime-environment.html (invoke phase errors): after a timeout the environment
    is reset; the next invocation runs the init again (a cold start)."""
    basic("count", "count", Timeout=1)
    sim.set_duration("count", lambda rng, event: 2000 if event.get("slow") else 5)
    assert call("count")[1]["calls"] == 1
    assert call("count")[1]["calls"] == 2
    assert call("count", {"slow": True})[1]["errorType"] == "Sandbox.Timedout"
    assert call("count")[1]["calls"] == 1
    assert [r.cold_start for r in sim.invocations] == [True, False, False, True]


def test_base_duration_plus_sleep_is_the_duration(basic, call, sim):
    """Simulated duration = the function's base duration + virtual time spent in the handler;
    billed duration rounds up to 1 ms (1 ms billing granularity since Dec 2020)."""
    basic("sleepy", "sleepy", Timeout=10)
    basic("echo", "echo")
    sim.set_duration("sleepy", 12.3)
    call("sleepy", {"sleep": 0.5})
    call("echo")
    first, second = sim.invocations
    assert (first.duration_ms, first.billed_duration_ms) == (512.3, 513)
    assert (second.duration_ms, second.billed_duration_ms) == (1.0, 1)  # the default
    assert sim.elapsed == pytest.approx(0.5123 + 0.001, abs=1e-9)


def test_base_duration_over_the_timeout_is_a_timeout(basic, call, sim):
    """A function whose work takes longer than its Timeout times out even without sleeping."""
    basic("echo", "echo", Timeout=1)
    sim.set_duration("echo", 1500)
    _, body = call("echo")
    assert body["errorType"] == "Sandbox.Timedout"
    assert sim.invocations[-1].duration_ms == 1000.0


def _run_twice_apart(scenario, seed=7):
    """Run `scenario(sim, call)` in a fresh simulator with `seed` and return its result."""
    import boto3

    from lambdasim import Simulator

    with Simulator(seed=seed) as sim:
        lam = boto3.client("lambda")

        def call(name, payload=None):
            body = lam.invoke(FunctionName=name, Payload=json.dumps(payload or {}))["Payload"].read()
            return json.loads(body)

        return scenario(sim, call)


def test_callable_durations_are_reproducible_from_the_seed():
    """Same seed, same code: the same durations (never wall-clock measurements)."""

    def scenario(sim, call):
        sim.create_function(FunctionName="echo", Handler="handlers.echo", code_dir=FIXTURES / "basic")
        sim.set_duration("echo", lambda rng, event: rng.uniform(5, 50))
        for _ in range(5):
            call("echo")
        return [r.duration_ms for r in sim.invocations]

    first = _run_twice_apart(scenario)
    assert len(set(first)) == 5
    assert _run_twice_apart(scenario) == first
    assert _run_twice_apart(scenario, seed=8) != first


def test_nested_synchronous_invoke_adds_to_the_callers_duration(basic, call, sim):
    """A synchronous Invoke from a handler waits for the callee: the callee's duration passes on
    the caller's clock and shrinks its remaining time."""
    basic("outer", "call_other", Timeout=10)
    basic("inner", "sleepy", Timeout=10)
    sim.set_duration("inner", 20)
    sim.set_duration("outer", 5)
    _, body = call("outer", {"target": "inner", "payload": {"sleep": 2}})
    assert body["waited"] == 2.02
    assert body["remaining"] == 10000 - 2020
    assert body["inner"]["after"] == 8000
    outer, inner = sorted(sim.invocations, key=lambda r: r.function_name != "outer")
    assert inner.duration_ms == 2020.0
    assert outer.duration_ms == 2025.0
    assert inner.start_us == outer.start_us  # the nested call started at the caller's time


def test_sys_exit_is_runtime_exit_error(basic, call, sim):
    """A handler that exits the runtime process: Runtime.ExitError, and a new environment next time."""
    basic("exits", "exits")
    response, body = call("exits")
    assert response["FunctionError"] == "Unhandled"
    assert body == {
        "errorType": "Runtime.ExitError",
        "errorMessage": f"RequestId: {sim.invocations[-1].request_id} Error: Runtime exited with error: exit status 3",
    }
    assert sim.environments("exits") == []


# -- execution environments (lambda-runtime-environment.html) ----------------------------------------


def test_warm_environment_reuses_the_module_cold_one_runs_init(basic, call, sim):
    """lambda-runtime-environment.html: the first invocation creates an environment and runs the
    init (module code); later ones reuse it and see its globals."""
    basic("count", "count")
    first = call("count")[1]
    second = call("count")[1]
    assert (first["calls"], second["calls"]) == (1, 2)
    assert first["module_id"] == second["module_id"]
    assert [r.cold_start for r in sim.invocations] == [True, False]
    (env,) = sim.environments("count")
    assert env.invocations == 2 and env.state == "ready" and env.module is not None
    assert env.created_at == sim.invocations[0].start and env.last_used == env.busy_until == sim.invocations[1].end
    assert sim.invocations[0].init_duration_ms == 0.0 and sim.invocations[1].init_duration_ms is None


def test_every_environment_loads_a_fresh_module(basic, call, sim, monkeypatch):
    """Each execution environment runs the module's init in its own module object, never the one
    cached in sys.modules: two functions with the same code do not share globals."""
    basic("a", "count")
    basic("b", "count")
    assert call("a")[1]["calls"] == 1
    assert call("a")[1]["calls"] == 2
    assert call("b")[1]["calls"] == 1
    monkeypatch.syspath_prepend(str(PATHPKG))
    import simpkg.handlers as imported

    sim.create_function(FunctionName="greet", Handler="simpkg.handlers.greet")
    call("greet", {"name": "x"})
    assert sim.environments("greet")[0].module is not imported


def test_busy_environment_means_a_second_environment(basic, call, sim):
    """lambda-concurrency.html: an environment handles one request at a time; a function that
    invokes itself synchronously runs the inner call in a second environment."""
    basic("recurse", "recurse")
    body = call("recurse")[1]
    assert body["outer"] != body["inner"]["module_id"]
    assert len(sim.environments("recurse")) == 2


def test_configuration_update_starts_new_environments(basic, call, lam, sim):
    """configuration-envvars.html / lambda-runtime-environment.html: after a configuration
    update, invocations run in new environments with the new configuration."""
    basic("env", "environ", Environment={"Variables": {"V": "1"}})
    assert call("env", {"names": ["V"]})[1] == {"V": "1"}
    lam.update_function_configuration(FunctionName="env", Environment={"Variables": {"V": "2"}})
    assert call("env", {"names": ["V"]})[1] == {"V": "2"}
    assert [r.cold_start for r in sim.invocations] == [True, True]


def test_code_folder_modules_are_private_to_each_function(sim, call):
    """Each function has its own code folder (/var/task on AWS): two folders with a module of the
    same name (util.py) never see each other's, and sys.modules is left clean."""
    sim.create_function(FunctionName="a", Handler="handlers.handler", code_dir=FIXTURES / "isolation_a")
    sim.create_function(FunctionName="b", Handler="handlers.handler", code_dir=FIXTURES / "isolation_b")
    assert call("a")[1] == {"name": "a", "same": True}
    assert call("b")[1] == {"name": "b", "same": True}
    assert call("a")[1] == {"name": "a", "same": True}
    assert "util" not in sys.modules and "handlers" not in sys.modules


def test_uuid4_in_handler_code_is_reproducible():
    """Same seed, same code: ids a handler draws with uuid.uuid4() repeat run after run."""

    def scenario(sim, call):
        sim.create_function(FunctionName="uuid", Handler="handlers.make_uuid", code_dir=FIXTURES / "basic")
        return [call("uuid") for _ in range(3)]

    first = _run_twice_apart(scenario)
    assert len(set(first)) == 3
    assert _run_twice_apart(scenario) == first


def test_unsupported_runtime_is_reported(sim, call):
    """The simulator runs Python handlers; another runtime without a mapped handler is a clear error."""
    sim.create_function(FunctionName="node", Handler="index.handler", Runtime="nodejs20.x")
    response, body = call("node")
    assert response["FunctionError"] == "Unhandled"
    assert body["errorType"] == "lambdasim.UnsupportedRuntime"
    assert json.dumps(body).count("map_handler") == 1
