"""The vector store behind a small interface keyed by collection name.

base: the Store protocol and its records (ChunkRecord, Hit); chroma: ChromaStore, the
Chroma server; memory: MemoryStore, in this process, for fast tests.

May import: core.
"""
