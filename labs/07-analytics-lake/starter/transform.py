"""Your Firehose transformation (a Lambda function Firehose invokes with a batch of records).

Each record's data is base64 of one message a sensor published: a JSON object with device_id,
device_type, event_time (ISO 8601, UTC), reading (a number), unit and seq. Some messages are
malformed (not JSON, no reading, a reading that is not a number, an event time that is not one).

Return every record with its recordId and a result
(https://docs.aws.amazon.com/firehose/latest/dev/data-transformation-status-model.html):
"Ok" with base64 data, "Dropped", or "ProcessingFailed". Firehose writes ProcessingFailed
records under the error output prefix; Dropped ones are gone.

This starter passes every record on unchanged.
"""

from aws_lambda_powertools.utilities.data_classes import (
    KinesisFirehoseDataTransformationResponse,
    KinesisFirehoseEvent,
    event_source,
)


@event_source(data_class=KinesisFirehoseEvent)
def lambda_handler(event: KinesisFirehoseEvent, context: object) -> dict:
    response = KinesisFirehoseDataTransformationResponse()
    for record in event.records:
        response.add_record(record.build_data_transformation_response(data=record.data))
    return response.asdict()
