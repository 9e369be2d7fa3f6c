"""Waiting by polling (the client needs no WebSocket library): for a version to finish registration, and for a
transition request to be decided. ``MODELREG_POLL_INTERVAL`` (seconds, default 5) sets the pace."""

from __future__ import annotations

import os
import time

from .client import Client
from .errors import ModelregError
from .generated import RequestFields, VersionFields


def poll_interval() -> float:
    """Seconds between two polls: MODELREG_POLL_INTERVAL, default 5, at least 0.05."""
    try:
        return max(0.05, float(os.environ.get("MODELREG_POLL_INTERVAL", "5")))
    except ValueError:
        return 5.0


class Deadline:
    """A point in time a wait must not pass; ``check`` raises TIMED_OUT saying what was awaited."""

    def __init__(self, seconds: float) -> None:
        self.at = time.monotonic() + seconds
        self.seconds = seconds

    def check(self, what: str) -> None:
        if time.monotonic() >= self.at:
            raise ModelregError("TIMED_OUT", f"gave up after {self.seconds:g} s waiting for {what} (--timeout)")


def until_ready(client: Client, name: str, version: int, deadline: Deadline) -> VersionFields:
    """The version once READY; FAILED_PRECONDITION when its registration failed (a file did not match)."""
    while True:
        found = client.version_status(name=name, version=version)["modelVersion"]
        if found is None:
            raise ModelregError("NOT_FOUND", f"models:/{name}/{version} no longer exists")
        if found["status"] == "READY":
            return found
        if found["status"] == "FAILED_REGISTRATION":
            raise ModelregError("FAILED_PRECONDITION", f"{found['uri']} failed registration: {found['statusMessage']}")
        deadline.check(f"{found['uri']} to become READY")
        time.sleep(poll_interval())


def until_decided(client: Client, request: RequestFields, deadline: Deadline) -> RequestFields:
    """The request once APPLIED; FAILED_PRECONDITION when it was rejected or cancelled."""
    while request["status"] in ("PENDING", "APPROVED"):
        deadline.check(f"transition request {request['id']} ({request['toStage']}) to be approved")
        time.sleep(poll_interval())
        found = client.request(id=request["id"])["node"]
        if not found:
            raise ModelregError("NOT_FOUND", f"transition request {request['id']} no longer exists")
        request = found
    if request["status"] != "APPLIED":
        comment = f": {request['resolutionComment']}" if request["resolutionComment"] else ""
        raise ModelregError(
            "FAILED_PRECONDITION",
            f"transition request {request['id']} to {request['toStage']} was {request['status']}{comment}",
        )
    return request
