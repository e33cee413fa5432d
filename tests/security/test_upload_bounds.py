"""Issue 13 §5: uploads cannot exhaust a worker, and every archive error is a clear refusal.

Model zips and XLSX workbooks are both zip archives: bounded (members, unpacked size, ratio, sheet
dimension) before any parser runs; damaged, encrypted, unknown-compression and lying archives are
refused with a message instead of a 500.
"""

from __future__ import annotations

import io
import struct
import zipfile

import openpyxl
import pytest
from openpyxl import Workbook

from app.modeler.operations import ImportRefused, read_zip
from app.registry import importers
from app.registry.importers import FileUnreadable, count_rows, import_file
from tests.modeler.factory import two_step

LOCAL, CENTRAL = b"PK\x03\x04", b"PK\x01\x02"


def _zip(entries: dict[str, bytes | str], method=zipfile.ZIP_DEFLATED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", method) as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
    return buf.getvalue()


def _patch(data: bytes, *, flag: int | None = None, method: int | None = None, size: int | None = None) -> bytes:
    """Rewrite every local and central header: OR a general-purpose flag, set the method or the size."""
    out = bytearray(data)
    for signature, flag_at, method_at, size_at in ((LOCAL, 6, 8, 22), (CENTRAL, 8, 10, 24)):
        start = 0
        while (start := out.find(signature, start)) >= 0:
            if flag is not None:
                old = struct.unpack_from("<H", out, start + flag_at)[0]
                struct.pack_into("<H", out, start + flag_at, old | flag)
            if method is not None:
                struct.pack_into("<H", out, start + method_at, method)
            if size is not None:
                struct.pack_into("<I", out, start + size_at, size)
            start += 4
    return bytes(out)


def _model_zip(method=zipfile.ZIP_DEFLATED) -> bytes:
    return _zip({f"trial/{n}": t for n, t in two_step().items()}, method)


def _corrupt_crc(data: bytes) -> bytes:
    out = bytearray(data)
    at = out.find(b"definitions") + 3  # inside the stored (uncompressed) diagram's content
    out[at] ^= 0x20
    return bytes(out)


HOSTILE_MODEL_ZIPS = {
    "bad CRC": lambda: _corrupt_crc(_model_zip(zipfile.ZIP_STORED)),
    "encrypted entry": lambda: _patch(_model_zip(), flag=0x1),
    "unknown compression": lambda: _patch(_model_zip(), method=9),  # deflate64: not implemented by zipfile
    "lying sizes": lambda: _patch(_model_zip(), size=10),
    "truncated": lambda: _model_zip()[:-40],
    "zip bomb": lambda: _zip({"m/bomb.bpmn": b"<a>" + b" " * (20 * 1024 * 1024) + b"</a>"}),
    "too many entries": lambda: _zip({f"m/f{i}.json": "{}" for i in range(300)}),
}


@pytest.mark.parametrize("kind", sorted(HOSTILE_MODEL_ZIPS))
def test_hostile_model_zip_is_refused(app_ctx, kind):
    with pytest.raises(ImportRefused) as err:
        read_zip(HOSTILE_MODEL_ZIPS[kind]())
    assert str(err.value)


def test_hostile_model_zips_through_the_import_page_never_500(world, browser):
    owner = browser("owner")
    for kind, make in sorted(HOSTILE_MODEL_ZIPS.items()):
        response = owner.post("/modeler/import", {"archive": (io.BytesIO(make()), "m.zip")},
                              content_type="multipart/form-data")
        assert response.status_code == 302, kind
        page = owner.get("/modeler/").get_data(as_text=True)
        assert 'class="alert alert-danger"' in page, kind


def test_a_sound_model_zip_still_imports(app_ctx):
    files, _meta = read_zip(_model_zip())
    assert "trial.bpmn" in files


# --- registry workbooks and CSV ----------------------------------------------------------------------


def _workbook(path, rows, far_cell: str | None = None):
    wb = Workbook()
    ws = wb.active
    for row in rows:
        ws.append(row)
    if far_cell:
        ws[far_cell] = "x"
    wb.save(path)
    return path


@pytest.fixture()
def no_openpyxl(monkeypatch):
    """Fail the test if openpyxl is asked to parse anything: the refusal must come first."""
    def refuse(*args, **kwargs):
        raise AssertionError("openpyxl parsed a file that should have been refused before parsing")

    monkeypatch.setattr(openpyxl, "load_workbook", refuse)


def test_workbook_with_huge_dimensions_is_refused_before_parsing(app_ctx, tmp_path, no_openpyxl):
    path = _workbook(tmp_path / "huge.xlsx", [["number", "bin", "valid_from", "levels"]], far_cell="XFD1048576")
    assert path.stat().st_size < 20_000, "a small file that claims a 16,384 × 1,048,576 sheet"
    assert count_rows(path) == 0, "the progress bar does not parse it either"
    with pytest.raises(FileUnreadable) as err:
        import_file("licences", path)
    assert err.value.code == "too_large"


def test_workbook_that_unpacks_suspiciously_well_is_refused_before_parsing(app_ctx, tmp_path, no_openpyxl):
    path = tmp_path / "bomb.xlsx"
    sheet = b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>' \
        + b" " * (30 * 1024 * 1024) + b"</sheetData></worksheet>"
    path.write_bytes(_zip({"[Content_Types].xml": "<Types/>", "xl/worksheets/sheet1.xml": sheet}))
    assert count_rows(path) == 0
    with pytest.raises(FileUnreadable) as err:
        import_file("licences", path)
    assert err.value.code == "too_large"


@pytest.mark.parametrize("damage", ["bad CRC", "encrypted entry", "unknown compression", "truncated"])
def test_damaged_workbook_is_a_clear_failure(app_ctx, tmp_path, damage):
    sound = _workbook(tmp_path / "sound.xlsx", [["number", "bin", "valid_from", "levels"]]).read_bytes()
    data = {"bad CRC": lambda: _corrupt_sheet(sound), "encrypted entry": lambda: _patch(sound, flag=0x1),
            "unknown compression": lambda: _patch(sound, method=9), "truncated": lambda: sound[:-60]}[damage]()
    path = tmp_path / "damaged.xlsx"
    path.write_bytes(data)
    assert count_rows(path) >= 0
    with pytest.raises(FileUnreadable):
        import_file("licences", path)


def _corrupt_sheet(data: bytes) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as out:
        for info in src.infolist():
            out.writestr(info.filename, src.read(info))
    out_bytes = bytearray(buf.getvalue())
    at = out_bytes.find(b"<sheetData") + 2
    out_bytes[at] ^= 0x20
    return bytes(out_bytes)


def test_rows_and_columns_are_bounded_while_streaming(app_ctx, tmp_path, monkeypatch):
    monkeypatch.setattr(importers, "MAX_ROWS", 3)
    csv_path = tmp_path / "long.csv"
    csv_path.write_text("number;bin;valid_from;levels\n" + "L1;950440001673;2026-09-01;primary\n" * 5)
    with pytest.raises(FileUnreadable) as err:
        import_file("licences", csv_path)
    assert err.value.code == "too_large"
    xlsx = _workbook(tmp_path / "long.xlsx", [["number", "bin", "valid_from", "levels"],
                                              *[["L1", "950440001673", "2026-09-01", "primary"]] * 5])
    with pytest.raises(FileUnreadable) as err:
        import_file("licences", xlsx)
    assert err.value.code == "too_large"
    wide = tmp_path / "wide.csv"
    wide.write_text("number;bin;valid_from;levels\n" + "L1;950440001673;2026-09-01;primary" + ";" * 500 + "\n")
    with pytest.raises(FileUnreadable) as err:
        import_file("licences", wide)
    assert err.value.code == "too_large"


def test_refused_workbook_fails_the_job_with_a_message(world, browser, tmp_path):
    from app.registry.models import RegistryImport

    path = _workbook(tmp_path / "huge.xlsx", [["number", "bin", "valid_from", "levels"]], far_cell="XFD1048576")
    operator = browser("operator")
    response = operator.post("/registry/imports", {"kind": "licences", "file": (io.BytesIO(path.read_bytes()),
                                                                                  "li\u202ecences.xlsx")},
                             content_type="multipart/form-data")
    assert response.status_code == 303
    from app.extensions import db

    job = db.session.query(RegistryImport).order_by(RegistryImport.id.desc()).first()
    assert job.status == "failed" and job.message.startswith("too_large")
    assert job.filename == "licences.xlsx", "the right-to-left override is not stored"
    page = operator.get(f"/registry/imports/{job.id}").get_data(as_text=True)
    assert "too large to import" in page


def test_an_upload_over_the_request_limit_is_told_the_limit_and_for_a_registry_file_the_other_way(world, browser):
    """The request is refused before the view reads it: the registry page's own message (its limit and the command
    line) was never reached, and the person read a bare "The upload is too large"."""
    operator = browser("operator")
    big = io.BytesIO(b"bin,name,status,oked\n" + b"9" * (6 * 1024 * 1024))
    answer = operator.post("/registry/imports", {"kind": "business", "file": (big, "big.csv")})
    text = answer.get_data(as_text=True)
    assert answer.status_code == 413 and "larger than 5 MB" in text and "command line" in text



def _with_doctype(data: bytes, member: str, entities: str, referenced_at: bytes) -> bytes:
    """The workbook with ``member``'s XML declaring ``entities`` and a reference to ``&e;`` in place of
    ``referenced_at`` (a cell's text, or after an element's start tag: the parser must resolve it either way)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as out:
        for info in src.infolist():
            body = src.read(info)
            if info.filename == member:
                root = body.index(b"<", body.index(b"?>") + 2) if body.startswith(b"<?xml") else 0
                body = body[:root] + f"<!DOCTYPE x [{entities}]>".encode() + body[root:]
                assert referenced_at in body
                reference = b"&e;" if referenced_at == b"PLACEHOLDER" else referenced_at + b"&e;"
                body = body.replace(referenced_at, reference, 1)
            out.writestr(info.filename, body)
    return buf.getvalue()


@pytest.mark.parametrize(("member", "at"), [("xl/worksheets/sheet1.xml", b"PLACEHOLDER"),
                                           ("xl/worksheets/sheet1.xml", b"<sheetData>"),
                                           ("xl/workbook.xml", b"<sheets>")])
@pytest.mark.parametrize("attack", ["external entity", "entity expansion"])
def test_a_workbook_declaring_entities_is_refused_and_reads_no_file(app_ctx, tmp_path, member, at, attack):
    """Guard (attacker probe): openpyxl parses a workbook's XML with lxml, not with app/engine/xml.py's hardened
    parser; a DOCTYPE in a sheet or the workbook, naming a local file or expanding a billion times, is refused
    (lxml >= 5 resolves no external entity, libxml2 bounds the expansion) and the file's text reaches no cell."""
    secret = tmp_path / "secret.txt"
    secret.write_text("SECRET-FROM-THE-SERVER", encoding="utf-8")
    entities = (f'<!ENTITY e SYSTEM "file://{secret}">' if attack == "external entity" else
                '<!ENTITY a0 "ha">' + "".join(f'<!ENTITY a{i} "{f"&a{i - 1};" * 10}">' for i in range(1, 10))
                + '<!ENTITY e "&a9;">')
    rows = [["number", "bin", "valid_from", "levels"], ["PLACEHOLDER", "950440001673", "2026-09-01", "primary"]]
    sound = _workbook(tmp_path / "sound.xlsx", rows).read_bytes()
    path = tmp_path / "entities.xlsx"
    path.write_bytes(_with_doctype(sound, member, entities, at))
    with pytest.raises(FileUnreadable) as err:
        import_file("licences", path)
    assert "SECRET-FROM-THE-SERVER" not in str(err.value)
