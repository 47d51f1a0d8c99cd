"""The doors a person opens in a browser: `/` leads to the inspector, and the API reference
pages load everything they need from the service itself (so they work offline)."""

import re

import httpx


async def test_the_root_leads_to_the_inspector(client: httpx.AsyncClient) -> None:
    r = await client.get("/")
    assert r.status_code == 307
    assert r.headers["location"] == "/inspector/"
    # where the inspector, without a token, asks for one
    login = await client.get("/inspector/")
    assert login.status_code in (302, 303, 307) and "/inspector/login" in login.headers["location"]


async def test_the_reference_pages_load_only_from_the_service(client: httpx.AsyncClient) -> None:
    for page, bundle in (("/docs", "swagger-ui-bundle.js"), ("/redoc", "redoc.standalone.js")):
        r = await client.get(page)
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
        sources = re.findall(r'(?:src|href)="([^"]+)"', r.text)
        assert sources, r.text
        assert all(s.startswith("/") for s in sources), sources  # no CDN, no other host
        assert any(s.endswith(bundle) for s in sources)
        for source in sources:
            asset = await client.get(source)
            assert asset.status_code == 200, source
            assert len(asset.content) > 1000, source
        assert "/openapi.json" in r.text


async def test_the_front_pages_stay_out_of_the_api_reference(client: httpx.AsyncClient) -> None:
    paths = (await client.get("/openapi.json")).json()["paths"]
    assert not {"/", "/docs", "/redoc"} & set(paths)
    assert "/v1/boards" in paths
