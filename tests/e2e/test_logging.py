"""What a real server process logs for a request: one line per response, whatever its status."""

from __future__ import annotations

import httpx

from tests.support import Server, wait_until


def test_a_4xx_is_logged_once_by_the_access_log() -> None:
    # DEBUG on, as under `make run`: Django's own console handler is on then too.
    with Server({"DEBUG": "1"}) as server:

        def lines(marker: str) -> list[str]:
            return [line for line in server.log.read_text().splitlines() if marker in line]

        missing = "/no-such-page-for-the-log-test/"
        assert httpx.get(f"{server.base}{missing}").status_code == 404
        wait_until(lambda: any(" 404 " in line for line in lines(missing)), "the access line of the 404")
        assert len(lines(missing)) == 1, lines(missing)
        assert "syncline.access" in lines(missing)[0]

        # bob is a requester: creating his unit's storage locations is not his to do.
        headers = {"Authorization": f"Bearer {server.token('bob')}"}
        refused = httpx.post(f"{server.base}/api/storage/", headers=headers, json={"unit": 1, "name": "x"})
        assert refused.status_code == 403, refused.text
        wait_until(lambda: any(" 403 " in line for line in lines("/api/storage/")), "the access line of the 403")
        assert len(lines("/api/storage/")) == 1, lines("/api/storage/")
