import json, base64
def b64(s): return base64.urlsafe_b64encode(s.encode()).decode().rstrip("=")
CV = 'mutation($i: CreateModelVersionInput!) { createModelVersion(input: $i) { modelVersion { version signature artifact { size } } } }'
LIST = """query($after: String, $order: RegisteredModelOrder) { registeredModels(after: $after, orderBy: $order) { totalCount edges { cursor } } }"""
LISTV = """query($after: String, $order: ModelVersionOrder) { modelVersions(after: $after, orderBy: $order) { totalCount edges { cursor } } }"""
RAW = [
 ("create", CV, '{"i": {"name": "m", "createModelIfMissing": true}}'),
 ("sig nan", CV, '{"i": {"name": "m", "signature": {"inputs": NaN}}}'),
 ("size 1e30", CV, '{"i": {"name": "m", "artifact": {"uri": "x", "size": 1e30}}}'),
 ("node huge", 'query($id: ID!) { node(id: $id) { id } }', json.dumps({"id": b64("RegisteredModel:99999999999999999999")})),
 ("node int64+1", 'query($id: ID!) { node(id: $id) { id } }', json.dumps({"id": b64("RegisteredModel:9223372036854775808")})),
 ("node int32+1", 'query($id: ID!) { node(id: $id) { id } }', json.dumps({"id": b64("RegisteredModel:2147483648")})),
 ("uri huge", 'query($u: String!) { resolveModelUri(uri: $u) { pinnedUri } }', '{"u": "models:/m/99999999999"}'),
 ("uri int32+1", 'query($u: String!) { resolveModelUri(uri: $u) { pinnedUri } }', '{"u": "models:/m/2147483648"}'),
 ("name cursor on created", LIST, json.dumps({"after": b64('["m",1]'), "order": {"field": "CREATED_AT"}})),
 ("num cursor on name", LIST, json.dumps({"after": b64('[5,1]')})),
 ("time cursor on name", LIST, json.dumps({"after": b64('[{"t":"2020-01-01T00:00:00"},1]')})),
 ("str cursor on version", LISTV, json.dumps({"after": b64('["m",1]'), "order": {"field": "VERSION"}})),
 ("float cursor on version", LISTV, json.dumps({"after": b64('[1.5,1]'), "order": {"field": "VERSION"}})),
 ("big id cursor", LIST, json.dumps({"after": b64('["m",99999999999999999999]')})),
 ("tag value 5000", 'mutation { setRegisteredModelTag(input: {name: "m", key: "k", value: "%s"}) { registeredModel { name } } }' % ("x"*5000), '{}'),
 ("name 256", 'mutation { createRegisteredModel(input: {name: "%s"}) { registeredModel { name } } }' % ("n"*256), '{}'),
 ("desc 20000", 'mutation { createRegisteredModel(input: {name: "d", description: "%s"}) { registeredModel { name } } }' % ("n"*20000), '{}'),
]
async def test_explore2(api):
    for label, q, v in RAW:
        raw = v if q is None else '{"query": %s, "variables": %s}' % (json.dumps(q), v)
        r = await api.client.post("/graphql", content=raw, headers={"content-type": "application/json", "authorization": "Bearer " + api.token("mlops")})
        print(label, r.status_code, r.text[:300])
