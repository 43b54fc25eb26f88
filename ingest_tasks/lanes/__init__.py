"""The two Celery lanes: the app and its queues (app), the task shells (tasks), sending
a batch job in bounded chords (batch, backpressure), the bulk lane yielding to the
stream lane (yielding), handles to wait on, and the workers' log lines (worklog).

May import: core, state, store, pipeline, bluegreen.
"""
