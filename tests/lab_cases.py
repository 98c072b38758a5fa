"""Submissions every lab is graded against in the project's tests, besides its reference
solution and its starter: wrong solutions (must score below full marks), submissions that do
nothing and broken ones (must score 0 on every test), and right ones written another way than
the reference (must score full marks).

Two sources: folders under ``fixtures/lab_submissions/<lab>/<case>/`` holding the learner's
files (a student file a folder lacks is the reference solution's, or in a do-nothing case the
starter's: a lab with two student files can have a case that changes only one), and mutations of the course's own code (a wrong solution that differs from a right one
in one place), written out when a test needs them.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from labgrader import Lab

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "tests" / "fixtures" / "lab_submissions"
PIPELINE = REPO / "reference" / "src" / "serverless_course" / "pipeline"
WRONG_PROCESSORS = REPO / "reference" / "src" / "serverless_course" / "chaos" / "wrong"
POSITIONS = REPO / "reference" / "src" / "serverless_course" / "location" / "positions" / "app.py"
CDC = REPO / "reference" / "src" / "serverless_course" / "cdc"
SUMMARY = CDC / "summary" / "app.py"


@dataclass(frozen=True)
class Case:
    lab: str  # the lab's folder name under labs/
    name: str  # "wrong-...", "nothing-...", "broken-..." or "right-..."
    write: Callable[[Path], None]  # writes the learner's files into a folder
    must_fail: str = ""  # wrong cases: part of the name of a test it must lose points on ("": any)

    @property
    def kind(self) -> str:
        return self.name.split("-", 1)[0]

    @property
    def id(self) -> str:
        return f"{self.lab}/{self.name}"


def _fixture(lab: str, folder: Path) -> Callable[[Path], None]:
    """The case's files, and for the student files it lacks the reference solution's (the
    starter's in a do-nothing case)."""
    def write(dest: Path) -> None:
        graded = Lab.load(REPO / "labs" / lab)
        rest = graded.starter_dir if folder.name.startswith("nothing-") else graded.solution_dir
        assert rest is not None, f"{lab}: no reference solution"
        shutil.copytree(folder, dest, dirs_exist_ok=True)
        for name in graded.student_files:
            if not (dest / name).exists():
                shutil.copyfile(rest / name, dest / name)
    return write


def _mutant(source: Path, name: str, *edits: tuple[str, str]) -> Callable[[Path], None]:
    """``source`` with each (old, new) edit made once, written as ``name``."""
    def write(dest: Path) -> None:
        text = source.read_text()
        for old, new in edits:
            assert text.count(old) == 1, f"{source.name}: the mutation's anchor {old!r} moved"
            text = text.replace(old, new)
        dest.mkdir(parents=True, exist_ok=True)
        (dest / name).write_text(text)
    return write


def _file(source: Path, name: str) -> Callable[[Path], None]:
    def write(dest: Path) -> None:
        dest.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, dest / name)
    return write


def _text(name: str, text: str) -> Callable[[Path], None]:
    def write(dest: Path) -> None:
        dest.mkdir(parents=True, exist_ok=True)
        (dest / name).write_text(text)
    return write


SENDER = PIPELINE / "event_sender.py"
PROCESSOR = PIPELINE / "processor" / "app.py"
RETRY_ANCHOR = '    for attempt in range(1, max_attempts + 1):\n'
TABLE_LINE = 'table = boto3.resource("dynamodb").Table(os.environ["ORDERS_TABLE"])\n'

MUTATIONS = [
    # Correct, with its client made at import, as on AWS (outside a function's environment, with
    # no Region set, boto3 would raise NoRegionError).
    Case("01-putevents-partial-failures", "right-module-level-client",
         _mutant(SENDER, "event_sender.py", (
             "MAX_ENTRIES_PER_CALL = 10",
             "import boto3\n\nEVENTS = boto3.client(\"events\")\nMAX_ENTRIES_PER_CALL = 10"))),
    Case("01-putevents-partial-failures", "wrong-no-retry",
         _mutant(SENDER, "event_sender.py", (RETRY_ANCHOR, "    for attempt in range(1, 2):\n")),
         "partial_failures_are_retried"),
    Case("01-putevents-partial-failures", "wrong-no-backoff",
         _mutant(SENDER, "event_sender.py", (
             "            sleep(rng.uniform(0, min(max_delay, base_delay * 2 ** (attempt - 2))))\n",
             "            pass\n")),
         "after_a_wait"),
    Case("01-putevents-partial-failures", "wrong-unbounded-retries",
         _mutant(SENDER, "event_sender.py", (RETRY_ANCHOR, "    for attempt in range(1, 10_000):\n")),
         "always_fails"),
    Case("01-putevents-partial-failures", "wrong-whole-call-failure-escapes",
         _mutant(SENDER, "event_sender.py", (
             "            except Exception as exc:  # the whole call failed (after botocore's own retries)\n",
             "            except ZeroDivisionError as exc:\n")),
         "throttled"),
    Case("03-chaos-proof-processor", "wrong-no-idempotency",
         _file(WRONG_PROCESSORS / "no_idempotency.py", "app.py"), "applied_twice"),
    Case("03-chaos-proof-processor", "wrong-swallows-errors",
         _file(WRONG_PROCESSORS / "swallow_errors.py", "app.py"), "lost"),
    Case("03-chaos-proof-processor", "wrong-whole-batch",
         _file(WRONG_PROCESSORS / "whole_batch.py", "app.py"), "explained"),
    # The example: retries a failed write in the invocation, forever, sleeping 1 s.
    Case("03-chaos-proof-processor", "wrong-retries-in-process",
         _mutant(PROCESSOR, "app.py", ("import os\n", "import os\nimport time\n"), (TABLE_LINE, TABLE_LINE + (
             "_put_item = table.put_item\n\n\n"
             "def _put_until_it_works(**kwargs):\n"
             "    while True:\n"
             "        try:\n"
             "            return _put_item(**kwargs)\n"
             "        except ClientError as exc:\n"
             "            if exc.response['Error']['Code'] == 'ConditionalCheckFailedException':\n"
             "                raise\n"
             "            time.sleep(1)\n\n\n"
             "table.put_item = _put_until_it_works\n"))),
         "budget"),
    Case("03-chaos-proof-processor", "nothing-deletes-everything",
         _text("app.py", "def lambda_handler(event, context):\n    return {'batchItemFailures': []}\n")),
    Case("03-chaos-proof-processor", "broken-raises-at-import",
         _text("app.py", "import os\n\nTABLE = os.environ['NO_SUCH_VARIABLE']\n\n\n"
                         "def lambda_handler(event, context):\n    return None\n")),
    # Lab 08: the reference summary projection, made wrong in one place each.
    Case("08-customer-projection", "wrong-naive-counter",
         _file(CDC / "wrong" / "naive_counter.py", "app.py"), "delivered_twice"),
    Case("08-customer-projection", "wrong-ignores-remove",
         _mutant(SUMMARY, "app.py", ('    removed = record["eventName"] == "REMOVE"\n',
                                     '    removed = record["eventName"] == "REMOVE"\n    if removed:\n        return\n')),
         "removed_orders"),
    Case("08-customer-projection", "wrong-fails-the-whole-batch",
         _mutant(SUMMARY, "app.py", (
             '            return {"batchItemFailures": [{"itemIdentifier": record["dynamodb"]["SequenceNumber"]}]}\n',
             "            raise\n")),
         "holds_back_only_its_record"),
    Case("08-customer-projection", "nothing-reports-success",
         _text("app.py", "def lambda_handler(event, context):\n    return {'batchItemFailures': []}\n")),
    # Lab 06: the reference position consumer, made wrong in one place each.
    Case("06-position-consumer", "wrong-last-write-wins",
         _mutant(POSITIONS, "app.py", (
             '            ConditionExpression="attribute_not_exists(device_id) OR ts < :ts",\n'
             '            ExpressionAttributeValues={":ts": {"N": str(fix.ts)}},\n', "")),
         "never_moves_back"),
    Case("06-position-consumer", "wrong-enter-on-every-fix-inside",
         _mutant(POSITIONS, "app.py", ("entered=inside - was_inside", "entered=set(inside)")),
         "exactly_once"),
    Case("06-position-consumer", "wrong-poison-fails-the-whole-batch",
         _mutant(POSITIONS, "app.py", ("    devices_failed_in_batch.clear()\n",
                                       "    devices_failed_in_batch.clear()\n"
                                       "    for record in event['Records']:\n"
                                       "        fixes.parse_record(record['kinesis']['data'])\n")),
         "poison"),
    Case("06-position-consumer", "nothing-reports-success",
         _text("app.py", "def lambda_handler(event, context):\n    return {'batchItemFailures': []}\n")),
    Case("06-position-consumer", "broken-raises-at-import",
         _text("app.py", "import os\n\nTABLE = os.environ['NO_SUCH_VARIABLE']\n\n\n"
                         "def lambda_handler(event, context):\n    return None\n")),
]


# Labs whose untouched starter does nothing: the self-check requires it to earn 0 on every test,
# as a do-nothing case, so that no case grades the same settings again.
STARTER_DOES_NOTHING = {"00b-noisy-neighbour"}

# The test a wrong fixture folder must lose points on (by part of its name), where it is known.
FIXTURE_MUST_FAIL = {
    "02-meet-the-slo/wrong-maximum-concurrency-2": "p99_latency",
    "02-meet-the-slo/wrong-provisioned-for-the-steady-rate": "dead_letter_queue",
    "02-meet-the-slo/wrong-oversized-memory": "cost_per_million",
    "02-meet-the-slo/wrong-fastest-settings": "cost_per_million",
    "02-meet-the-slo/wrong-constants-tuned-to-visible": "traffic_you_have_not_seen",
    "04-alarms-that-page/wrong-typo-alarm-missing-data": "silent_rule_typo",
    "04-alarms-that-page/wrong-errors-alarm-breaching": "normal_day",
    "04-alarms-that-page/wrong-dlq-alarm-only": "duration_leak",
    "07-analytics-lake/wrong-json-not-parquet": "scans_under_budget",
    "07-analytics-lake/wrong-no-partition-pruning": "scans_under_budget",
    "07-analytics-lake/wrong-drops-malformed": "error_output",
    "05-harden-the-stack/wrong-key-in-environment": "no_environment_variable",
    "05-harden-the-stack/wrong-deployment-without-alarm": "rolled_back",
    "05-harden-the-stack/wrong-wildcard-table-policy": "readiness_review",
    "05-harden-the-stack/wrong-unused-permission": "beyond_what_the_run_used",
    "05-harden-the-stack/wrong-too-narrow-role": "under_iam_enforcement",
}


def cases() -> list[Case]:
    """Every case: the fixture folders, then the mutations."""
    found = [Case(lab.name, case.name, _fixture(lab.name, case), FIXTURE_MUST_FAIL.get(f"{lab.name}/{case.name}", ""))
             for lab in sorted(FIXTURES.iterdir()) if lab.is_dir()
             for case in sorted(lab.iterdir()) if case.is_dir()]
    return found + MUTATIONS
