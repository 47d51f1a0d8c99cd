import json
from tests.conftest import ADMIN, Actors

async def test_probe(client, actors: Actors):
    board, agent = await actors.board(), await actors.agent()
    B = f"/v1/boards/{board['id']}"
    async def show(label, r):
        try:
            r = await r
        except Exception as e:
            print(label, "EXC", type(e).__name__, str(e)[:200]); return
        print(label, r.status_code, r.headers.get("www-authenticate"), r.text[:300])
    await show("noauth", client.get("/v1/boards"))
    await show("basic", client.get("/v1/boards", headers={"Authorization": "Basic abc"}))
    await show("emptybearer", client.get("/v1/boards", headers={"Authorization": "Bearer "}))
    await show("nul agent", client.post("/v1/agents", json={"name": "a\x00b"}, headers=ADMIN))
    await show("nul board", client.post("/v1/boards", json={"name": "a\x00b"}, headers=ADMIN))
    await show("nul body", client.post(f"{B}/artifacts", json={"type": "finding", "body": {"claim": "a\x00b"}}, headers=agent["headers"]))
    await show("nul key", client.post(f"{B}/artifacts", json={"type": "finding", "key": "k", "role": "a\x00", "body": {"claim": "ab"}}, headers=agent["headers"]))
    await show("nan", client.post(f"{B}/artifacts", content=b'{"type": "finding", "body": {"claim": "ab", "confidence": NaN}}', headers={**agent["headers"], "content-type": "application/json"}))
    await show("nul after", client.get("/v1/agents", params={"after": "a\x00"}, headers=ADMIN))
    await show("nul query type", client.get(f"{B}/artifacts", params={"type": "a\x00"}, headers=ADMIN))
    await show("nul history", client.get(f"{B}/keys/a%00/history", headers=ADMIN))
    await show("big after", client.get(f"{B}/artifacts", params={"after": 10**30}, headers=ADMIN))
    await show("big asof", client.get(f"{B}/artifacts", params={"as_of": 10**30}, headers=ADMIN))
    await show("big ev", client.get(f"{B}/events", params={"after": 10**30}, headers=ADMIN))
    await show("big tv", client.get(f"/v1/types/finding/versions/{10**30}", headers=ADMIN))
    await show("big tv2", client.get(f"/v1/types/finding/versions/3000000000", headers=ADMIN))
    await show("nul schema", client.put("/v1/types/foo", json={"schema": {"description": "a\x00"}}, headers=ADMIN))
    await show("nul retract", client.post(f"{B}/artifacts/{board['id']}/retract", json={"reason": "a\x00"}, headers=ADMIN))
    await show("bad uuid", client.get(f"/v1/boards/nope", headers=ADMIN))
    await show("text/plain", client.post("/v1/boards", content=b'{"name": "x"}', headers={**ADMIN, "content-type": "text/plain"}))
    await show("no ct", client.post("/v1/boards", content=b'{"name": "x"}', headers=ADMIN))
    await show("form", client.post("/v1/boards", data={"name": "x"}, headers=ADMIN))
    await show("malformed", client.post("/v1/boards", content=b'{"name": ', headers={**ADMIN, "content-type": "application/json"}))
    await show("list body", client.post("/v1/boards", json=[1], headers=ADMIN))
    await show("str body", client.post("/v1/boards", json="x", headers=ADMIN))
    big = json.dumps({"name": "x" * 300 * 1024}).encode()
    await show("big cl", client.post("/v1/boards", content=big, headers={**ADMIN, "content-type": "application/json"}))
    async def gen():
        for i in range(0, len(big), 8192):
            yield big[i:i+8192]
    await show("big chunked", client.post("/v1/boards", content=gen(), headers={**ADMIN, "content-type": "application/json"}))
    await show("big chunked noauth", client.post("/v1/boards", content=gen(), headers={"content-type": "application/json"}))
    await show("exp big", client.post(f"{B}/artifacts", json={"type": "finding", "expected_version": 10**30, "body": {"claim": "ab"}}, headers=agent["headers"]))
    await show("deep", client.post(f"{B}/artifacts", content=("{\"type\":\"finding\",\"body\":{\"claim\":\"x\",\"d\":" + "["*5000 + "]"*5000 + "}}").encode(), headers={**agent["headers"], "content-type": "application/json"}))
    await show("schema deep", client.put("/v1/types/deep", content=("{\"schema\":{\"d\":" + "["*5000 + "]"*5000 + "}}").encode(), headers={**ADMIN, "content-type": "application/json"}))
    await show("schema pattern", client.put("/v1/types/pat", json={"schema": {"type": "string", "pattern": "("}}, headers=ADMIN))
    await show("schema bool", client.put("/v1/types/bool", json={"schema": {"properties": {"a": False}}}, headers=ADMIN))
    await show("me admin", client.get("/v1/agents/me", headers=ADMIN))
    await show("lineage", client.get(f"{B}/artifacts/{board['id']}/lineage", params={"direction": "sideways"}, headers=ADMIN))
    await show("events wait", client.get(f"{B}/events", params={"wait": "nan"}, headers=ADMIN))
    await show("events wait inf", client.get(f"{B}/events", params={"wait": "inf"}, headers=ADMIN))
