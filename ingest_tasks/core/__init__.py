"""The ground every other package stands on: settings, the error tree, Redis key names,
document outcomes (ProcessingResult) and the one polling loop.

May import: nothing of ingest_tasks.
"""
