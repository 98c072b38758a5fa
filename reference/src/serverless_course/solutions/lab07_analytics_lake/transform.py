"""Lab 07 reference transformation: the module 7 pipeline's own (serverless_course.analytics,
transform/app.py): malformed records back as ProcessingFailed, good ones with their arrival time."""

from serverless_course.analytics.transform.app import lambda_handler

__all__ = ["lambda_handler"]
