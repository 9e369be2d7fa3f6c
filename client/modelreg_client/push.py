"""``push``: a file or folder to a registered version with its lineage, documents and requested promotion, in
one call (the CLI's ``modelreg push``, and the library's ``push()``)."""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import get_args

from .client import Client
from .errors import ModelregError, bad_input
from .files import collect
from .generated import (
    CreateModelVersionInput,
    DocumentKind,
    RegisterCodeCommitInput,
    RegisterDatasetInput,
    RegisterRunInput,
    RequestFields,
    Stage,
    TrackerKind,
    VersionDatasetInput,
    VersionFields,
)
from .progress import Progress
from .upload import Uploader
from .waiting import Deadline, until_decided, until_ready

DOCUMENT_KINDS: tuple[DocumentKind, ...] = get_args(DocumentKind)
TRACKERS: dict[str, TrackerKind] = {"mlflow": "MLFLOW", "wandb": "WANDB", "sagemaker": "SAGEMAKER", "other": "OTHER"}
# The moves the stage machine needs from a new version (NONE) to each stage a push may request.
STEPS: dict[str, list[Stage]] = {
    "STAGING": ["STAGING"],
    "PRODUCTION": ["STAGING", "PRODUCTION"],
    "ARCHIVED": ["ARCHIVED"],
}
_DATASET = re.compile(r"^(?P<name>[^@=]+)@(?P<version>[^=]+)(?:=(?P<uri>.+))?$")
_SHA = re.compile(r"^[0-9a-f]{7,64}$")


@dataclass
class PushSpec:
    """What ``push`` registers. Metric values are numbers; the rest is text as given on the command line."""

    path: Path
    name: str
    flavor: str | None = None
    description: str | None = None
    metrics: dict[str, float] = field(default_factory=dict)
    params: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    datasets: list[str] = field(default_factory=list)  # NAME@VERSION[=URI]
    run: str | None = None  # TRACKER:ID
    code: str | None = None  # auto | URL@SHA
    parents: list[str] = field(default_factory=list)  # models:/ URIs
    documents: dict[str, Path] = field(default_factory=dict)  # KIND -> markdown file
    request: str | None = None  # STAGING | PRODUCTION
    comment: str | None = None
    wait: bool = False
    timeout: float = 3600.0
    idempotency_key: str | None = None


@dataclass
class Pushed:
    uri: str
    version: VersionFields
    requests: list[RequestFields]
    files: int
    skipped: int  # files whose content the registry already had


def dataset(text: str) -> VersionDatasetInput:
    """``--dataset NAME@VERSION[=URI]`` as a training dataset of the version."""
    match = _DATASET.match(text)
    if not match:
        raise bad_input(f"--dataset {text!r}: write NAME@VERSION or NAME@VERSION=URI", "dataset")
    ref: RegisterDatasetInput = {"name": match["name"], "version": match["version"]}
    if match["uri"]:
        ref["uri"] = match["uri"]
    return {"dataset": ref}


def run(text: str) -> RegisterRunInput:
    """``--run TRACKER:ID`` as the run that produced the version."""
    tracker, _, run_id = text.partition(":")
    if tracker.lower() not in TRACKERS or not run_id:
        raise bad_input(f"--run {text!r}: write TRACKER:ID with TRACKER one of {', '.join(TRACKERS)}", "run")
    return {"tracker": TRACKERS[tracker.lower()], "runId": run_id}


def https_remote(remote: str) -> str:
    """``git@github.com:acme/x.git`` -> ``https://github.com/acme/x``; credentials in an https URL are dropped."""
    scp = re.match(r"^[\w.-]+@([\w.-]+):(.+)$", remote)
    url = f"https://{scp[1]}/{scp[2]}" if scp else re.sub(r"^(\w+://)[^/@]+@", r"\1", remote)
    return url.removesuffix(".git")


def code(text: str, cwd: Path) -> RegisterCodeCommitInput:
    """``URL@SHA`` as given, or ``auto``: the commit and ``origin`` remote of the git checkout holding ``cwd``."""
    if text != "auto":
        url, _, sha = text.rpartition("@")
        if not url or not _SHA.match(sha):
            raise bad_input(f"--code {text!r}: write auto or REPOSITORY_URL@COMMIT_SHA", "code")
        return {"repositoryUrl": url, "commitSha": sha}

    def git(*args: str) -> str:
        try:
            return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=True).stdout.strip()
        except (OSError, subprocess.CalledProcessError):
            raise bad_input(f"--code auto: {cwd} is not in a git checkout with an origin remote", "code") from None

    commit: RegisterCodeCommitInput = {
        "repositoryUrl": https_remote(git("remote", "get-url", "origin")),
        "commitSha": git("rev-parse", "HEAD"),
    }
    branch = git("rev-parse", "--abbrev-ref", "HEAD")
    if branch != "HEAD":  # not a detached checkout
        commit["branch"] = branch
    return commit


def version_input(spec: PushSpec, files: list, cwd: Path) -> CreateModelVersionInput:
    """The createModelVersion input of a push."""
    data: CreateModelVersionInput = {"name": spec.name, "createModelIfMissing": True, "files": files}
    if spec.flavor:
        data["flavor"] = spec.flavor
    if spec.description:
        data["description"] = spec.description
    if spec.metrics:
        data["metrics"] = [{"name": k, "value": v} for k, v in spec.metrics.items()]
    if spec.params:
        data["params"] = [{"name": k, "value": v} for k, v in spec.params.items()]
    if spec.tags:
        data["tags"] = [{"key": k, "value": v} for k, v in spec.tags.items()]
    if spec.datasets:
        data["datasets"] = [dataset(text) for text in spec.datasets]
    if spec.run:
        data["run"] = run(spec.run)
    if spec.code:
        data["code"] = code(spec.code, cwd)
    if spec.parents:
        data["parents"] = [{"uri": uri} for uri in spec.parents]
    if spec.idempotency_key:
        data["idempotencyKey"] = spec.idempotency_key
    return data


def check(spec: PushSpec) -> None:
    """Everything that can be checked before a byte is sent."""
    if spec.request is not None and spec.request not in ("STAGING", "PRODUCTION"):
        raise bad_input(f"--request {spec.request}: one of STAGING, PRODUCTION", "request")
    for kind, source in spec.documents.items():
        if kind not in DOCUMENT_KINDS:
            raise bad_input(f"--document {kind}: the kind is one of {', '.join(DOCUMENT_KINDS)}", "document")
        if not source.is_file():
            raise bad_input(f"--document {kind}={source}: no such file", "document")


def request_promotion(
    client: Client,
    version: VersionFields,
    target: str,
    *,
    comment: str | None,
    wait: bool,
    deadline: Deadline,
    idempotency_key: str | None = None,
) -> list[RequestFields]:
    """Requests each move from the version's stage to ``target``; waits for a pending one when ``wait`` (else
    stops there: the next move needs it applied)."""
    steps = STEPS[target]
    steps = steps[steps.index(version["stage"]) + 1 :] if version["stage"] in steps else steps
    made: list[RequestFields] = []
    for stage in steps:
        request: RequestFields = client.request_transition(
            input={
                "name": version["name"],
                "version": version["version"],
                "toStage": stage,
                "comment": comment,
                **({"idempotencyKey": f"{idempotency_key}:{stage}"} if idempotency_key else {}),
            }
        )["requestStageTransition"]["transitionRequest"]
        if request["status"] != "APPLIED" and wait:
            request = until_decided(client, request, deadline)
        made.append(request)
        if request["status"] != "APPLIED":
            break
    return made


def push(client: Client, spec: PushSpec, *, progress_enabled: bool = False, cwd: Path | None = None) -> Pushed:
    """Uploads, registers, attaches documents, requests promotion, and with ``spec.wait`` waits for READY and the
    decision. Raises ModelregError with the server's code on any refusal."""
    check(spec)
    cwd = cwd or Path.cwd()
    files = collect(spec.path)
    version_data = version_input(spec, [], cwd)  # lineage arguments checked before uploading
    progress = Progress(f"push {spec.name}", sum(f.size for f in files), enabled=progress_enabled)
    uploader = Uploader(client, progress)
    version_data["files"] = uploader.upload_all(files)
    progress.close()
    version: VersionFields = client.register_version(input=version_data)["createModelVersion"]["modelVersion"]
    attached = set()
    if spec.documents:  # a retried push (same idempotency key, same version) attaches nothing twice
        found = client.version_documents(name=spec.name, version=version["version"])["modelVersion"]
        attached = {(d["kind"], d["markdown"]) for d in found["documents"]["nodes"]} if found else set()
    for name, source in spec.documents.items():
        kind = next(kind for kind in DOCUMENT_KINDS if kind == name)  # checked above
        if (kind, source.read_text(encoding="utf-8")) in attached:
            continue
        client.attach_document(
            input={
                "name": spec.name,
                "version": version["version"],
                "kind": kind,
                "title": source.stem,
                "markdown": source.read_text(encoding="utf-8"),
            }
        )
    deadline = Deadline(spec.timeout)
    if (spec.wait or spec.request) and version["status"] != "READY":
        version = until_ready(client, spec.name, version["version"], deadline)
    requests = []
    if spec.request:
        requests = request_promotion(
            client,
            version,
            spec.request,
            comment=spec.comment,
            wait=spec.wait,
            deadline=deadline,
            idempotency_key=spec.idempotency_key,
        )
        version = client.version_status(name=spec.name, version=version["version"])["modelVersion"] or version
    return Pushed(version["uri"], version, requests, len(files), uploader.skipped)


def promote(
    client: Client, uri: str, target: str, *, comment: str | None = None, wait: bool = False, timeout: float = 3600.0
) -> list[RequestFields]:
    """Requests the moves that bring the version ``uri`` points at to ``target`` (any stage; STAGING then
    PRODUCTION when needed), waiting for approval with ``wait``."""
    if target not in STEPS:
        raise bad_input(f"--to {target}: one of {', '.join(STEPS)}", "to")
    resolved = client.resolve(uri=uri)["resolveModelUri"]
    if resolved is None:
        raise ModelregError("NOT_FOUND", f"{uri} resolves to nothing")
    return request_promotion(
        client, resolved["modelVersion"], target, comment=comment, wait=wait, deadline=Deadline(timeout)
    )
