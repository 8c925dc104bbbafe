async def test_it_pings(client, factory):
    check = await factory.check()
    r = await client.get(f"/ping/{check.code}")
    assert r.status_code == 200, r.text
    assert r.text == "OK"
    check = await factory.reload(check)
    assert check.status == "up"
    assert check.n_pings == 1
