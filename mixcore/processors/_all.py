"""Imports every processor module of this package so that each registers its type."""
import importlib
import pkgutil

from . import __path__ as _path

_SKIP = {"base", "chain", "registry", "_all"}

for _mod in sorted(m.name for m in pkgutil.iter_modules(_path)):
    if _mod not in _SKIP and not _mod.startswith("_"):
        importlib.import_module(f"{__package__}.{_mod}")
