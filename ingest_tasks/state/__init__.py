"""State kept in Redis: the document registry, leases (commit locks, writers' turns),
the version clock, the change log, job state, latency samples, the live-collection
alias with its writer gate, and the fleet-wide rate limiter.

May import: core.
"""
