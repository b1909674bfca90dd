"""Transparency statistics: daily counter items and pending-case cohorts, sharded, added exactly once per effect.

Keys (PK `STATS#<shard>`, 8 shards chosen by the effect id, so a report storm spreads over 8 partitions):
- `D#<yyyy-mm-dd>#<group>`: a day's counters of one group (notices, decisions, enforcement, strikes, sla, appeals,
  art23) and its duration histograms (`ttd|<category>|<mode>`, `appeal_time`, attributes `b<bucket>`); the
  all-categories histogram `ttd|all|<mode>` is not stored: it is the sum of the categories' (the reader adds them);
- `P#<state>#<yyyy-mm>`: cases pending in a state by the day they entered it (attributes `d<dd>`, +1 in, -1 out).
Every item holds a bounded set of attributes (at most the dimension's values or the histogram's 121 buckets), so the
cost of an ADD does not grow with the number of events counted (docs/statistics.md has the sizes).

Exactly once in effect: the ADDs go in the transaction of the write that records their effects delivered - the
outbox item's conditional removal or advance of its `step` (repository/outbox.py). The write happens once per step,
so a redelivered outbox finds it gone (or its step moved, or `counted` set) and adds nothing; no marker item."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import date
from typing import Any

from consent_guard.ids import shard_of
from consent_guard.models import items as it
from consent_guard.repository.base import TableAccess, _av, _py

STATS_SHARDS = 8
# a transaction holds at most 100 actions: the outbox item's own write and the counter items of its effects
MAX_COUNTER_ITEMS = 99
DERIVED_GROUP_PREFIX = "ttd|all|"

Row = tuple[str, str, int]  # (counter item's sort key, attribute, count to add)

Daily = dict[str, dict[str, dict[str, int]]]  # day -> group -> attribute -> count


def stats_partition(shard: int) -> str:
    return f"STATS#{shard}"


def counter_updates(table_name: str, effects: Sequence[tuple[str, Sequence[Row]]]) -> list[dict[str, Any]]:
    """The transaction actions that add the rows of `effects` ((effect id, rows) pairs): one ADD per counter item,
    the rows of every effect summed per item (a transaction addresses an item once). They go in the transaction of
    the write that records the effects as delivered (repository/outbox.py), which is their exactly-once guard.

    Rows of an item the reader derives (`ttd|all|<mode>`, the sum of the categories' histograms) are dropped: an
    outbox item stored by an earlier release may still carry them."""
    by_item: dict[tuple[str, str], dict[str, int]] = defaultdict(dict)
    for effect_id, rows in effects:
        pk = stats_partition(shard_of(effect_id, STATS_SHARDS))
        for sk, attr, n in rows:
            if is_derived(sk):
                continue
            attrs = by_item[(pk, sk)]
            attrs[attr] = attrs.get(attr, 0) + int(n)
    actions: list[dict[str, Any]] = []
    for (pk, sk), attrs in sorted(by_item.items()):
        attrs = {a: n for a, n in attrs.items() if n}
        if not attrs:
            continue
        names = {"#type": "type"} | {f"#a{i}": a for i, a in enumerate(attrs)}
        values = {":type": "stats"} | {f":v{i}": n for i, n in enumerate(attrs.values())}
        actions.append(
            {
                "Update": {
                    "TableName": table_name,
                    "Key": _av({"PK": pk, "SK": sk}),
                    "UpdateExpression": "SET #type = :type ADD " + ", ".join(f"#a{i} :v{i}" for i in range(len(attrs))),
                    "ExpressionAttributeNames": names,
                    "ExpressionAttributeValues": _av(values),
                }
            }
        )
    if len(actions) > MAX_COUNTER_ITEMS:
        raise ValueError(f"{len(actions)} counter items in one delivery (at most {MAX_COUNTER_ITEMS})")
    return actions


def is_derived(sk: str) -> bool:
    """A daily item the reader computes instead of storing: the all-categories time-to-decision histograms."""
    return sk.startswith("D#") and sk.split("#", 2)[-1].startswith(DERIVED_GROUP_PREFIX)


class StatsRepository(TableAccess):
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
                if is_derived(str(item["SK"])):
                    continue  # stored by an earlier release: the reader derives it, exactly, from the categories
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
