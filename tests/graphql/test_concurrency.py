"""Version numbers under concurrent creates: no duplicates and no gaps, on SQLite and PostgreSQL."""

import asyncio

CREATE_VERSION = """
mutation($input: CreateModelVersionInput!) {
  createModelVersion(input: $input) { modelVersion { version } }
}
"""
VERSION_NUMBERS = """
query($after: String) {
  modelVersions(filter: {name: {equals: "race/model"}}, orderBy: {field: VERSION, direction: ASC},
                first: 100, after: $after) {
    totalCount edges { node { version } } pageInfo { hasNextPage endCursor }
  }
}
"""
CLIENTS, CREATES_PER_CLIENT = 8, 25


async def test_concurrent_creates_number_versions_1_to_200_once(api):
    token = api.token("data-scientist", sub="ci")

    async def client(index: int) -> list[int]:
        numbers = []
        for _ in range(CREATES_PER_CLIENT):
            response = await api.post(CREATE_VERSION, {"input": {"name": "race/model", "createModelIfMissing": True,
                                                                  "tags": [{"key": "client", "value": str(index)}]}},
                                      token=token)
            body = response.json()
            assert not body.get("errors"), body
            numbers.append(body["data"]["createModelVersion"]["modelVersion"]["version"])
        return numbers

    results = await asyncio.gather(*(client(i) for i in range(CLIENTS)))
    returned = sorted(n for numbers in results for n in numbers)
    assert returned == list(range(1, CLIENTS * CREATES_PER_CLIENT + 1))

    stored, after = [], None
    while True:
        page = (await api.ok(VERSION_NUMBERS, {"after": after}))["modelVersions"]
        stored += [edge["node"]["version"] for edge in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert page["totalCount"] == 200
    assert stored == list(range(1, 201))
