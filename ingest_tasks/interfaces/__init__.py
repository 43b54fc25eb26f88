"""How people and programs reach ingest-tasks: the Python client, the `ingest` CLI, and
(with the langchain extra) a LangChain retriever of the live collection.

May import: every other package.
"""
