"""Take README screenshots of a running Berth (e.g. `make run` with its sandbox engine).

    .venv/bin/python scripts/screenshots.py http://127.0.0.1:8000 USERNAME PASSWORD [page-path ...]

Drives Debian's Chromium through Playwright and writes small PNGs to docs/screenshots/.
Extra page paths (e.g. /env/local/pulls/) add screenshots named after the path; `name=/path/` names one.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from playwright.sync_api import sync_playwright

OUT = Path(__file__).resolve().parent.parent / "docs" / "screenshots"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"]
ARGS += ["--disable-sync", "--no-first-run"]


def main(base: str, username: str, password: str, extra: list[str]) -> int:
    OUT.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS, headless=True)
        page = browser.new_page(viewport={"width": 1100, "height": 640})
        page.set_default_timeout(15000)
        page.goto(base + "/login/")
        page.fill("#id_username", username)
        page.screenshot(path=str(OUT / "login.png"))
        page.fill("#id_password", password)
        page.click("button[type=submit]")
        page.wait_for_load_state()
        shots = {"dashboard": "/", "images": "/images/"}
        for item in extra:
            name, _, path = item.partition("=") if re.match(r"^[a-z0-9-]+=/", item) else ("", "", item)
            shots[name or re.sub(r"[^a-z0-9]+", "-", path.lower()).strip("-") or "home"] = path
        for name, path in shots.items():
            page.goto(base + path)
            page.wait_for_load_state()
            page.screenshot(path=str(OUT / f"{name}.png"), full_page=False)
            print(f"docs/screenshots/{name}.png <- {page.url}")
        browser.close()
    return 0


if __name__ == "__main__":
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    sys.exit(main(sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]))
