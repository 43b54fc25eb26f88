"""A job's wall time by phase, from the timelines its groups recorded (core.timeline).

- submit: from the job's submission to its first group starting in a worker;
- first_write: from there to the first store write starting;
- steady: from the first store write starting to the last one ending;
- tail: from the last store write ending to the summary.

With how busy the store was in the steady phase (the union of every group's writes: 1.0
is a store never idle) and the seconds the groups spent on each kind of work, summed over
processes and threads. docs/benchmarks.md draws a job's timeline and reads it.
"""

from __future__ import annotations

from collections import defaultdict


def phases(started: float, finished: float, groups: list[dict]) -> dict:
    """The phases of a job submitted at `started` and summarized at `finished` (epoch s)."""
    if not groups:
        return {}
    spans = [span for group in groups for span in group["spans"]]
    writes = sorted((span["start"], span["end"]) for span in spans if span["kind"] == "write")
    first_task = min(group["start"] for group in groups)
    seconds: defaultdict[str, float] = defaultdict(float)
    for span in spans:
        seconds[span["kind"]] += span["end"] - span["start"]
    found = {"groups": len(groups), "processes": len({group["worker"] for group in groups}),
             "submit_s": first_task - started,
             "work_s": dict(sorted(seconds.items()))}
    if writes:
        first_write, last_write = writes[0][0], max(end for _, end in writes)
        steady = last_write - first_write
        found.update(first_write_s=first_write - first_task, steady_s=steady,
                     tail_s=finished - last_write,
                     store_busy=busy(writes) / steady if steady > 0 else 1.0)
    return _rounded(found)


def busy(intervals: list[tuple[float, float]]) -> float:
    """Seconds covered by the union of sorted intervals."""
    total, reach = 0.0, float("-inf")
    for start, end in intervals:
        if end > reach:
            total += end - max(start, reach)
            reach = end
    return total


def _rounded(value):
    if isinstance(value, float):
        return round(value, 3)
    if isinstance(value, dict):
        return {key: _rounded(item) for key, item in value.items()}
    return value
