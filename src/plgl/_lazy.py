"""Exports that load on first use (PEP 562), so that importing a package costs nothing until a
name is needed: `plgl --help` must answer without torch, scikit-learn or FastAPI.

>>> getattr_, dir_ = lazy_exports("plgl.errors", {"E": "plgl.errors:PlglError"}, ["E"])
>>> getattr_("E").__name__
'PlglError'
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping, Sequence
from typing import Any


def lazy_exports(
    package: str, exports: Mapping[str, str], public: Sequence[str]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """A module `__getattr__` and `__dir__` for `package`.

    Args:
        package: the package's `__name__`.
        exports: public name -> "module:attribute" (or "module" for a subpackage).
        public: the package's `__all__`, listed by `__dir__`.

    Any other name is tried as a submodule (`plgl.navigation`), else AttributeError.
    """

    def getattr_(name: str) -> Any:
        where = exports.get(name, f"{package}.{name}")
        module_name, _, attribute = where.partition(":")
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as error:
            if name in exports or error.name != module_name:
                raise
            raise AttributeError(f"module {package!r} has no attribute {name!r}") from None
        value = getattr(module, attribute) if attribute else module
        setattr(sys.modules[package], name, value)  # later lookups skip this function
        return value

    def dir_() -> list[str]:
        return sorted(set(vars(sys.modules[package])) | set(public))

    return getattr_, dir_
