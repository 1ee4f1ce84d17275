"""`python -m flyfs.meta --config FILE`: run a meta server."""

from __future__ import annotations

import argparse

from flyfs.process import die_with_parent


def main() -> None:
    die_with_parent()
    parser = argparse.ArgumentParser(prog="python -m flyfs.meta", description="flyfs meta server")
    parser.add_argument("--config", help="TOML config file (FLYFS_* variables override it)")
    args = parser.parse_args()

    from flyfs.config import load_config

    from .config import MetaConfig
    from .server import main as run

    run(load_config(MetaConfig, args.config))


if __name__ == "__main__":
    main()
