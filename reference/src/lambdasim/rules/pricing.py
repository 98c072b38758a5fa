"""AWS Lambda prices and billing rules: the one place the simulator (and the course) takes them from.

US East (N. Virginia), on demand, first pricing tier, as of 2026. Prices change: check them
against https://aws.amazon.com/lambda/pricing/ before relying on them.

- Requests: $0.20 per 1M requests (the pricing page; the same figure in the AWS whitepaper
  https://docs.aws.amazon.com/whitepapers/latest/how-aws-pricing-works/lambda.html).
- Duration, x86_64: $0.0000166667 per GB-second, first tier (first 6 billion GB-s a month);
  the whitepaper rounds it to $0.00001667.
- Duration, arm64: $0.0000133334 per GB-second, first tier (first 7.5 billion GB-s a month),
  about 20 % below x86. Source caveat: this rate comes from third-party transcriptions of the
  pricing page (https://aws.amazon.com/lambda/pricing/), which could not be read when this was
  written.
- Billing granularity: 1 ms, rounded up (since Dec 2020:
  https://aws.amazon.com/blogs/aws/new-for-aws-lambda-1ms-billing-granularity-adds-cost-savings/).
- INIT is billed: since Aug 1 2025 the INIT phase of on-demand functions packaged as ZIP on a
  managed runtime is billed like the invocation it precedes (it already was for custom runtimes,
  container images and provisioned concurrency):
  https://aws.amazon.com/blogs/compute/aws-lambda-standardizes-billing-for-init-phase/ . The
  REPORT line shows it: the Billed Duration of a cold start is Duration + Init Duration,
  rounded up once (AWS's python-logging.html example: Duration 15.74 ms, Init Duration
  130.49 ms, Billed Duration 147 ms).

Not modelled: the free tier (1M requests and 400,000 GB-s a month) is NOT applied: the figures
are the cost at the margin. Higher tiers, Savings Plans, provisioned-concurrency charges,
SnapStart, ephemeral storage above 512 MB and data transfer are left out.
"""

from __future__ import annotations

import math
from typing import Final

PRICING_PAGE: Final = "https://aws.amazon.com/lambda/pricing/"
PRICING_WHITEPAPER: Final = "https://docs.aws.amazon.com/whitepapers/latest/how-aws-pricing-works/lambda.html"
INIT_BILLING_POST: Final = "https://aws.amazon.com/blogs/compute/aws-lambda-standardizes-billing-for-init-phase/"
REGION: Final = "us-east-1"

# $ per request: $0.20 per 1M.
REQUEST_USD: Final = 0.20 / 1_000_000
# $ per GB-second of billed duration, first tier, by the function's architecture.
GB_SECOND_USD_X86_64: Final = 0.0000166667
# arm64: third-party corroboration of the pricing page only (see the module docstring).
GB_SECOND_USD_ARM64: Final = 0.0000133334
GB_SECOND_USD: Final = {"x86_64": GB_SECOND_USD_X86_64, "arm64": GB_SECOND_USD_ARM64}

DEFAULT_ARCHITECTURE: Final = "x86_64"
MB_PER_GB: Final = 1024  # Lambda's GB-second is memory in MB / 1024 times seconds


def billed_duration_ms(duration_ms: float, init_duration_ms: float | None = None) -> int:
    """Billed duration of one invocation: duration plus the INIT it carried (a cold start's
    Init Duration, billed since Aug 1 2025), rounded up to the next 1 ms, at least 1 ms."""
    total = duration_ms + (init_duration_ms or 0.0)
    # round() first, so that a float sum such as 0.1 + 0.2 + 511.7 (512.0000000000001) bills
    # 512 ms, not 513.
    return max(1, math.ceil(round(total, 6)))


def gb_seconds(billed_ms: float, memory_mb: int) -> float:
    """GB-seconds of a billed duration at a memory size."""
    return (billed_ms / 1000.0) * (memory_mb / MB_PER_GB)


def gb_second_price(architecture: str | None) -> float:
    """$ per GB-second for an architecture ("x86_64" or "arm64")."""
    arch = architecture or DEFAULT_ARCHITECTURE
    try:
        return GB_SECOND_USD[arch]
    except KeyError:
        raise ValueError(f"no Lambda price for architecture {arch!r}; known: {sorted(GB_SECOND_USD)}") from None


def request_cost(requests: int) -> float:
    """$ for a number of requests."""
    return requests * REQUEST_USD


def duration_cost(gb_s: float, architecture: str | None) -> float:
    """$ for GB-seconds of an architecture."""
    return gb_s * gb_second_price(architecture)
