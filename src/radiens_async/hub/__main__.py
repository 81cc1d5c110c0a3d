"""``python -m radiens_async.hub`` is ``radiens-async hub serve``."""

from __future__ import annotations

import sys

from radiens_async.cli import main

if __name__ == "__main__":
    sys.exit(main(["hub", "serve", *sys.argv[1:]]))
