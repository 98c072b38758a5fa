"""The published AWS prices the course computes with, in one place, each with its source.

US East (N. Virginia), on demand, first pricing tier. Free tiers are left out: the figures are
the cost at the margin. Prices change: check them against the live pages before you rely on them.
"""

from __future__ import annotations

from dataclasses import dataclass

LAMBDA_PRICING_PAGE = "https://aws.amazon.com/lambda/pricing/"
LAMBDA_PRICING_WHITEPAPER = (
    "https://docs.aws.amazon.com/whitepapers/latest/how-aws-pricing-works/lambda.html"
)
SQS_PRICING_PAGE = "https://aws.amazon.com/sqs/pricing/"


@dataclass(frozen=True)
class Price:
    usd: float
    per: str
    source: str
    note: str = ""


LAMBDA_REQUEST = Price(
    usd=0.20 / 1_000_000,
    per="request",
    source=LAMBDA_PRICING_PAGE,
    note=f"$0.20 per 1M requests; the same in {LAMBDA_PRICING_WHITEPAPER}",
)

LAMBDA_GB_SECOND_X86 = Price(
    usd=0.0000166667,
    per="GB-second",
    source=LAMBDA_PRICING_PAGE,
    note="x86, first tier; the whitepaper rounds it to $0.00001667; arm64 is cheaper",
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

# Each 64 KB chunk of a request's payload is billed as one request (same page, same caveat).
SQS_BILLED_CHUNK_BYTES = 64 * 1024

ALL_PRICES = {
    "Lambda requests": LAMBDA_REQUEST,
    "Lambda duration (x86)": LAMBDA_GB_SECOND_X86,
    "SQS standard requests": SQS_STANDARD_REQUEST,
}
