"""Graded tests of lab 05: harden the stack.

Your stack (`template.yaml` with the handlers in `app.py`) is deployed into the course's
simulator (`serverless_course.hardening.lab05`), with the partner's key provisioned in Secrets
Manager as `lab05/partner-key` (a template that still declares the `PartnerKey` parameter is
given the key that way). Orders go through POST /orders on a seed the notebook does not use,
under IAM enforcement: each call your code makes is checked against its function's role and
refused as AWS refuses it (`sim.iam`). A second run deploys a broken version of the processor 30 s into the traffic (every batch
fails), as `sam deploy` with changed code would. The readiness review
(`python -m serverless_course.hardening.review`) reads your template. Your code runs in
processes of its own.

Instructors may add seeds with the environment variable LAB05_SEEDS (comma-separated).
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

import pytest
from serverless_course.hardening.lab05 import OrdersRun, run_orders
from serverless_course.hardening.review import Review, review

SEEDS = [307] + [int(s) for s in os.environ.get("LAB05_SEEDS", "").split(",") if s.strip()]
ORDERS, EVERY_S = 24, 5.0  # a normal run: 24 orders over 2 minutes
DEPLOY_ORDERS, BAD_VERSION_AT_S = 60, 30.0  # the deployment run: 60 orders over 5 minutes, the broken version at 30 s

_runs: dict[tuple[str, str, int], OrdersRun] = {}
_reviews: dict[str, Review] = {}


class Work:
    def __init__(self, folder: Path, isolation: Any):
        self.folder, self.isolation = folder, isolation
        self._key = hashlib.sha256((folder / "template.yaml").read_bytes() + b"\0"
                                   + (folder / "app.py").read_bytes()).hexdigest()

    def normal(self, seed: int) -> OrdersRun:
        return self._run("normal", seed, orders=ORDERS, bad_version_at_s=None, iam=True)

    def deployment(self, seed: int) -> OrdersRun:
        return self._run("deployment", seed, orders=DEPLOY_ORDERS, bad_version_at_s=BAD_VERSION_AT_S)

    def _run(self, kind: str, seed: int, **kwargs: Any) -> OrdersRun:
        """One run, cached by the files' content: each test reads the same runs."""
        key = (self._key, kind, seed)
        if key not in _runs:
            _runs[key] = run_orders(self.folder, seed=seed, every_s=EVERY_S, isolation=self.isolation, **kwargs)
        return _runs[key]

    def review(self) -> Review:
        if self._key not in _reviews:
            _reviews[self._key] = review(self.folder / "template.yaml")
        return _reviews[self._key]

    def require_working_stack(self) -> None:
        for seed in SEEDS:
            run = self.normal(seed)
            assert run.all_stored_and_signed, f"pays only when the stack works (seed {seed}): {run.summary()}"


@pytest.fixture
def work(submission: Any) -> Work:
    for name in ("template.yaml", "app.py"):
        if not (submission.path / name).is_file():
            pytest.fail(f"{name} is missing from the submission", pytrace=False)
    return Work(submission.path, submission.isolation)


@pytest.mark.points(2)
def test_every_order_is_stored_and_signed_under_iam_enforcement(work: Work) -> None:
    """Every order accepted by POST /orders (202) is in the table, with the signature the partner
    checks (HMAC-SHA256 of its id with the partner's key), and no call was denied
    (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html)."""
    for seed in SEEDS:
        run = work.normal(seed)
        assert run.all_stored_and_signed, f"seed {seed}: {run.summary()}"


@pytest.mark.points(1)
def test_the_partner_key_is_in_no_environment_variable(work: Work) -> None:
    """No function's environment variables hold the key (anyone who can read the function's
    configuration could read them: https://docs.aws.amazon.com/lambda/latest/dg/configuration-envvars.html).
    Pays only when every order is signed with the key, so the functions did get it."""
    work.require_working_stack()
    for seed in SEEDS:
        run = work.normal(seed)
        leaks = [f"{function}.{name}" for function, variables in run.environments.items()
                 for name, value in variables.items() if run.key in value]
        assert not leaks, f"the partner's key is in {', '.join(leaks)}"


@pytest.mark.points(2)
def test_the_readiness_review_passes_with_nothing_accepted(work: Work) -> None:
    """`python -m serverless_course.hardening.review template.yaml` passes, and your template
    accepts no finding. Pays only when the stack works."""
    work.require_working_stack()
    result = work.review()
    accepted = [f"{f.rule} {f.resource}" for f in result.findings if f.accepted_because is not None]
    assert not accepted, f"the lab accepts no finding; your template accepts: {', '.join(accepted)}"
    assert result.passed, result.report()


@pytest.mark.points(2)
def test_no_permission_beyond_what_the_run_used(work: Work) -> None:
    """Each grant of each function's role was used by the run, names a resource where the
    action can, and is no whole service's actions. Tolerated: CloudWatch Logs actions on every
    log group (Lambda writes the logs with the function's role) and action prefixes such as SAM
    policy templates' sqs:SendMessage*. Pays only when the stack works."""
    work.require_working_stack()
    for seed in SEEDS:
        beyond = work.normal(seed).beyond_use()
        assert not beyond, "grants beyond what the run used:\n" + "\n".join(beyond)


@pytest.mark.points(3)
def test_a_bad_version_is_rolled_back(work: Work) -> None:
    """A version of the processor that fails every batch, deployed while orders flow, is
    rolled back by your deployment configuration: it ran (it received traffic), the deployment
    ended RolledBack, the alias is back on the old version, and every order of the run is
    stored and signed in the end
    (https://docs.aws.amazon.com/serverless-application-model/latest/developerguide/automating-updates-to-serverless-apps.html)."""
    for seed in SEEDS:
        run = work.deployment(seed)
        deployment = run.deployment
        assert run.problem is None, run.problem
        assert deployment is not None, run.summary()
        assert deployment.config_name, f"the alias moved to the new version at once: {run.summary()}"
        assert run.new_version_invocations > 0, f"the new version never ran: {run.summary()}"
        assert deployment.status == "RolledBack", f"seed {seed}: {run.summary()}"
        assert run.alias_version_at_end == deployment.old_version, run.summary()
        assert run.all_stored_and_signed, f"seed {seed}: {run.summary()}"
