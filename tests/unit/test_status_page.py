"""The status page without a stack: the login form and its cookie, escaping, reloading.

FastAPI's TestClient over a stand-in for IngestClient that answers what the page asks;
tests/integration/test_status_page.py drives the real page in a browser over the stack.
"""

import copy

import pytest
from fastapi.testclient import TestClient

from ingest_tasks.core.settings import get_settings
from ingest_tasks.interfaces.http import auth
from ingest_tasks.interfaces.http.api import create_api
from ingest_tasks.store.base import Hit

HOSTILE = '<script>alert("owned")</script>'
RUNNING_ID, ENDED_ID, SLASHED_ID = "job-running", "job-ended", "team/a?b#c"


def job(job_id: str, status: str, failed: int = 0) -> dict:
    """A job's state as jobs.progress gives it."""
    return {"job_id": job_id, "status": status, "run": 1, "total": 10, "done": 4, "failed": failed,
            "committed": 4 - failed, "deleted": 0, "unchanged": 0, "superseded": 0, "chunks": 12,
            "groups": 2, "chords": 1, "sent": 1, "queue_depth": 3, "waiting": 1,
            "docs_per_second": 2.0, "eta_seconds": 3.0, "created": 1_790_000_000.0,
            "sources": ["/data/" + HOSTILE], "model": "", "yielded_seconds": 0.0}


class Ingest:
    """What the page calls of IngestClient, with canned answers."""

    def __init__(self, settings):
        self.settings = settings
        self.jobs = {RUNNING_ID: job(RUNNING_ID, "running", failed=1),
                     ENDED_ID: job(ENDED_ID, "finished"), SLASHED_ID: job(SLASHED_ID, "finished")}
        self.failures = [{"doc_id": HOSTILE, "status": "failed", "reason": "corrupt: " + HOSTILE}]
        self.searched: list[tuple[str, int, dict | None]] = []
        self.batches: list[dict] = []  # the embedding batches in flight

    def recent_jobs(self, limit=20):
        return [copy.deepcopy(state) for state in self.jobs.values()][:limit]

    def job_status(self, job_id):
        state = copy.deepcopy(self.jobs.get(job_id))
        if state and state["status"] == "finished":
            state["summary"] = {"tokens": 99, "wall_seconds": 5.0, "yielded_seconds": 0.0,
                                "failures_by_reason": {HOSTILE: 1}, "documents": [],
                                "phases": {"submit_s": 0.04, "first_write_s": 0.25,
                                           "steady_s": 4.6, "tail_s": 0.11, "store_busy": 0.874}}
        return state

    def job_documents(self, job_id, cursor=0, limit=100, status=None):
        failed = self.failures if self.jobs[job_id]["failed"] else []
        return {"job_id": job_id, "documents": failed, "next_cursor": 0}

    def lanes(self, window=None):
        return [{"lane": "stream", "samples": 3, "p50": 0.2, "p95": 0.8, "p99": 1.5, "depth": 0},
                {"lane": "bulk", "samples": 0, "depth": 7}]

    def index(self):
        return {"live": {"collection": "test-minilm-b1", "model": "minilm"}, "previous": [],
                "build": None, "build_job": None, "embedding_batches": self.batches}

    def search(self, text, k=5, where=None):
        self.searched.append((text, k, where))
        return [Hit(HOSTILE, "/data/x.md", 0, 0.91, "a chunk with " + HOSTILE, {"team": HOSTILE})]


@pytest.fixture
def keys():
    """Two keys the server knows: (read secret, admin secret), and their entries."""
    read, read_entry = auth.new_key("viewer", auth.READ)
    admin, admin_entry = auth.new_key("root", auth.ADMIN)
    return read, admin, f"{read_entry},{admin_entry}"


@pytest.fixture
def ingest(keys):
    return Ingest(get_settings().model_copy(update={"api_keys": keys[2]}))


@pytest.fixture
def http(ingest):
    with TestClient(create_api(ingest)) as http:
        yield http


def log_in(http, secret):
    return http.post("/login", data={"key": secret}, follow_redirects=False)


@pytest.mark.parametrize("path", ["/", "/?q=cranes", f"/jobs/{RUNNING_ID}"])
def test_a_page_without_a_known_key_is_sent_to_the_login_form(http, path):
    assert http.get("/login").status_code == 200
    for cookies in ({}, {auth.COOKIE: "ik_not-a-key"}):
        http.cookies.clear()
        http.cookies.update(cookies)
        response = http.get(path, follow_redirects=False)
        assert response.status_code == 303 and response.headers["location"] == "/login"


def test_a_wrong_key_shows_the_form_again(http):
    response = log_in(http, "ik_wrong")
    assert response.status_code == 401
    assert "unknown API key" in response.text and 'name="key"' in response.text
    assert "set-cookie" not in response.headers


def test_a_known_key_is_kept_in_an_httponly_strict_cookie_until_logout(http, keys):
    response = log_in(http, keys[0])
    assert response.status_code == 303 and response.headers["location"] == "/"
    cookie = response.headers["set-cookie"]
    assert cookie.startswith(f"{auth.COOKIE}={keys[0]};")
    assert {"HttpOnly", "SameSite=strict", "Path=/"} <= {part.strip() for part in cookie.split(";")}
    assert "secure" not in cookie.lower()  # plain http here; set over https
    page = http.get("/")
    assert page.status_code == 200 and "key viewer (read)" in page.text
    assert http.get("/login", follow_redirects=False).headers["location"] == "/"

    assert http.post("/logout", follow_redirects=False).headers["location"] == "/login"
    assert http.get("/", follow_redirects=False).status_code == 303


def test_every_value_is_escaped_and_no_script_may_run(http, keys, ingest):
    log_in(http, keys[1])
    for path in ["/", "/?q=" + HOSTILE, f"/jobs/{RUNNING_ID}", f"/jobs/{ENDED_ID}",
                 "/jobs/" + HOSTILE.replace("/", "%2F")]:
        response = http.get(path)
        assert "<script" not in response.text.lower(), path
        assert "&lt;script&gt;" in response.text, path
        policy = response.headers["content-security-policy"]
        assert "default-src 'none'" in policy and "script-src" not in policy
        assert response.headers["cache-control"] == "no-store"
    assert ingest.searched == [(HOSTILE, 5, None)]


def test_the_main_page_reloads_itself_unless_it_shows_a_search(http, keys, ingest):
    log_in(http, keys[0])
    page = http.get("/").text
    assert '<meta http-equiv="refresh" content="5">' in page
    assert 'id="running-jobs"' in page and 'id="recent-jobs"' in page
    assert "corrupt: &lt;script&gt;" in page  # the running job's first failure
    assert "200 ms" in page and "1.50 s" in page  # the stream lane's p50 and p99

    found = http.get("/", params={"q": "cranes", "k": 3}).text
    assert "http-equiv" not in found and 'id="search-results"' in found
    assert ingest.searched == [("cranes", 3, None)]


def test_the_main_page_lists_the_embedding_batches_in_flight(http, keys, ingest):
    log_in(http, keys[0])
    assert 'id="embedding-batches"' not in http.get("/").text
    ingest.batches = [{"job_id": RUNNING_ID, "group": 3, "created": 1.0, "documents": 64,
                       "batches": [{"id": "batch_abc", "status": "in_progress", "attempt": 2,
                                    "documents": 64}]}]
    page = http.get("/").text
    assert 'id="embedding-batches"' in page
    assert "batch_abc" in page and "in_progress" in page and "<td>64</td><td>2</td>" in page


def test_a_job_page_reloads_while_the_job_runs_and_not_after(http, keys):
    log_in(http, keys[0])
    running = http.get(f"/jobs/{RUNNING_ID}").text
    assert '<meta http-equiv="refresh" content="2">' in running
    assert 'id="job-status" class="status-running">running' in running
    ended = http.get(f"/jobs/{ENDED_ID}").text
    assert "http-equiv" not in ended and ">finished<" in ended
    assert 'id="failures-by-reason"' in ended
    phases = ended.split('id="phases"')[1].split("</table>")[0]  # where the time went
    assert [cell.split("<")[0] for cell in phases.split('<td class="n">')[1:]] == [
        "40 ms", "250 ms", "4.60 s", "110 ms", "87%"]
    assert http.get("/jobs/no-such-job").status_code == 404


def test_a_job_id_is_one_path_segment_in_links(http, keys):
    log_in(http, keys[0])
    link = "/jobs/team%2Fa%3Fb%23c"
    assert f'href="{link}"' in http.get("/").text
    page = http.get(link)
    assert page.status_code == 200 and "team/a?b#c</span>" in page.text


def test_the_search_box_filters_by_metadata_and_says_why_a_filter_is_refused(http, keys, ingest):
    log_in(http, keys[0])
    page = http.get("/", params={"q": "cranes", "k": 3, "where": '{"team": "docs"}'})
    assert ingest.searched[-1] == ("cranes", 3, {"team": "docs"})
    assert "team=" in page.text and HOSTILE not in page.text  # the metadata, escaped
    refused = http.get("/", params={"q": "cranes", "where": "[1]"})
    assert "The search failed: where must be a JSON object" in refused.text
