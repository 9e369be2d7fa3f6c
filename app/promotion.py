"""Loading the promotion policy file (YAML) once at start-up."""

from __future__ import annotations

from pathlib import Path

import yaml

from app.domain.promotion import PolicyError, PromotionPolicy, parse_policy

POLICY_FILE = "promotion.yaml"

__all__ = ["POLICY_FILE", "PolicyError", "load_promotion_policy"]  # PolicyError for callers


def load_promotion_policy(path: Path) -> PromotionPolicy:
    """The parsed policy; PolicyError names the file and the entry at fault."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise PolicyError(f"{path}: cannot be read ({error.strerror or error})") from None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise PolicyError(f"{path}: not valid YAML{where}") from None
    try:
        return parse_policy(data)
    except PolicyError as error:
        raise PolicyError(f"{path}: {error}") from None
