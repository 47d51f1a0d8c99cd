import time
from tests.controller.test_runs import finished, scripted, start

async def test_dbg(client, actors):
    roster = [await scripted(actors, f"bad-{i}", ["planner"], always_invalid="true") for i in range(3)]
    roster += [
        await scripted(actors, "b-planner", ["planner"]),
        await scripted(actors, "b-researcher", ["research"]),
        await scripted(actors, "b-critic", ["critique"]),
    ]
    slow = 0
    for i in range(10):
        board = await actors.board()
        t0 = time.monotonic()
        run = await start(client, board, protocol="shared", roster=[a["id"] for a in roster])
        detail = await finished(client, run["id"])
        took = time.monotonic() - t0
        print("took", round(took, 2), detail["run"]["lease_token"], detail["run"]["stop_reason"][:100])
        if took > 5:
            break
