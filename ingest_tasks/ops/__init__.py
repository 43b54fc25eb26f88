"""Operations: Prometheus metrics and the local stack (`ingest up`/`down`).

May import: core, state, store, pipeline, bluegreen, lanes.
"""
