"""Planning a sync: a listing against the manifest, without reading any document.

New and changed documents (their stamp differs from the one sent) are sent at a version
above the one sent before; documents the manifest holds that the listing no longer has
get tombstones, within the listing's scope only. Unchanged documents cost nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from ingest_tasks.sync.entry import Entry
from ingest_tasks.sync.manifest import Sent


@dataclass
class Plan:
    """What a sync sends: documents with their versions, and tombstones."""

    upserts: list[tuple[Entry, int]] = field(default_factory=list)
    deletes: list[tuple[str, int]] = field(default_factory=list)  # relative path, version
    new: int = 0
    changed: int = 0
    unchanged: int = 0

    @property
    def empty(self) -> bool:
        """Whether there is nothing to send."""
        return not self.upserts and not self.deletes

    def counts(self) -> dict[str, int]:
        """The plan's counts, for reports and status."""
        return {"new": self.new, "changed": self.changed, "deleted": len(self.deletes),
                "unchanged": self.unchanged}

    def sent(self) -> list[tuple[str, Sent]]:
        """The manifest's entries once the plan is sent."""
        return [*((entry.relative, Sent(entry.stamp, version)) for entry, version in self.upserts),
                *((path, Sent("", version)) for path, version in self.deletes)]

    def to_dict(self) -> dict:
        """JSON-ready form, the sync's checkpoint."""
        return {"upserts": [[e.relative, e.location, e.stamp, e.modified, e.size, version]
                            for e, version in self.upserts],
                "deletes": [list(pair) for pair in self.deletes], **self.counts()}

    @classmethod
    def from_dict(cls, data: dict) -> Plan:
        """Inverse of to_dict."""
        upserts = [(Entry(*row[:5]), row[5]) for row in data["upserts"]]
        deletes = [(path, version) for path, version in data["deletes"]]
        return cls(upserts, deletes, data["new"], data["changed"], data["unchanged"])


def make_plan(listed: Iterable[Entry], manifest: Mapping[str, Sent],
              tombstone_versions: Callable[[int], range],
              under: list[str] | None = None) -> Plan:
    """The plan of a listing (within `under`, or the whole source) against the manifest.

    A tombstone's version comes from `tombstone_versions(n)` (the submit-time clock: after
    the document vanished) and is above the version sent before.
    """
    plan, seen = Plan(), set()
    for entry in listed:
        seen.add(entry.relative)
        before = manifest.get(entry.relative)
        if before is not None and before.stamp == entry.stamp:
            plan.unchanged += 1
            continue
        if before is None or before.deleted:
            plan.new += 1
        else:
            plan.changed += 1
        version = entry.modified if before is None else max(entry.modified, before.version + 1)
        plan.upserts.append((entry, version))
    inside = scope(under)
    vanished = [path for path, before in manifest.items()
                if not before.deleted and path not in seen and inside(path)]
    clock = iter(tombstone_versions(len(vanished)) if vanished else ())
    plan.deletes = [(path, max(next(clock), manifest[path].version + 1)) for path in sorted(vanished)]
    return plan


def scope(under: list[str] | None) -> Callable[[str], bool]:
    """The test of whether a relative path is at or below one of `under` (None: the whole
    source), each path in the time of its depth, not of the number of paths `under` names
    (a watcher's burst names thousands)."""
    scopes = None if under is None else {path.rstrip("/") for path in under}
    if scopes is None or "" in scopes:
        return lambda path: True

    def inside(path: str) -> bool:
        parts = path.split("/")
        return any("/".join(parts[:depth]) in scopes for depth in range(1, len(parts) + 1))

    return inside
