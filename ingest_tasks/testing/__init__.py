"""Tools for tests and benchmarks, off the runtime path: an OpenAI-compatible embedding
server to test against, private stacks, and waiting for a busy worker.

May import: every other package.
"""
