"""`python -m flyfs.trainer prepare|train|generate`: the same commands as `flyfs trainer`."""

import argparse
import sys

from flyfs.trainer.commands import add_arguments, run

parser = argparse.ArgumentParser(prog="python -m flyfs.trainer", description=__doc__)
add_arguments(parser)
sys.exit(run(parser.parse_args()))
