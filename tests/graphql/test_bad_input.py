import asyncio
async def test_x(api):
    await api.ok('mutation { createRegisteredModel(input: {name: "m"}) { registeredModel { updatedAt } } }')
    await asyncio.sleep(0.01)
    a = await api.ok('mutation { setRegisteredModelTag(input: {name: "m", key: "k", value: "v"}) { registeredModel { updatedAt tags { key } } } }')
    b = await api.ok('{ registeredModel(name: "m") { updatedAt } }')
    print(a, b)
    c = await api.gql('{ viewer { subject } }', None, "mlops", sub="s" * 300)
    d = await api.gql('mutation { createRegisteredModel(input: {name: "n"}) { registeredModel { updatedAt } } }', None, "mlops", sub="s" * 300)
    print(c, d)
