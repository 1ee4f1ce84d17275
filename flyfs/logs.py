"""One log format for every flyfs process.

Logs of several servers end up side by side (a local cluster's directory, a
test's temp dir), so every line names its service and pid and carries a UTC
timestamp with milliseconds: lines from different files sort into one story.
"""

from __future__ import annotations

import logging
import os
import sys
import time

FORMAT = "%(asctime)s.%(msecs)03dZ %(levelname)s %(service)s[%(process)d] %(name)s: %(message)s"
DATE_FORMAT = "%Y-%m-%dT%H:%M:%S"


class _ServiceFilter(logging.Filter):
    """Stamps the service name on every record that reaches our handler.

    It also marks the handlers setup_logging installed, so a later call finds
    and replaces them.
    """

    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def filter(self, record: logging.LogRecord) -> bool:
        record.service = self.service
        return True


def setup_logging(
    service: str, level: str = "INFO", path: str | os.PathLike[str] | None = None
) -> logging.Logger:
    """Send all logging to `path` (or stderr) in the flyfs format; returns `flyfs.<service>`.

    Idempotent: a later call replaces the handler of an earlier one instead of
    adding a second, so every line is written once.  Warnings (config's
    unknown keys among them) are routed into the log too.
    """
    numeric = logging.getLevelName(level.upper())
    if not isinstance(numeric, int):
        raise ValueError(f"unknown log level {level!r}")
    handler: logging.Handler
    if path is None:
        handler = logging.StreamHandler(sys.stderr)
    else:
        handler = logging.FileHandler(path, encoding="utf-8")
    formatter = logging.Formatter(FORMAT, DATE_FORMAT)
    formatter.converter = time.gmtime
    handler.setFormatter(formatter)
    handler.addFilter(_ServiceFilter(service))
    root = logging.getLogger()
    for old in [h for h in root.handlers if _is_ours(h)]:
        root.removeHandler(old)
        old.close()
    root.addHandler(handler)
    root.setLevel(numeric)
    logging.captureWarnings(True)
    return logging.getLogger(f"flyfs.{service}")


def _is_ours(handler: logging.Handler) -> bool:
    return any(isinstance(f, _ServiceFilter) for f in handler.filters)
