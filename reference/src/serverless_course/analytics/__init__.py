"""Module 7, serverless IoT analytics: the pipeline (template.yaml: IoT Core -> Firehose with a
Lambda transformation, dynamic partitioning and Parquet -> S3 -> Glue -> Athena, and IoT Core ->
Kinesis -> tumbling-window Lambda -> DynamoDB, with threshold alerts over SNS), a seeded sensor
fleet (fleet), the deploy and query helpers (lake) and the questions in SQL (queries)."""
