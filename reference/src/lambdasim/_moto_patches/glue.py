"""Glue Data Catalog resources for moto's CloudFormation, which lacks them: AWS::Glue::Database
and AWS::Glue::Table, created through moto's Glue backend, so a template's table is the one
the simulator's Athena reads and Firehose's Parquet conversion takes its columns from. Nothing
of moto's Glue is patched: `cloudformation` adds these types, and no patch of this module is
installed."""

from __future__ import annotations

from typing import Any

from . import _shared


def _glue(account_id: str, region: str) -> Any:
    from moto.glue.models import glue_backends

    return glue_backends[account_id][region]


class DatabaseResource(_shared.AddedResource):
    """AWS::Glue::Database
    (https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-glue-database.html):
    `Ref` is the database's name. Athena needs the name given (a generated one is not
    compatible: https://docs.aws.amazon.com/athena/latest/ug/tables-databases-columns-names.html),
    so a template without DatabaseInput.Name is refused."""

    def __init__(self, name: str):
        self.physical_resource_id = name

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::Glue::Database"

    @classmethod
    def create_from_cloudformation_json(
        cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str, **kwargs: Any
    ) -> DatabaseResource:
        database_input = dict(cloudformation_json["Properties"]["DatabaseInput"])
        _glue(account_id, region_name).create_database(str(database_input["Name"]), database_input)
        return cls(str(database_input["Name"]))

    @classmethod
    def delete_from_cloudformation_json(
        cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str
    ) -> None:
        cls(str(cloudformation_json["Properties"]["DatabaseInput"]["Name"])).delete(account_id, region_name)

    def delete(self, account_id: str, region: str) -> None:
        _glue(account_id, region).databases.pop(self.physical_resource_id, None)


class TableResource(_shared.AddedResource):
    """AWS::Glue::Table
    (https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-glue-table.html):
    the TableInput as Glue's CreateTable takes it; `Ref` is the table's name."""

    def __init__(self, database: str, name: str):
        self.database = database
        self.physical_resource_id = name

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::Glue::Table"

    @classmethod
    def create_from_cloudformation_json(
        cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str, **kwargs: Any
    ) -> TableResource:
        props = cloudformation_json["Properties"]
        database, table_input = str(props["DatabaseName"]), dict(props["TableInput"])
        name = str(table_input.get("Name") or resource_name).lower()
        table_input["Name"] = name
        _glue(account_id, region_name).create_table(database, name, table_input)
        return cls(database, name)

    @classmethod
    def delete_from_cloudformation_json(
        cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str
    ) -> None:
        props = cloudformation_json["Properties"]
        name = str(props["TableInput"].get("Name") or resource_name).lower()
        cls(str(props["DatabaseName"]), name).delete(account_id, region_name)

    def delete(self, account_id: str, region: str) -> None:
        database = _glue(account_id, region).databases.get(self.database)
        if database is not None:  # the stack's database may have gone first
            database.tables.pop(self.physical_resource_id, None)


ADDED_RESOURCES = (DatabaseResource, TableResource)
