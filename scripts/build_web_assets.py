#!/usr/bin/env python3
"""Copy the browser assets modelreg serves itself (GraphiQL, React, Cytoscape) from node_modules to app/web/vendor/.

The GraphiQL page (app/web/graphiql.html) and the lineage explorer (app/web/lineage.html) load only
/static/vendor/* so they work offline. This script puts those files there, with the license texts of
everything the bundles contain:

    npm ci && python scripts/build_web_assets.py

It is idempotent: files that are already up to date are left alone, and files in vendor/ that are no longer
produced are removed. Standard library only.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NODE_MODULES = ROOT / "node_modules"
VENDOR = ROOT / "app" / "web" / "vendor"

# (package, file inside the package, name in vendor/)
ASSETS = [
    ("graphiql", "graphiql.min.js", "graphiql.min.js"),
    ("graphiql", "graphiql.min.css", "graphiql.min.css"),
    ("react", "umd/react.production.min.js", "react.production.min.js"),
    ("react-dom", "umd/react-dom.production.min.js", "react-dom.production.min.js"),
    ("cytoscape", "dist/cytoscape.min.js", "cytoscape.min.js"),
]
# Packages whose code ends up in the served files; graphiql's bundle also carries its dependency tree and
# graphql (a peer dependency it bundles). cytoscape (the lineage explorer's graph) has no dependencies.
BUNDLED_ROOTS = ["react", "react-dom", "graphiql", "graphql", "cytoscape"]
LICENSE_FILE = re.compile(r"^(licen[cs]e|copying|notice)(\.(md|txt|markdown))?$", re.IGNORECASE)


class BuildError(Exception):
    """Something the developer has to fix; the message says what."""


def package_dir(name: str, near: Path = NODE_MODULES.parent) -> Path:
    """Resolve a package the way Node does: the closest node_modules/NAME walking up from ``near``."""
    for base in [near, *near.parents]:
        candidate = base / "node_modules" / name
        if (candidate / "package.json").is_file():
            return candidate
        if base == NODE_MODULES.parent:
            break
    raise BuildError(f"package {name!r} not found in {NODE_MODULES}: run `npm ci` first")


def read_manifest(directory: Path) -> dict:
    return json.loads((directory / "package.json").read_text(encoding="utf-8"))


def bundled_packages() -> dict[str, Path]:
    """Every package in the bundles: the roots and, recursively, their production dependencies."""
    found: dict[str, Path] = {}
    pending = [(name, NODE_MODULES.parent) for name in BUNDLED_ROOTS]
    while pending:
        name, near = pending.pop()
        directory = package_dir(name, near)
        key = f"{name}@{read_manifest(directory).get('version', '?')}"
        if key in found:
            continue
        found[key] = directory
        pending.extend((dep, directory) for dep in read_manifest(directory).get("dependencies", {}))
    return dict(sorted(found.items()))


def license_text(key: str, directory: Path) -> str:
    """The package's license files, or a note naming its declared license when it ships none."""
    files = sorted(p for p in directory.iterdir() if p.is_file() and LICENSE_FILE.match(p.name))
    declared = read_manifest(directory).get("license", "unknown")
    header = f"{key} (license: {declared})\n{'=' * 78}\n"
    if not files:
        return header + "No license file in the package; see its declared license above.\n"
    return header + "\n".join(p.read_text(encoding="utf-8", errors="replace").strip() + "\n" for p in files)


def planned_files() -> dict[str, bytes]:
    """Name in vendor/ -> content."""
    if not NODE_MODULES.is_dir():
        raise BuildError(f"{NODE_MODULES} does not exist: run `npm ci` first (in {ROOT})")
    files: dict[str, bytes] = {}
    for package, source, target in ASSETS:
        path = package_dir(package) / source
        if not path.is_file():
            raise BuildError(f"{path} is missing: run `npm ci` first (is package.json's {package} version right?)")
        files[target] = path.read_bytes()
    packages = bundled_packages()
    versions = {key.rpartition("@")[0]: key.rpartition("@")[2] for key in packages}
    notices = [license_text(key, directory) for key, directory in packages.items()]
    files["THIRD-PARTY-LICENSES.txt"] = (
        "Licenses of the code in the files of this directory (copied from node_modules by "
        "scripts/build_web_assets.py).\n\n" + "\n\n".join(notices)
    ).encode("utf-8")
    pinned = ("graphiql", "react", "react-dom", "graphql", "cytoscape")
    files["versions.json"] = (json.dumps({k: versions[k] for k in pinned}, indent=2) + "\n").encode("utf-8")
    return files


def build(vendor: Path = VENDOR) -> list[str]:
    """Write the planned files into ``vendor``; return what changed (written or removed)."""
    files = planned_files()
    vendor.mkdir(parents=True, exist_ok=True)
    changed = []
    for name, content in files.items():
        target = vendor / name
        if not target.is_file() or target.read_bytes() != content:
            tmp = target.with_name(target.name + ".tmp")
            tmp.write_bytes(content)
            tmp.replace(target)  # atomic: a running server never serves a half-written file
            changed.append(f"wrote {name}")
    for stale in sorted(p for p in vendor.iterdir() if p.name not in files):
        if stale.is_file():
            stale.unlink()
            changed.append(f"removed {stale.name}")
    return changed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vendor-dir", type=Path, default=VENDOR, help=f"output directory (default {VENDOR})")
    args = parser.parse_args(argv)
    try:
        changed = build(args.vendor_dir)
    except BuildError as error:
        print(f"build_web_assets: {error}", file=sys.stderr)
        return 1
    for line in changed:
        print(f"  {line}")
    print(f"build_web_assets: {args.vendor_dir} is up to date ({len(changed)} change(s))")
    return 0


if __name__ == "__main__":
    sys.exit(main())
