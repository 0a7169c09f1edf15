"""``python -m openldn``."""

import sys

from openldn.cli.main import main

sys.exit(main())
