"""Build the simulator page's fidelity table from the conformance tests themselves.

Every conformance test of `lambdasim` names, in its docstring, the AWS documentation page whose
rule it pins. This hook reads those docstrings (without importing the tests) and replaces the
marker `<!-- fidelity-table -->` with one collapsible section per area of the simulator, each a
table with one row per test: the rule, the AWS page, the test. The table therefore cannot drift
from the tests: a new test appears, a removed one disappears.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

MARKER = "<!-- fidelity-table -->"
TEST_FOLDER = Path("tests/lambdasim")

_FULL_URL = re.compile(r"https://docs\.aws\.amazon\.com/[^\s)\]:,;]+\.html")
_PAGE_NAME = re.compile(r"\b([A-Za-z][\w-]*\.html)\b")

# Docstrings often cite a page by its file name; these prefixes say which guide it is in.
_GUIDES = [
    ("sam-", "https://docs.aws.amazon.com/serverless-application-model/latest/developerguide/"),
    ("API_CreateStack", "https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/"),
    ("API_ReceiveMessage", "https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/"),
    ("API_SendMessage", "https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/"),
    ("API_DeleteMessage", "https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/"),
    ("API_StartMessageMoveTask", "https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/"),
    ("API_ListMessageMoveTasks", "https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/"),
    ("API_CancelMessageMoveTask", "https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/"),
    ("API_", "https://docs.aws.amazon.com/lambda/latest/api/"),
    ("parameters-section-structure", "https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/"),
    ("aws-resource-", "https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/"),
    ("eb-", "https://docs.aws.amazon.com/eventbridge/latest/userguide/"),
    ("sqs-", "https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/"),
    ("feature-retry-behavior", "https://docs.aws.amazon.com/sdkref/latest/guide/"),
    ("CloudWatch_Embedded_Metric_Format", "https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/"),
    ("", "https://docs.aws.amazon.com/lambda/latest/dg/"),
]

_AREAS = {
    "test_invoke.py": "Invoke API",
    "test_runtime.py": "Python runtime",
    "test_powertools.py": "Powertools",
    "test_clock.py": "Virtual clock",
    "test_async.py": "Asynchronous invocation",
    "test_concurrency.py": "Concurrency",
    "test_tenant_isolation.py": "Tenant isolation",
    "test_cold_start.py": "Cold starts",
    "test_sqs_poller.py": "SQS event source mapping",
    "test_message_move.py": "SQS dead-letter queue redrive",
    "test_stream_pollers.py": "Kinesis / DynamoDB Streams event source mappings",
    "test_pipes.py": "EventBridge Pipes, DynamoDB Streams retention, Time to Live",
    "test_kinesis_limits.py": "Kinesis throughput ceilings",
    "test_stream_reads.py": "Kinesis / DynamoDB Streams event source mappings",
    "test_dynamodb_kinesis.py": "Kinesis Data Streams for DynamoDB",
    "test_stream_lineage.py": "DynamoDB Streams shard lineage",
    "test_dynamodb_limits.py": "DynamoDB throughput ceilings",
    "test_sqs_fifo_limits.py": "SQS FIFO throughput quotas",
    "test_throughput_limits.py": "API Gateway and EventBridge throughput ceilings",
    "test_push_routes.py": "EventBridge, S3, SNS to Lambda",
    "test_eventbridge_targets.py": "EventBridge targets, every type",
    "test_telemetry.py": "Logs, metrics, metering",
    "test_service_metrics.py": "Service metrics (AWS/SQS, AWS/Events, AWS/DynamoDB, AWS/Kinesis)",
    "test_alarms.py": "CloudWatch alarms",
    "test_logs_insights.py": "CloudWatch Logs Insights queries",
    "test_athena.py": "Athena queries over Glue tables on S3",
    "test_iot_rules.py": "IoT Core rules engine",
    "test_location.py": "Amazon Location geofencing and tracking",
    "test_firehose.py": "Firehose delivery to S3",
    "test_faults.py": "Fault injection",
    "test_sam.py": "SAM deploy",
    "test_moto_patches.py": "moto patches",
    "test_event_shapes.py": "Event shapes",
    "test_examples.py": "Examples",
    "test_simulator_faults.py": "Fault injection",
    "test_isolation.py": "Isolated execution environments",
    "test_schedules.py": "EventBridge schedules and Scheduler",
    "test_apigateway.py": "API Gateway REST APIs",
    "test_http_api.py": "API Gateway HTTP APIs",
    "test_api_authorizers.py": "API Gateway Lambda authorizers (REST)",
    "test_api_integrations.py": "API Gateway non-proxy and AWS service integrations",
    "test_api_iam_auth.py": "API Gateway IAM authorization",
    "test_iam_enforcement.py": "IAM enforcement and resource policies",
    "test_custom_resources.py": "CloudFormation custom resources",
    "test_deploy_errors.py": "SAM deploy",
    "test_template_notifications_and_targets.py": "Templates: SNS subscriptions, S3 notifications, EventBridge targets",
    "test_cli.py": "Command line",
    "test_json_logs.py": "Logs: the JSON log format",
    "test_tracing.py": "Tracing (X-Ray as OpenTelemetry spans)",
    "test_deployments.py": "Versions, weighted aliases, gradual deployments (CodeDeploy)",
    "test_recursion.py": "Recursive loop detection",
}


def aws_pages(docstring: str) -> list[str]:
    """The AWS documentation URLs a docstring cites, full or by page file name."""
    urls = _FULL_URL.findall(docstring)
    cited = {url.rsplit("/", 1)[1] for url in urls}
    for name in _PAGE_NAME.findall(docstring):
        # A dotted page name (Query.FilterExpression.html) also reads as its last part.
        if name not in cited and name != "Errors.html" and not any(c.endswith("." + name) for c in cited):
            prefix = next(base for start, base in _GUIDES if name.startswith(start))
            urls.append(prefix + name)
            cited.add(name)
    return urls


def fidelity_rows(project_root: Path) -> list[tuple[str, str, list[str], str]]:
    rows = []
    for test_file in sorted((project_root / TEST_FOLDER).glob("test_*.py")):
        tree = ast.parse(test_file.read_text())
        for node in tree.body:
            if not (isinstance(node, ast.FunctionDef) and node.name.startswith("test_")):
                continue
            docstring = ast.get_docstring(node) or ""
            pages = aws_pages(docstring)
            if pages:
                rule = " ".join(docstring.split("\n\n")[0].split())
                area = _AREAS.get(test_file.name, test_file.stem.removeprefix("test_"))
                rows.append((area, rule, pages, f"{test_file.name}::{node.name}"))
    return rows


def fidelity_table(project_root: Path) -> str:
    """One collapsed block per area (pymdownx.details), so the page opens as a short list of
    areas with their rule counts instead of a table hundreds of rows long."""
    by_area: dict[str, list[tuple[str, list[str], str]]] = {}
    for area, rule, pages, test in fidelity_rows(project_root):
        by_area.setdefault(area, []).append((rule, pages, test))
    sections = []
    for area, rows in by_area.items():
        count = f"{len(rows)} rule" + ("" if len(rows) == 1 else "s")
        files = sorted({test.split("::")[0] for _, _, test in rows})
        lines = [f'??? note "{area}: {count}"', "",
                 "    Tests in " + ", ".join(f"`{TEST_FOLDER.as_posix()}/{name}`" for name in files) + ".", "",
                 "    | Rule | AWS page | Test |", "    |---|---|---|"]
        for rule, pages, test in rows:
            links = "<br>".join(f"[{url.rsplit('/', 1)[1].removesuffix('.html')}]({url})" for url in pages)
            rule = rule.replace("|", "\\|")
            # Long test names may break after an underscore instead of anywhere.
            name = test.split("::")[1].replace("_", "_<wbr>")
            lines.append(f"    | {rule} | {links} | <code>{name}</code> |")
        sections.append("\n".join(lines))
    return "\n\n".join(sections)


def on_page_markdown(markdown: str, page, config, files) -> str:
    if MARKER not in markdown:
        return markdown
    project_root = Path(config["config_file_path"]).parent
    return markdown.replace(MARKER, fidelity_table(project_root))
