"""The lock files (requirements/*.txt, written by `./dev lock`) pin every dependency pyproject.toml declares, at a
version its bounds allow: a dependency added or tightened without re-locking fails here, not in a fresh install."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
PIN = re.compile(r"^([A-Za-z0-9_.\-\[\]]+)==([^\s\\;]+)", re.MULTILINE)


def pins(lock: str) -> dict[str, str]:
    text = (ROOT / "requirements" / lock).read_text(encoding="utf-8")
    assert "--hash=sha256:" in text, f"{lock} has no hashes: regenerate it with ./dev lock"
    return {canonicalize_name(name.split("[")[0]): version for name, version in PIN.findall(text)}


def declared(*extras: str) -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    client = tomllib.loads((ROOT / "client" / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    lines = list(project["dependencies"]) + list(client["dependencies"])  # ./dev installs the client beside it
    for extra in extras:
        lines += project["optional-dependencies"][extra]
    build = (ROOT / "requirements" / "build.in").read_text(encoding="utf-8").splitlines()
    lines += [line for line in build if line.strip() and not line.startswith("#")]
    return [Requirement(line) for line in lines]


@pytest.mark.backend_independent
@pytest.mark.parametrize("lock, extras", [("runtime.txt", ()), ("test.txt", ("test",))])
def test_lock_pins_every_declared_dependency_within_its_bounds(lock, extras):
    pinned = pins(lock)
    problems = []
    for requirement in declared(*extras):
        version = pinned.get(canonicalize_name(requirement.name))
        if version is None:
            problems.append(f"{requirement.name} is not pinned")
        elif not requirement.specifier.contains(version, prereleases=True):
            problems.append(f"{requirement.name}=={version} does not satisfy {requirement}")
    assert not problems, f"{lock} is stale; run ./dev lock: {problems}"


@pytest.mark.backend_independent
def test_the_image_ships_the_versions_the_tests_ran():
    runtime, test = pins("runtime.txt"), pins("test.txt")
    different = {name: (version, test.get(name)) for name, version in runtime.items() if test.get(name) != version}
    assert not different, f"runtime.txt pins other versions than test.txt (run ./dev lock): {different}"
