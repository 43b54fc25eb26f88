"""The LangChain retriever follows the alias: a swap and a rollback move its answers, on a
MemoryStore and the real Redis, with the real models (wordllama, then all-MiniLM-L6-v2)."""

from ingest_tasks.bluegreen import reembed
from ingest_tasks.bluegreen.copying import copy_documents
from ingest_tasks.bluegreen.swap import rollback, swap_to
from ingest_tasks.interfaces.client import IngestClient
from tests.extras import require
from tests.tasks.in_memory import MODEL, TOPICS, memory_resources, submit, text

require("langchain_core", "langchain")

from ingest_tasks.interfaces.langchain import IngestRetriever  # noqa: E402

NEW = "all-MiniLM-L6-v2"
QUERY = "where do spotted ocelots hunt at dusk?"


def test_the_retriever_answers_from_the_live_collection_before_and_after_a_swap():
    with memory_resources() as resources:
        for topic in TOPICS:
            submit(resources, topic, text(topic), version=1)
        client = IngestClient(resources.settings)
        client.resources = resources  # the MemoryStore's
        retriever = IngestRetriever(client=client, k=3)
        first = client.live()

        before = retriever.invoke(QUERY)
        assert [d.metadata["doc_id"] for d in before][:1] == ["ocelots"]
        top = before[0]
        assert top.id == "ocelots#0" and "ocelots prowl" in top.page_content
        assert top.metadata["model"] == MODEL and top.metadata["collection"] == first.collection
        assert top.metadata["version"] == 1 and top.metadata["source"] == "ocelots.md"
        assert 0 < top.metadata["score"] <= 1
        assert [d.metadata["score"] for d in before] == sorted(
            (d.metadata["score"] for d in before), reverse=True)

        build = reembed.begin(resources, NEW, "b1")
        copy_documents([ref.doc_id for ref in reembed.to_copy(resources, build)], build.source,
                       build.target, resources)
        swap_to(resources, build.target)
        after = retriever.invoke(QUERY)[0]
        assert client.live().collection == build.target.collection != first.collection
        assert after.metadata["doc_id"] == "ocelots" and after.metadata["model"] == NEW
        assert after.metadata["collection"] == build.target.collection

        rollback(resources)
        back = retriever.invoke(QUERY)[0]
        assert back.metadata["doc_id"] == "ocelots" and back.metadata["model"] == MODEL
        assert back.metadata["collection"] == first.collection
