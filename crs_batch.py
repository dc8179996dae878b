"""The `crs-batch` console command: the app runs from its repository, so the command puts the
repository on the import path before loading `lib.cli.batch` (an editable install keeps this
file where the repository is)."""

from __future__ import annotations

import sys
from pathlib import Path


def main() -> int:
    root = str(Path(__file__).resolve().parent)
    if root not in sys.path:
        sys.path.insert(0, root)
    from lib.cli.batch import main as run

    return run()


if __name__ == "__main__":
    sys.exit(main())
