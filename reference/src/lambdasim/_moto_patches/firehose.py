"""Firehose: delivery to S3 as AWS documents it, where moto writes each put straight to S3.

moto's FirehoseBackend writes every PutRecord and PutRecordBatch at once into one S3 object
(no buffering, no transformation, prefixes kept literally) and checks no limit. For a Direct PUT
stream with an S3 or ExtendedS3 destination the replacements hand the records to the simulator's
`firehose.FirehoseDelivery` (set by `set_firehose_delivery`; None while no simulation runs, and
then moto is unchanged):

- `create_delivery_stream`: the destination's configuration is checked as AWS checks it
  (buffering hints, prefixes and their expressions, processors; `firehose.DeliveryPlan`) and
  refused with InvalidArgumentException; then moto creates the stream.
- `put_record_batch`: more than 500 records, a record over 1,000 KiB or a request over 4 MiB is
  refused (API_PutRecordBatch.html) and nothing is accepted; otherwise every record is accepted
  into the stream's buffers and answered with its RecordId, FailedPutCount 0.
- `put_record`: a record over 1,000 KiB is refused; moto's own PutRecord then goes through the
  batch above.

Other stream types and destinations keep moto's behaviour. AWS::KinesisFirehose::DeliveryStream,
which moto's CloudFormation lacks, creates a stream through the same backend method.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..firehose import DeliveryPlan, FirehoseDelivery, StreamSettings
from ..rules import firehose as rules
from . import _shared
from ._patching import Patch

_delivery: FirehoseDelivery | None = None


def set_firehose_delivery(delivery: FirehoseDelivery | None) -> None:
    """The simulator's Firehose (None: moto's behaviour)."""
    global _delivery
    _delivery = delivery


def _s3_config(destination: dict[str, Any]) -> dict[str, Any] | None:
    return destination.get("ExtendedS3") or destination.get("S3")


def _invalid(message: str) -> Exception:
    from moto.firehose.exceptions import InvalidArgumentException

    return InvalidArgumentException(message)


def _too_long(what: str, limit: int) -> Exception:
    from moto.firehose.exceptions import ValidationException

    # AWS's wording for a request member past its length constraint.
    return ValidationException(f"1 validation error detected: Value at '{what}' failed to satisfy constraint: "
                               f"Member must have length less than or equal to {limit}")


def _plan(config: dict[str, Any]) -> DeliveryPlan:
    try:
        return DeliveryPlan.from_config(config)
    except rules.ConfigurationError as e:
        raise _invalid(str(e)) from None


def _wrap_create(original: Callable[..., Any]) -> Callable[..., Any]:
    def create_delivery_stream(self: Any, region: str, delivery_stream_name: str, delivery_stream_type: str,
                               kinesis_stream_source_configuration: dict[str, Any],
                               delivery_stream_encryption_configuration_input: dict[str, Any],
                               s3_destination_configuration: dict[str, Any],
                               extended_s3_destination_configuration: dict[str, Any], *rest: Any) -> Any:
        config = extended_s3_destination_configuration or s3_destination_configuration
        if _delivery is not None and config and (delivery_stream_type or "DirectPut") == "DirectPut":
            _plan(config)
        return original(self, region, delivery_stream_name, delivery_stream_type,
                        kinesis_stream_source_configuration, delivery_stream_encryption_configuration_input,
                        s3_destination_configuration, extended_s3_destination_configuration, *rest)

    create_delivery_stream.__wrapped__ = original  # type: ignore[attr-defined]
    return create_delivery_stream


def _wrap_put_record_batch(original: Callable[..., Any]) -> Callable[..., Any]:
    def put_record_batch(self: Any, delivery_stream_name: str, records: list[dict[str, bytes]]) -> Any:
        stream = self.delivery_streams.get(delivery_stream_name)
        config = _s3_config(stream.destinations[0]) if stream is not None else None
        if _delivery is None or config is None or stream.delivery_stream_type != "DirectPut":
            return original(self, delivery_stream_name, records)  # moto answers a missing stream too
        datas = [bytes(record.get("Data") or b"") for record in records]
        if len(datas) > rules.MAX_BATCH_RECORDS:
            raise _too_long("records", rules.MAX_BATCH_RECORDS)
        for i, data in enumerate(datas):
            if len(data) > rules.MAX_RECORD_BYTES:
                raise _too_long(f"records.{i + 1}.member.data", rules.MAX_RECORD_BYTES)
        if sum(map(len, datas)) > rules.MAX_BATCH_BYTES:
            raise _invalid(f"The request is larger than {rules.MAX_BATCH_BYTES} bytes (4 MiB)")
        settings = StreamSettings(stream.delivery_stream_name, stream.delivery_stream_arn, stream.version_id,
                                  _plan(config))
        ids = _delivery.put(settings, datas)
        return {"FailedPutCount": 0, "Encrypted": False, "RequestResponses": [{"RecordId": i} for i in ids]}

    put_record_batch.__wrapped__ = original  # type: ignore[attr-defined]
    return put_record_batch


def _wrap_put_record(original: Callable[..., Any]) -> Callable[..., Any]:
    def put_record(self: Any, delivery_stream_name: str, record: dict[str, bytes]) -> Any:
        size = len(record.get("Data") or b"")
        if _delivery is not None and size > rules.MAX_RECORD_BYTES:
            raise _too_long("record.data", rules.MAX_RECORD_BYTES)
        return original(self, delivery_stream_name, record)

    put_record.__wrapped__ = original  # type: ignore[attr-defined]
    return put_record


def patches() -> list[Patch]:
    """The patches of this module, applied on start and removed on stop."""
    from moto.firehose.models import FirehoseBackend

    return [
        Patch(FirehoseBackend, "create_delivery_stream", None,
              ("self", "region", "delivery_stream_name", "delivery_stream_type",
               "kinesis_stream_source_configuration", "delivery_stream_encryption_configuration_input",
               "s3_destination_configuration", "extended_s3_destination_configuration",
               "redshift_destination_configuration", "elasticsearch_destination_configuration",
               "splunk_destination_configuration", "http_endpoint_destination_configuration",
               "snowflake_destination_configuration", "iceberg_destination_configuration", "tags"),
              "Firehose S3 destinations checked as AWS checks them", wrap=_wrap_create),
        Patch(FirehoseBackend, "put_record_batch", None, ("self", "delivery_stream_name", "records"),
              "Firehose buffering, transformation, partitioning and S3 delivery", wrap=_wrap_put_record_batch),
        Patch(FirehoseBackend, "put_record", None, ("self", "delivery_stream_name", "record"),
              "Firehose record size limit", wrap=_wrap_put_record),
    ]


def _cfn_typed(value: Any, key: str = "") -> Any:
    """A template's property values as the API types them: CloudFormation passes parameters
    (`Ref`) as strings, which it converts to the property's integer or boolean type."""
    if isinstance(value, dict):
        return {k: _cfn_typed(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [_cfn_typed(item) for item in value]
    if key in _CFN_INTEGERS and isinstance(value, str):
        return int(value)
    if key == "Enabled" and isinstance(value, str):
        return value.lower() == "true"
    return value


_CFN_INTEGERS = ("SizeInMBs", "IntervalInSeconds", "DurationInSeconds")


class DeliveryStreamResource(_shared.AddedResource):
    """AWS::KinesisFirehose::DeliveryStream for moto's CloudFormation
    (https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-kinesisfirehose-deliverystream.html):
    a Direct PUT stream with an S3 or ExtendedS3 destination, created through moto's backend
    method, so the checks and the delivery above apply as to one created with boto3. `Ref` is
    the stream's name; `Arn` its ARN."""

    CFN_ATTRIBUTES = ("Arn",)

    def __init__(self, name: str, arn: str):
        self.name, self.arn = name, arn
        self.physical_resource_id = name

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::KinesisFirehose::DeliveryStream"

    def cfn_attributes(self) -> dict[str, str]:
        return {"Arn": self.arn}

    @classmethod
    def create_from_cloudformation_json(
        cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str, **kwargs: Any
    ) -> DeliveryStreamResource:
        from moto.firehose.models import firehose_backends

        props = _cfn_typed(cloudformation_json["Properties"])
        name = str(props.get("DeliveryStreamName") or resource_name)
        backend = firehose_backends[account_id][region_name]
        arn = backend.create_delivery_stream(
            region_name, name, props.get("DeliveryStreamType", "DirectPut"),
            props.get("KinesisStreamSourceConfiguration"), props.get("DeliveryStreamEncryptionConfigurationInput"),
            props.get("S3DestinationConfiguration"), props.get("ExtendedS3DestinationConfiguration"),
            None, None, None, None, None, None, props.get("Tags") or [])
        return cls(name, arn)

    @classmethod
    def delete_from_cloudformation_json(
        cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str
    ) -> None:
        name = str(cloudformation_json["Properties"].get("DeliveryStreamName") or resource_name)
        cls(name, "").delete(account_id, region_name)

    def delete(self, account_id: str, region: str) -> None:
        from moto.firehose.models import firehose_backends

        firehose_backends[account_id][region].delivery_streams.pop(self.name, None)
