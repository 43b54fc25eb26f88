"""Queue names and Redis key prefixes, in one place."""

STREAM_QUEUE = "stream"
BULK_QUEUE = "bulk"

KEY_PREFIX = "ingest:"
JOB_KEY = KEY_PREFIX + "job:"  # job:{id} hash of counters and fields
JOB_SUMMARY_KEY = KEY_PREFIX + "job-summary:"  # job-summary:{id} JSON summary
JOB_INDEX_KEY = KEY_PREFIX + "jobs"  # sorted set of job ids by creation time
JOB_DOCS_KEY = KEY_PREFIX + "job-docs:"  # job-docs:{id} hash doc id -> its last ProcessingResult JSON
DOC_KEY = KEY_PREFIX + "doc:"  # doc:{collection}:{doc_id} hash: version, state, content hash
UNRECORDED_KEY = KEY_PREFIX + "unrecorded:"  # unrecorded:{collection} hash doc_id -> chunks written, not recorded
LOCK_KEY = KEY_PREFIX + "lock:"  # lock:{collection}:{doc_id} commit lock, a lease (locks.py)
WRITER_KEY = KEY_PREFIX + "writer:"  # writer:{collection}:{slot} turn of a bulk writer, a lease
VERSION_CLOCK_KEY = KEY_PREFIX + "version-clock"  # last version the submit-time clock gave
LATENCY_KEY = KEY_PREFIX + "latency:"  # latency:{lane} capped list of latency samples
# embedding-dim:{service URL}|{model} the length of an api: model's vectors, as its service said
EMBEDDING_DIM_KEY = KEY_PREFIX + "embedding-dim:"
RATE_KEY = KEY_PREFIX + "rate:"  # rate:{name} hash of a fleet-wide token bucket: tokens, at
COUNTERS_KEY = KEY_PREFIX + "counters"  # hash of metric counters, field kind|label|...
ALIAS_KEY = KEY_PREFIX + "alias:"  # alias:{collection prefix} hash: the live collection, model, build
HISTORY_KEY = KEY_PREFIX + "alias-history:"  # alias-history:{prefix} earlier live collections, newest first
GATE_KEY = KEY_PREFIX + "gate:"  # gate:{collection} closed to "bulk" or "all" writers by a swap
WRITERS_KEY = KEY_PREFIX + "writers:"  # writers:{collection} sorted set of writers inside (leases), by expiry
FEEDS_KEY = KEY_PREFIX + "feeds:"  # feeds:{collection} set of collections its changes are owed to
CHANGES_KEY = KEY_PREFIX + "changes:"  # changes:{collection} hash doc_id -> sequence of its change
CHANGE_SEQ_KEY = KEY_PREFIX + "change-seq"  # counter ordering the changes
BUILD_KEY = KEY_PREFIX + "build:"  # build:{collection prefix} hash: the newest re-embedding build
SOURCES_QUEUE = "sources"  # syncs a schedule starts: a pool of their own, never in a lane's way
SOURCE_KEY = KEY_PREFIX + "source:"  # source:{name}:manifest|run|plan|last|lock|watcher (sync/)
SOURCES_KEY = KEY_PREFIX + "sources"  # sorted set of names of sources synced, by last sync
BEAT_KEY = KEY_PREFIX + "beat:"  # beat:{collection prefix}:{source} the beat's (redbeat's) entries
EMBED_BATCH_KEY = KEY_PREFIX + "embed-batch:"  # embed-batch:{job}:{run}:{group}[:docs] a group awaiting a Batch API
EMBED_BATCHES_KEY = KEY_PREFIX + "embed-batches:"  # embed-batches:{collection prefix} sorted set of open ones
