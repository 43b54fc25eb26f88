"""Bytes to text, and the codec that decoded them.

HTML follows the WHATWG encoding-sniffing algorithm: a BOM, then the charset its <meta>
tag or XML declaration declares, then UTF-8, then the fallback (the legacy encoding,
else windows-1252, as browsers do). Text and Markdown: a BOM, then UTF-16/32 recognised
by its NUL pattern, then UTF-8, then charset-normalizer's guess if confident enough,
then the legacy encoding; else an EncodingError. Text full of NULs or controls is refused.
"""

from __future__ import annotations

import codecs
import logging
import re

from charset_normalizer import from_bytes
from charset_normalizer.md import mess_ratio

from ingest_tasks.core.errors import EncodingError
from ingest_tasks.pipeline.parse.options import Options
from ingest_tasks.pipeline.parse.sniff import WIDE_LABELS, bom_encoding, wide_unicode

log = logging.getLogger(__name__)

# WHATWG Encoding Standard labels whose meaning differs from Python's codec of that name
_WHATWG_LABELS = {
    "utf-16-le": "csunicode iso-10646-ucs-2 ucs-2 unicode unicodefeff utf-16 utf-16le",
    "utf-16-be": "unicodefffe utf-16be",
    "cp1252": "ansi_x3.4-1968 ascii cp819 csisolatin1 ibm819 iso-8859-1 iso-ir-100 iso8859-1 "
    "iso88591 iso_8859-1 iso_8859-1:1987 l1 latin1 us-ascii windows-1252 x-cp1252 cp1252",
    "gbk": "chinese csgb2312 csiso58gb231280 gb2312 gb_2312 gb_2312-80 gbk iso-ir-58 x-gbk",
    "cp1254": "iso-8859-9 iso8859-9 iso88599 latin5 l5 windows-1254",
    "cp874": "tis-620 iso-8859-11 windows-874 dos-874",
    "cp949": "euc-kr ks_c_5601-1987 korean windows-949",
    "cp932": "shift_jis sjis x-sjis ms_kanji windows-31j csshiftjis",
    "big5hkscs": "big5 big5-hkscs cn-big5 x-x-big5 csbig5",
    "iso8859-8": "iso-8859-8-i csiso88598i logical",
    "mac-roman": "macintosh mac x-mac-roman csmacintosh",
}
_WHATWG = {label: codec for codec, labels in _WHATWG_LABELS.items() for label in labels.split()}
# The legacy encodings of the WHATWG Encoding Standard, those a web page may be in: detection
# picks among them (charset-normalizer would also pick rarities such as mac-latin2 or cp1125)
_DETECTABLE = [
    "cp866", "iso8859_2", "iso8859_3", "iso8859_4", "iso8859_5", "iso8859_6", "iso8859_7",
    "iso8859_8", "iso8859_10", "iso8859_13", "iso8859_14", "iso8859_15", "iso8859_16", "koi8_r",
    "koi8_u", "mac_roman", "mac_cyrillic", "cp874", "cp1250", "cp1251", "cp1252", "cp1253",
    "cp1254", "cp1255", "cp1256", "cp1257", "cp1258", "gb18030", "big5hkscs", "euc_jp",
    "iso2022_jp", "cp932", "cp949",
]
_ESCAPE_CODECS = {"unicode_escape", "raw_unicode_escape", "idna", "punycode", "utf-7"}
_WIDE_CODECS = {"utf-16-le", "utf-16-be", "utf-16", "utf-32", "utf-32-le", "utf-32-be"}
_META = re.compile(rb"<meta\b[^>]*?charset\s*=\s*[\"']?\s*([a-z0-9_.:-]+)", re.IGNORECASE)
_XML_DECL = re.compile(rb"^\s*<\?xml\b[^>]*?encoding\s*=\s*[\"']([a-z0-9_.:-]+)", re.IGNORECASE)
_COMMENT = re.compile(rb"<!--.*?-->", re.DOTALL)
_CONTROLS = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f-\x9f]")
LEGACY_HINT = "set INGEST_LEGACY_ENCODING (e.g. cp1252) to accept legacy text"
WEB_FALLBACK = "cp1252"  # WHATWG: the default of most locales for an undeclared legacy page
MAX_MESS = 0.2  # charset-normalizer's limit on the mess in what it detects, ours in legacy text


def decode_html(data: bytes, options: Options) -> tuple[str, str]:
    """HTML markup and its codec: BOM, declared charset, UTF-8, then the legacy fallback."""
    text, codec = _html(data, options.legacy_encoding or WEB_FALLBACK)
    return _checked(text, codec, data), codec


def decode_text(data: bytes, options: Options) -> tuple[str, str]:
    """Text and its codec: BOM, NUL pattern, UTF-8, a confident guess, the legacy encoding."""
    text, codec = _text(data, options)
    return _checked(text, codec, data), codec


def html_charset(data: bytes) -> str:
    """The charset label a <meta> tag or XML declaration in the first 4 KB declares, or ''."""
    head = _COMMENT.sub(b"", data[:4096])
    found = _META.search(head) or _XML_DECL.search(head)
    if not found:
        return ""
    label = found.group(1).decode("ascii")
    # WHATWG: a declaration readable as ASCII cannot be in UTF-16, so it means UTF-8
    return "utf-8" if codec_for_label(label) in _WIDE_CODECS else label


def codec_for_label(label: str) -> str | None:
    """The Python codec for a WHATWG/IANA charset label, or None if unknown or unsafe."""
    key = label.strip().lower()
    if key in _WHATWG:
        return _WHATWG[key]
    try:
        name = codecs.lookup(key).name
        b"a".decode(name)  # transforms such as rot13 and base64 are no text encodings
    except (LookupError, UnicodeError):
        return None
    return None if name in _ESCAPE_CODECS else name


def _html(data: bytes, fallback: str) -> tuple[str, str]:
    """The WHATWG rules in order; the first that applies decides."""
    bom = bom_encoding(data)
    if bom:
        return _by_bom(data, *bom)
    declared = html_charset(data)
    codec = codec_for_label(declared) if declared else None
    if declared and codec is None:
        log.info("ignoring unknown declared charset %r", declared)
    if codec:
        return _by_declared(data, declared, codec)
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError as exc:
        return _by_legacy(data, fallback, exc)


def _text(data: bytes, options: Options) -> tuple[str, str]:
    """The rules for text in order; the first that applies decides."""
    bom = bom_encoding(data)
    if bom:
        return _by_bom(data, *bom)
    wide = wide_unicode(data)
    if wide:  # before UTF-8: ASCII in UTF-16 is valid UTF-8 too, NULs and all
        return _by_nuls(data, wide)
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError as exc:
        utf8_error = exc
    codec, confidence = _detected(data)
    if confidence >= options.encoding_min_confidence:
        return _by_detected(data, codec, confidence)
    if options.legacy_encoding:
        return _by_legacy(data, options.legacy_encoding, utf8_error)
    guess = f" (best guess {codec} at {confidence:.2f})" if codec else ""
    raise EncodingError(
        f"not valid UTF-8 ({_where(utf8_error)}) and no encoding detected with confidence "
        f">= {options.encoding_min_confidence:.2f}{guess}; {LEGACY_HINT}"
    )


def _detected(data: bytes) -> tuple[str, float]:
    """charset-normalizer's codec for the bytes and our confidence in it, 0 to 1 ('', 0 if none).

    The confidence is its coherence (how well the text reads as some language) times one
    minus its chaos (the share of mess): short text, and text no language fits, score low.
    Of codecs that score alike, windows-1252 is the commonest: cp1250 comes first otherwise.
    """
    matches = from_bytes(data, cp_isolation=_DETECTABLE)
    best = matches.best()
    if best is None:
        return "", 0.0
    alike = [m for m in matches if (m.chaos, m.coherence) == (best.chaos, best.coherence)]
    western = any(WEB_FALLBACK in m.could_be_from_charset for m in alike)
    codec = WEB_FALLBACK if western else codecs.lookup(best.encoding).name
    return codec, best.coherence * (1 - best.chaos)


def _by_bom(data: bytes, bom: bytes, codec: str, label: str) -> tuple[str, str]:
    """Decode after the BOM, in the encoding it names."""
    skip = len(bom)
    try:
        return data[skip:].decode(codec), codec
    except UnicodeDecodeError as exc:
        raise EncodingError(
            f"{label} BOM, but the bytes are not {label}: {_where(exc, skip)}"
        ) from None


def _by_nuls(data: bytes, codec: str) -> tuple[str, str]:
    """Decode BOM-less UTF-16/32, told by the NUL bytes of its ASCII characters."""
    try:
        return data.decode(codec), codec
    except UnicodeDecodeError as exc:
        raise EncodingError(
            f"looks like {WIDE_LABELS[codec]} without a BOM, but {_where(exc)} does not decode"
        ) from None


def _by_detected(data: bytes, codec: str, confidence: float) -> tuple[str, str]:
    """Decode in the codec charset-normalizer found (it checked a sample of the bytes)."""
    try:
        return _strict(data, codec), codec
    except UnicodeDecodeError as exc:
        raise EncodingError(
            f"not valid UTF-8, and {codec} (detected, confidence {confidence:.2f}) fails at "
            f"{_where(exc)}; {LEGACY_HINT}"
        ) from None


def _by_declared(data: bytes, declared: str, codec: str) -> tuple[str, str]:
    """Decode in the declared charset; if it fails, only valid UTF-8 may stand in (logged)."""
    try:
        return _strict(data, codec), codec
    except UnicodeDecodeError as exc:
        error = exc
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise EncodingError(
            f"declared charset {declared} does not decode: invalid {_where(error)}"
        ) from None
    # valid UTF-8 with non-ASCII bytes is no accident: the declaration is stale
    log.warning(
        "declared charset %s does not decode (%s); the bytes are valid UTF-8",
        declared,
        _where(error),
    )
    return text, "utf-8"


def _by_legacy(data: bytes, legacy: str, utf8_error: UnicodeDecodeError) -> tuple[str, str]:
    """Decode undeclared non-UTF-8 bytes in the legacy encoding."""
    try:
        codec = codecs.lookup(legacy).name
        return _strict(data, codec), codec
    except LookupError:
        raise EncodingError(
            f"legacy encoding {legacy!r} (INGEST_LEGACY_ENCODING) is unknown"
        ) from None
    except UnicodeDecodeError as exc:
        raise EncodingError(
            f"not valid UTF-8 ({_where(utf8_error)}) nor {legacy} ({_where(exc)})"
        ) from None


def _strict(data: bytes, codec: str) -> str:
    """Decode strictly; cp1252's five unassigned bytes map to C1 controls as WHATWG says."""
    return data.decode(codec, "c1-passthrough" if codec == "cp1252" else "strict")


def _c1_passthrough(exc: UnicodeError) -> tuple[str, int]:
    """Error handler: an unassigned byte 0x80-0x9F becomes the C1 control of that number."""
    if not isinstance(exc, UnicodeDecodeError):  # registered for decoding only
        raise exc
    byte = exc.object[exc.start]
    if 0x80 <= byte <= 0x9F:
        return chr(byte), exc.start + 1
    raise exc


codecs.register_error("c1-passthrough", _c1_passthrough)


def _checked(text: str, codec: str, data: bytes) -> str:
    """Refuse decoded text full of NULs, control characters or garbage; drop a few stray NULs."""
    nuls = text.count("\x00")
    if nuls * 100 > len(text):
        wide = wide_unicode(data)
        hint = f"looks like {WIDE_LABELS[wide]} without a BOM" if wide else "binary data, not text"
        raise EncodingError(f"NUL bytes in text: {hint}")
    if nuls:
        text = text.replace("\x00", "")
    controls = len(_CONTROLS.findall(text))
    if controls * 10 > len(text):
        raise EncodingError(
            f"{controls} of {len(text)} characters are control characters: not text"
        )
    # In a legacy codec (not UTF-*) nearly any bytes decode, binary too: is it text?
    mess = 0.0 if codec.startswith("utf-") else mess_ratio(text, MAX_MESS)
    if mess >= MAX_MESS:
        raise EncodingError(
            f"in {codec} the bytes read as garbage (mess ratio {mess:.2f} >= {MAX_MESS}): not text"
        )
    return text


def _where(exc: UnicodeDecodeError, base: int = 0) -> str:
    """The offending byte and its offset in the file."""
    return f"byte 0x{exc.object[exc.start]:02x} at offset {base + exc.start}"
