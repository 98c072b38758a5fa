"""Kinesis Data Streams for DynamoDB: the streaming destination API moto lacks, and the item
changes it replicates.

- EnableKinesisStreamingDestination, DescribeKinesisStreamingDestination and
  DisableKinesisStreamingDestination are added to moto's DynamoDB handler and answered by the
  simulator's `dynamodb_kinesis.KinesisStreamingDestinations`; a refusal is an HTTP 400 with
  AWS's error code (API_EnableKinesisStreamingDestination.html).
- Every write path that changes an item (Table.put_item, Table.delete_item, which BatchWriteItem,
  TransactWriteItems and Time to Live reach too, and DynamoDBBackend.update_item, which changes
  the stored item in place) tells `moto_state.item_changed` the key and both images, in DynamoDB
  JSON, when someone watches the table; a table nobody watches pays one set lookup per write.
  A transaction's changes are told only once it has committed (moto rolls a cancelled one back).
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

from .. import moto_state
from ..dynamodb_kinesis import KinesisStreamingDestinations, StreamingRefused
from ._patching import Patch

_destinations: KinesisStreamingDestinations | None = None
# While a transaction runs: its changes, told when it commits (None: no transaction).
_held: list[tuple[Any, ...]] | None = None


def set_dynamodb_kinesis(destinations: KinesisStreamingDestinations | None) -> None:
    """The simulator's streaming destinations (None: the API is not answered, as in moto)."""
    global _destinations
    _destinations = destinations


def _tell(table: Any, key: dict[str, Any], old: dict[str, Any] | None, new: dict[str, Any] | None) -> None:
    change = (table.account_id, table.region_name, table.name, key, old, new)
    if _held is not None:
        _held.append(change)
    else:
        moto_state.item_changed(*change)


def _key(table: Any, item: Any) -> dict[str, Any]:
    key = {table.hash_key_attr: item.hash_key.to_json()}
    if table.range_key_attr is not None:
        key[table.range_key_attr] = item.range_key.to_json()
    return key


def _stored(table: Any, key_attrs: dict[str, Any]) -> Any:
    """The item stored under the key in `key_attrs` (DynamoDB JSON), or None."""
    from moto.dynamodb.models.dynamo_type import DynamoType

    try:
        range_value = DynamoType(key_attrs[table.range_key_attr]) if table.range_key_attr else None
        return table.get_item(DynamoType(key_attrs[table.hash_key_attr]), range_value)
    except Exception:  # a malformed key: moto's own call refuses it
        return None


def _image(item: Any) -> dict[str, Any] | None:
    return None if item is None else copy.deepcopy(item.to_json()["Attributes"])


def _wrap_put_item(original: Callable[..., Any]) -> Callable[..., Any]:
    def put_item(self: Any, item_attrs: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
        """Table.put_item, then the change told (the old item is replaced, not changed)."""
        if not moto_state.watched(self.account_id, self.region_name, self.name):
            return original(self, item_attrs, *args, **kwargs)
        old = _stored(self, item_attrs)
        item = original(self, item_attrs, *args, **kwargs)
        _tell(self, _key(self, item), _image(old), _image(item))
        return item

    put_item.__wrapped__ = original  # type: ignore[attr-defined]
    return put_item


def _wrap_delete_item(original: Callable[..., Any]) -> Callable[..., Any]:
    def delete_item(self: Any, hash_key: Any, range_key: Any) -> Any:
        """Table.delete_item, then the deletion told."""
        item = original(self, hash_key, range_key)
        if item is not None and moto_state.watched(self.account_id, self.region_name, self.name):
            _tell(self, _key(self, item), _image(item), None)
        return item

    delete_item.__wrapped__ = original  # type: ignore[attr-defined]
    return delete_item


def _wrap_update_item(original: Callable[..., Any]) -> Callable[..., Any]:
    def update_item(self: Any, table_name: str, key: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
        """DynamoDBBackend.update_item, with the item's image taken before it changes in place."""
        table = self.tables.get(table_name)
        if table is None or not moto_state.watched(table.account_id, table.region_name, table.name):
            return original(self, table_name, key, *args, **kwargs)
        old = _image(_stored(table, key))
        item = original(self, table_name, key, *args, **kwargs)
        _tell(table, _key(table, item), old, _image(item))
        return item

    update_item.__wrapped__ = original  # type: ignore[attr-defined]
    return update_item


def _wrap_transact_write_items(original: Callable[..., Any]) -> Callable[..., Any]:
    def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
        """DynamoDBBackend.transact_write_items, its changes told once it has committed."""
        global _held
        outer, _held = _held, []
        try:
            original(self, transact_items)
            committed = _held
        finally:
            _held = outer
        for change in committed:
            moto_state.item_changed(*change)

    transact_write_items.__wrapped__ = original  # type: ignore[attr-defined]
    return transact_write_items


def _answer(call: Callable[[KinesisStreamingDestinations, dict[str, Any], str, str], dict[str, Any]]) -> Any:
    def action(self: Any) -> str:
        from moto.core.exceptions import JsonRESTError

        if _destinations is None:
            raise NotImplementedError("Kinesis Data Streams for DynamoDB is off in this simulation")
        try:
            return json.dumps(call(_destinations, self.body, self.current_account, self.region))  # moto parsed the JSON
        except StreamingRefused as refused:
            raise JsonRESTError(refused.code, refused.message) from None

    return action


def _enable(d: KinesisStreamingDestinations, p: dict[str, Any], account: str, region: str) -> dict[str, Any]:
    config = p.get("EnableKinesisStreamingConfiguration") or {}
    return d.enable(account, region, p["TableName"], p["StreamArn"],
                    config.get("ApproximateCreationDateTimePrecision", "MILLISECOND"))


def patches() -> list[Patch]:
    """The patches of this module, applied on start and removed on stop."""
    from moto.dynamodb.models import DynamoDBBackend
    from moto.dynamodb.models.table import Table
    from moto.dynamodb.responses import DynamoHandler

    why = "Kinesis Data Streams for DynamoDB"
    return [
        Patch(DynamoHandler, "enable_kinesis_streaming_destination", _answer(_enable), "absent", why),
        Patch(DynamoHandler, "describe_kinesis_streaming_destination",
              _answer(lambda d, p, a, r: d.describe(a, r, p["TableName"])), "absent", why),
        Patch(DynamoHandler, "disable_kinesis_streaming_destination",
              _answer(lambda d, p, a, r: d.disable(a, r, p["TableName"], p["StreamArn"])), "absent", why),
        Patch(Table, "put_item", None,
              ("self", "item_attrs", "expected", "condition_expression", "expression_attribute_names",
               "expression_attribute_values", "overwrite", "return_values_on_condition_check_failure"),
              why, wrap=_wrap_put_item),
        Patch(Table, "delete_item", None, ("self", "hash_key", "range_key"), why, wrap=_wrap_delete_item),
        Patch(DynamoDBBackend, "update_item", None,
              ("self", "table_name", "key", "update_expression", "expression_attribute_names",
               "expression_attribute_values", "attribute_updates", "expected", "condition_expression",
               "return_values_on_condition_check_failure"),
              why, wrap=_wrap_update_item),
        Patch(DynamoDBBackend, "transact_write_items", None, ("self", "transact_items"), why,
              wrap=_wrap_transact_write_items),
    ]
