"""Berth's container image: its size and how long it takes to build, on the bench's fresh private engine.

Target: final image under 200 MB. Optional: when the base image's root filesystem is not built yet (it is
built from Debian packages by `make test-containers` and cached), this part says so and is skipped.
The build time is a cold build (no layer cache on a fresh engine) from wheels already on the host; it
includes the apt-get steps of both stages, so it depends on the package mirror's speed too.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = str(ROOT / "scripts" / "containers.sh")
IMAGE = "berth:bench"
TARGET_MB = 200


def main() -> int:
    rootfs = Path(subprocess.run([SCRIPT, "rootfs-path"], capture_output=True, text=True, check=True).stdout.strip())
    if not rootfs.is_file():
        print(f"bench.image: SKIPPED - the base image is not built ({rootfs} is missing).")
        print("  `make test-containers` builds it from Debian packages (about a minute) and caches it there.")
        return 0
    env = {**os.environ, "BERTH_IMAGE": IMAGE}
    subprocess.run([SCRIPT, "base"], env=env, check=True)
    started = time.monotonic()
    subprocess.run([SCRIPT, "berth"], env=env, check=True)
    seconds = time.monotonic() - started
    size = int(
        subprocess.run(
            ["docker", "image", "inspect", "-f", "{{.Size}}", IMAGE], capture_output=True, text=True, check=True
        ).stdout
    )
    megabytes = size / 1e6
    verdict = "pass" if megabytes < TARGET_MB else "FAIL"
    ratio = megabytes / TARGET_MB
    print(f"bench.image: {IMAGE} is {megabytes:.1f} MB (target < {TARGET_MB} MB: {verdict}, ratio {ratio:.2f})")
    print(f"bench.image: cold build {seconds:.0f} s on a fresh engine (wheels prebuilt on the host)")
    subprocess.run(["docker", "image", "rm", "-f", IMAGE], capture_output=True, check=False)
    return 0 if megabytes < TARGET_MB else 1


if __name__ == "__main__":
    sys.exit(main())
