"""ingest-tasks: keep a RAG vector index fresh through a stream lane and a bulk lane."""
