"""The vector store: the Chroma server behind a small interface keyed by collection name.

May import: core.
"""
