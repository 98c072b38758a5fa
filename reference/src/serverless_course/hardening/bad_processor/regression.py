"""The regression of the processor's version 2: which orders it cannot store."""

import zlib

FAILING_SHARE_IN_TENTHS = 3


def fails(order_id: str) -> bool:
    """Whether the regression hits this order: about 30 % of ids, the same ones on every retry."""
    return zlib.crc32(order_id.encode()) % 10 < FAILING_SHARE_IN_TENTHS
