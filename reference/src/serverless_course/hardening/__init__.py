"""Module 5, production hardening: the orders pipeline taken to production.

- `review`: the readiness review, `python -m serverless_course.hardening.review <template>`:
  cfn-lint with the course's serverless rules (`readiness_rules`), a report with each finding's
  reason and AWS page (lesson 05-05, lab 05).
"""
