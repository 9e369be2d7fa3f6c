"""modelreg's client: a light library (httpx and the standard library) and the ``modelreg`` command for CI and
terminals. ``Client`` speaks the registry's GraphQL API with typed operations generated from its schema;
``push`` and ``pull`` move whole versions.

>>> from modelreg_client import Client, PushSpec, push
>>> with Client("https://modelreg.example.com", token) as registry:
...     push(registry, PushSpec(path=Path("model/"), name="fraud/scorer", request="PRODUCTION")).uri
'models:/fraud/scorer/7'
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
