"""``python -m contactd``."""

import sys

from contactd.cli import main

sys.exit(main())
