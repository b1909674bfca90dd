"""Transparency statistics: daily counter items and pending-case cohorts, sharded, added exactly once per effect.

Keys (PK `STATS#<shard>`, 8 shards chosen by the effect id, so a report storm spreads over 8 partitions):
- `D#<yyyy-mm-dd>#<group>`: a day's counters of one group (notices, decisions, enforcement, strikes, sla, appeals,
  art23) and its duration histograms (`ttd|<category>|<mode>`, `appeal_time`, attributes `b<bucket>`);
- `P#<state>#<yyyy-mm>`: cases pending in a state by the day they entered it (attributes `d<dd>`, +1 in, -1 out).
Every item holds a bounded set of attributes (at most the dimension's values or the histogram's 121 buckets), so the
cost of an ADD does not grow with the number of events counted.

Exactly once in effect: the ADDs of an effect and a marker `STATSFX#<effect id>` (attribute_not_exists) go in one
transaction; a redelivered effect finds its marker and adds nothing. Markers expire after 90 days (TTL), long after
any redelivery (the outbox's timer retries within minutes)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Any

from consent_guard.ids import shard_of
from consent_guard.models import items as it
from consent_guard.repository.base import TableAccess, TransactionRejected, _av, _py

STATS_SHARDS = 8
MARKER_TTL = timedelta(days=90)

Daily = dict[str, dict[str, dict[str, int]]]  # day -> group -> attribute -> count


def stats_partition(shard: int) -> str:
    return f"STATS#{shard}"


class StatsRepository(TableAccess):
    def add(self, effect_id: str, rows: Sequence[tuple[str, str, int]], now: datetime) -> bool:
        """Add an effect's rows (item, attribute, count) once. False when the effect was counted before."""
        pk = stats_partition(shard_of(effect_id, STATS_SHARDS))
        by_item: dict[str, dict[str, int]] = defaultdict(dict)
        for item, attr, n in rows:
            by_item[item][attr] = by_item[item].get(attr, 0) + int(n)
        actions: list[dict[str, Any]] = [
            {
                "Put": {
                    "TableName": self.table_name,
                    "Item": _av(
                        {
                            "PK": f"STATSFX#{effect_id}",
                            "SK": "STATSFX",
                            "type": "stats_marker",
                            "expires_at": it.epoch(now + MARKER_TTL),
                        }
                    ),
                    "ConditionExpression": "attribute_not_exists(PK)",
                }
            }
        ]
        for sk, attrs in sorted(by_item.items()):
            names = {"#type": "type"} | {f"#a{i}": a for i, a in enumerate(attrs)}
            values = {":type": "stats"} | {f":v{i}": n for i, n in enumerate(attrs.values())}
            actions.append(
                {
                    "Update": {
                        "TableName": self.table_name,
                        "Key": _av({"PK": pk, "SK": sk}),
                        "UpdateExpression": "SET #type = :type ADD "
                        + ", ".join(f"#a{i} :v{i}" for i in range(len(attrs))),
                        "ExpressionAttributeNames": names,
                        "ExpressionAttributeValues": _av(values),
                    }
                }
            )
        try:
            self._transact(actions)
        except TransactionRejected as rejected:
            if rejected.codes and rejected.codes[0] == "ConditionalCheckFailed":
                return False
            raise
        return True

    def _query(self, shard: int, condition: str, values: dict[str, Any]) -> list[it.Item]:
        found: list[it.Item] = []
        kwargs: dict[str, Any] = {
            "TableName": self.table_name,
            "KeyConditionExpression": f"PK = :pk AND {condition}",
            "ExpressionAttributeValues": _av({":pk": stats_partition(shard), **values}),
        }
        while True:
            response = self._call("query", **kwargs)
            found.extend(_py(i) for i in response.get("Items", []))
            if not response.get("LastEvaluatedKey"):
                return found
            kwargs["ExclusiveStartKey"] = response["LastEvaluatedKey"]

    def daily(self, first: date, last: date) -> Daily:
        """Every day's counters from `first` to `last` (UTC days), summed over the shards: one query per shard."""
        out: Daily = {}
        values = {":from": f"D#{first.isoformat()}#", ":to": f"D#{last.isoformat()}#~"}
        for shard in range(STATS_SHARDS):
            for item in self._query(shard, "SK BETWEEN :from AND :to", values):
                _, day, group = str(item["SK"]).split("#", 2)
                attrs = out.setdefault(day, {}).setdefault(group, {})
                for name, value in item.items():
                    if name not in ("PK", "SK", "type"):
                        attrs[name] = attrs.get(name, 0) + int(value)
        return out

    def pending_cohorts(self) -> dict[str, dict[str, int]]:
        """Pending cases per state by the day they entered it (state -> yyyy-mm-dd -> count)."""
        out: dict[str, dict[str, int]] = {}
        for shard in range(STATS_SHARDS):
            for item in self._query(shard, "begins_with(SK, :p)", {":p": "P#"}):
                _, state, month = str(item["SK"]).split("#", 2)
                days = out.setdefault(state, {})
                for name, value in item.items():
                    if name.startswith("d") and name != "type":
                        day = f"{month}-{name[1:]}"
                        days[day] = days.get(day, 0) + int(value)
        return out
