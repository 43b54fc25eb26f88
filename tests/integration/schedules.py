"""Seeded random schedules of changes to a tree of documents, and their application to a
folder (as people and editors change files) or to an S3 prefix (as writers change objects).

A schedule first makes `files` documents in a few folders, then changes them: edits (one
write or several in a row), additions, deletions, renames (some onto the name of a file
deleted before), and editor-style saves (a hidden temporary file renamed onto the name).
`Model` follows what the tree should hold; every text is unique, so the index can be
compared with the tree by content.
"""

from __future__ import annotations

import os
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from ingest_tasks.pipeline.parse import parse
from ingest_tasks.pipeline.sources import content_hash

SEED = 17  # the acceptance tests' schedule
TOPICS = ["kelp", "barnacles", "lighthouses", "orreries", "glaciers", "typefaces", "sourdough",
          "tide pools", "beekeeping", "moss"]


@dataclass(frozen=True)
class Op:
    """One change: `kind` add, edit, delete, rename or save, at `path` (rename: to `to`);
    `texts` are the contents written in a row (the last one stays)."""

    kind: str
    path: str
    to: str = ""
    texts: tuple[str, ...] = ()


@dataclass
class Model:
    """What the tree holds after the operations so far: path -> text."""

    files: dict[str, str] = field(default_factory=dict)

    def apply(self, op: Op) -> None:
        """Follow one operation."""
        if op.kind in ("add", "edit", "save"):
            self.files[op.path] = op.texts[-1]
        elif op.kind == "delete":
            del self.files[op.path]
        elif op.kind == "rename":
            self.files[op.to] = self.files.pop(op.path)

    def expected(self, doc_prefix: str = "") -> dict[str, str]:
        """doc id -> content hash of each document, as the index must hold it."""
        return {doc_prefix + path: content_hash(parse(text.encode(), path).text)
                for path, text in self.files.items()}


def schedule(seed: int, files: int = 300, changes: int = 150) -> Iterator[Op]:
    """The operations of a seeded schedule: `files` additions, then `changes` changes."""
    rng, model, deleted, made = random.Random(seed), Model(), [], [0]

    def text(path: str) -> str:
        made[0] += 1
        topic = rng.choice(TOPICS)
        return (f"# {path}\n\nRevision {made[0]} of {path}: a field note on {topic}, "
                f"{rng.randint(1, 10**9)} observed.\n")

    def new_path() -> str:
        made[0] += 1
        return f"folder-{rng.randrange(8)}/doc-{made[0]:05d}.md"

    for _ in range(files):
        path = new_path()
        op = Op("add", path, texts=(text(path),))
        model.apply(op)
        yield op
    for _ in range(changes):
        kind = rng.choices(["edit", "add", "delete", "rename", "save"], [4, 1, 1, 2, 2])[0]
        path = rng.choice(sorted(model.files))
        if kind == "add":
            path = new_path()
            op = Op("add", path, texts=(text(path),))
        elif kind == "edit":
            op = Op("edit", path, texts=tuple(text(path) for _ in range(rng.choice([1, 1, 3]))))
        elif kind == "save":
            op = Op("save", path, texts=(text(path),))
        elif kind == "delete":
            deleted.append(path)
            op = Op("delete", path)
        else:
            free = [name for name in deleted if name not in model.files]
            to = rng.choice(free) if free and rng.random() < 0.5 else new_path()
            op = Op("rename", path, to)
        model.apply(op)
        yield op


def apply_to_folder(root: Path, op: Op) -> None:
    """Make the change in a folder, as a person or an editor would."""
    path = root / op.path
    if op.kind in ("add", "edit"):
        path.parent.mkdir(parents=True, exist_ok=True)
        for text in op.texts:
            path.write_text(text)
    elif op.kind == "save":  # write a hidden temporary file, then rename it onto the name
        temp = path.with_name(f".{path.name}.tmp")
        temp.write_text(op.texts[-1])
        os.replace(temp, path)
    elif op.kind == "delete":
        path.unlink()
    elif op.kind == "rename":
        (root / op.to).parent.mkdir(parents=True, exist_ok=True)
        os.replace(path, root / op.to)


def apply_to_bucket(s3, bucket: str, prefix: str, op: Op) -> None:
    """Make the change in an S3 prefix (`s3`: a boto3 client), as writers would."""
    key = f"{prefix}/{op.path}"
    if op.kind in ("add", "edit"):
        for text in op.texts:
            s3.put_object(Bucket=bucket, Key=key, Body=text.encode())
    elif op.kind == "save":  # an upload under a temporary name, then copied onto the key
        temp = f"{prefix}/.uploads/{op.path}"
        s3.put_object(Bucket=bucket, Key=temp, Body=op.texts[-1].encode())
        s3.copy_object(Bucket=bucket, Key=key, CopySource={"Bucket": bucket, "Key": temp})
        s3.delete_object(Bucket=bucket, Key=temp)
    elif op.kind == "delete":
        s3.delete_object(Bucket=bucket, Key=key)
    elif op.kind == "rename":
        s3.copy_object(Bucket=bucket, Key=f"{prefix}/{op.to}",
                       CopySource={"Bucket": bucket, "Key": key})
        s3.delete_object(Bucket=bucket, Key=key)
