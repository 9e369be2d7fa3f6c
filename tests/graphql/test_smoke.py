CREATE = """
mutation($input: CreateModelVersionInput!) {
  createModelVersion(input: $input) { modelVersion { version name stage status } }
}
"""


async def test_create_and_read_back(api):
    data = await api.ok(CREATE, {"input": {"name": "m1", "createModelIfMissing": True}}, "data-scientist")
    assert data["createModelVersion"]["modelVersion"] == {"version": 1, "name": "m1", "stage": "NONE",
                                                          "status": "READY"}
