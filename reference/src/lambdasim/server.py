"""A local HTTP server in front of a deployed stack's APIs (REST and HTTP APIs), for `python -m lambdasim serve`:
what `sam local start-api` does, without Docker, with every event source of the stack running
behind it on a virtual clock that follows real time.

The simulation has one thread, the one that started it (its virtual `time.sleep` and moto's
frozen clock belong to it). The HTTP server answers on threads of its own, which hand each
request to the simulation's thread through a queue and wait for the response. Between requests,
the simulation's thread moves the virtual clock to the wall-clock time elapsed since serving
began, so pollers, retries and asynchronous events behind the API run as they would on AWS. An
invocation runs at one instant of real time: its virtual duration moves the clock ahead, and
the clock then waits for the wall clock to catch up.
"""

from __future__ import annotations

import queue
import sys
import threading
import time
from dataclasses import dataclass, field
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, TextIO

from . import local_api, report
from .sources.apigateway import HttpResponse, error_response

if TYPE_CHECKING:
    from .runtime import InvocationRecord
    from .simulator import Simulator

#: Real seconds between two moves of the virtual clock while no request comes in.
TICK_S = 0.05
#: Real seconds a client waits for the simulation before it is answered 504.
ANSWER_TIMEOUT_S = 120.0
# Hop-by-hop headers (RFC 9110 section 7.6.1) belong to one connection, not to the API's
# request or response; Host and Content-Length are the proxy's own.
_NOT_FORWARDED = frozenset({"connection", "keep-alive", "proxy-connection", "te", "trailer",
                            "transfer-encoding", "upgrade", "host", "content-length"})


def _real_now() -> float:
    # Not time.monotonic: freezegun shows the process the virtual time, monotonic included.
    return time.clock_gettime(time.CLOCK_MONOTONIC)


@dataclass(eq=False)
class _Request:
    """A request waiting for the simulation's thread, and its answer once there is one."""

    method: str
    target: str  # path and query, as the client sent them
    headers: dict[str, str]
    body: bytes | None
    answered: threading.Event = field(default_factory=threading.Event)
    response: HttpResponse | None = None


class LocalServer:
    """Serves a stack's APIs on `host:port` (port 0: any free port; see `address`).

    `serve_until(stopped)` runs on the simulation's thread and returns when `stopped` is set.
    """

    def __init__(self, sim: Simulator, apis: list[local_api.Api], host: str = "127.0.0.1",
                 port: int = 3000, log: TextIO | None = None, function_labels: dict[str, str] | None = None):
        if not apis:
            raise ValueError("the stack has no API with a stage to serve")
        self.sim = sim
        self.apis = apis
        self._log = log if log is not None else sys.stderr
        # Function name -> what the access log calls it (the template's logical id).
        self._labels = dict(function_labels or {})
        self._requests: queue.Queue[_Request] = queue.Queue()
        self._accepting = True
        self.answered = 0  # requests answered by the simulation
        self._httpd = ThreadingHTTPServer((host, port), self._handler_class())
        self._httpd.daemon_threads = True

    @property
    def address(self) -> tuple[str, int]:
        """The host and port the server listens on."""
        host, port = self._httpd.server_address[:2]
        return str(host), int(port)

    @property
    def base_url(self) -> str:
        host, port = self.address
        return f"http://{host}:{port}"

    def routes(self) -> list[str]:
        """One line per API stage and route, for people: where to send requests."""
        lines = []
        for api in self.apis:
            stages = ", ".join(f"{self.base_url}/{'' if stage == local_api.DEFAULT else stage + '/'}"
                               for stage in api.stages)
            root = "" if api.stages[0] == local_api.DEFAULT else f", and {self.base_url}/ for stage {api.stages[0]}"
            lines.append(f"{api.logical_id} ({api.kind} {api.api_id}): {stages}{root}")
            for path, methods in sorted(api.routes.items()):
                for method, target in sorted(methods.items()):
                    lines.append(f"  {method:7} {path} -> {target}")
            if api.catch_all is not None:
                lines.append(f"  {'ANY':7} anything else ($default) -> {api.catch_all}")
        return lines

    def serve_until(self, stopped: threading.Event) -> None:
        """Answer requests and follow real time with the virtual clock until `stopped` is set;
        then stop listening and answer what is still waiting with 503."""
        listener = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": TICK_S},
                                    name="lambdasim-http", daemon=True)
        listener.start()
        real_start, virtual_start = _real_now(), self.sim.now
        try:
            while not stopped.is_set():
                try:
                    request: _Request | None = self._requests.get(timeout=TICK_S)
                except queue.Empty:
                    request = None
                seen = len(self.sim.invocations)
                self.sim.run_until(virtual_start + timedelta(seconds=_real_now() - real_start))
                self._log_invocations(self.sim.invocations[seen:], "behind the API")
                if request is not None:
                    request.response = self._answer(request)
                    request.answered.set()
                    self.answered += 1
        finally:
            self._accepting = False
            self._httpd.shutdown()
            self._httpd.server_close()
            listener.join()
            while not self._requests.empty():
                waiting = self._requests.get_nowait()
                waiting.answered.set()  # no response: the handler answers 503

    def _answer(self, request: _Request) -> HttpResponse:
        url = local_api.invoke_url(self.apis, request.method, request.target)
        started = len(self.sim.invocations)
        try:
            response = self.sim.http(request.method, url, headers=request.headers, body=request.body)
        except Exception as exc:  # noqa: BLE001 - one broken request must not stop the server
            print(f"lambdasim: {request.method} {request.target} failed in the simulator: "
                  f"{type(exc).__name__}: {exc}", file=self._log, flush=True)
            return error_response(500, f"the simulator failed: {type(exc).__name__}: {exc}")
        self._log_invocations(self.sim.invocations[started:],
                              f"{request.method} {request.target} -> {response.status}", always=True)
        return response

    def _log_invocations(self, ran: list[InvocationRecord], headline: str, always: bool = False) -> None:
        """One line for what ran (each function, its source, duration and error), and the log
        of each failed invocation, as `sam local` shows the function's output."""
        if not ran and not always:
            return
        functions = ", ".join(f"{self._labels.get(r.function_name, r.function_name)} ({r.source}, "
                              f"{r.duration_ms:.0f} ms{'' if r.succeeded else ', ' + str(r.error_type)})" for r in ran)
        print(f"{headline}: ran {functions}" if ran else headline, file=self._log, flush=True)
        for record in ran:
            if not record.succeeded:
                for line in report.invocation_log(self.sim, record):
                    print(f"    {line}", file=self._log, flush=True)

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            server_version = "lambdasim"

            def _forward(self) -> None:
                length = self.headers.get("Content-Length") or "0"
                if not length.isdigit():
                    self.send_error(400, "Content-Length is not a number")
                    return
                body = self.rfile.read(int(length)) if int(length) else None
                headers: dict[str, str] = {}
                for name, value in self.headers.items():
                    if name.lower() not in _NOT_FORWARDED:
                        headers[name] = f"{headers[name]},{value}" if name in headers else value
                request = _Request(self.command, self.path, headers, body)
                if server._accepting:
                    server._requests.put(request)
                    request.answered.wait(ANSWER_TIMEOUT_S)
                self._reply(request)

            def _reply(self, request: _Request) -> None:
                response = request.response
                if response is None:
                    status, headers, body = (503 if not server._accepting else 504), \
                        {"Content-Type": "application/json"}, b'{"message": "the simulator did not answer"}'
                else:
                    status, headers, body = response.status, response.headers, response.body
                self.send_response(status)
                for name, value in headers.items():
                    if name.lower() not in _NOT_FORWARDED:
                        self.send_header(name, value)
                for cookie in response.cookies if response is not None else []:
                    self.send_header("Set-Cookie", cookie)  # an HTTP API's cookies: one header each
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _forward

            def log_message(self, format: str, *args: object) -> None:
                # The simulation's thread logs each request with what ran; the default log
                # would stamp it with the process's (virtual) time.
                return

        return Handler
