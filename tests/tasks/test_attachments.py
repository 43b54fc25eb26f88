"""A mail's attachments ingested as documents of their own (pipeline/attachments.py), on the
in-memory store and the real Redis."""

from email.message import EmailMessage

from ingest_tasks.core.results import COMMITTED
from ingest_tasks.pipeline.attachments import file_name
from ingest_tasks.pipeline.documents import ingest_documents, search
from ingest_tasks.pipeline.sources import DocRef
from tests.tasks.in_memory import memory_resources

NOTES = "Harbour cranes lift steel containers from the decks of cargo ships at dawn."
REPORT = "# Kelp\n\nGiant kelp forests sway in cold coastal water and shelter sea otters."


def mail() -> bytes:
    """A message with a text body, a .txt and a .md attachment and a picture."""
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = "a@example.org", "b@example.org", "Notes"
    message.set_content("Here are the notes from the trip to the harbour.")
    message.add_attachment(NOTES.encode(), maintype="text", subtype="plain", filename="notes.txt")
    message.add_attachment(b"\x89PNG\r\n\x1a\n" + bytes(64), maintype="image", subtype="png",
                           filename="photo.png")
    message.add_attachment(REPORT.encode(), maintype="text", subtype="markdown",
                           filename="../../kelp report.md")
    return message.as_bytes()


def test_a_mails_attachments_of_parsed_kinds_are_documents_under_it():
    ref = DocRef.inline("inbox/trip.eml", mail(), "trip.eml", 7, {"team": "field"})
    with memory_resources() as resources:
        results = {r.doc_id: r for r in ingest_documents([ref], resources)}
        name = resources.collection()
        stored = resources.store.chunks_of(name, list(results))
        children = search("kelp forests", resources, 5, where={"ingest_parent_id": "inbox/trip.eml"})
    notes, report = "inbox/trip.eml/attachments/1-notes.txt", "inbox/trip.eml/attachments/3-kelp_report.md"
    assert set(results) == {"inbox/trip.eml", notes, report}  # the picture is no document
    assert {r.status for r in results.values()} == {COMMITTED}
    for doc_id in (notes, report):
        (_, meta), *_ = stored[doc_id]
        assert (meta["ingest_parent_id"], meta["version"], meta["team"]) == ("inbox/trip.eml", 7, "field")
    assert all("ingest_parent_id" not in meta for _, meta in stored["inbox/trip.eml"])
    assert {hit.doc_id for hit in children} == {notes, report}


def test_past_the_limit_attachments_are_left_out():
    ref = DocRef.inline("trip.eml", mail(), "trip.eml", 1)
    with memory_resources(max_attachments=1) as resources:
        ids = {r.doc_id for r in ingest_documents([ref], resources)}
    assert ids == {"trip.eml", "trip.eml/attachments/1-notes.txt"}


def test_an_attachments_name_is_one_safe_segment():
    assert file_name("../../etc/passwd") == "passwd"
    assert file_name("C:\\Users\\me\\Q3 report (final).docx") == "Q3_report_final_.docx"
    assert file_name("...") == "attachment"
