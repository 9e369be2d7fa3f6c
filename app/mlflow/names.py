"""Model names through the MLflow API.

modelreg separates namespaces with ``/`` (``fraud/scorer``); MLflow's client refuses ``/`` and ``:`` in a model name
before sending some calls. Through the MLflow API a namespace separator is written ``~`` (``fraud~scorer``): modelreg
names never contain ``~`` and ``~`` needs no escaping in URLs or ``models:/`` URIs, so the mapping is one-to-one
both ways. Every other character passes unchanged (dots included: they belong to names, as in ``churn.v2``).
"""

from __future__ import annotations

SEPARATOR = "~"


def to_modelreg(name: str) -> str:
    """The modelreg name of a name sent by an MLflow client (``fraud~scorer`` -> ``fraud/scorer``). A ``/`` that a
    client let through is kept: it means the same thing."""
    return name.replace(SEPARATOR, "/")


def to_mlflow(name: str) -> str:
    """The name an MLflow client sees (``fraud/scorer`` -> ``fraud~scorer``)."""
    return name.replace("/", SEPARATOR)
