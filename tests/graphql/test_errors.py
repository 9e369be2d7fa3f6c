"""Unexpected errors leave as INTERNAL with the request id, never with internals."""

import logging

GET_MODEL = "{ registeredModel(name: \"m\") { name } }"


async def test_unexpected_error_is_masked_with_the_request_id(api, app, monkeypatch, caplog):
    async def broken(*args, **kwargs):
        raise RuntimeError("connection to db failed: password=hunter2")

    monkeypatch.setattr(app.state.services.reads, "model_with", broken)
    with caplog.at_level(logging.ERROR, logger="modelreg.graphql"):
        response = await api.post(GET_MODEL, token=api.token("auditor"), headers={"x-request-id": "req-42"})
    error = response.json()["errors"][0]
    assert error["extensions"] == {"code": "INTERNAL", "requestId": "req-42"}
    assert "hunter2" not in response.text and "Traceback" not in response.text
    assert response.headers["x-request-id"] == "req-42"
    logged = [r for r in caplog.records if r.name == "modelreg.graphql"]
    assert logged and logged[0].error_type == "RuntimeError"
    assert "hunter2" not in logged[0].error


def test_redaction_masks_credentials():
    from app.logs import redact

    assert redact("postgresql://app:s3cr3t@db:5432/x password=abc token=xyz") == (
        "postgresql://app:***@db:5432/x password=*** token=***")
