"""A job's phases from its groups' timelines."""

from ingest_tasks.core.timeline import Timeline, joined
from ingest_tasks.state.timelines import busy, phases


def group(worker, start, end, *spans):
    return {"worker": worker, "start": start, "end": end,
            "spans": [{"kind": kind, "start": a, "end": b} for kind, a, b in spans]}


def test_the_phases_of_a_job_from_its_groups_writes():
    groups = [
        group("w:1", 100.5, 104.0, ("parse", 100.5, 101.0), ("write", 101.0, 102.0),
              ("write", 103.0, 104.0)),
        group("w:2", 100.6, 103.5, ("parse", 100.6, 101.5), ("wait", 101.5, 102.0),
              ("write", 101.8, 102.5)),
    ]
    found = phases(100.0, 104.25, groups)
    assert found["groups"] == 2 and found["processes"] == 2
    assert found["submit_s"] == 0.5  # submitted to the first group starting
    assert found["first_write_s"] == 0.5
    assert found["steady_s"] == 3.0  # first write's start to the last one's end
    assert found["tail_s"] == 0.25
    assert found["store_busy"] == round(2.5 / 3.0, 3)  # writes overlap from 101.8 to 102.0
    assert found["work_s"] == {"parse": 1.4, "wait": 0.5, "write": 2.7}


def test_a_job_that_wrote_nothing_has_no_write_phases():
    found = phases(10.0, 11.0, [group("w:1", 10.2, 10.9, ("parse", 10.2, 10.9))])
    assert "steady_s" not in found and found["submit_s"] == 0.2
    assert phases(10.0, 11.0, []) == {}


def test_busy_is_the_union_of_intervals():
    assert busy([(0, 1), (0.5, 2), (3, 4), (3.2, 3.5)]) == 3.0


def test_a_timeline_records_spans_with_their_facts():
    timeline = Timeline()
    with timeline.span("parse", doc="a") as facts:
        facts["chunks"] = 3
    recorded = timeline.to_dict()
    (span,) = recorded["spans"]
    assert (span["kind"], span["doc"], span["chunks"]) == ("parse", "a", 3)
    assert recorded["start"] <= span["start"] <= span["end"] <= recorded["end"]  # all rounded alike


def test_spans_of_a_kind_back_to_back_are_joined_with_their_chunks_summed():
    spans = [{"kind": "parse", "start": 1.0, "end": 1.5, "doc": "a", "chunks": 3},
             {"kind": "embed", "start": 1.5, "end": 1.6, "chunks": 3},
             {"kind": "parse", "start": 1.501, "end": 2.0, "doc": "b", "chunks": 4},
             {"kind": "parse", "start": 2.5, "end": 2.6, "doc": "c", "chunks": 1}]
    assert joined(spans) == [
        {"kind": "parse", "start": 1.0, "end": 2.0, "chunks": 7},
        {"kind": "embed", "start": 1.5, "end": 1.6, "chunks": 3},
        {"kind": "parse", "start": 2.5, "end": 2.6, "doc": "c", "chunks": 1}]
