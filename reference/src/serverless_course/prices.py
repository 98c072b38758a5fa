"""The published AWS prices the course computes with, in one place, each with its source.

US East (N. Virginia), on demand, first pricing tier. Free tiers are left out: the figures are
the cost at the margin. Prices change: check them against the live pages before you rely on them.

Lambda's prices are defined once, in the simulator's billing rules (`lambdasim.rules.pricing`,
which `sim.metering()` uses too); this module presents them with their sources for the lessons.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from lambdasim.rules import athena as _athena
from lambdasim.rules import pricing as _lambda

LAMBDA_PRICING_PAGE = _lambda.PRICING_PAGE
LAMBDA_PRICING_WHITEPAPER = _lambda.PRICING_WHITEPAPER
SQS_PRICING_PAGE = "https://aws.amazon.com/sqs/pricing/"
EVENTBRIDGE_PRICING_PAGE = "https://aws.amazon.com/eventbridge/pricing/"


@dataclass(frozen=True)
class Price:
    usd: float
    per: str
    source: str
    note: str = ""


LAMBDA_REQUEST = Price(
    usd=_lambda.REQUEST_USD,
    per="request",
    source=LAMBDA_PRICING_PAGE,
    note=f"$0.20 per 1M requests; the same in {LAMBDA_PRICING_WHITEPAPER}",
)

LAMBDA_GB_SECOND_X86 = Price(
    usd=_lambda.GB_SECOND_USD_X86_64,
    per="GB-second",
    source=LAMBDA_PRICING_PAGE,
    note="x86, first tier; the whitepaper rounds it to $0.00001667; arm64 is cheaper",
)

LAMBDA_GB_SECOND_ARM64 = Price(
    usd=_lambda.GB_SECOND_USD_ARM64,
    per="GB-second",
    source=LAMBDA_PRICING_PAGE,
    note="arm64, first tier; taken from third-party transcriptions of the pricing page: check it",
)

SQS_STANDARD_REQUEST = Price(
    usd=0.40 / 1_000_000,
    per="request",
    source=SQS_PRICING_PAGE,
    note=(
        "$0.40 per 1M requests, standard queue, first tier; FIFO costs more. Taken from "
        "transcriptions of the pricing page, which could not be read directly: check it"
    ),
)

# Each 64 KB chunk of a request's payload is billed as one request (confirmed by AWS on
# https://aws.amazon.com/sqs/features/; the $0.40 above could not be confirmed from an AWS page).
SQS_BILLED_CHUNK_BYTES = 64 * 1024

CLOUDWATCH_PRICING_PAGE = "https://aws.amazon.com/cloudwatch/pricing/"
CLOUDWATCH_DIMENSIONS_PAGE = ("https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/"
                              "cloudwatch_concepts.html#Dimension")
EMF_SPECIFICATION_PAGE = ("https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/"
                          "CloudWatch_Embedded_Metric_Format_Specification.html")

# Custom metrics, $ per metric-month by tier (up to that many metrics, at that price): $0.30 for
# the first 10,000, $0.10 for the next 240,000, $0.05 for the next 750,000, $0.02 beyond. Taken
# from transcriptions of the pricing page, whose figures could not be read directly: check them.
# The AWS services' own metrics (AWS/Lambda, AWS/SQS...) are free; the free tier's 10 metrics
# are not applied here.
CLOUDWATCH_CUSTOM_METRIC_TIERS: tuple[tuple[float, float], ...] = (
    (10_000, 0.30), (240_000, 0.10), (750_000, 0.05), (float("inf"), 0.02))

CLOUDWATCH_CUSTOM_METRIC = Price(
    usd=CLOUDWATCH_CUSTOM_METRIC_TIERS[0][1],
    per="custom metric-month",
    source=CLOUDWATCH_PRICING_PAGE,
    note=("first 10,000 metrics; less per metric above (CLOUDWATCH_CUSTOM_METRIC_TIERS); taken from "
          "transcriptions of the pricing page, which could not be read directly: check it"),
)


def custom_metric_count(metric_names: int, dimension_sets: Sequence[Mapping[str, int]]) -> int:
    """Custom metrics an application publishes: each metric name under each dimension set, one
    metric per combination of the set's dimension values. `dimension_sets` gives, per set, the
    number of distinct values of each of its dimensions (an empty set: the metric without
    dimensions). CloudWatch "treats each unique combination of dimensions as a separate metric"
    (CLOUDWATCH_DIMENSIONS_PAGE), and an EMF document publishes its metrics under every one of its
    dimension sets (EMF_SPECIFICATION_PAGE): Powertools' `service` dimension with 3 services and
    an `operation` of 20 values is 60 metrics per name."""
    return metric_names * sum(math.prod(values.values()) for values in dimension_sets)


def custom_metrics_monthly_usd(metrics: int) -> float:
    """$ a month for `metrics` custom metrics that exist all month, at the tiered prices."""
    cost, left = 0.0, metrics
    for size, usd in CLOUDWATCH_CUSTOM_METRIC_TIERS:
        taken = min(left, size)
        cost += taken * usd
        left -= taken
        if left <= 0:
            break
    return cost

EVENTBRIDGE_CUSTOM_EVENT = Price(
    usd=1.00 / 1_000_000,
    per="event",
    source=EVENTBRIDGE_PRICING_PAGE,
    note=(
        "$1.00 per 1M custom events published (each 64 KB chunk is one event); taken from "
        "transcriptions of the pricing page, which could not be read directly: check it"
    ),
)

API_GATEWAY_PRICING_PAGE = "https://aws.amazon.com/api-gateway/pricing/"
DYNAMODB_ON_DEMAND_PRICING_PAGE = "https://aws.amazon.com/dynamodb/pricing/on-demand/"
DYNAMODB_PROVISIONED_PRICING_PAGE = "https://aws.amazon.com/dynamodb/pricing/provisioned/"

API_GATEWAY_REST_REQUEST = Price(
    usd=3.50 / 1_000_000,
    per="request",
    source=API_GATEWAY_PRICING_PAGE,
    note=("REST APIs, $3.50 per 1M calls received (first 333M a month); confirmed by AWS's "
          "whitepaper https://docs.aws.amazon.com/whitepapers/latest/best-practices-api-gateway-private-apis-integration/cost-optimization.html"),
)

DYNAMODB_WRITE_REQUEST_UNIT = Price(
    usd=0.625 / 1_000_000,
    per="write request unit",
    source=DYNAMODB_ON_DEMAND_PRICING_PAGE,
    note=("on-demand, standard table class, $0.625 per 1M write request units (the price since "
          "November 2024); the pricing page's figures could not be read directly: check it"),
)

DYNAMODB_WCU_HOUR = Price(
    usd=0.00065,
    per="WCU-hour",
    source=DYNAMODB_PROVISIONED_PRICING_PAGE,
    note=("provisioned, standard table class, $0.00065 per write capacity unit-hour; the pricing "
          "page's figures could not be read directly: check it"),
)

DYNAMODB_RCU_HOUR = Price(
    usd=0.00013,
    per="RCU-hour",
    source=DYNAMODB_PROVISIONED_PRICING_PAGE,
    note=("provisioned, standard table class, $0.00013 per read capacity unit-hour; the pricing "
          "page's figures could not be read directly: check it"),
)

IOT_CORE_PRICING_PAGE = "https://aws.amazon.com/iot-core/pricing/"
IOT_CORE_METERING_PAGE = "https://aws.amazon.com/iot-core/pricing/additional-details/"
# An MQTT PUBLISH is "metered on the size of the payload and topic in bytes" in 5 KB messages
# (IOT_CORE_METERING_PAGE); a Basic Ingest message is not metered as messaging
# (https://docs.aws.amazon.com/iot/latest/developerguide/iot-basic-ingest.html).
IOT_METERED_MESSAGE_BYTES = 5 * 1024

IOT_MESSAGE = Price(
    usd=1.00 / 1_000_000,
    per="5 KB message",
    source=IOT_CORE_PRICING_PAGE,
    note=("messaging, $1.00 per 1M messages (first 1B a month); taken from transcriptions of the "
          "pricing page, which could not be read directly: check it"),
)

IOT_RULE_TRIGGERED = Price(
    usd=0.15 / 1_000_000,
    per="rule triggered (5 KB)",
    source=IOT_CORE_PRICING_PAGE,
    note=("rules engine, $0.15 per 1M rules triggered, Basic Ingest included; the price and its "
          "5 KB increments could not be confirmed from an AWS page: check them"),
)

IOT_ACTION_EXECUTED = Price(
    usd=0.15 / 1_000_000,
    per="action executed (5 KB)",
    source=IOT_CORE_PRICING_PAGE,
    note=("rules engine, $0.15 per 1M actions executed; the price and its 5 KB increments could "
          "not be confirmed from an AWS page: check them"),
)


def iot_metered_messages(payload_bytes: int, topic: str = "") -> int:
    """5 KB messages an MQTT publish is metered as: its payload and topic, rounded up, at
    least one (8 KB is 2 messages)."""
    return max(1, math.ceil((payload_bytes + len(topic.encode())) / IOT_METERED_MESSAGE_BYTES))


def iot_monthly_usd(messages_per_month: float, payload_bytes: int, *, topic: str = "", rules_per_message: int = 1,
                    actions_per_rule: int = 1, basic_ingest: bool = False) -> float:
    """IoT Core's cost of a month of device messages (US East (N. Virginia), first tier, no free
    tier): messaging (none through Basic Ingest), plus every rule triggered and action executed,
    each metered in the same 5 KB units."""
    units = iot_metered_messages(payload_bytes, topic)
    messaging = 0.0 if basic_ingest else messages_per_month * units * IOT_MESSAGE.usd
    rules = messages_per_month * rules_per_message * units
    return messaging + rules * IOT_RULE_TRIGGERED.usd + rules * actions_per_rule * IOT_ACTION_EXECUTED.usd


# The cost of observability (module 4: `serverless_course.observability.bill`).
XRAY_PRICING_PAGE = "https://aws.amazon.com/xray/pricing/"
# logGroupClass: STANDARD by default; INFREQUENT_ACCESS "supports a subset of CloudWatch Logs
# features and incurs lower costs"; it cannot be changed once the log group exists.
LOG_CLASSES_PAGE = "https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_CreateLogGroup.html"
_UNCONFIRMED = ("taken from transcriptions of the pricing page, whose paid-tier figures could not be "
                "read directly: check it")

# --8<-- [start:observability]
LOGS_INGESTED_STANDARD = Price(0.50, "GB ingested", CLOUDWATCH_PRICING_PAGE,
                               f"Standard log class; {_UNCONFIRMED}")
LOGS_INGESTED_INFREQUENT_ACCESS = Price(0.25, "GB ingested", CLOUDWATCH_PRICING_PAGE,
                                        "Infrequent Access log class (a subset of the features, chosen "
                                        f"when the log group is created: {LOG_CLASSES_PAGE}); {_UNCONFIRMED}")
LOGS_STORED = Price(0.03, "GB-month stored", CLOUDWATCH_PRICING_PAGE, _UNCONFIRMED)
LOGS_INSIGHTS_SCANNED = Price(0.005, "GB scanned", CLOUDWATCH_PRICING_PAGE, _UNCONFIRMED)
XRAY_TRACE_RECORDED = Price(5.00 / 1_000_000, "trace recorded", XRAY_PRICING_PAGE,
                            "$5.00 per 1M; read on the page (its German and Chinese editions); the first "
                            "100,000 a month are free (not applied)")
XRAY_TRACE_RETRIEVED = Price(0.50 / 1_000_000, "trace retrieved or scanned", XRAY_PRICING_PAGE,
                             "$0.50 per 1M; read on the page as above; the first 1M a month are free")
ALARM_STANDARD = Price(0.10, "alarm metric-month", CLOUDWATCH_PRICING_PAGE,
                       f"standard resolution (60 s); {_UNCONFIRMED}")
ALARM_HIGH_RESOLUTION = Price(0.30, "alarm metric-month", CLOUDWATCH_PRICING_PAGE,
                              f"high resolution (10 s); {_UNCONFIRMED}")
ALARM_COMPOSITE = Price(0.50, "alarm-month", CLOUDWATCH_PRICING_PAGE, _UNCONFIRMED)
DASHBOARD = Price(3.00, "dashboard-month", CLOUDWATCH_PRICING_PAGE,
                  "the page's free tier (3 dashboards of up to 50 metrics) was read; the $3.00 is "
                  f"{_UNCONFIRMED}")
# --8<-- [end:observability]

# --8<-- [start:parameters]
SECRETS_MANAGER_PRICING_PAGE = "https://aws.amazon.com/secrets-manager/pricing/"
SYSTEMS_MANAGER_PRICING_PAGE = "https://aws.amazon.com/systems-manager/pricing/"
PARAMETER_STORE_THROUGHPUT_PAGE = "https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_GetParameter.html"
SECRETS_MANAGER_API_CALL = Price(0.05 / 10_000, "API call", SECRETS_MANAGER_PRICING_PAGE,
                                 "$0.05 per 10,000 calls (GetSecretValue among them); taken from "
                                 "transcriptions of the pricing page, which could not be read directly: check it")
SECRETS_MANAGER_SECRET = Price(0.40, "secret-month", SECRETS_MANAGER_PRICING_PAGE,
                               "$0.40 per secret per month, prorated; a replica is a secret; "
                               "transcribed as above: check it")
PARAMETER_STORE_STANDARD_CALL = Price(0.0, "API call", PARAMETER_STORE_THROUGHPUT_PAGE,
                                      "standard parameters at the default (standard) throughput: "
                                      "\"without additional cost\" (the GetParameter API page)")
PARAMETER_STORE_HIGHER_THROUGHPUT_CALL = Price(0.05 / 10_000, "API call", SYSTEMS_MANAGER_PRICING_PAGE,
                                               "$0.05 per 10,000 calls once higher throughput is turned on "
                                               "(for the account and Region); not confirmed on an AWS page: "
                                               "check it")
# --8<-- [end:parameters]


# Change data capture (module 8: serverless_course.cdc).
DYNAMODB_STREAMS_COST_PAGE = ("https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/"
                              "CostOptimization_StreamsUsage.html")

# --8<-- [start:cdc]
PIPES_REQUEST = Price(0.40 / 1_000_000, "pipe request (64 KB chunk), after filtering", EVENTBRIDGE_PRICING_PAGE,
                      "events a pipe's filter drops are not charged; $0.40 per 1M taken from transcriptions of "
                      "the pricing page, whose Pipes figures could not be read directly: check it")
DYNAMODB_STREAMS_READ_REQUEST_UNIT = Price(
    0.02 / 100_000, "streams read request unit (a GetRecords call)", DYNAMODB_ON_DEMAND_PRICING_PAGE,
    "your own readers' GetRecords calls; the reads of Lambda triggers are free and the first 2.5M a month "
    f"are free ({DYNAMODB_STREAMS_COST_PAGE}); whether a pipe's reads are charged could not be confirmed; "
    "$0.02 per 100,000 taken from transcriptions of the pricing page: check it")
# --8<-- [end:cdc]


ALL_PRICES = {
    "Lambda requests": LAMBDA_REQUEST,
    "Lambda duration (x86)": LAMBDA_GB_SECOND_X86,
    "SQS standard requests": SQS_STANDARD_REQUEST,
}


# Location tracking (module 6: serverless_course.location.sizing).
# --8<-- [start:location]
KINESIS_PRICING_PAGE = "https://aws.amazon.com/kinesis/data-streams/pricing/"
LOCATION_PRICING_PAGE = "https://aws.amazon.com/location/pricing/"
# Provisioned mode bills shard-hours and PUT payload units: each record is rounded up to 25 KB
# units (KINESIS_PRICING_PAGE, the pricing structure).
KINESIS_PUT_PAYLOAD_UNIT_BYTES = 25 * 1024
KINESIS_SHARD_HOUR = Price(0.015, "shard-hour", KINESIS_PRICING_PAGE,
                           "provisioned mode, us-east-1; the dollar figure is "
                           "taken from transcriptions of the pricing page and could not be confirmed: check it")
KINESIS_PUT_PAYLOAD_UNIT = Price(0.014 / 1_000_000, "PUT payload unit (25 KB)", KINESIS_PRICING_PAGE,
                                 "$0.014 per 1M units; not confirmed on an AWS page: check it")
# Amazon Location bills every position written to a tracker and every position evaluated against
# a geofence collection (https://docs.aws.amazon.com/location/latest/developerguide/geofence-price.html);
# a filtered-out update is neither stored nor evaluated.
LOCATION_POSITION_WRITTEN = Price(0.05 / 1_000, "position written", LOCATION_PRICING_PAGE,
                                  "$0.05 per 1,000 (tracking); the paid-tier figure could not be read "
                                  "on the pricing page: check it")
LOCATION_POSITION_EVALUATED = Price(0.05 / 1_000, "position evaluated", LOCATION_PRICING_PAGE,
                                    "$0.05 per 1,000 (geofencing), once per linked collection; the "
                                    "paid-tier figure could not be read on the pricing page: check it")
# --8<-- [end:location]


# The analytics lake (module 7: Athena over S3). Athena's price is defined once, in the
# simulator's rules (`lambdasim.rules.athena`, which `sim.athena` bills with).
ATHENA_PRICING_PAGE = "https://aws.amazon.com/athena/pricing/"
S3_PRICING_PAGE = "https://aws.amazon.com/s3/pricing/"

# --8<-- [start:analytics]
ATHENA_TB_SCANNED = Price(_athena.PRICE_PER_TB_USD, "TB scanned", ATHENA_PRICING_PAGE,
                          "rounded up to the MB, 10 MB minimum a query; DDL and failed queries free; "
                          f"{_UNCONFIRMED}")
S3_PUT_REQUEST = Price(0.005 / 1000, "PUT, COPY, POST or LIST request", S3_PRICING_PAGE,
                       f"S3 Standard, $0.005 per 1,000; {_UNCONFIRMED}")
S3_GET_REQUEST = Price(0.0004 / 1000, "GET or SELECT request", S3_PRICING_PAGE,
                       f"S3 Standard, $0.0004 per 1,000; {_UNCONFIRMED}")
# --8<-- [end:analytics]


def athena_query_usd(scanned_bytes: int) -> float:
    """$ for one query that scanned `scanned_bytes` (the simulator's rule: the MB rounding and minimum)."""
    return _athena.query_cost_usd(scanned_bytes, statement_type="DML", state="SUCCEEDED")
