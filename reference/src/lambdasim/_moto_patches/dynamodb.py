"""DynamoDB: throughput ceilings and ConsumedCapacity, which moto does not model.

moto serves every read and write at once and answers ReturnConsumedCapacity with fixed numbers
(1.0 for a write, 0.5 for a read, whatever the item). Here each data-plane action of moto's
`DynamoHandler` first turns its request into capacity units (`rules.dynamodb`: item sizes
rounded to 1 KB for writes and 4 KB for reads, eventually consistent reads half, transactions
double; https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/read-write-operations.html)
and asks the simulator's `dynamodb_capacity.DynamoDBCapacity` for them. A refused request never
reaches moto: the client gets HTTP 400 ProvisionedThroughputExceededException with AWS's message
and ThrottlingReasons (https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_ThrottlingReason.html),
which botocore retries as it retries AWS's. BatchWriteItem and BatchGetItem refuse item by item:
the refused ones come back in UnprocessedItems / UnprocessedKeys, and the whole call is refused
only when none fits (https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_BatchWriteItem.html).
Transactions are admitted whole or refused. A write that changes a global secondary index's
entries also takes the index's write capacity (its own ProvisionedThroughput, or the table's mode
on demand; https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/GSI.html), and is
refused whole when the index cannot take it (ThrottlingReason Index...); a Query on a GSI takes
the index's read capacity. ReturnConsumedCapacity (TOTAL, INDEXES) answers the units charged,
the indexes' included.

A Query or Scan is charged the items it read, before its FilterExpression and projection
(https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Query.FilterExpression.html):
moto's `Table.query` and `Table.scan` apply both after reading, so while the handler runs they
read without them, note the sizes of the items read, then filter and project as moto does.

Speed, with the same answers: moto lexes a condition or filter expression into tokens each
time it parses one (twice for a conditional PutItem: once to check it, once to apply it),
a tenth of such a call's CPU; the tokens depend only on the expression's text, so each text is
lexed once (`_lexed_once`).
"""

from __future__ import annotations

import functools
import inspect
import json
import re
from collections.abc import Callable
from typing import Any

from ..dynamodb_capacity import CapacityRefusal, Charge, DynamoDBCapacity, TableThroughput
from ..rules import dynamodb as ddb
from ._patching import Patch

_capacity: DynamoDBCapacity | None = None


def set_dynamodb_capacity(capacity: DynamoDBCapacity | None) -> None:
    """The simulator's `DynamoDBCapacity` (None: moto's own behaviour, no ceilings)."""
    global _capacity
    _capacity = capacity


def _throughput_exceeded(refusal: CapacityRefusal, table_arn: str) -> Exception:
    """The HTTP 400 DynamoDB answers, its ThrottlingReasons naming the table or index refused."""
    from moto.dynamodb.exceptions import DynamodbException

    resource = table_arn if refusal.index is None else f"{table_arn}/index/{refusal.index}"
    error = DynamodbException(f"com.amazonaws.dynamodb.v20120810#{ddb.THROUGHPUT_EXCEEDED_CODE}",
                              ddb.THROUGHPUT_EXCEEDED_MESSAGE)
    error.description = json.dumps({
        "__type": error.error_type, "message": ddb.THROUGHPUT_EXCEEDED_MESSAGE,
        "ThrottlingReasons": [{"reason": refusal.reason, "resource": resource}]})
    return error


def _throughput(table: Any) -> TableThroughput:
    # Keyed by name and creation time, so a table deleted and created again starts afresh.
    on_demand = table.billing_mode == "PAY_PER_REQUEST"
    return TableThroughput(table.name, on_demand,
                           0.0 if on_demand else float(table.throughput.get("ReadCapacityUnits", 0)),
                           0.0 if on_demand else float(table.throughput.get("WriteCapacityUnits", 0)),
                           created=table.created_at.timestamp())


def _index_throughput(table: Any, index: Any) -> TableThroughput:
    on_demand = table.billing_mode == "PAY_PER_REQUEST"
    return TableThroughput(table.name, on_demand,
                           0.0 if on_demand else float(index.throughput.get("ReadCapacityUnits", 0)),
                           0.0 if on_demand else float(index.throughput.get("WriteCapacityUnits", 0)),
                           created=table.created_at.timestamp(), index=index.name)


def _index_hash_key(index: Any) -> str:
    return next(key["AttributeName"] for key in index.schema if key["KeyType"] == "HASH")


def _stored_item(table: Any, key: dict[str, Any]) -> dict[str, Any] | None:
    """The item stored under `key`, in DynamoDB JSON (None when there is none)."""
    from moto.dynamodb.models.dynamo_type import DynamoType

    hash_key = DynamoType(key[table.hash_key_attr])
    range_key = DynamoType(key[table.range_key_attr]) if table.range_key_attr else None
    item = table.get_item(hash_key, range_key)
    return item.to_json()["Attributes"] if item is not None else None


def _stored_size(table: Any, key: dict[str, Any]) -> int:
    item = _stored_item(table, key)
    return ddb.item_size(item) if item is not None else 0


def _index_charges(table: Any, before: dict[str, Any] | None, after: dict[str, Any] | None,
                   factor: float = 1.0) -> list[tuple[TableThroughput, list[Charge]]]:
    """What a write that turns `before` into `after` costs each global secondary index."""
    charges = []
    for index in table.global_indexes:
        key_names = index.schema_key_attrs
        old = ddb.index_entry(before, table.attribute_keys, key_names, index.projection or {})
        new = ddb.index_entry(after, table.attribute_keys, key_names, index.projection or {})
        units = ddb.index_write_units(old, new, key_names) * factor
        if units:
            entry = new or old or {}
            charges.append((_index_throughput(table, index), [Charge(units, entry[_index_hash_key(index)])]))
    return charges


def _admit_write(capacity: DynamoDBCapacity, table: Any, operation: str,
                 requests: list[tuple[TableThroughput, list[Charge]]]) -> dict[str, float]:
    """Admit a write and its index writes whole, or raise the refusal; the units per resource."""
    refusal = capacity.admit_all(operation, "write", requests)
    if refusal is not None:
        raise _throughput_exceeded(refusal, table.table_arn)
    return {resource.index or "": sum(c.units for c in charges) for resource, charges in requests}


def _key_of(table: Any, item: dict[str, Any]) -> dict[str, Any]:
    return {name: item[name] for name in (table.hash_key_attr, table.range_key_attr) if name}


def _partition_key(table: Any, item_or_key: dict[str, Any]) -> dict[str, Any]:
    return item_or_key[table.hash_key_attr]


def _consistency(consistent_read: Any) -> ddb.Consistency:
    return "strong" if consistent_read else "eventual"


def _consumed(body: dict[str, Any], table_name: str, units: float,
              indexes: dict[str, float] | None = None) -> dict[str, Any] | None:
    """ConsumedCapacity for one table (`units`) and its global secondary indexes as
    ReturnConsumedCapacity asks (None: not asked)."""
    mode = body.get("ReturnConsumedCapacity", "NONE")
    total = units + sum((indexes or {}).values())
    if mode == "TOTAL":
        return {"TableName": table_name, "CapacityUnits": total}
    if mode == "INDEXES":
        consumed = {"TableName": table_name, "CapacityUnits": total, "Table": {"CapacityUnits": units}}
        if indexes:
            consumed["GlobalSecondaryIndexes"] = {name: {"CapacityUnits": u} for name, u in indexes.items()}
        return consumed
    return None


def _answered_by_moto(error: Exception) -> bool:
    """A request moto itself refuses (a missing table, a malformed key): its own error answers."""
    return isinstance(error, (KeyError, TypeError, ValueError)) \
        or type(error).__module__.startswith("moto.")


def _admit(capacity: DynamoDBCapacity, table: Any, operation: str, kind: ddb.Kind, charges: list[Charge]) -> None:
    refusal = capacity.admit(_throughput(table), operation, kind, charges)
    if refusal is not None:
        raise _throughput_exceeded(refusal, table.table_arn)


# -- single-item actions ---------------------------------------------------------------------
def _single(operation: str, kind: ddb.Kind, original: Callable[[Any], Any]) -> Callable[[Any], Any]:
    def action(self: Any) -> Any:
        capacity = _capacity
        if capacity is None:
            return original(self)
        body = self.body
        try:
            table = self.dynamodb_backend.get_table(body["TableName"])
            key = _key_of(table, body["Item"]) if operation == "PutItem" else dict(body["Key"])
            before = _stored_item(table, key)
        except Exception as error:
            if _answered_by_moto(error):
                return original(self)
            raise
        before_size = ddb.item_size(before) if before is not None else 0
        partition_key = _partition_key(table, key)
        indexes: dict[str, float] = {}
        if operation == "GetItem":
            units = ddb.read_units(before_size, _consistency(body.get("ConsistentRead")))
            _admit(capacity, table, operation, kind, [Charge(units, partition_key)])
        else:
            after = body["Item"] if operation == "PutItem" else None if operation == "DeleteItem" else before
            size = max(before_size, ddb.item_size(after)) if after is not None else before_size
            units = ddb.write_units(size)
            # UpdateItem is admitted on the item before; what it changes is charged after it ran.
            index_requests = [] if operation == "UpdateItem" else _index_charges(table, before, after)
            used = _admit_write(capacity, table, operation,
                                [(_throughput(table), [Charge(units, partition_key)]), *index_requests])
            indexes = {name: u for name, u in used.items() if name}
        result = original(self)
        if operation == "UpdateItem":
            updated = _stored_item(table, key)
            grown = ddb.write_units(max(before_size, ddb.item_size(updated or {}))) - units
            capacity.settle(_throughput(table), kind, grown, partition_key)
            units += grown
            for resource, charges in _index_charges(table, before, updated):
                capacity.settle(resource, kind, charges[0].units, charges[0].partition_key)
                indexes[resource.index or ""] = charges[0].units
        consumed = _consumed(body, table.name, units, indexes)
        if consumed is not None:
            result.result["ConsumedCapacity"] = consumed
        return result

    action.__wrapped__ = original  # type: ignore[attr-defined]
    return action


# -- Query and Scan --------------------------------------------------------------------------
_EQUALS = re.compile(r"(#?[\w.-]+)\s*=\s*(:[\w-]+)")


def _query_partition_key(hash_key: str, body: dict[str, Any]) -> dict[str, Any] | None:
    """The partition key value a Query's key condition names for `hash_key`."""
    if "KeyConditions" in body:
        condition = body["KeyConditions"].get(hash_key, {})
        values = condition.get("AttributeValueList") or [None]
        return values[0]
    names = body.get("ExpressionAttributeNames") or {}
    values = body.get("ExpressionAttributeValues") or {}
    for name, placeholder in _EQUALS.findall(body.get("KeyConditionExpression") or ""):
        if names.get(name, name) == hash_key:
            return values.get(placeholder)
    return None


_items_read: list[int] | None = None  # sizes of the items a running Query or Scan read


def _wrap_table_read(projection_param: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """moto's Table.query / Table.scan, noting the sizes of the items read before the filter
    and the projection, which are applied afterwards as moto applies them."""
    def wrap(original: Callable[..., Any]) -> Callable[..., Any]:
        signature = inspect.signature(original)

        def read(self: Any, *args: Any, **kwargs: Any) -> Any:
            if _items_read is None:
                return original(self, *args, **kwargs)
            bound = signature.bind(self, *args, **kwargs)
            filter_expression = bound.arguments.get("filter_expression")
            projection = bound.arguments.get(projection_param)
            bound.arguments["filter_expression"] = bound.arguments[projection_param] = None
            items, scanned_count, last_evaluated_key = original(*bound.args, **bound.kwargs)
            _items_read.extend(ddb.item_size(item.to_json()["Attributes"]) for item in items)
            if filter_expression is not None:
                items = [item for item in items if filter_expression.expr(item)]
            if projection:
                items = [item.project(projection) for item in items]
            return items, scanned_count, last_evaluated_key

        read.__wrapped__ = original  # type: ignore[attr-defined]
        return read

    return wrap


def _read_many(operation: str, original: Callable[[Any], Any]) -> Callable[[Any], Any]:
    def action(self: Any) -> Any:
        capacity = _capacity
        if capacity is None:
            return original(self)
        body = self.body
        try:
            table = self.dynamodb_backend.get_table(body["TableName"])
        except Exception as error:
            if _answered_by_moto(error):
                return original(self)
            raise
        consistency = _consistency(body.get("ConsistentRead"))
        # A Query or Scan of a global secondary index reads the index's capacity (a local
        # secondary index's reads are the table's).
        index = next((i for i in table.global_indexes if i.name == body.get("IndexName")), None)
        resource = _throughput(table) if index is None else _index_throughput(table, index)
        hash_key = table.hash_key_attr if index is None else _index_hash_key(index)
        partition_key = _query_partition_key(hash_key, body) if operation == "Query" else None
        minimum = ddb.query_read_units([], consistency)
        refusal = capacity.admit(resource, operation, "read", [Charge(minimum, partition_key)])
        if refusal is not None:
            raise _throughput_exceeded(refusal, table.table_arn)
        global _items_read
        _items_read = read = []
        try:
            result = original(self)
        finally:
            _items_read = None
        units = ddb.query_read_units(read, consistency)
        capacity.settle(resource, "read", units - minimum, partition_key)
        consumed = _consumed(body, table.name, 0.0, {index.name: units}) if index is not None \
            else _consumed(body, table.name, units)
        if consumed is not None:
            result.result["ConsumedCapacity"] = consumed
        return result

    action.__wrapped__ = original  # type: ignore[attr-defined]
    return action


# -- batches ---------------------------------------------------------------------------------
def _batch_write(original: Callable[[Any], Any]) -> Callable[[Any], Any]:
    def batch_write_item(self: Any) -> Any:
        capacity = _capacity
        if capacity is None:
            return original(self)
        body = self.body
        backend = self.dynamodb_backend
        admitted: dict[str, list[dict[str, Any]]] = {}
        unprocessed: dict[str, list[dict[str, Any]]] = {}
        used: dict[str, float] = {}
        last_refusal: Exception | None = None
        try:
            tables = {name: backend.get_table(name) for name in body["RequestItems"]}
            plans = []
            for name, requests in body["RequestItems"].items():
                table = tables[name]
                for request in requests:
                    after = request["PutRequest"]["Item"] if "PutRequest" in request else None
                    key = _key_of(table, after) if after is not None else dict(request["DeleteRequest"]["Key"])
                    before = _stored_item(table, key)
                    size = max(ddb.item_size(before or {}), ddb.item_size(after or {}))
                    writes = [(_throughput(table), [Charge(ddb.write_units(size), _partition_key(table, key))]),
                              *_index_charges(table, before, after)]
                    plans.append((name, table, request, writes))
        except Exception as error:
            if _answered_by_moto(error):
                return original(self)
            raise
        for name, table, request, writes in plans:
            refusal = capacity.admit_all("BatchWriteItem", "write", writes)
            if refusal is None:
                admitted.setdefault(name, []).append(request)
                used[name] = used.get(name, 0.0) + sum(c.units for _, charges in writes for c in charges)
            else:
                unprocessed.setdefault(name, []).append(request)
                last_refusal = _throughput_exceeded(refusal, table.table_arn)
        if not admitted and last_refusal is not None:
            raise last_refusal
        body["RequestItems"] = admitted
        result = original(self)
        result.result["UnprocessedItems"] = unprocessed
        _batch_consumed(body, result, used)
        return result

    batch_write_item.__wrapped__ = original  # type: ignore[attr-defined]
    return batch_write_item


def _batch_get(original: Callable[[Any], Any]) -> Callable[[Any], Any]:
    def batch_get_item(self: Any) -> Any:
        capacity = _capacity
        if capacity is None:
            return original(self)
        body = self.body
        backend = self.dynamodb_backend
        admitted: dict[str, dict[str, Any]] = {}
        unprocessed: dict[str, dict[str, Any]] = {}
        used: dict[str, float] = {}
        last_refusal: Exception | None = None
        try:
            plans = []
            for name, request in body["RequestItems"].items():
                table = backend.get_table(name)
                consistency = _consistency(request.get("ConsistentRead"))
                for key in request["Keys"]:
                    units = ddb.read_units(_stored_size(table, dict(key)), consistency)
                    plans.append((name, table, request, key, units))
        except Exception as error:
            if _answered_by_moto(error):
                return original(self)
            raise
        for name, table, request, key, units in plans:
            refusal = capacity.admit(_throughput(table), "BatchGetItem", "read",
                                     [Charge(units, _partition_key(table, key))])
            target = admitted if refusal is None else unprocessed
            target.setdefault(name, {**request, "Keys": []})["Keys"].append(key)
            if refusal is None:
                used[name] = used.get(name, 0.0) + units
            else:
                last_refusal = _throughput_exceeded(refusal, table.table_arn)
        if not admitted and last_refusal is not None:
            raise last_refusal
        body["RequestItems"] = admitted
        result = original(self)
        result.result["UnprocessedKeys"] = unprocessed
        _batch_consumed(body, result, used)
        return result

    batch_get_item.__wrapped__ = original  # type: ignore[attr-defined]
    return batch_get_item


def _batch_consumed(body: dict[str, Any], result: Any, used: dict[str, float]) -> None:
    consumed = [c for name, units in used.items() if (c := _consumed(body, name, units)) is not None]
    if body.get("ReturnConsumedCapacity", "NONE") != "NONE":
        result.result["ConsumedCapacity"] = consumed


# -- transactions ----------------------------------------------------------------------------
def _transact(operation: str, kind: ddb.Kind, original: Callable[[Any], Any]) -> Callable[[Any], Any]:
    def action(self: Any) -> Any:
        capacity = _capacity
        if capacity is None:
            return original(self)
        body = self.body
        backend = self.dynamodb_backend
        requests: list[tuple[TableThroughput, list[Charge]]] = []
        try:
            for entry in body["TransactItems"]:
                ((verb, request),) = entry.items()
                table = backend.get_table(request["TableName"])
                key = _key_of(table, request["Item"]) if verb == "Put" else dict(request["Key"])
                before = _stored_item(table, key)
                size = ddb.item_size(before or {})
                if verb == "Put":
                    size = max(size, ddb.item_size(request["Item"]))
                units = ddb.read_units(size, "transactional") if kind == "read" \
                    else ddb.write_units(size, transactional=True)
                requests.append((_throughput(table), [Charge(units, _partition_key(table, key))]))
                if verb in ("Put", "Delete"):  # an Update's index writes are not known before it runs
                    after = request["Item"] if verb == "Put" else None
                    requests.extend(_index_charges(table, before, after, ddb.TRANSACTIONAL_FACTOR))
        except Exception as error:
            if _answered_by_moto(error):
                return original(self)
            raise
        refusal = capacity.admit_all(operation, kind, requests)
        if refusal is not None:
            raise _throughput_exceeded(refusal, backend.get_table(refusal.table).table_arn)
        result = original(self)
        if body.get("ReturnConsumedCapacity", "NONE") != "NONE":
            tables: dict[str, tuple[float, dict[str, float]]] = {}
            for resource, charges in requests:
                units, indexes = tables.get(resource.name, (0.0, {}))
                spent = sum(c.units for c in charges)
                if resource.index is None:
                    units += spent
                else:
                    indexes[resource.index] = indexes.get(resource.index, 0.0) + spent
                tables[resource.name] = (units, indexes)
            result.result["ConsumedCapacity"] = [
                _consumed(body, name, units, indexes) for name, (units, indexes) in tables.items()]
        return result

    action.__wrapped__ = original  # type: ignore[attr-defined]
    return action


def _lexed_once(original: Callable[..., Any]) -> Callable[..., Any]:
    @functools.lru_cache(maxsize=1024)
    def tokens(parser_class: type, expression: str) -> tuple[Any, ...]:
        lexer = parser_class.__new__(parser_class)  # lexing reads nothing but the text
        lexer.condition_expression = expression
        return tuple(original(lexer))

    def _lex_condition_expression(self: Any) -> Any:
        """ConditionExpressionParser._lex_condition_expression, each expression's text lexed once.
        A token is an immutable named tuple; each parse gets its own deque and its own (empty)
        children lists, as a fresh lexing gives it."""
        from collections import deque

        return deque(node._replace(children=[]) for node in tokens(type(self), self.condition_expression))

    _lex_condition_expression.__wrapped__ = original  # type: ignore[attr-defined]
    return _lex_condition_expression


def patches() -> list[Patch]:
    """The patches of this module, applied on start and removed on stop."""
    from moto.dynamodb.comparisons import ConditionExpressionParser
    from moto.dynamodb.models.table import Table
    from moto.dynamodb.responses import DynamoHandler

    def single(operation: str, kind: ddb.Kind) -> Callable[[Any], Any]:
        return lambda original: _single(operation, kind, original)

    why = "DynamoDB throughput ceilings and ConsumedCapacity"
    return [
        Patch(DynamoHandler, "put_item", None, ("self",), why, wrap=single("PutItem", "write")),
        Patch(DynamoHandler, "update_item", None, ("self",), why, wrap=single("UpdateItem", "write")),
        Patch(DynamoHandler, "delete_item", None, ("self",), why, wrap=single("DeleteItem", "write")),
        Patch(DynamoHandler, "get_item", None, ("self",), why, wrap=single("GetItem", "read")),
        Patch(DynamoHandler, "query", None, ("self",), why, wrap=lambda original: _read_many("Query", original)),
        Patch(DynamoHandler, "scan", None, ("self",), why, wrap=lambda original: _read_many("Scan", original)),
        Patch(DynamoHandler, "batch_write_item", None, ("self",), why, wrap=_batch_write),
        Patch(DynamoHandler, "batch_get_item", None, ("self",), why, wrap=_batch_get),
        Patch(DynamoHandler, "transact_write_items", None, ("self",), why,
              wrap=lambda original: _transact("TransactWriteItems", "write", original)),
        Patch(DynamoHandler, "transact_get_items", None, ("self",), why,
              wrap=lambda original: _transact("TransactGetItems", "read", original)),
        Patch(ConditionExpressionParser, "_lex_condition_expression", None, ("self",),
              "speed: a condition expression's text lexed once", wrap=_lexed_once),
        Patch(Table, "query", None,
              ("self", "hash_key", "range_comparison", "range_objs", "limit", "exclusive_start_key",
               "scan_index_forward", "projection_expressions", "index_name", "consistent_read",
               "filter_expression", "hash_key_conditions", "range_key_conditions", "filter_kwargs"),
              "a Query's items read before its filter", wrap=_wrap_table_read("projection_expressions")),
        Patch(Table, "scan", None,
              ("self", "filters", "limit", "exclusive_start_key", "filter_expression", "index_name",
               "consistent_read", "projection_expression", "segments"),
              "a Scan's items read before its filter", wrap=_wrap_table_read("projection_expression")),
    ]
