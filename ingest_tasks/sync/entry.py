"""What a listing yields: one Entry per document, from stat or object metadata alone.

The stamp tells whether a document changed since it was last sent: a folder's file by
its modification time, size and inode (an editor's save-by-rename makes a new inode),
an S3 object by its ETag and LastModified. `modified` (nanoseconds) is the version the
document asks for; the manifest may raise it (see plan).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Entry:
    """One listed document: its path under the source, where a worker reads it, and its stamp."""

    relative: str  # POSIX path under the source: the doc id without the source's prefix
    location: str  # an absolute file path, or s3://bucket/key
    stamp: str
    modified: int  # nanoseconds since the epoch
    size: int

