"""The ``modelreg`` command of the client: push, pull, promote, approve... (docs/ci.md lists them with their exit
codes). When the server package is installed too, its commands (serve, token, db...) run through the same
``modelreg``: each package's entry point hands the other's commands over."""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from collections.abc import Callable, Sequence
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

from . import device
from .auth import resolve_token, save_login
from .client import Client
from .errors import ExitCode, ModelregError, bad_input
from .generated import RequestFields, TransitionRequestFilter
from .progress import wanted
from .pull import pull, resolve
from .push import PushSpec, promote, push

COMMANDS = ("push", "pull", "promote", "status", "requests", "approve", "reject", "rollback", "whoami", "login")
SERVER_ENTRY_POINT = "modelreg.commands"  # group under which the server package registers its own main


def _pairs(items: list[str] | None, option: str) -> dict[str, str]:
    """``K=V`` options as a dict; anything else is bad input naming the option."""
    found = {}
    for item in items or []:
        key, equals, value = item.partition("=")
        if not equals or not key:
            raise bad_input(f"{option} {item!r}: write KEY=VALUE", option.lstrip("-"))
        found[key] = value
    return found


def _seconds(text: str) -> float:
    """``90``, ``90s``, ``30m`` or ``2h`` in seconds (for --timeout)."""
    match = re.fullmatch(r"(\d+(?:\.\d+)?)([smh]?)", text.strip())
    if not match:
        raise argparse.ArgumentTypeError(f"{text!r}: write seconds, or a number with s, m or h (30m)")
    return float(match[1]) * {"": 1, "s": 1, "m": 60, "h": 3600}[match[2]]


def _client(args: argparse.Namespace) -> Client:
    """A client for ``--url`` with the token of the first source that has one (auth.py)."""
    return Client(args.url, resolve_token(args.token_file, args.audience))


def _emit(args: argparse.Namespace, data: Any, text: str) -> None:
    """The answer on stdout: ``data`` as JSON with --json, else ``text`` for people."""
    print(json.dumps(data, indent=2) if args.json else text)


def _request_line(request: RequestFields) -> str:
    """One transition request on one line: id, version, target, status, requester, comment."""
    target = request["toStage"] or f"@{request['alias']}"
    return (
        f"{request['id']}  models:/{request['name']}/{request['version']} -> {target}  {request['status']}"
        f"  by {request['requestedBy']['subject']}  {request['comment'] or ''}"
    ).rstrip()


def cmd_push(args: argparse.Namespace) -> int:
    """modelreg push: upload, register, attach, request (push.py)."""
    metrics = {}
    for key, value in _pairs(args.metric, "--metric").items():
        try:
            metrics[key] = float(value)
        except ValueError:
            raise bad_input(f"--metric {key}={value}: the value must be a number", "metric") from None
    documents = {kind: Path(path) for kind, path in _pairs(args.document, "--document").items()}
    spec = PushSpec(
        path=Path(args.path),
        name=args.name,
        flavor=args.flavor,
        description=args.description,
        metrics=metrics,
        params=_pairs(args.param, "--param"),
        tags=_pairs(args.tag, "--tag"),
        datasets=args.dataset or [],
        run=args.run,
        code=args.code,
        parents=args.parent or [],
        documents=documents,
        request=args.request,
        comment=args.comment,
        wait=args.wait,
        timeout=args.timeout,
        idempotency_key=args.idempotency_key,
    )
    with _client(args) as client:
        pushed = push(client, spec, progress_enabled=wanted() and not args.json)
    _emit(
        args,
        {
            "uri": pushed.uri,
            "version": pushed.version,
            "requests": pushed.requests,
            "files": pushed.files,
            "skippedFiles": pushed.skipped,
        },
        "\n".join([pushed.uri, *(f"  {_request_line(r)}" for r in pushed.requests)]),
    )
    return 0


def cmd_pull(args: argparse.Namespace) -> int:
    """modelreg pull: every file of a version, verified (pull.py)."""
    with _client(args) as client:
        pulled = pull(client, args.uri, Path(args.dest), progress_enabled=wanted() and not args.json)
    _emit(
        args,
        {"uri": pulled.uri, "files": pulled.files, "downloaded": pulled.downloaded, "bytes": pulled.bytes},
        f"{pulled.uri}: {pulled.files} files in {args.dest} ({pulled.downloaded} downloaded)",
    )
    return 0


def cmd_promote(args: argparse.Namespace) -> int:
    """modelreg promote: request the moves to a stage."""
    with _client(args) as client:
        requests = promote(client, args.uri, args.to, comment=args.comment, wait=args.wait, timeout=args.timeout)
    _emit(args, {"requests": requests}, "\n".join(_request_line(r) for r in requests))
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    """modelreg status: stage, status, aliases and open requests of a version."""
    with _client(args) as client:
        resolved = resolve(client, args.uri)
    version = resolved["modelVersion"]
    pending = version["transitionRequests"]["nodes"]
    aliases = ", ".join(a["alias"] for a in version["aliases"]) or "-"
    lines = [
        f"{resolved['pinnedUri']}  stage {version['stage']}  status {version['status']}  aliases {aliases}",
        *(f"  open: {_request_line(r)}" for r in pending),
    ]
    _emit(args, resolved, "\n".join(lines))
    return 0


def cmd_requests(args: argparse.Namespace) -> int:
    """modelreg requests: transition requests, filtered."""
    with _client(args) as client:
        filter_: TransitionRequestFilter = {}
        if args.pending:
            filter_["status"] = ["PENDING", "APPROVED"]
        if args.mine:
            viewer = client.whoami()["viewer"]
            filter_["requestedBy"] = viewer["subject"] if viewer else None
        if args.name:
            filter_["name"] = args.name
        found = client.requests(filter=filter_ or None, first=args.first)["transitionRequests"]
    nodes = found["nodes"] if found else []
    _emit(args, nodes, "\n".join(_request_line(r) for r in nodes) or "no transition requests")
    return 0


def cmd_approve(args: argparse.Namespace) -> int:
    """modelreg approve: approve a request."""
    with _client(args) as client:
        request = client.approve(input={"id": args.id, "comment": args.comment})["approveTransitionRequest"]
    _emit(args, request["transitionRequest"], _request_line(request["transitionRequest"]))
    return 0


def cmd_reject(args: argparse.Namespace) -> int:
    """modelreg reject: reject a request (a comment is required)."""
    with _client(args) as client:
        request = client.reject(input={"id": args.id, "comment": args.comment})["rejectTransitionRequest"]
    _emit(args, request["transitionRequest"], _request_line(request["transitionRequest"]))
    return 0


def cmd_rollback(args: argparse.Namespace) -> int:
    """modelreg rollback: the previous PRODUCTION version back at once."""
    with _client(args) as client:
        done = client.rollback(input={"name": args.name, "reason": args.reason, "fromVersion": args.from_version})
    restored, archived = done["rollbackProduction"]["restored"], done["rollbackProduction"]["archived"]
    _emit(args, done["rollbackProduction"], f"{restored['uri']} is in PRODUCTION again; {archived['uri']} archived")
    return 0


def cmd_whoami(args: argparse.Namespace) -> int:
    """modelreg whoami: the caller as the registry sees the token."""
    with _client(args) as client:
        viewer = client.whoami()["viewer"]
    if viewer is None:
        raise ModelregError("UNAUTHENTICATED", "the registry does not know this token")
    _emit(args, viewer, f"{viewer['subject']} ({viewer['kind']}) roles: {', '.join(viewer['roles']) or 'none'}")
    return 0


def cmd_login(args: argparse.Namespace) -> int:
    """modelreg login: the device authorization grant; the token is saved for later commands."""
    if not args.issuer or not args.client_id:
        raise bad_input("give --issuer and --client-id (or MODELREG_OIDC_ISSUER and MODELREG_OIDC_CLIENT_ID)")
    token = device.device_login(args.issuer, args.client_id, scope=args.scope, audience=args.audience)
    path = save_login(token, args.issuer)
    print(f"signed in; the token is kept in {path} until it expires", file=sys.stderr)
    return 0


def _common(parser: argparse.ArgumentParser) -> None:
    """Options every command takes."""
    parser.add_argument("--url", default=None, help="the registry (MODELREG_URL, default http://127.0.0.1:8000)")
    parser.add_argument("--token-file", help="read the bearer token from this file (MODELREG_TOKEN_FILE)")
    parser.add_argument("--audience", default=None, help="audience of a GitHub Actions OIDC token (MODELREG_AUDIENCE)")
    parser.add_argument("--json", action="store_true", help="print JSON for machines")


def parser() -> argparse.ArgumentParser:
    """The command line: one subcommand per entry of COMMANDS."""
    root = argparse.ArgumentParser(
        prog="modelreg",
        description="modelreg client: push, pull and promote models.",
        epilog="exit codes: 0 ok, 2 bad input, 3 unauthenticated, 4 forbidden, 5 not found, "
        "6 conflict, 7 precondition or gate failed / rejected, 8 timed out, 9 server error",
    )
    sub = root.add_subparsers(dest="command", required=True)

    def command(name: str, run: Callable[[argparse.Namespace], int], help_text: str) -> argparse.ArgumentParser:
        found = sub.add_parser(name, help=help_text, description=help_text)
        _common(found)
        found.set_defaults(handler=run)
        return found

    p = command("push", cmd_push, "upload a file or folder and register it as a new version")
    p.add_argument("path")
    p.add_argument("--name", required=True, help="model name (created when missing)")
    p.add_argument("--flavor")
    p.add_argument("--description")
    p.add_argument("--metric", action="append", metavar="K=V")
    p.add_argument("--param", action="append", metavar="K=V")
    p.add_argument("--tag", action="append", metavar="K=V")
    p.add_argument("--dataset", action="append", metavar="NAME@VERSION[=URI]", help="a training dataset")
    p.add_argument("--run", metavar="TRACKER:ID", help="the run that produced it (mlflow:8f2c1a)")
    p.add_argument("--code", metavar="auto|URL@SHA", help="the commit: auto reads the git checkout")
    p.add_argument("--parent", action="append", metavar="models:/...", help="a version this one derives from")
    p.add_argument("--document", action="append", metavar="KIND=FILE", help="attach Markdown (MODEL_CARD=card.md)")
    p.add_argument("--request", type=str.upper, metavar="STAGING|PRODUCTION", help="request promotion")
    p.add_argument("--comment", help="comment of the transition requests")
    p.add_argument("--wait", action="store_true", help="wait for READY and the requests' approval")
    p.add_argument("--timeout", type=_seconds, default=3600.0, help="longest wait (3600 s; 30m, 2h)")
    p.add_argument("--idempotency-key", help="a retry with the same key registers nothing twice (a CI job id)")

    p = command("pull", cmd_pull, "download every file of a version, verified, resuming")
    p.add_argument("uri", help="models:/NAME/VERSION, models:/NAME@ALIAS, models:/NAME/Production ...")
    p.add_argument("dest")

    p = command("promote", cmd_promote, "request the moves that bring a version to a stage")
    p.add_argument("uri")
    p.add_argument("--to", required=True, type=str.upper, metavar="STAGING|PRODUCTION|ARCHIVED")
    p.add_argument("--comment")
    p.add_argument("--wait", action="store_true")
    p.add_argument("--timeout", type=_seconds, default=3600.0)

    p = command("status", cmd_status, "stage, status, aliases and open requests of a version")
    p.add_argument("uri")

    p = command("requests", cmd_requests, "list transition requests (newest first)")
    p.add_argument("--pending", action="store_true", help="open ones only (PENDING or APPROVED)")
    p.add_argument("--mine", action="store_true", help="the ones I requested")
    p.add_argument("--name", help="of this model")
    p.add_argument("--first", type=int, default=20)

    p = command("approve", cmd_approve, "approve a transition request")
    p.add_argument("id")
    p.add_argument("--comment")

    p = command("reject", cmd_reject, "reject a transition request")
    p.add_argument("id")
    p.add_argument("--comment", required=True)

    p = command("rollback", cmd_rollback, "restore the previous PRODUCTION version at once")
    p.add_argument("name")
    p.add_argument("--reason", required=True)
    p.add_argument("--from-version", type=int, help="the version expected in PRODUCTION now")

    command("whoami", cmd_whoami, "who the registry takes this token for")

    p = command("login", cmd_login, "sign in with the device authorization grant; later commands use the token")
    p.add_argument("--issuer", default=os.environ.get("MODELREG_OIDC_ISSUER"))
    p.add_argument("--client-id", default=os.environ.get("MODELREG_OIDC_CLIENT_ID"))
    p.add_argument("--scope", default=os.environ.get("MODELREG_OIDC_SCOPES", "openid"))
    return root


def _server_main() -> Callable[[list[str]], int] | None:
    """The server package's command (app.cli:main) when it is installed beside the client."""
    found = [point for point in entry_points(group=SERVER_ENTRY_POINT) if point.name == "server"]
    return found[0].load() if found else None


def main(argv: Sequence[str] | None = None) -> int:
    """Runs one command; returns its exit code (errors.ExitCode). Commands not the client's go to the server's."""
    arguments = list(sys.argv[1:] if argv is None else argv)
    if arguments and not arguments[0].startswith("-") and arguments[0] not in COMMANDS:
        server = _server_main()
        if server is not None:
            return server(arguments)
    args = parser().parse_args(arguments)
    try:
        return args.handler(args)
    except ModelregError as error:
        print(f"modelreg: {error}", file=sys.stderr)
        return int(error.exit_code)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return int(ExitCode.OK)


if __name__ == "__main__":
    sys.exit(main())
