import json
from tests.conftest import ADMIN, Actors

async def test_probe(client, actors: Actors):
    board, agent = await actors.board(), await actors.agent()
    B = f"/v1/boards/{board['id']}"
    async def show(label, r):
        try:
            r = await r
        except Exception as e:
            import traceback; traceback.print_exc(); return
        print(label, r.status_code, r.headers.get("www-authenticate"), r.text[:300])
    for depth in (300,):
        await show(f"deep{depth}", client.post(f"{B}/artifacts", content=("{\"type\":\"finding\",\"body\":{\"claim\":\"x\",\"d\":" + "["*depth + "]"*depth + "}}").encode(), headers={**agent["headers"], "content-type": "application/json"}))
    await show("bigint body", client.post(f"{B}/artifacts", json={"type": "finding", "body": {"claim": "x", "n": 10**30}}, headers=agent["headers"]))
    await show("kind nul", client.get(f"{B}/events", params={"kind": "a\x00"}, headers=ADMIN))
    await show("idem nonascii", client.post(f"{B}/artifacts", json={"type": "finding", "body": {"claim": "x"}}, headers={**agent["headers"], "Idempotency-Key": "é".encode("latin-1")}))
    await show("neg cl", client.post("/v1/boards", content=b'{"name":"x"}', headers={**ADMIN, "content-type": "application/json", "content-length": "-1"}))
    await show("json charset", client.post("/v1/boards", content=b'{"name":"x"}', headers={**ADMIN, "content-type": "application/json; charset=utf-8"}))
    await show("bad utf8", client.post("/v1/boards", content=b'{"name":"\xff"}', headers={**ADMIN, "content-type": "application/json"}))
    await show("lone surrogate", client.post("/v1/boards", content=b'{"name":"\\ud800"}', headers={**ADMIN, "content-type": "application/json"}))
    await show("lone surrogate body", client.post(f"{B}/artifacts", content=b'{"type":"finding","body":{"claim":"\\ud800"}}', headers={**agent["headers"], "content-type": "application/json"}))
    await show("empty json", client.post("/v1/boards", content=b'', headers={**ADMIN, "content-type": "application/json"}))
    await show("tags str", client.post(f"{B}/artifacts", json={"type": "finding", "body": {"claim": "x"}, "tags": "x"}, headers=agent["headers"]))
    await show("batch items obj", client.post(f"{B}/artifacts/batch", json={"items": {"a": 1}}, headers=agent["headers"]))
    await show("retract unk board", client.post(f"/v1/boards/{agent['id']}/artifacts/{agent['id']}/retract", json={"reason": "x"}, headers=ADMIN))
    await show("put type no body", client.put("/v1/types/x", headers=ADMIN))
    await show("put type bad name", client.put("/v1/types/X!", json={"schema": {}}, headers=ADMIN))
    await show("ref remote", client.put("/v1/types/x", json={"schema": {"$ref": "http://example.com/s.json"}}, headers=ADMIN))
    await show("type5", client.put("/v1/types/x", json={"schema": {"type": 5}}, headers=ADMIN))
    await show("type5 nested", client.put("/v1/types/x", json={"schema": {"properties": {"a": {"type": 5}}}}, headers=ADMIN))
    await show("list limit0", client.get(f"{B}/artifacts", params={"limit": 0}, headers=ADMIN))
    await show("list limitabc", client.get(f"{B}/artifacts", params={"limit": "abc"}, headers=ADMIN))
    await show("events after -1", client.get(f"{B}/events", params={"after": -1}, headers=ADMIN))
    await show("boards limit", client.get(f"/v1/boards", params={"limit": 0}, headers=ADMIN))
    await show("latest maybe", client.get(f"{B}/artifacts", params={"latest": "maybe"}, headers=ADMIN))
    await show("author bad", client.get(f"{B}/artifacts", params={"author": "x"}, headers=ADMIN))
    await show("405", client.delete(f"/v1/boards", headers=ADMIN))
    await show("404 route", client.get(f"/v1/nope", headers=ADMIN))
