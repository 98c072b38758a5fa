"""The examples shown on the site run and print what the page says they print."""

import runpy
from pathlib import Path

QUICKSTART = Path(__file__).resolve().parents[2] / "reference" / "examples" / "quickstart" / "run.py"


def test_quickstart_stores_good_orders_and_dead_letters_the_malformed(capsys) -> None:
    """services-sqs-errorhandling.html: with partial batch responses only the 3 malformed
    messages are retried, and after maxReceiveCount (5) receives, 60 s apart (the queue's
    visibility timeout), the queue's redrive policy moves them to the DLQ."""
    runpy.run_path(str(QUICKSTART), run_name="__main__")
    out = capsys.readouterr().out
    assert "orders in the table:      97" in out
    assert "messages in the DLQ:      3" in out
    assert "virtual time elapsed:     300 s" in out
    assert "total" in out.splitlines()[-1]
