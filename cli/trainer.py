"""`flyfs trainer prepare|train|generate`: the workload, spelled as in `python -m flyfs.trainer`.

The options and runs live in `flyfs.trainer.commands`; this module only
puts them under the `flyfs` command (which reports errors and exit codes).
"""

from flyfs.trainer.commands import add_arguments, run

__all__ = ["add_arguments", "run"]
