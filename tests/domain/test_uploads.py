"""Whether staged uploads may still be used (app/domain/artifacts.py) as truth tables: the files of a new version
named by upload, and the body of one upload sent through the registry."""

from __future__ import annotations

import pytest

from app.domain.artifacts import StagedFile, check_upload_usable, check_uploads_usable
from app.domain.errors import FailedPrecondition

pytestmark = pytest.mark.backend_independent

DIGEST = "sha256:" + "0" * 64


def staged(*spec: tuple[str, str]) -> list[StagedFile]:
    """(path, upload id) -> staged files."""
    return [StagedFile(path, upload_id, DIGEST, 1) for path, upload_id in spec]


def unusable_message(paths: str) -> str:
    return (f"the uploads of {paths} are unknown, expired or used by another version; "
            "create new ones with createArtifactUpload")


MANY = staged(*((f"f{n:02}.bin", f"u{n:02}") for n in range(25)))

# (staged files, usable upload ids) -> None when they may be used, else the paths the refusal names
UPLOADS = [
    (staged(), set(), None),
    (staged(("model.bin", "u1")), {"u1"}, None),
    (staged(("model.bin", "u1"), ("conf/a.json", "u2")), {"u1", "u2", "u3"}, None),
    (staged(("model.bin", "u1")), set(), "model.bin"),  # unknown, expired or used: the repository tells none apart
    (staged(("model.bin", "u1"), ("conf/a.json", "u2")), {"u2"}, "model.bin"),
    (staged(("model.bin", "u1"), ("conf/a.json", "u2")), {"u1"}, "conf/a.json"),
    (staged(("model.bin", "u1"), ("conf/a.json", "u2")), set(), "model.bin, conf/a.json"),  # in the given order
    (staged(("b", "u1"), ("a", "u1")), {"u2"}, "b, a"),  # one upload named twice: each file is named
    (MANY, set(), ", ".join(f"f{n:02}.bin" for n in range(20))),  # the first 20 only
    (MANY, {f"u{n:02}" for n in range(24)}, "f24.bin"),
]


@pytest.mark.parametrize("files,usable,names", UPLOADS)
def test_the_uploads_of_a_new_version(files, usable, names):
    if names is None:
        check_uploads_usable(files, usable)
        return
    with pytest.raises(FailedPrecondition) as caught:
        check_uploads_usable(files, usable)
    assert caught.value.message == unusable_message(names) and caught.value.field is None


@pytest.mark.parametrize("upload_id,usable,says", [
    ("u1", {"u1"}, None),
    ("u1", {"u1", "u2"}, None),
    ("u1", set(), "upload 'u1' is unknown, expired or already used by a version"),
    ("u1", {"u2"}, "upload 'u1' is unknown, expired or already used by a version"),
    ("x" * 100, set(), f"upload {'x' * 64!r} is unknown, expired or already used by a version"),  # cut to 64
    ("x" * 100, {"x" * 64}, f"upload {'x' * 64!r} is unknown, expired or already used by a version"),
    ("", set(), "upload '' is unknown, expired or already used by a version"),
])
def test_sending_the_body_of_an_upload(upload_id, usable, says):
    if says is None:
        check_upload_usable(upload_id, usable)
        return
    with pytest.raises(FailedPrecondition) as caught:
        check_upload_usable(upload_id, usable)
    assert caught.value.message == says and caught.value.field is None
