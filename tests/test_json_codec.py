"""orjson on the hot paths (app/json_codec.py) writes what the standard library would, and falls back to it for what
orjson refuses instead of failing a write or a response."""

from __future__ import annotations

import json

import pytest

from app import json_codec


@pytest.mark.backend_independent
@pytest.mark.parametrize("value", [{"a": [1, 2.5, None, True], "ü": "naïve"}, {"big": 2**70}, [{"n": -(2**64)}]])
def test_same_json_as_the_standard_library(value):
    assert json.loads(json_codec.dumps(value)) == value
    assert json_codec.loads(json_codec.dumps_text(value)) == value


async def test_a_signature_with_an_integer_beyond_64_bits_is_stored_and_answered(api):
    signature = {"inputs": [{"name": "x", "shape": [2**70]}]}
    data = await api.ok(
        "mutation($s: JSON!) { createModelVersion(input: {name: 'json/big', createModelIfMissing: true, "
        "signature: $s}) { modelVersion { signature } } }".replace("'", '"'),
        {"s": signature},
    )
    assert data["createModelVersion"]["modelVersion"]["signature"] == signature
    again = await api.ok('{ modelVersion(name: "json/big", version: 1) { signature } }')
    assert again["modelVersion"]["signature"] == signature
