"""Queue names and Redis key prefixes, in one place."""

STREAM_QUEUE = "stream"
BULK_QUEUE = "bulk"

KEY_PREFIX = "ingest:"
JOB_KEY = KEY_PREFIX + "job:"  # job:{id} hash of counters and fields
JOB_SUMMARY_KEY = KEY_PREFIX + "job-summary:"  # job-summary:{id} JSON summary
JOB_INDEX_KEY = KEY_PREFIX + "jobs"  # sorted set of job ids by creation time
VERSION_CLOCK_KEY = KEY_PREFIX + "version-clock"  # monotonic counter for assigned versions
