"""Module 5, production hardening: the orders pipeline taken to production.

- `review`: the readiness review, `python -m serverless_course.hardening.review <template>`:
  cfn-lint, then the course's serverless rules (`readiness_rules`) on the template after the SAM
  transform, a report with each finding's reason and AWS page (lesson 05-05, lab 05).
- `lab05`: lab 05's runs of a learner's stack: orders through its API under IAM enforcement
  with the partner's key in Secrets Manager, the grants beyond what the run used, a broken
  processor deployed while orders flow.
- `canary`: the pipeline with a gradual deployment of its processor (AutoPublishAlias,
  DeploymentPreference, an errors alarm); `bad_version_canary` deploys a version that fails about
  30 % of orders while orders flow and returns the deployment's timeline (lesson 05-02, lab 05).
- `runaway`: a function that writes to the queue it reads, stopped by Lambda's recursive loop
  detection; the price of a day of it unstopped (lesson 05-03).
- `least_privilege`: the pipeline run with IAM enforced (`Simulator(iam=True)`), its processor's
  role too narrow, too broad, observed and as the template writes it (lesson 05-01).
- `parameters`: a function reading a parameter and a secret through Powertools Parameters with
  a cache, its calls counted and priced over a virtual hour (lesson 05-04).
"""
