"""Lab 00b: protect a critical function from a noisy neighbour.

Return the settings that keep `checkout` free of throttles and process every upload of the
`thumbnails` burst before the deadline, at the lowest cost. Read the forecast: the graders run
forecasts you do not see, so compute the settings from it rather than hard-coding numbers.
"""

from __future__ import annotations

from serverless_course.capacity.noisy_lab import Forecast, Settings


def choose(forecast: Forecast) -> Settings:
    # Nothing set: the uploads are invoked asynchronously, one invocation each, and share the
    # account's pool with checkout.
    return Settings()
