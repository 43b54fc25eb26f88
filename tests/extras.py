"""Optional extras in tests: skipped, saying how to install them, except under CI, whose setup
installs every extra, so that a missing one fails there instead of passing unseen."""

import importlib
import os
from types import ModuleType

import pytest


def require(module: str, extra: str) -> ModuleType:
    """Import `module` of the extra `extra`; skip the test module without it, unless in CI."""
    if os.environ.get("CI"):
        return importlib.import_module(module)
    return pytest.importorskip(module, reason=f"the {extra} extra is not installed: "
                                              f"pip install -e '.[{extra}]'")
