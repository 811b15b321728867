"""Entry point for `python -m igdb_emulator`."""

import sys

from igdb_emulator.cli import main

sys.exit(main())
