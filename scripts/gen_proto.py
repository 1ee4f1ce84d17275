"""Regenerate the Python modules of `proto/` from its `.proto` files (`make proto`).

protoc names a generated import after the path it compiled, so the sources
are compiled from a temporary include root where they sit at
`flyfs/proto/*.proto`: the modules then say `from flyfs.proto import
common_pb2`, which works from anywhere once the package is installed,
instead of a bare `import common_pb2` that only works from inside proto/.

The output depends only on the sources and the pinned grpcio-tools, so
tests/test_proto.py regenerates into a temporary directory and compares
bytes to catch a committed module that is stale.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

import grpc_tools
from google.protobuf import descriptor_pb2
from grpc_tools import protoc

PROTO_DIR = Path(__file__).resolve().parent.parent / "proto"
PACKAGE_PATH = Path("flyfs", "proto")
GENERATED_SUFFIXES = ("_pb2.py", "_pb2.pyi", "_pb2_grpc.py")


def is_generated(path: Path) -> bool:
    return path.name.endswith(GENERATED_SUFFIXES)


def generate(out_dir: Path) -> list[Path]:
    """Compile every `proto/*.proto` into `out_dir`; return the files written, sorted.

    A `_pb2_grpc.py` is kept only for files that define a service: for the
    others protoc writes a module holding nothing but a version check.
    """
    sources = sorted(PROTO_DIR.glob("*.proto"))
    with tempfile.TemporaryDirectory(prefix="flyfs-proto-") as tmp:
        include_root = Path(tmp, "src")
        package_dir = include_root / PACKAGE_PATH
        package_dir.mkdir(parents=True)
        for source in sources:
            shutil.copyfile(source, package_dir / source.name)
        gen_root = Path(tmp, "gen")
        gen_root.mkdir()
        descriptors = Path(tmp, "descriptors.pb")
        well_known = Path(grpc_tools.__file__).parent / "_proto"
        status = protoc.main(
            [
                "grpc_tools.protoc",
                f"--proto_path={include_root}",
                f"--proto_path={well_known}",
                f"--python_out={gen_root}",
                f"--pyi_out={gen_root}",
                f"--grpc_python_out={gen_root}",
                f"--descriptor_set_out={descriptors}",
                *(str(package_dir / source.name) for source in sources),
            ]
        )
        if status != 0:
            raise RuntimeError(f"protoc failed with status {status}; see its messages above")
        with_services = _files_with_services(descriptors.read_bytes())

        out_dir.mkdir(parents=True, exist_ok=True)
        written = []
        for generated in sorted((gen_root / PACKAGE_PATH).iterdir()):
            stem = generated.name.removesuffix("_pb2_grpc.py")
            if stem != generated.name and stem not in with_services:
                continue
            target = out_dir / generated.name
            shutil.copyfile(generated, target)
            written.append(target)
    return written


def _files_with_services(serialized_set: bytes) -> set[str]:
    """Stems ("meta") of the compiled files that define at least one service."""
    files = descriptor_pb2.FileDescriptorSet.FromString(serialized_set).file
    return {Path(f.name).stem for f in files if f.service}


def main() -> int:
    """Regenerate into proto/ and delete generated modules whose source is gone."""
    written = set(generate(PROTO_DIR))
    for stale in sorted(p for p in PROTO_DIR.iterdir() if is_generated(p) and p not in written):
        stale.unlink()
        print(f"removed {stale.relative_to(PROTO_DIR.parent)}")
    for path in sorted(written):
        print(f"wrote {path.relative_to(PROTO_DIR.parent)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
