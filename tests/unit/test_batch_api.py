"""The Batch API's input files and answers (pipeline/embed/batch_api.py): pure functions."""

import json

import numpy as np
import pytest

from ingest_tasks.pipeline.embed.batch_api import ENDPOINT, answers, input_files

DOCS = {0: ["a", "b", "c"], 1: ["d"], 2: ["e", "f", "g", "h", "i"]}


def lines(data: bytes) -> list[dict]:
    return [json.loads(line) for line in data.splitlines()]


def test_a_request_holds_at_most_per_request_texts_of_one_document_in_order():
    (single,) = input_files(DOCS, "my-e5", 2, 100, 10**6)
    rows = lines(single.data)
    assert [row["custom_id"] for row in rows] == single.custom_ids == [
        "0/0", "0/1", "1/0", "2/0", "2/1", "2/2"]
    assert [row["body"]["input"] for row in rows] == [["a", "b"], ["c"], ["d"], ["e", "f"],
                                                      ["g", "h"], ["i"]]
    assert {(row["method"], row["url"], row["body"]["model"]) for row in rows} == {
        ("POST", ENDPOINT, "my-e5")}


@pytest.mark.parametrize("limit", ["requests", "bytes"])
def test_a_file_closes_before_a_document_that_would_pass_a_limit(limit):
    (whole,) = input_files(DOCS, "m", 2, 100, 10**6)
    first_two = sum(len(line) + 1 for line in whole.data.splitlines()[:3])
    requests, size = (4, 10**6) if limit == "requests" else (100, first_two + 10)
    files = input_files(DOCS, "m", 2, requests, size)
    assert [f.custom_ids for f in files] == [["0/0", "0/1", "1/0"], ["2/0", "2/1", "2/2"]]
    assert all(len(f.custom_ids) <= requests and len(f.data) <= size for f in files[:1])


def test_a_document_larger_than_a_file_still_goes_whole_into_one():
    files = input_files({7: ["x"] * 9}, "m", 1, 4, 10**6)
    assert [f.custom_ids for f in files] == [[f"7/{n}" for n in range(9)]]


def _line(custom_id: str, vectors=None, status=200, error=None) -> bytes:
    body = {"data": [{"index": i, "embedding": v} for i, v in enumerate(vectors or [])]}
    response = None if status is None else {"status_code": status, "body": body}
    return json.dumps({"custom_id": custom_id, "response": response, "error": error}).encode()


def test_answers_give_normalised_vectors_in_index_order_and_say_why_others_failed():
    data = b"\n".join([
        _line("0/0", [[3.0, 4.0], [0.0, 2.0]]),
        _line("1/0", status=None, error={"code": "batch_expired", "message": "too late"}),
        _line("2/0", [[1.0, 2.0, 3.0]]),  # another model's dimension
        _line("3/0", status=500, error={"code": "server_error", "message": "boom"}),
    ])
    found = dict(answers(data, dim=2))
    assert np.allclose(found["0/0"], [[0.6, 0.8], [0.0, 1.0]])
    assert found["1/0"] == "batch_expired: too late"
    assert found["2/0"] == "answer of shape (1, 3), not (n, 2)"
    assert found["3/0"] == "server_error: boom"
