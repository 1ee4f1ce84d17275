"""`python -m flyfs.meta --config FILE`: run a meta server."""

from __future__ import annotations

from flyfs.process import service_config


def main() -> None:
    from .config import MetaConfig

    config = service_config("meta", "flyfs meta server", MetaConfig)
    from .server import main as run

    run(config)


if __name__ == "__main__":
    main()
