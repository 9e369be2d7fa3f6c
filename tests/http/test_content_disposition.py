"""Content-Disposition for any file name: RFC 6266 ``filename*`` (UTF-8, percent-encoded) plus an escaped ASCII
``filename`` fallback, on every endpoint that names a download (issue 20, point 5)."""

from __future__ import annotations

import re
from urllib.parse import unquote

import pytest

from app.http.content_disposition import attachment
from tests.artifacts.test_http_transfer import MODEL, get, register, sha, upload
from tests.audit.test_export import export

NAMES = ["模型.bin", 'we"ird\\name.bin', "café résumé.onnx", "tab\tand\r\nnewline.bin", "plain.onnx", "a;b=c.bin"]


def decoded(header: str) -> tuple[str, str]:
    """(filename, filename*) as a mail/HTTP header parser reads them."""
    plain = re.search(r'filename="((?:[^"\\]|\\.)*)"', header)
    star = re.search(r"filename\*=UTF-8''([^;\s]+)", header)
    return re.sub(r"\\(.)", r"\1", plain.group(1)) if plain else "", unquote(star.group(1)) if star else ""


@pytest.mark.backend_independent
@pytest.mark.parametrize("name", NAMES)
def test_any_name_gives_an_ascii_header_with_the_exact_name_in_filename_star(name):
    header = attachment(name)
    header.encode("ascii")  # a header value Starlette (latin-1) and every proxy can carry
    assert not re.search(r"[\x00-\x1f\x7f]", header)
    fallback, exact = decoded(header)
    assert exact == name.replace("\t", "").replace("\r", "").replace("\n", "")
    assert fallback.isascii() and fallback
    assert header.count('"') - header.count('\\"') == 2  # quotes and backslashes escaped: nothing breaks out


@pytest.mark.backend_independent
def test_the_fallback_keeps_what_ascii_can_say():
    assert attachment("café.onnx").startswith('attachment; filename="cafe.onnx"; ')
    assert attachment("模型.bin").startswith('attachment; filename="__.bin"; ')
    assert attachment("") == "attachment; filename=\"download\"; filename*=UTF-8''download"


@pytest.mark.parametrize("path", ["weights/模型.bin", 'weights/say "hi".bin'])
async def test_file_download_names_the_file_exactly(api, path):
    await upload(api, MODEL)
    body = await register(api, files=[{"path": path, "digest": sha(MODEL)}])
    assert "errors" not in body, body
    response = await get(api, path=path)
    assert response.status_code == 200 and response.content == MODEL
    assert decoded(response.headers["content-disposition"])[1] == path.rsplit("/", 1)[-1]


async def test_archive_and_audit_export_headers_have_both_forms(api):
    await upload(api, MODEL)
    await register(api, name="team/m", files=[{"path": "m.bin", "digest": sha(MODEL)}])
    archive = await get(api, url="/api/artifacts/archive", path=None, uri="models:/team/m/1")
    assert archive.status_code == 200
    assert decoded(archive.headers["content-disposition"]) == ("team_m-1.tar", "team_m-1.tar")
    exported = await export(api, format="csv")
    assert exported.status_code == 200
    assert re.fullmatch(r"modelreg-audit-\d{8}T\d{6}Z\.csv", decoded(exported.headers["content-disposition"])[1])
