"""Producer backpressure: a batch job is sent in chords that fit under the bulk queue's high-water mark.

The submitter sends a chord of at most (high - low) groups whenever the bulk queue
holds no more than the low-water mark, so the queue never holds more than the high
mark because of one job, and a job of any size costs the broker a bounded amount of
memory. While it waits, the job's state says so (`ingest status` shows it).
"""

from __future__ import annotations

from collections.abc import Callable

from ingest_tasks.core.keys import BULK_QUEUE
from ingest_tasks.core.polling import poll_until


def queue_depth(app, queue: str = BULK_QUEUE) -> int:
    """Messages waiting in a queue, read through the broker (Redis or AMQP alike)."""
    with app.connection_for_read() as conn:
        try:
            return conn.default_channel.queue_declare(queue=queue, passive=True).message_count
        except conn.channel_errors:  # no such queue: never declared, or (Redis) drained
            return 0


def segment_size(settings) -> int:
    """Groups per chord: what fits between the low- and the high-water mark."""
    return settings.bulk_queue_high_water - settings.bulk_queue_low_water


def wait_for_room(app, settings, report: Callable[[int, bool], bool],
                  poll: float = 0.25) -> bool:
    """Wait until the bulk queue is at or below the low-water mark; True then.

    `report(depth, waiting)` is told each reading; if it returns False (the job was run
    again elsewhere: this producer's run is stale), so does this, at once.
    """

    def room() -> str | None:
        depth = queue_depth(app)
        waiting = depth > settings.bulk_queue_low_water
        if not report(depth, waiting):
            return "stale"
        return None if waiting else "room"

    return poll_until(room, None, "room in the bulk queue", poll) == "room"
