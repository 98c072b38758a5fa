"""A function that reads its configuration from Parameter Store and its API key from Secrets
Manager through Powertools Parameters, cached for POWERTOOLS_PARAMETERS_MAX_AGE seconds, and
never puts the key in an environment variable or a log line."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities import parameters
from aws_lambda_powertools.utilities.data_masking import DataMasking

logger = Logger()
# Providers made at init belong to this execution environment: their caches live as long as it
# does, as on AWS, where each environment is a process of its own (Powertools' module-level
# default providers would be shared by every simulated environment of the process).
config_store = parameters.SSMProvider()
secret_store = parameters.SecretsProvider()
masking = DataMasking()


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    config = config_store.get(os.environ["CONFIG_PARAMETER"], transform="json")
    api_key = secret_store.get(os.environ["API_KEY_SECRET"])
    signature = hmac.new(str(api_key).encode(), json.dumps(event, sort_keys=True).encode(), hashlib.sha256).hexdigest()
    # What is logged goes through data masking: the key's field is erased, whatever else is added.
    logger.info("order priced", extra=masking.erase(
        {"order_id": event.get("order_id"), "tax_rate": config["tax_rate"], "api_key": api_key},
        fields=["api_key"]))
    return {"order_id": event.get("order_id"), "tax_rate": config["tax_rate"], "signature": signature}
