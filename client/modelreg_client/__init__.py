"""modelreg's client: a light library (httpx and the standard library) and the ``modelreg`` command for CI and
terminals. ``Client`` speaks the registry's GraphQL API with typed operations generated from its schema;
``push`` and ``pull`` move whole versions.

    from pathlib import Path
    from modelreg_client import Client, PushSpec, push, resolve_token

    with Client("https://modelreg.example.com", resolve_token()) as registry:
        print(push(registry, PushSpec(path=Path("model/"), name="fraud/scorer", request="STAGING")).uri)
"""

from .auth import resolve_token
from .client import Client
from .errors import ExitCode, ModelregError
from .pull import Pulled, pull
from .push import Pushed, PushSpec, promote, push

__all__ = [
    "Client",
    "ExitCode",
    "ModelregError",
    "Pulled",
    "PushSpec",
    "Pushed",
    "promote",
    "pull",
    "push",
    "resolve_token",
]
