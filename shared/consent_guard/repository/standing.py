"""A reporter's standing (DSA Art. 23): unfounded reports, warning and suspension, version-guarded."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from consent_guard.errors import VersionConflict
from consent_guard.models import items as it
from consent_guard.repository.base import TableAccess, _av, _code


class StandingRepository(TableAccess):
    def reporter_standing(self, reporter_id: str) -> it.Item | None:
        return self._get(it.standing_key(reporter_id), consistent=True)

    def save_reporter_standing(self, standing: it.Item, expected_version: int | None) -> None:
        """Version-guarded write of a reporter's standing (unfounded reports, warning, suspension)."""
        condition = "attribute_not_exists(PK)" if expected_version is None else "version = :v"
        kwargs: dict[str, Any] = {
            "TableName": self.table_name,
            "Item": _av({**standing, **it.standing_key(str(standing["reporter_id"]))}),
            "ConditionExpression": condition,
        }
        if expected_version is not None:
            kwargs["ExpressionAttributeValues"] = _av({":v": expected_version})
        try:
            self._call("put_item", **kwargs)
        except ClientError as exc:
            if _code(exc) == "ConditionalCheckFailedException":
                raise VersionConflict("the reporter's standing changed concurrently") from None
            raise
