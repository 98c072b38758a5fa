"""A Lambda handler for the idempotency lesson: one effect per ``metadata.event_id``, payload checked.

Powertools' ``@idempotent`` on the handler, with the reference processor's key and expiry
(``metadata.event_id``, 24 h) and, in addition, ``payload_validation_jmespath="data"``: an event
that reuses an id with a different ``data`` raises ``IdempotencyValidationError`` instead of
getting the first event's saved result. ``@idempotent`` registers the Lambda context itself, so
an INPROGRESS record expires when its invocation's time is up
(https://docs.powertools.aws.dev/lambda/python/latest/utilities/idempotency/).

The work is a ``time.sleep`` of the event's ``work_seconds`` (outside ``data``, so not part of
the payload check), virtual in the simulator: the lesson makes an invocation last long enough
to time out, or to be overlapped by a duplicate. Needs ``IDEMPOTENCY_TABLE`` (a table keyed on
``id``, as the pipeline's ``IdempotencyTable``).
"""

from __future__ import annotations

import os
import time
from datetime import datetime, timezone
from typing import Any

from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent,
)

# --8<-- [start:handler]
persistence = DynamoDBPersistenceLayer(table_name=os.environ["IDEMPOTENCY_TABLE"])
config = IdempotencyConfig(
    event_key_jmespath="metadata.event_id",
    payload_validation_jmespath="data",
    expires_after_seconds=24 * 3600,
    raise_on_no_idempotency_key=True,
)


@idempotent(config=config, persistence_store=persistence)
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    time.sleep(event.get("work_seconds", 0))
    return {"order_id": event["data"]["order_id"],
            "accepted_at": datetime.now(timezone.utc).strftime("%H:%M:%S")}
# --8<-- [end:handler]
