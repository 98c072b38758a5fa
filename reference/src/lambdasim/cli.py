"""The command line: `python -m lambdasim run|serve TEMPLATE ...`, for people who are not in a
notebook.

    python -m lambdasim run template.yaml --events events.json --for 10m [--seed N] [--json]
    python -m lambdasim serve template.yaml [--port 3000] [--host 127.0.0.1]

`run` deploys the SAM template into a fresh simulation, sends the events file's entries at
their virtual times (`lambdasim.scenario`), runs the virtual clock for the given duration and
prints what happened (`lambdasim.report`). `serve` deploys it and serves its REST and HTTP APIs over
HTTP on the local machine with the virtual clock following real time (`lambdasim.server`),
until Ctrl-C.

Exit status: 0 when the command did its work (function errors are results of the run, shown
in its summary); 1 when `run` sent an entry the API refused (the summary says why); 2 for a
mistake in the command or its input (arguments, template, parameters, events file), with one
line on stderr saying what is wrong; 130 when Ctrl-C interrupts a deploy or a run.
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import os
import signal
import sys
import threading
import time
import warnings
from collections.abc import Sequence
from datetime import datetime, timezone
from typing import NoReturn

from . import local_api, report, scenario
from .sam import SamDeployError, SamDeployWarning, Stack
from .server import LocalServer
from .simulator import Simulator

PROG = "python -m lambdasim"
EXIT_REFUSED = 1
EXIT_OUTPUT_CLOSED = 1  # as Python itself exits when its stdout is a closed pipe
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130  # the shell's status for a process ended by SIGINT


class UsageError(Exception):
    """A mistake in the command or its input: reported in one line, exit status 2."""


class _Parser(argparse.ArgumentParser):
    """argparse, with its errors as one line (the usage is in --help)."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{PROG}: error: {message} (see {self.prog} --help)\n")


def _duration(text: str) -> float:
    try:
        seconds = scenario.parse_duration(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    if seconds <= 0:
        raise argparse.ArgumentTypeError(f"invalid duration {text!r}: it must be more than 0")
    return seconds


def _parameter(text: str) -> tuple[str, str]:
    key, equals, value = text.partition("=")
    if not equals or not key:
        raise argparse.ArgumentTypeError(f"invalid parameter {text!r}: write Key=Value")
    return key, value


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog=PROG, description="Run or serve an AWS SAM template on the local Lambda simulator "
                                            "(moto, a virtual clock, no Docker).")
    commands = parser.add_subparsers(dest="command", required=True, metavar="{run,serve}", parser_class=_Parser)

    def deploy_options(command: argparse.ArgumentParser) -> None:
        command.add_argument("template", help="the SAM template, or the folder holding template.yaml")
        command.add_argument("--param", dest="parameters", metavar="KEY=VALUE", type=_parameter,
                             action="append", default=[], help="a template parameter's value (repeatable)")
        command.add_argument("--stack-name", help="the stack's name (default: the template folder's name)")
        command.add_argument("--seed", type=int, default=0, help="the seed that fixes every random choice (default 0)")
        command.add_argument("--no-validate", dest="validate", action="store_false",
                             help="skip cfn-lint's check of the template (faster)")

    run = commands.add_parser("run", help="deploy, send events, run the virtual clock, print what happened",
                              description="Deploy the template, send the events file's entries at their virtual "
                                          "times, run the virtual clock for the given duration, print a summary.")
    deploy_options(run)
    run.add_argument("--events", metavar="FILE", help="the events file (a JSON list; see the manual)")
    run.add_argument("--for", dest="duration", metavar="DURATION", type=_duration, required=True,
                     help="how long to run the virtual clock: 90s, 10m, 2h or seconds")
    run.add_argument("--json", action="store_true", help="print the summary as JSON")

    serve = commands.add_parser("serve", help="deploy, then serve the APIs over HTTP in real time",
                                description="Deploy the template and serve its REST and HTTP APIs on this machine; the "
                                            "virtual clock follows real time. Ctrl-C stops.")
    deploy_options(serve)
    serve.add_argument("--port", type=int, default=3000, help="the port (default 3000; 0 picks a free one)")
    serve.add_argument("--host", default=None,
                       help="the address to listen on (default 127.0.0.1; any other must be given here)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    args = _parser().parse_args(argv)
    try:
        if args.command == "run":
            return _run(args)
        return _serve(args)
    except UsageError as exc:
        print(f"{PROG} {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:  # Ctrl-C while deploying or running: the simulation was stopped
        print(f"{PROG} {args.command}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # The reader left (`| head`): no more output, and none at exit either
        # (https://docs.python.org/3/library/signal.html#note-on-sigpipe).
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OUTPUT_CLOSED


def _deploy(args: argparse.Namespace, sim: Simulator) -> Stack:
    """The template deployed into `sim`; its problems as `UsageError`, its warnings on stderr."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            stack = sim.deploy(args.template, stack_name=args.stack_name, parameters=dict(args.parameters),
                               validate=args.validate)
        except FileNotFoundError as exc:
            raise UsageError(str(exc)) from None
        except SamDeployError as exc:
            # One line: the reason, then the problems cfn-lint, the transform or moto listed.
            raise UsageError(str(exc).replace("\n- ", " | ").replace("\n", " ")) from None
    for warning in caught:
        if issubclass(warning.category, SamDeployWarning):
            print(f"{PROG}: warning: {warning.message}", file=sys.stderr)
    return stack


def _run(args: argparse.Namespace) -> int:
    try:
        entries = scenario.load_events(args.events) if args.events else []
    except scenario.EventsFileError as exc:
        raise UsageError(str(exc)) from None
    late = [e for e in entries if e.at_s > args.duration]
    if late:
        raise UsageError(f"entry {late[0].number} of {args.events} is due at {scenario.format_duration(late[0].at_s)}, "
                         f"after the run ends ({scenario.format_duration(args.duration)}): run --for longer")
    with Simulator(seed=args.seed) as sim:
        stack = _deploy(args, sim)
        try:
            sent = scenario.schedule(sim, stack, entries)
        except scenario.EventsFileError as exc:
            raise UsageError(f"{args.events} {exc}") from None
        sim.run_for(args.duration)
        summary = report.summarize(sim, stack, sent, args.duration)
    print(json.dumps(summary, indent=2) if args.json else report.format_text(summary))
    return EXIT_REFUSED if any(s.refused for s in sent) else 0


def _check_host(host: str | None) -> str:
    """The address to listen on: 127.0.0.1 unless another is given; a name or address that is
    not this machine's loopback makes the simulated stack reachable from the network, so say so."""
    if host is None:
        return "127.0.0.1"
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = host == "localhost"
    if not loopback:
        print(f"{PROG}: warning: listening on {host}: other machines can reach the simulated stack",
              file=sys.stderr)
    return host


def _wall_clock() -> datetime:
    # Not datetime.now: while a simulation runs, freezegun shows it the virtual time.
    return datetime.fromtimestamp(time.clock_gettime(time.CLOCK_REALTIME), timezone.utc)


def _serve(args: argparse.Namespace) -> int:
    host = _check_host(args.host)
    if not 0 <= args.port <= 65535:
        raise UsageError(f"invalid port {args.port}: 0-65535")
    # The virtual clock starts at the wall clock's time, so requests carry today's timestamps.
    with Simulator(seed=args.seed, start=_wall_clock()) as sim:
        stack = _deploy(args, sim)
        apis = local_api.stack_apis(sim, stack)
        if not apis:
            raise UsageError(f"stack {stack.name} has no API to serve (SAM `Api` or `HttpApi` events, "
                             "AWS::Serverless::Api or AWS::Serverless::HttpApi)")
        try:
            server = LocalServer(sim, apis, host, args.port,
                                 function_labels={fn.name: lid for lid, fn in stack.functions.items()})
        except OSError as exc:
            raise UsageError(f"cannot listen on {host}:{args.port}: {exc.strerror or exc}") from None
        print(f"Serving stack {stack.name} on {server.base_url} (virtual clock follows real time; Ctrl-C stops)")
        for line in server.routes():
            print(f"  {line}")
        sys.stdout.flush()
        # Deploying took real time while the virtual clock stood still: catch up, then follow.
        sim.run_until(_wall_clock())
        stopped = threading.Event()
        previous = {sig: signal.signal(sig, lambda *_: stopped.set()) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            server.serve_until(stopped)
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        print(f"Stopped: {server.answered} request(s) answered, {len(sim.invocations)} invocation(s)", flush=True)
    return 0
