"""How a setting is declared, and what is driven from the declarations.

A setting is a field of the ``Settings`` dataclass (app/config.py) whose default is given with :func:`setting`:
the field supplies the attribute's name, type and default; :func:`setting` adds the environment variable, the
check of a value and a one-line description. Nothing else lists the settings: :func:`specs` reads them back for
``load_settings``, ``Settings.validate`` and the configuration table of README.md (``python -m app.config``),
which tests/test_config.py compares with the README.

Why not pydantic-settings: its ``BaseSettings`` reads ``os.environ`` whenever one is built, so ``Settings(...)`` in
a test would take any ``MODELREG_*`` variable left in the developer's shell; it accepts more spellings than ours
(``t``/``f``/``y``/``n`` for switches, ``8000.0`` for an integer) and no padded ``" true "``; its ``env_ignore_empty``
is all-or-nothing, where an empty ``MODELREG_PRODUCTION_ENVIRONMENTS`` means "none"; and its errors are several
lines naming the field, not the variable. Bending it back (a source over a given mapping, a validator and a
message per field, translated errors) would leave little of it, for four runtime dependencies more.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import types
import typing
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")

Check = Callable[[Any], str | None]
"""What is wrong with a value, phrased to follow the variable's name ("must be ..."), or None when it is fine."""

_KEY = "modelreg.setting"
_TYPES = (str, int, bool, Path)
_BOOL = {"1": True, "true": True, "yes": True, "on": True, "0": False, "false": False, "no": False, "off": False}

TABLE_START = "<!-- configuration table: python -m app.config --update-readme README.md (from app/config.py) -->"
TABLE_END = "<!-- end of the configuration table -->"


@dataclass(frozen=True)
class _Declared:
    variable: str
    description: str
    check: Check | None
    shown_default: str | None
    empty_is_default: bool


def setting(
    default: T,
    variable: str,
    description: str,
    *,
    check: Check | None = None,
    shown_default: str | None = None,
    secret: bool = False,
    empty_is_default: bool = True,
) -> T:
    """Declare the field of a setting: its default, environment variable, check and one-line description.

    ``shown_default`` describes the default in the README where the value itself says little (an empty string
    standing for a computed default); ``secret`` keeps the value out of ``repr``; with ``empty_is_default=False``
    a variable set to the empty string means the empty string rather than the default."""
    declared = _Declared(variable, description, check, shown_default, empty_is_default)
    return dataclasses.field(default=default, repr=not secret, metadata={_KEY: declared})


@dataclass(frozen=True)
class SettingSpec:
    """One declared setting, as loading, validation and the documentation see it."""

    name: str
    type: type  # str, int, bool or Path (``X | None`` declares an optional setting of type X)
    default: Any
    variable: str
    description: str
    check: Check | None
    shown_default: str | None
    empty_is_default: bool

    def parse(self, raw: str) -> Any:
        """The value of the variable's text; ValueError saying what is wrong otherwise."""
        if self.type is bool:
            try:
                return _BOOL[raw.strip().lower()]
            except KeyError:
                raise ValueError(f"must be true or false, got {raw!r}") from None
        if self.type is int:
            try:
                return int(raw)
            except ValueError:
                raise ValueError(f"must be an integer, got {raw!r}") from None
        return self.type(raw)

    @property
    def default_text(self) -> str:
        """The default as the README shows it."""
        if self.shown_default is not None:
            return self.shown_default
        if self.default is None:
            return "unset"
        if self.default == "":
            return "empty"
        return f"`{str(self.default).lower() if isinstance(self.default, bool) else self.default}`"


def specs(settings_type: type) -> tuple[SettingSpec, ...]:
    """The settings declared on a dataclass, in declaration order; TypeError for a field not declared with
    :func:`setting` or of a type that cannot be read from a variable."""
    hints = typing.get_type_hints(settings_type)
    found = []
    for field in dataclasses.fields(settings_type):
        declared = field.metadata.get(_KEY)
        if not isinstance(declared, _Declared):
            raise TypeError(f"{settings_type.__name__}.{field.name} must be declared with setting(...)")
        found.append(
            SettingSpec(
                field.name,
                _value_type(hints[field.name], field.name),
                field.default,
                declared.variable,
                declared.description,
                declared.check,
                declared.shown_default,
                declared.empty_is_default,
            )
        )
    return tuple(found)


def _value_type(hint: Any, name: str) -> type:
    if isinstance(hint, types.UnionType):
        kinds = [kind for kind in typing.get_args(hint) if kind is not type(None)]
        hint = kinds[0] if len(kinds) == 1 else hint
    if hint not in _TYPES:
        raise TypeError(f"setting {name}: {hint} cannot be read from a variable (str, int, bool, Path, or X | None)")
    return typing.cast(type, hint)


def markdown_table(settings_type: type) -> str:
    """The README's configuration table: one row per setting, in declaration order."""
    rows = ["| variable | default | meaning |", "|---|---|---|"]
    for spec in specs(settings_type):
        cells = (f"`{spec.variable}`", spec.default_text, spec.description)
        rows.append("| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |")
    return "\n".join(rows)


def with_table(readme: str, table: str) -> str:
    """``readme`` with the text between the table's two marker comments replaced by ``table``."""
    if readme.count(TABLE_START) != 1 or readme.count(TABLE_END) != 1:
        raise ValueError(f"the README must hold the configuration table between {TABLE_START} and {TABLE_END}")
    head, rest = readme.split(TABLE_START)
    _, tail = rest.split(TABLE_END)
    return f"{head}{TABLE_START}\n\n{table}\n\n{TABLE_END}{tail}"


def main(settings_type: type, argv: Sequence[str]) -> int:
    """``python -m app.config``: print the configuration table, or write it into the README."""
    parser = argparse.ArgumentParser(prog="python -m app.config", description="The settings of modelreg.")
    parser.add_argument("--markdown", action="store_true", help="print the README's configuration table (default)")
    parser.add_argument("--update-readme", metavar="PATH", help="rewrite the configuration table in this file")
    args = parser.parse_args(argv)
    table = markdown_table(settings_type)
    if args.update_readme:
        path = Path(args.update_readme)
        path.write_text(with_table(path.read_text(encoding="utf-8"), table), encoding="utf-8")
    else:
        sys.stdout.write(table + "\n")
    return 0
