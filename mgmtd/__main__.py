"""`python -m flyfs.mgmtd --config FILE`: run the cluster manager."""

from __future__ import annotations

from flyfs.process import service_config


def main() -> None:
    from .config import MgmtdConfig

    config = service_config("mgmtd", "flyfs mgmtd", MgmtdConfig)
    from .server import main as run

    run(config)


if __name__ == "__main__":
    main()
