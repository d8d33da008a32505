"""What the code imports is declared, and the docker SDK's private methods are used in one place only."""

from __future__ import annotations

import ast
import re
import sys
from importlib.metadata import packages_distributions
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LOCAL = {"images_app", "config", "tooling", "tests", "bench"}
SDK_PRIVATE = {"_post", "_get", "_put", "_delete", "_url", "_result", "_stream_helper", "_raise_for_status"}


def _sources(*folders: str) -> list[Path]:
    paths = [path for folder in folders for path in sorted((ROOT / folder).rglob("*.py"))]
    return [path for path in paths if "migrations" not in path.parts]


def _declared() -> set[str]:
    names = set()
    for line in (ROOT / "requirements.txt").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            names.add(re.split(r"[\[<>=!~; ]", line, maxsplit=1)[0].lower().replace("_", "-"))
    return names


def _top_level_imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return found


def test_every_third_party_module_the_app_imports_is_in_requirements():
    distributions = packages_distributions()
    declared = _declared()
    missing = {}
    for path in _sources("images_app", "config"):
        for module in _top_level_imports(path) - LOCAL - set(sys.stdlib_module_names):
            dists = {name.lower().replace("_", "-") for name in distributions.get(module, [module])}
            if not dists & declared:
                missing.setdefault(module, []).append(str(path.relative_to(ROOT)))
    assert not missing, f"imported but not in requirements.txt: {missing}"


def test_the_docker_pin_says_why():
    lines = (ROOT / "requirements.txt").read_text().splitlines()
    pin = next(index for index, line in enumerate(lines) if line.startswith("docker"))
    comment = []
    for line in reversed(lines[:pin]):
        if not line.startswith("#"):
            break
        comment.append(line)
    assert "engine/sdk_private.py" in " ".join(comment), "the comment above the docker pin must say why it is pinned"


def test_only_sdk_private_calls_the_sdks_private_methods():
    users = {
        f"{path.relative_to(ROOT)}:{node.lineno}"
        for path in _sources("images_app")
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.Attribute) and node.attr in SDK_PRIVATE
    }
    outside = {site for site in users if not site.startswith("images_app/engine/sdk_private.py:")}
    assert users, "the walk found no use at all: it is looking in the wrong place"
    assert not outside, f"the SDK's private methods outside engine/sdk_private.py: {sorted(outside)}"
