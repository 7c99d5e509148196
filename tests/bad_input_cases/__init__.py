"""Valid calls of the public API, one module of cases per package module (``cases_<module>.py``).

Each defines ``CASES = [Case(function, {argument: valid value, ...}), ...]``; ``tests/test_bad_input.py``
replaces one argument at a time by bad values of its kind and checks what comes back. Add a case for
every new public function.
"""

from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass, field
from typing import Callable


@dataclass
class Case:
    """A valid call ``function(**arguments)``; ``skip`` names arguments not to sweep (with the reason
    as the value); ``extra_bad`` adds invalid values for an argument, ``{"sigma1": {"not PSD": -I}}``,
    which must raise a clear error (beyond the generic bad values of the argument's kind)."""

    function: Callable
    arguments: dict
    skip: dict = field(default_factory=dict)
    extra_bad: dict = field(default_factory=dict)

    @property
    def name(self) -> str:
        return f"{self.function.__module__}.{getattr(self.function, '__qualname__', self.function)}"


def all_cases() -> list[Case]:
    cases = []
    for module in pkgutil.iter_modules(__path__):
        if module.name.startswith("cases_"):
            cases += importlib.import_module(f"{__name__}.{module.name}").CASES
    return cases
