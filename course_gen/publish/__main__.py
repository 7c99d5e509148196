"""``python -m course_gen.publish slides [NOTEBOOK ...] [--out DIR]`` and ``python -m course_gen.publish site OUT``."""

from __future__ import annotations

import importlib
import sys

COMMANDS = ("slides", "site")


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in COMMANDS:
        print(__doc__)
        return 2
    return importlib.import_module(f"course_gen.publish.{argv[0]}").main(argv[1:])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
