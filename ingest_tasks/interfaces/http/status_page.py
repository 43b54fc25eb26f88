"""The status page: HTML rendered on the server from templates/, with no JavaScript at all.

`/` shows running and recent jobs with their progress and first failures, each lane's
queue depth and latency, the live collection and a build, and a search box whose results
(GET /?q=...) stay on the page. `/jobs/{id}` follows one job: it reloads itself (a
`<meta http-equiv="refresh">`) until the job ends, so a browser follows it without script.

A page wants a known key in the cookie auth.COOKIE, which the form at /login sets
(HttpOnly, SameSite=Strict); without one a page request is sent there (303). Every value
is escaped (autoescape): document ids, reasons and queries are hostile input.
"""

from __future__ import annotations

import time
from functools import cache
from pathlib import Path
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader

from ingest_tasks.core.errors import IngestError
from ingest_tasks.interfaces.client import IngestClient
from ingest_tasks.interfaces.http.auth import COOKIE, ApiKey, known
from ingest_tasks.interfaces.http.context import Client
from ingest_tasks.interfaces.http.reading import MAX_K, parse_where
from ingest_tasks.state.jobs import RUNNING

router = APIRouter(include_in_schema=False)

TEMPLATES = Path(__file__).with_name("templates")
HOME_REFRESH = 5  # seconds; only while no search is shown: a reload would wipe its results
JOB_REFRESH = 2  # seconds, while the job runs
RECENT_JOBS = 20
FIRST_FAILURES = 10  # failed documents listed under a job on `/`
FAILURES_PAGE = 50  # failed documents a page on a job's page
FAILURE_SCAN = 200  # the scan's step when looking for a few failures among many results
LANES_WINDOW = 15 * 60.0  # seconds of latency samples
MAX_CURSOR = 2**64 - 1  # Redis's HSCAN cursors
# No script runs, nothing loads from elsewhere, forms post only here, no framing.
HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; "
                               "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
}


@router.get("/", response_class=HTMLResponse)
def home(request: Request, q: Annotated[str, Query(max_length=10_000)] = "",
         k: Annotated[int, Query(ge=1, le=MAX_K)] = 5,
         where: Annotated[str, Query(max_length=10_000)] = "", *, ingest: Client) -> Response:
    """Jobs, lanes, the index, and a search's results; reloads itself unless it shows those."""
    key = viewer(request)
    if key is None:
        return redirect("/login")
    query, where = q.strip(), where.strip()
    hits, problem = search(ingest, query, k, where)
    recent = ingest.recent_jobs(RECENT_JOBS)
    return render(
        "home.html", key=key, q=query, k=k, where=where, hits=hits, search_problem=problem,
        running=[job for job in recent if job["status"] == RUNNING],
        ended=[job for job in recent if job["status"] != RUNNING],
        failures=first_failures(ingest, [job["job_id"] for job in recent if job["failed"]]),
        lanes=ingest.lanes(LANES_WINDOW), index=ingest.index(),
        refresh=None if query else HOME_REFRESH)


@router.get("/jobs/{job_id:path}", response_class=HTMLResponse)
def job_page(job_id: str, request: Request,
             cursor: Annotated[int, Query(ge=0, le=MAX_CURSOR)] = 0, *,
             ingest: Client) -> Response:
    """One job followed: progress, counts, failures by reason and a page of failed documents."""
    key = viewer(request)
    if key is None:
        return redirect("/login")
    state = ingest.job_status(job_id)
    if state is None:
        return render("missing.html", status=404, key=key, job_id=job_id)
    failed = failures_page(ingest, job_id, cursor)
    return render("job.html", key=key, job=state, summary=state.pop("summary", None) or {},
                  failed=failed["documents"], cursor=cursor, next_cursor=failed["next_cursor"],
                  refresh=JOB_REFRESH if state["status"] == RUNNING else None)


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request) -> Response:
    """The form asking for an API key (straight to `/` if the cookie holds one)."""
    if viewer(request):
        return redirect("/")
    return render("login.html", key=None)


@router.post("/login", response_class=HTMLResponse)
def login(request: Request, key: Annotated[str, Form()] = "") -> Response:
    """Keep a known key in an HttpOnly, SameSite=Strict cookie; the form again (401) if not."""
    secret = key.strip()
    if known(request, secret) is None:  # any scope may read
        return render("login.html", status=401, key=None, problem="unknown API key")
    response = redirect("/")
    response.set_cookie(COOKIE, secret, path="/", httponly=True, samesite="strict",
                        secure=request.url.scheme == "https")
    return response


@router.api_route("/logout", methods=["GET", "POST"])
def logout() -> Response:
    """Forget the key: clear the cookie, back to the form."""
    response = redirect("/login")
    response.delete_cookie(COOKIE, path="/", httponly=True, samesite="strict")
    return response


def viewer(request: Request) -> ApiKey | None:
    """The key in the page's cookie, if the server knows it (any scope may read)."""
    return known(request, request.cookies.get(COOKIE))


def search(ingest: IngestClient, text: str, k: int, where: str) -> tuple[list, str]:
    """A query's hits within a metadata filter (JSON, may be empty), or why there are none
    (a filter that is not one, no live collection yet, a service down)."""
    if not text:
        return [], ""
    try:
        return ingest.search(text, k=k, where=parse_where(where)), ""
    except IngestError as exc:
        return [], exc.reason
    except ValueError as exc:  # not JSON, or not an object
        return [], str(exc)


def first_failures(ingest: IngestClient, job_ids: list[str]) -> dict[str, list[dict]]:
    """The first few failed documents of each job, with their reasons."""
    found: dict[str, list[dict]] = {}
    for job_id in job_ids:
        try:
            page = ingest.job_documents(job_id, 0, FAILURE_SCAN, "failed")
        except KeyError:  # expired since it was listed
            continue
        if page["documents"]:
            found[job_id] = page["documents"][:FIRST_FAILURES]
    return found


def failures_page(ingest: IngestClient, job_id: str, cursor: int) -> dict:
    """A page of a job's failed documents and the next page's cursor (0: none)."""
    try:
        return ingest.job_documents(job_id, cursor, FAILURES_PAGE, "failed")
    except KeyError:
        return {"documents": [], "next_cursor": 0}


def redirect(path: str) -> Response:
    """303 See Other to a page of this server: a browser follows it with a GET."""
    return RedirectResponse(path, status_code=303, headers=HEADERS)


def render(template: str, status: int = 200, **context) -> HTMLResponse:
    """A page from its template, with the page's headers."""
    html = environment().get_template(template).render(**context)
    return HTMLResponse(html, status_code=status, headers=HEADERS)


@cache
def environment() -> Environment:
    """The templates, every value escaped; made on first use."""
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=True,
                      trim_blocks=True, lstrip_blocks=True)
    env.filters.update(when=when, span=span, latency=latency, segment=segment)
    return env


def when(stamp: float | str | None) -> str:
    """A Unix time in UTC, to the second ("" for none)."""
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(float(stamp))) if stamp else ""


def span(seconds: float | None) -> str:
    """A duration for people: 42 s, 3 min 05 s, 2 h 07 min."""
    if seconds is None:
        return "–"
    whole = round(float(seconds))
    if whole < 60:
        return f"{whole} s"
    if whole < 3600:
        return f"{whole // 60} min {whole % 60:02d} s"
    return f"{whole // 3600} h {whole % 3600 // 60:02d} min"


def latency(seconds: float | None) -> str:
    """A latency: 85 ms, 1.24 s."""
    if seconds is None:
        return "–"
    return f"{seconds * 1000:.0f} ms" if seconds < 1 else f"{seconds:.2f} s"


def segment(value: object) -> str:
    """A value as one URL path segment (a job id may hold / ? #)."""
    return quote(str(value), safe="")
