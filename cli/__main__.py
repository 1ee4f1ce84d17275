"""`python -m flyfs.cli`: the same as the `flyfs` console script."""

import sys

from flyfs.cli.main import main

sys.exit(main())
