"""Hostile sources and ids: paths that escape their roots, files that are no files, sizes
past the limits, crafted inline content, ids no document may have."""

from __future__ import annotations

import base64
import os
from pathlib import Path

import pytest

from ingest_tasks.core.errors import InvalidDocId, SourceError, SourceOutsideRoots, TooLarge
from ingest_tasks.core.settings import Settings
from ingest_tasks.interfaces.client import IngestClient
from ingest_tasks.pipeline.docids import check_doc_id
from ingest_tasks.pipeline.roots import check_opened
from ingest_tasks.pipeline.sources import DocRef, read_source

MiB = 1024 * 1024


@pytest.fixture
def root(tmp_path) -> Path:
    """The one source root, holding one good document."""
    folder = tmp_path / "root"
    folder.mkdir()
    (folder / "good.md").write_text("# Good\n\nA document inside the root.\n")
    return folder


def read(path: str | Path, *roots: Path, **settings) -> bytes:
    """read_source of a reference to `path`, as a worker with these roots reads it."""
    ours = Settings(source_roots=os.pathsep.join(map(str, roots)), **settings)
    return read_source(DocRef("doc.md", str(path)), ours)


# --- paths that escape their roots ---


def test_a_file_under_a_root_is_read(root, tmp_path):
    assert read(root / "good.md", root).startswith(b"# Good")
    (tmp_path / "link-to-root").symlink_to(root)  # a root reached through a symlink
    assert read(tmp_path / "link-to-root" / "good.md", tmp_path / "link-to-root")


@pytest.mark.parametrize("path", ["/etc/shadow", "/etc/passwd", "/proc/self/environ"])
def test_system_files_are_outside_the_roots(root, path):
    with pytest.raises(SourceOutsideRoots, match=f"^{path} .*under none of the source roots "
                                                 f"\\({root}\\)$"):
        read(path, root)


def test_dot_dot_is_resolved_before_the_check(root):
    path = f"{root}/../../../../../../etc/passwd"
    with pytest.raises(SourceOutsideRoots, match=f"^{path} resolves to /etc/passwd, which is "
                                                 "under none of the source roots"):
        read(path, root)


def test_a_symlink_out_of_a_root_is_refused(root):
    (root / "notes.md").symlink_to("/etc/passwd")
    with pytest.raises(SourceOutsideRoots, match="notes.md resolves to /etc/passwd, which is"):
        read(root / "notes.md", root)


def test_a_folder_swapped_for_a_symlink_after_the_check_is_caught_once_opened(root, tmp_path):
    outside = tmp_path / "outside.md"
    outside.write_text("secret")
    fd = os.open(outside, os.O_RDONLY)  # what a worker would hold had the swap won the race
    try:
        with pytest.raises(SourceOutsideRoots, match="resolves to .*outside.md, which is under"):
            check_opened(fd, root / "good.md", [root])
    finally:
        os.close(fd)


def test_without_roots_no_file_is_read(root):
    with pytest.raises(SourceOutsideRoots, match="no source roots are set \\(INGEST_SOURCE_ROOTS"
                                                 "\\): workers read no files"):
        read(root / "good.md")


@pytest.mark.parametrize("path, error, reason", [
    ("good.md", SourceOutsideRoots, "good.md is a relative path"),
    ("/tmp/a\x00b.md", SourceError, "embedded null byte"),
])
def test_odd_paths_are_refused(root, path, error, reason):
    with pytest.raises(error, match=reason):
        read(path, root)


def test_a_symlink_loop_is_refused(root):
    (root / "a.md").symlink_to(root / "b.md")
    (root / "b.md").symlink_to(root / "a.md")
    with pytest.raises(SourceError, match="a.md"):
        read(root / "a.md", root)


def test_things_that_are_not_regular_files_are_refused_unread(root):
    os.mkfifo(root / "pipe.md")  # opening it for reading would block without O_NONBLOCK
    (root / "folder.md").mkdir()
    for name in ("pipe.md", "folder.md"):
        with pytest.raises(SourceError, match=f"{name} is not a regular file$"):
            read(root / name, root)
    with pytest.raises(SourceError, match="^/dev/zero is not a regular file$"):
        read("/dev/zero", Path("/dev"))  # stat says 0 bytes; reading it would never end


# --- sizes ---


@pytest.mark.parametrize("name, size, limit, setting", [
    ("big.html", 50 * MiB, 4 * MiB, "INGEST_MAX_HTML_BYTES"),
    ("big.txt", 70 * MiB, 64 * MiB, "INGEST_MAX_DOCUMENT_BYTES"),
])
def test_files_past_their_size_limit_are_refused_unread(root, name, size, limit, setting):
    with open(root / name, "wb") as sparse:  # no disk space, and never read
        sparse.truncate(size)
    with pytest.raises(TooLarge, match=f"{name} is {size:,} bytes, over the limit of {limit:,} "
                                       f"\\({setting}\\)$"):
        read(root / name, root)


def test_inline_content_past_the_inline_limit_is_refused_undecoded():
    content = base64.b64encode(b"x" * (256 * 1024 + 1)).decode()
    with pytest.raises(TooLarge, match=r"^inline content of 262,145 bytes is over the limit of "
                                       r"262,144 \(INGEST_INLINE_MAX_BYTES\)$"):
        read_source(DocRef("note.md", "note.md", content=content), Settings())


def test_inline_content_that_is_not_base64_is_refused():
    with pytest.raises(SourceError, match="^inline content is not base64"):
        read_source(DocRef("note.md", "note.md", content="<not base64>"), Settings())


# --- document ids ---


@pytest.mark.parametrize("doc_id, reason", [
    ("", "empty document id ''"),
    ("   ", "empty document id"),
    (None, "document id None is not a string"),
    ("x" * 1025, r"document id of 1,025 bytes .* over the limit of 1,024"),
    ("é" * 513, "document id of 1,026 bytes"),
    ("a\nb.md", r"holds a control character \(U\+000A\) at 1$"),
    ("\x1b[31mred.md", r"\(U\+001B\) at 0"),
    ("a\x00b", r"\(U\+0000\)"),
    ("line\u2028sep", r"holds a line separator \(U\+2028\) at 4$"),
    ("lone\ud800", r"holds a lone surrogate \(U\+D800\) at 4$"),
    ("/etc/passwd", "is an absolute path"),
    ("\\\\server\\share", "is an absolute path"),
    ("C:\\notes.md", "is an absolute path"),
    ("../escape.md", "has a '..' segment"),
    ("notes/../../escape.md", "has a '..' segment"),
    ("notes\\..\\..\\escape.md", "has a '..' segment"),
])
def test_ids_no_document_may_have(doc_id, reason):
    with pytest.raises(InvalidDocId, match=reason):
        check_doc_id(doc_id, 1024)


@pytest.mark.parametrize("doc_id", ["notes/a.md", "note-7", "https://example.com/a?b=c",
                                    "файл.md", "a..b.md", ".hidden/x.md", "x" * 1024])
def test_ids_documents_have(doc_id):
    assert check_doc_id(doc_id, 1024) == doc_id


def test_the_client_refuses_a_bad_id_before_sending(root):
    client = IngestClient(Settings())  # nothing is sent: no Redis or worker is needed
    with pytest.raises(ValueError, match="has a '..' segment"):
        client.submit_content("../escape", "# Note", "note.md")
    with pytest.raises(InvalidDocId, match="is an absolute path"):
        client.submit(root / "good.md", doc_id="/etc/good.md")
