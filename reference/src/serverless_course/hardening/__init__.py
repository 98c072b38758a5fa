"""Module 5, production hardening: the orders pipeline taken to production.

- `review`: the readiness review, `python -m serverless_course.hardening.review <template>`:
  cfn-lint with the course's serverless rules (`readiness_rules`), a report with each finding's
  reason and AWS page (lesson 05-05, lab 05).
- `canary`: the pipeline with a gradual deployment of its processor (AutoPublishAlias,
  DeploymentPreference, an errors alarm); `bad_version_canary` deploys a version that fails about
  30 % of orders while orders flow and returns the deployment's timeline (lesson 05-02, lab 05).
- `runaway`: a function that writes to the queue it reads, stopped by Lambda's recursive loop
  detection; the price of a day of it unstopped (lesson 05-03).
"""
