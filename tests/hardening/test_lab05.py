"""Lab 05's runner (`serverless_course.hardening.lab05`): what it refuses before deploying.
The graded behaviour of whole submissions is tested by tests/test_labs_selfcheck.py."""

from __future__ import annotations

from pathlib import Path

from serverless_course.hardening.lab05 import run_orders, signature

STARTER = Path(__file__).resolve().parents[2] / "labs" / "05-harden-the-stack" / "starter"


def test_a_template_with_a_custom_resource_is_refused_before_anything_runs(tmp_path: Path) -> None:
    text = (STARTER / "template.yaml").read_text()
    (tmp_path / "template.yaml").write_text(text + "\n  Seed:\n    Type: Custom::Seed\n"
                                            "    Properties: {ServiceToken: !GetAtt IngestFunction.Arn}\n")
    run = run_orders(tmp_path, seed=1, orders=1, every_s=1)
    assert run.problem is not None and "Seed" in run.problem
    assert not run.sent and not run.all_stored_and_signed


def test_the_signature_is_hmac_sha256_of_the_order_id() -> None:
    # RFC 4231's test case 2: key "Jefe".
    assert signature("what do ya want for nothing?", "Jefe") == (
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
