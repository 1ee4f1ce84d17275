"""`python -m flyfs.storage --config FILE`: run a storage node."""

from __future__ import annotations

from flyfs.process import service_config


def main() -> None:
    from .config import StorageConfig

    config = service_config("storage", "flyfs storage node", StorageConfig)
    from .server import main as run

    run(config)


if __name__ == "__main__":
    main()
