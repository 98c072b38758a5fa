"""Deploy the quickstart SAM template into the simulator and send it 100 orders, 3 malformed."""

from pathlib import Path

import boto3

from lambdasim import Simulator

TEMPLATE = Path(__file__).parent / "template.yaml"

with Simulator(seed=7) as sim:
    stack = sim.deploy(TEMPLATE, stack_name="quickstart")  # the file `sam deploy` takes to AWS
    sqs = boto3.client("sqs")
    for n in range(100):
        body = "not json" if n in (13, 42, 77) else f'{{"order_id": "o-{n}", "amount": {n}}}'
        sqs.send_message(QueueUrl=stack.outputs["QueueUrl"], MessageBody=body)

    sim.run_until_idle()  # polls, retries after the visibility timeout, redrive: virtual time

    table = boto3.resource("dynamodb").Table(stack.outputs["TableName"])
    dlq = sqs.get_queue_attributes(
        QueueUrl=stack.outputs["DeadLetterQueueUrl"], AttributeNames=["ApproximateNumberOfMessages"]
    )
    print(f"orders in the table:      {table.scan(Select='COUNT')['Count']}")
    print(f"messages in the DLQ:      {dlq['Attributes']['ApproximateNumberOfMessages']}")
    print(f"virtual time elapsed:     {sim.elapsed:.0f} s")
    print(sim.metering())
