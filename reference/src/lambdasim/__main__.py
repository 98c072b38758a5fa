"""`python -m lambdasim`: the command line (`lambdasim.cli`)."""

import sys

from .cli import main

sys.exit(main())
