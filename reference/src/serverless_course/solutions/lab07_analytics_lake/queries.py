"""Lab 07 reference queries: the pipeline's own (serverless_course.analytics.queries), whose
partition column names match delivery.py's."""

from serverless_course.analytics.queries import daily_max_by_type, hourly_anomalies

__all__ = ["daily_max_by_type", "hourly_anomalies"]
