"""`python -m flyfs.mgmtd --config FILE`: run the cluster manager."""

from __future__ import annotations

import argparse

from flyfs.process import die_with_parent


def main() -> None:
    die_with_parent()
    parser = argparse.ArgumentParser(prog="python -m flyfs.mgmtd", description="flyfs mgmtd")
    parser.add_argument("--config", help="TOML config file (FLYFS_* variables override it)")
    args = parser.parse_args()

    from flyfs.config import load_config

    from .config import MgmtdConfig
    from .server import main as run

    run(load_config(MgmtdConfig, args.config))


if __name__ == "__main__":
    main()
