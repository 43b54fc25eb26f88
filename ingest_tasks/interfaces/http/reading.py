"""Reading the index: search (with a metadata `where` filter), the index's collections
and builds, and the lanes' queue depths and latency."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import ORJSONResponse
from pydantic import BaseModel, Field

from ingest_tasks.core.jsontext import json_object
from ingest_tasks.interfaces.client import IngestClient
from ingest_tasks.interfaces.http.auth import Reader
from ingest_tasks.interfaces.http.context import Client
from ingest_tasks.interfaces.http.errors import RESPONSES

router = APIRouter(prefix="/v1", tags=["index"], responses=RESPONSES)

MAX_K = 100


class SearchIn(BaseModel):
    """A query: its text, how many chunks, and a filter on their metadata."""

    q: str = Field(min_length=1, max_length=10_000)
    k: int = Field(5, ge=1, le=MAX_K)
    where: dict[str, Any] | None = Field(
        None, description='Chroma\'s filter on chunk metadata: {"team": "docs"}, $and, $or, '
                          "$eq, $ne, $gt, $gte, $lt, $lte, $in, $nin")


class HitOut(BaseModel):
    """A chunk found: its document, position, cosine similarity to the query and text; the
    caller's metadata, the fields the system wrote (version, model ...), the collection."""

    doc_id: str
    source: str
    chunk_index: int
    score: float
    text: str
    metadata: dict[str, Any]
    system: dict[str, Any]
    collection: str


def search(ingest: IngestClient, query: SearchIn) -> ORJSONResponse:
    """The hits of a query, best first. Sent as they are: the search is the hot path, so it
    skips FastAPI's validation of what it returns (HitOut documents the shape)."""
    hits = ingest.search(query.q, k=query.k, where=query.where)
    return ORJSONResponse([hit.to_dict() for hit in hits])


@router.post("/search", summary="Search the live collection", response_model=list[HitOut])
def search_post(body: SearchIn, ingest: Client, _: Reader) -> ORJSONResponse:
    """The k chunks nearest to `q`, best first, among those `where` admits."""
    return search(ingest, body)


@router.get("/search", summary="Search the live collection", response_model=list[HitOut])
def search_get(q: Annotated[str, Query(min_length=1, max_length=10_000)], ingest: Client,
               _: Reader, k: Annotated[int, Query(ge=1, le=MAX_K)] = 5,
               where: Annotated[str | None, Query(description="a JSON object (see POST)")] = None,
               ) -> ORJSONResponse:
    """As POST /v1/search, with `where` as JSON in the query string."""
    return search(ingest, SearchIn(q=q, k=k, where=parse_where(where)))


def parse_where(raw: str | None) -> dict | None:
    """A `where` given as JSON text; a ValueError (400) if it is not a JSON object."""
    if raw is None or not raw.strip():
        return None
    return json_object(raw, "where")


@router.get("/index", summary="The live collection, the kept ones, and a build")
def index(ingest: Client, _: Reader) -> dict:
    """The live collection and its model (readers resolve it here: it changes at every
    swap), the collections kept for rollback, and the newest build with its progress."""
    return ingest.index()


@router.get("/lanes", summary="Each lane's queue depth and latency")
def lanes(ingest: Client, _: Reader,
          window: Annotated[float | None, Query(gt=0, le=30 * 86400)] = None) -> list[dict]:
    """Queue depth, and submit -> searchable p50/p95/p99 over the last `window` seconds."""
    return ingest.lanes(window)
