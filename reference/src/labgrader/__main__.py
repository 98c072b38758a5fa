"""``python -m labgrader``: see labgrader.cli."""

import sys

from labgrader.cli import main

sys.exit(main())
