"""The vector store behind a small interface keyed by collection name.

base: the Store protocol and its records (ChunkRecord, Hit), the system's chunk metadata;
where: the `where` filters of a search, checked and run; chroma: ChromaStore, the Chroma
server; memory: MemoryStore, in this process, for fast tests.

May import: core.
"""
