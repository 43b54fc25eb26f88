"""Hostile documents against the parsers: each ends fast, as text or a specific error."""

from __future__ import annotations

import io
import re
import time
import zipfile

import pytest

from ingest_tasks.core.errors import CorruptDocument, EncodingError, TimeLimit, TooLarge, ZipBomb
from ingest_tasks.core.settings import Settings
from ingest_tasks.pipeline.deadline import deadline
from ingest_tasks.pipeline.documents import document_text, prepare
from ingest_tasks.pipeline.parse import Options, Parsed, parse
from ingest_tasks.pipeline.sources import DocRef
from tests.hostile import files
from tests.hostile.files import MAIN, MiB


def parsed(data: bytes, name: str, seconds: float = 2.0, **options) -> str:
    """parse()'s text, which must come within `seconds`."""
    started = time.perf_counter()
    try:
        return parse(data, name, **options).text
    finally:
        assert time.perf_counter() - started < seconds, f"{name} took too long"


# --- zip bombs ---


def test_a_docx_declaring_more_than_the_limit_unzipped_is_refused_before_unzipping():
    data = files.docx_bomb(140)
    assert len(data) < 200_000  # a small file...
    with pytest.raises(ZipBomb, match=r"^parts read declare 146,\d+,\d+ bytes unzipped, over the "
                                      r"limit of 134,217,728 \(INGEST_MAX_UNZIPPED_BYTES\)$"):
        parsed(data, "bomb.docx", seconds=0.5)  # ...never unzipped


def test_a_docx_part_past_the_ratio_limit_is_refused():
    with pytest.raises(ZipBomb, match=r"^word/document\.xml expands 999:1 \(20,992 to 20,973,\d+ "
                                      r"bytes\), past 100:1 \(INGEST_MAX_ZIP_RATIO\)$"):
        parsed(files.docx_bomb(20), "ratio.docx", seconds=0.5)


def test_a_docx_part_that_lies_about_its_size_is_stopped_while_inflating():
    data = files.declaring(files.docx_bomb(140), MAIN, 10_000)  # declares 10 KB, holds 140 MiB
    with pytest.raises(ZipBomb, match=r"^word/document\.xml inflates past the 10,000 bytes it "
                                      r"declares$"):
        parsed(data, "liar.docx", seconds=0.5)


def test_a_docx_with_a_picture_that_expands_past_the_ratio_limit_is_read():
    data = files.docx_with_picture("The survey map.", files.emf_picture(3 * MiB))
    picture = zip_info(data, files.PICTURE)
    assert picture.file_size > MiB and picture.file_size / picture.compress_size > 100
    assert parsed(data, "map.docx", seconds=0.5) == "The survey map."


def test_a_picture_is_never_inflated_nor_counted_in_the_total():
    bomb = files.declaring(files.docx_with_picture("Figure 1.", bomb_pieces(140)),
                           files.PICTURE, 10_000)  # a lying 140 MiB bomb...
    assert parsed(bomb, "figure.docx", seconds=0.5) == "Figure 1."  # ...never touched
    garbage = files.docx_with_picture("Figure 2.", files.random_bytes(4096))
    assert parsed(garbage, "figure.docx") == "Figure 2."  # not deflate data: never inflated


def test_a_docx_whose_main_part_is_the_bomb_is_refused_even_with_a_picture():
    parts = files.docx_parts("@")
    head, tail = parts[MAIN].split(b"@")
    parts = files.related(parts, files.PICTURE, "image", "image/x-emf", files.emf_picture(4096))
    data = files.zipped({**parts, MAIN: iter([head, *bomb_pieces(20), tail])})
    with pytest.raises(ZipBomb, match=r"^word/document\.xml expands 99\d:1 .* past 100:1"):
        parsed(data, "ratio.docx", seconds=0.5)


def test_every_part_read_is_checked_comments_too():
    head = f'<w:comments xmlns:w="{files.W}"><w:comment w:id="0"><w:p><w:r><w:t>'.encode()
    tail = b"</w:t></w:r></w:p></w:comment></w:comments>"
    comments = b"".join([head, *bomb_pieces(20), tail])
    parts = files.related(files.docx_parts("Body."), "word/comments.xml", "comments",
                          files.COMMENTS_TYPE, comments)
    with pytest.raises(ZipBomb, match=r"^word/comments\.xml expands [\d,]+:1 .* past 100:1"):
        parsed(files.zipped(parts), "noted.docx", seconds=0.5)


def bomb_pieces(mib: int) -> list[bytes]:
    """`mib` MiB of one letter, in pieces of one MiB: about 1000:1 deflated."""
    return [b"a" * MiB] * mib


def zip_info(data: bytes, name: str) -> zipfile.ZipInfo:
    """What the zip's central directory says of one part."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return archive.getinfo(name)


def test_limits_are_options():
    with pytest.raises(ZipBomb, match="over the limit of 8,388,608"):
        parsed(files.docx_bomb(20), "a.docx", max_unzipped_bytes=8 * MiB, max_zip_ratio=2000)
    assert parsed(files.docx_bomb(2), "a.docx", max_zip_ratio=2000).startswith("aaaa")


def test_parse_options_default_to_the_settings_defaults():
    fields = Settings.model_fields
    for name in ("legacy_encoding", "encoding_min_confidence", "max_unzipped_bytes",
                 "max_zip_ratio"):
        assert getattr(Options(), name) == fields[name].default, name


def test_a_docx_nested_10000_deep_is_corrupt():
    with pytest.raises(CorruptDocument, match=r"^cannot read the \.docx \(XMLSyntaxError: "
                                              r"Excessive depth in document: 256"):
        parsed(files.docx_deep(10_000), "deep.docx")


def test_a_docx_of_a_billion_laughs_is_corrupt():
    with pytest.raises(CorruptDocument, match="entity amplification factor exceeded"):
        parsed(files.docx_laughs(), "laughs.docx")


# --- HTML ---


def test_html_nested_10000_deep_is_read_without_recursion():
    # Not refused: html.parser nests every unclosed <p> and <li>, so a depth limit would
    # refuse long valid pages; the tree is built and walked without recursion, in linear time.
    assert parsed(files.html_deep(10_000), "deep.html") == "Deep inside the page."


@pytest.mark.parametrize("construct", [b"<a ", b'<a b="', b"<!--<b>", b"<![CDATA[<b>", b"<script>",
                                       b"<style>", b"<?x<b>", b"</a <b>"])
def test_html_with_thousands_of_unclosed_constructs_parses_in_linear_time(construct):
    # 48 KB of `<a ` took html.parser 36 s, growing with the square: each end looked for anew
    text = parsed(files.html_unclosed(construct, 256 * 1024), "open.html", seconds=3)
    assert text.startswith("A short page.")


@pytest.mark.parametrize("data, name, what", [
    (files.random_bytes(64 * 1024), "notes.txt", "binary data of no known format, not text"),
    (files.random_bytes(64 * 1024), "readme.md", "binary data of no known format, not text"),
    (files.random_bytes(64 * 1024), "page.html", "binary data of no known format, not HTML"),
    (files.ELF, "run.md", "an ELF executable, not text"),
    (files.PNG, "page.html", "a PNG image, not HTML"),
])
def test_binary_data_under_a_text_name_is_corrupt(data, name, what):
    with pytest.raises(CorruptDocument, match=f"^bytes are {re.escape(what)}$"):
        parsed(data, name)


@pytest.mark.parametrize("data, where", list(zip(files.INVALID_UTF8, ["0xe9 at offset 12",
                                                                  "0xed at offset 27",
                                                                  "0xc0 at offset 28"])))
@pytest.mark.parametrize("name", ["notes.md", "notes.txt"])
def test_short_invalid_utf8_text_is_an_encoding_error(data, where, name):
    # too few bytes for a confident detection, and no legacy encoding set
    with pytest.raises(EncodingError, match=rf"^not valid UTF-8 \(byte {where}\) and no encoding "
                                            r"detected with confidence >= 0\.10"):
        parsed(data, name)


@pytest.mark.parametrize("data, text", list(zip(files.INVALID_UTF8, [
    "# Notes Café au lait, undeclared Latin-1.", "# Notes A lone surrogate: í €",  # 0xa0: NBSP
    "# Notes An overlong slash: À¯"])))
def test_invalid_utf8_html_is_read_in_windows_1252_as_browsers_do(data, text):
    assert parse(data, "page.html") == Parsed(text, "cp1252")


@pytest.mark.parametrize("name", ["notes.txt", "readme.md", "page.html"])
@pytest.mark.parametrize("legacy", ["", "cp1252"])
def test_random_high_bytes_are_not_text_in_any_encoding(name, legacy):
    # no control bytes, so the sniffer calls them text; no decoding reads as text, though
    data = bytes(byte | 0x80 for byte in files.random_bytes(64 * 1024))
    refused = (r"^(not valid UTF-8 \(byte 0x\w\w at offset 0\) and no encoding detected with "
               r"confidence|in cp1252 the bytes read as garbage \(mess ratio)")
    with pytest.raises(EncodingError, match=refused):
        parsed(data, name, legacy_encoding=legacy)


# --- the worker's limits on a document's text and time ---


def settings_for(tmp_path, **values) -> Settings:
    """Settings whose one source root is tmp_path."""
    return Settings(source_roots=str(tmp_path), **values)


def test_text_past_the_limit_is_too_large(tmp_path):
    path = tmp_path / "long.txt"
    path.write_text("ledger entry " * 1000)
    with pytest.raises(TooLarge, match=r"^12,999 characters of text, over the limit of 12,000 "
                                       r"\(INGEST_MAX_TEXT_CHARS\)$"):
        document_text(DocRef("long.txt", str(path)), settings_for(tmp_path, max_text_chars=12_000))


def test_a_document_past_its_time_limit_is_stopped(tmp_path):
    path = tmp_path / "dense.html"
    path.write_bytes(files.html_dense(3 * MiB))  # several seconds of html.parser
    settings = settings_for(tmp_path, document_time_limit=0.3)
    started = time.perf_counter()
    with pytest.raises(TimeLimit, match=r"^reading, parsing and chunking took longer than 0\.3 s "
                                        r"\(INGEST_DOCUMENT_TIME_LIMIT\)$"):
        prepare(DocRef("dense.html", str(path)), None, settings)
    assert time.perf_counter() - started < 2


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_an_alarm_a_destructor_swallowed_comes_again():
    class Slow:
        def __del__(self):  # the first alarm lands here: Python prints its exception, drops it
            busy(0.3)

    started = time.perf_counter()
    with pytest.raises(TimeLimit), deadline(0.1, "work"):
        Slow()  # deleted at once
        busy(2)
    assert time.perf_counter() - started < 1


def busy(seconds: float) -> None:
    """Work (no sleep: an alarm's exception is raised between bytecodes) for `seconds`."""
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        pass


def test_the_deadline_is_disarmed_after_its_block():
    with deadline(0.2, "nothing"):
        pass
    time.sleep(0.3)  # no alarm left behind
