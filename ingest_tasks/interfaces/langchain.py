"""A LangChain retriever over the live collection (the `langchain` extra: langchain-core).

Each query resolves the alias anew, so the retriever keeps answering across a swap and
answers from the new collection, with the new model's query vector, once the swap is done
(docs/live-collection.md). Only this module imports langchain_core.
"""

from __future__ import annotations

from typing import Any

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever

from ingest_tasks.interfaces.client import IngestClient
from ingest_tasks.pipeline.chunk import chunk_id
from ingest_tasks.store.base import Hit


class IngestRetriever(BaseRetriever):
    """The k chunks nearest to a query in the live collection, as LangChain Documents.

    A Document's page_content is the chunk's text; its metadata is the chunk's as written
    (doc_id, source, chunk_index, version, model, content_hash, ...) with the `score`
    (cosine similarity, 1 - the cosine distance) and the `collection` it was found in.

        retriever = IngestRetriever(client=IngestClient(), k=4)
        retriever.invoke("how do I rotate keys?")
    """

    client: IngestClient
    k: int = 4

    def _get_relevant_documents(self, query: str, *,
                                run_manager: CallbackManagerForRetrieverRun) -> list[Document]:
        """Search the live collection, resolved for this query."""
        return [as_document(hit) for hit in self.client.search(query, k=self.k)]


def as_document(hit: Hit) -> Document:
    """A search hit as a LangChain Document, its id the chunk's id."""
    metadata: dict[str, Any] = {**hit.system, **hit.metadata, "doc_id": hit.doc_id, "source": hit.source,
                                "chunk_index": hit.chunk_index, "score": hit.score,
                                "collection": hit.collection}
    return Document(page_content=hit.text, metadata=metadata,
                    id=chunk_id(hit.doc_id, hit.chunk_index))
