"""The models, one module per subject (the core's and one per area); importing this package
imports every module in it, so that ``Base.metadata`` holds every table (Alembic, tests)."""

import importlib
import pkgutil

from .meta import Base

for _module in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_module.name}")

__all__ = ["Base"]
