"""How people and programs reach ingest-tasks: the Python client and the `ingest` CLI.

May import: every other package.
"""
