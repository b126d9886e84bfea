"""Which scrape dates need a run, given the dumps in the inbox and what was seen before."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date

from c2c_assets.ingest.dumps import Dump, dumps_digest


@dataclass(frozen=True)
class InboxPlan:
    dates: dict[date, str]  # scrape date -> digest of its dumps (a run key)
    seen: dict[str, str]  # dump name -> fingerprint, the sensor's next cursor


def plan_runs(dumps: list[Dump], seen: dict[str, str]) -> InboxPlan:
    """Dates with a new or changed dump; an unchanged inbox plans nothing."""
    by_date: dict[date, list[Dump]] = defaultdict(list)
    fingerprints = {}
    for dump in dumps:
        by_date[dump.scrape_date].append(dump)
        fingerprints[dump.name] = dump.fingerprint()
    changed = {d.scrape_date for d in dumps if seen.get(d.name) != fingerprints[d.name]}
    return InboxPlan({day: dumps_digest(by_date[day]) for day in sorted(changed)}, {**seen, **fingerprints})
