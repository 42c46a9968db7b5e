"""The custody report checked against the PDF/A-3b rules that can be checked from its structure, with
pikepdf (there is no veraPDF here): the file header, the document ID, no encryption, XMP metadata that
claims PDF/A-3B and agrees with the Info dictionary, an sRGB output intent with its ICC profile, every
font embedded, no JavaScript or launch actions, no LZW, and the custody bundle as an associated file.

Each check walks what the file holds rather than searching its bytes, so it fails on the one object
that breaks the rule (a font without a FontFile, a stream with LZWDecode, an attachment without
/AFRelationship), wherever fpdf2 put it.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pikepdf
import pytest
from pikepdf import Array, Dictionary, Name, Pdf, Stream

from tests.audit.test_custody_pdf import report  # noqa: F401 - the fixture: a report with names in 3 scripts

pytestmark = pytest.mark.skipif(shutil.which("pdffonts") is None, reason="needs poppler-utils")

XMP_NS = {
    "pdfaid": "http://www.aiim.org/pdfa/ns/id/",
    "dc": "http://purl.org/dc/elements/1.1/",
    "pdf": "http://ns.adobe.com/pdf/1.3/",
    "xmp": "http://ns.adobe.com/xap/1.0/",
}
# PDF/A-3 (ISO 19005-3) 6.6.1: actions a conforming file may not hold.
FORBIDDEN_ACTIONS = {
    "/Launch", "/Sound", "/Movie", "/ResetForm", "/ImportData", "/Hide", "/SetOCGState", "/Rendition",
    "/Trans", "/GoTo3DView", "/JavaScript",
}  # fmt: skip
EMBEDDED = ("/FontFile", "/FontFile2", "/FontFile3")


@pytest.fixture
def pdf(report: tuple[Path, str]) -> Iterator[Pdf]:  # noqa: F811 - the fixture above
    with pikepdf.open(report[0]) as opened:
        yield opened


def objects(pdf: Pdf) -> Iterator[Dictionary | Stream]:
    """Every dictionary and stream in the file, direct ones nested in others included."""
    seen: set[tuple[int, int]] = set()

    def walk(obj: object) -> Iterator[Dictionary | Stream]:
        if isinstance(obj, pikepdf.Object) and obj.is_indirect:
            if obj.objgen in seen:
                return
            seen.add(obj.objgen)
        if isinstance(obj, Stream | Dictionary):
            yield obj
            for key in obj.keys():  # noqa: SIM118 - a pikepdf dictionary, not a dict
                yield from walk(obj.get(key))
        elif isinstance(obj, Array):
            for value in obj:
                yield from walk(value)

    yield from walk(pdf.trailer)
    for obj in pdf.objects:
        yield from walk(obj)


def test_the_header_document_id_and_no_encryption(report: tuple[Path, str], pdf: Pdf) -> None:  # noqa: F811
    raw = report[0].read_bytes()
    # 6.1.2: "%PDF-1.n" and, on the next line, a comment of at least four bytes above 127.
    header = re.match(rb"%PDF-1\.([0-7])\r?\n%([^\r\n]*)", raw)
    assert header, raw[:40]
    assert sum(b > 127 for b in header.group(2)) >= 4, header.group(2)
    assert pdf.pdf_version == f"1.{header.group(1).decode()}"
    # 6.1.3: the trailer names the document with two IDs of equal length; no /Encrypt.
    ids = pdf.trailer.get("/ID")
    assert isinstance(ids, Array)
    assert len(ids) == 2
    assert len(bytes(ids[0])) == len(bytes(ids[1])) >= 16
    assert "/Encrypt" not in pdf.trailer
    assert not pdf.is_encrypted


def test_xmp_claims_pdf_a_3b_and_agrees_with_the_info_dictionary(pdf: Pdf) -> None:
    stream = pdf.Root.get("/Metadata")
    assert isinstance(stream, Stream), "6.6.2.1: the catalog holds an XMP metadata stream"
    assert (stream.get("/Type"), stream.get("/Subtype")) == (Name.Metadata, Name.XML)
    xml = stream.read_bytes().decode("utf-8")
    assert "<?xpacket begin=" in xml
    assert not re.search(r"<\?xpacket[^>]*\b(bytes|encoding)=", xml), "6.6.2.1: no bytes/encoding attributes"
    with pdf.open_metadata() as meta:
        assert meta.get("pdfaid:part") == "3"
        assert meta.get("pdfaid:conformance") == "B"
        info = pdf.docinfo
        # 6.6.2.3 (via ISO 32000-1 14.3.3): every Info entry has its equal in the XMP.
        for key in ("/Title", "/Author", "/Producer", "/CreationDate"):
            assert key in info, f"the Info dictionary has no {key}"
        assert str(info["/Title"]) == meta.get("dc:title")
        assert [str(info["/Author"])] == list(meta.get("dc:creator"))
        assert str(info["/Producer"]) == meta.get("pdf:Producer")
        if "/Creator" in info:
            assert str(info["/Creator"]) == meta.get("xmp:CreatorTool")
        if "/Subject" in info:
            assert str(info["/Subject"]) == meta.get("dc:description")
        if "/Keywords" in info:
            assert str(info["/Keywords"]) == meta.get("pdf:Keywords")
        assert pdf_date(str(info["/CreationDate"])) == xmp_date(meta.get("xmp:CreateDate"))
        if "/ModDate" in info:
            assert pdf_date(str(info["/ModDate"])) == xmp_date(meta.get("xmp:ModifyDate"))
    assert str(info["/Title"]).startswith("Chain of custody report: ")


def pdf_date(value: str) -> datetime:
    """A PDF date string (D:YYYYMMDDHHmmSS, then Z or +HH'mm') as an aware datetime."""
    found = re.fullmatch(r"D:(\d{14})(?:Z|([+-])(\d{2})'?(\d{2})'?)?", value)
    assert found, value
    digits, sign, hours, minutes = found.groups()
    zone = f"{sign}{hours}{minutes}" if sign else "+0000"
    return datetime.strptime(digits + zone, "%Y%m%d%H%M%S%z")


def xmp_date(value: str) -> datetime:
    parsed = datetime.fromisoformat(value)
    assert parsed.tzinfo is not None, value
    return parsed.replace(microsecond=0)


def test_an_srgb_output_intent_with_its_icc_profile(pdf: Pdf) -> None:
    intents = [i for i in pdf.Root.get("/OutputIntents", Array()) if i.get("/S") == Name.GTS_PDFA1]
    assert len(intents) == 1, "6.2.3: exactly one PDF/A output intent"
    intent = intents[0]
    assert str(intent.get("/OutputConditionIdentifier", ""))
    profile = intent.get("/DestOutputProfile")
    assert isinstance(profile, Stream), "the ICC profile is embedded, not referenced"
    icc = profile.read_bytes()
    assert icc[36:40] == b"acsp", "an ICC profile"
    assert icc[16:20] == b"RGB ", "an RGB profile"
    assert int(profile.get("/N")) == 3
    assert int.from_bytes(icc[:4], "big") == len(icc)


def fonts(pdf: Pdf) -> Iterator[tuple[str, Dictionary]]:
    """Every font a page, form or appearance uses: (resource name, font dictionary); for a composite
    (Type0) font, its descendant CIDFont, which carries the glyphs."""
    for obj in objects(pdf):
        if obj.get("/Type") != Name.Font or obj.get("/Subtype") == Name.Type0:
            continue
        yield str(obj.get("/BaseFont", "")), obj


def test_every_font_is_embedded(report: tuple[Path, str], pdf: Pdf) -> None:  # noqa: F811
    used = list(fonts(pdf))
    assert used, "the report has text"
    for name, font in used:
        if font.get("/Subtype") == Name.Type3:
            continue  # glyphs drawn in the file itself
        descriptor = font.get("/FontDescriptor")
        assert isinstance(descriptor, Dictionary), f"6.2.11.2: {name} has no font descriptor"
        files = [key for key in EMBEDDED if key in descriptor]
        assert files, f"6.2.11.4.1: {name} is not embedded"
        assert len(descriptor[files[0]].read_bytes()) > 0, name
        if font.get("/Subtype") == Name.CIDFontType2:
            assert "/CIDToGIDMap" in font, f"6.2.11.3.2: {name} has no CIDToGIDMap"
    # The composite fonts point at those descendants (so the walk above saw every glyph source).
    for obj in objects(pdf):
        if obj.get("/Type") == Name.Font and obj.get("/Subtype") == Name.Type0:
            assert len(obj.DescendantFonts) == 1
    # Poppler agrees: every row of pdffonts says "emb yes", subsets (ABCDEF+Name) included.
    table = subprocess.run(["pdffonts", str(report[0])], check=True, capture_output=True, text=True).stdout
    rows = table.splitlines()[2:]
    assert rows, table
    for row in rows:
        emb = row[table.splitlines()[0].index("emb") :].split()[0]
        assert emb == "yes", row
    assert any(re.match(r"[A-Z]{6}\+DejaVuSans", row) for row in rows), table


def test_no_javascript_launch_actions_or_lzw(pdf: Pdf) -> None:
    assert "/JavaScript" not in pdf.Root.get("/Names", Dictionary())
    assert "/AA" not in pdf.Root, "6.6.2: no additional actions on the document"
    for obj in objects(pdf):
        assert "/JS" not in obj
        action = obj.get("/S")
        if obj.get("/Type") == Name.Action or action in {Name(a) for a in FORBIDDEN_ACTIONS}:
            assert str(action) not in FORBIDDEN_ACTIONS, f"6.6.1: {action} action"
        if obj.get("/Type") == Name.Page:
            assert "/AA" not in obj
        if isinstance(obj, Stream):
            filters = obj.get("/Filter")
            names = list(filters) if isinstance(filters, Array) else [filters] if filters else []
            assert Name.LZWDecode not in names, "6.1.7.2: no LZW"


def test_the_custody_bundle_is_an_associated_file(report: tuple[Path, str], pdf: Pdf) -> None:  # noqa: F811
    _, file_id = report
    attached = pdf.attachments
    assert list(attached) == [f"custody-{file_id}.json"]
    spec = attached[f"custody-{file_id}.json"].obj
    # 6.8: the file specification carries F and UF, says how it relates, and has a description.
    assert spec.get("/Type") == Name.Filespec
    assert str(spec.F) == str(spec.UF) == f"custody-{file_id}.json"
    assert spec.get("/AFRelationship") == Name.Data
    assert str(spec.get("/Desc", ""))
    stream = spec.EF.F
    assert stream.get("/Type") == Name.EmbeddedFile
    assert str(stream.get("/Subtype")) == "/application/json", "6.8: the MIME type"
    assert "/ModDate" in stream.get("/Params", Dictionary()), "6.8 recommends the attachment's date"
    assert json.loads(stream.read_bytes())["item"]["id"] == file_id
    # The catalog lists it in /AF, the same object the name tree holds.
    listed = pdf.Root.get("/AF")
    assert isinstance(listed, Array)
    assert [a.objgen for a in listed] == [spec.objgen]
