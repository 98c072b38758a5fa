"""The published AWS prices the course computes with, in one place, each with its source.

US East (N. Virginia), on demand, first pricing tier. Free tiers are left out: the figures are
the cost at the margin. Prices change: check them against the live pages before you rely on them.

Lambda's prices are defined once, in the simulator's billing rules (`lambdasim.rules.pricing`,
which `sim.metering()` uses too); this module presents them with their sources for the lessons.
"""

from __future__ import annotations

from dataclasses import dataclass

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

EVENTBRIDGE_CUSTOM_EVENT = Price(
    usd=1.00 / 1_000_000,
    per="event",
    source=EVENTBRIDGE_PRICING_PAGE,
    note=(
        "$1.00 per 1M custom events published (each 64 KB chunk is one event); taken from "
        "transcriptions of the pricing page, which could not be read directly: check it"
    ),
)

ALL_PRICES = {
    "Lambda requests": LAMBDA_REQUEST,
    "Lambda duration (x86)": LAMBDA_GB_SECOND_X86,
    "SQS standard requests": SQS_STANDARD_REQUEST,
}
