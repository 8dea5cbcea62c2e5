"""Build the five TDS images for real without a Docker engine: buildah, daemonless and rootless.

No Docker engine runs on our machines and the official Python image cannot be pulled from its
registry here, so the base comes from Debian's packages: ``debootstrap`` makes a bookworm root
file system with Python 3.11 (the version the images run), imported as a local image. The
root Dockerfile is then built unchanged by ``buildah bud``, once per image, with the build args
skaffold.yaml gives it and ``PYTHON_IMAGE`` pointing at that base. Each image is checked by
running it: the service's modules import and ``tds`` answers, as the image's own user.

Both tools come from Debian's packages (``apt-get install buildah debootstrap``). Images and
layers live in a storage of ours (overlay driver) under the cache directory, so a second build
reuses the base and the dependency layers. A machine that reaches PyPI through a proxy with its
own certificate authority (``SSL_CERT_FILE``) lends that bundle to the build's RUN steps as a
read-only mount; it never lands in an image.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import yaml

from devstack.paths import repo_root

DEBIAN_SUITE: Final = "bookworm"
DEBIAN_MIRROR: Final = os.environ.get("TDS_DEBIAN_MIRROR", "http://deb.debian.org/debian")
BASE_IMAGE: Final = f"localhost/tds-python-base:{DEBIAN_SUITE}"
BASE_PACKAGES: Final = ("python3", "python3-pip", "python3-venv", "passwd", "ca-certificates")
SYSTEM_CA_BUNDLE: Final = "/etc/ssl/certs/ca-certificates.crt"


def cache_dir() -> Path:
    """Image storage and the base's root file system: outside the clone, shared by clones."""
    root = Path(os.environ.get("TDS_IMAGE_CACHE", Path.home() / ".cache" / "tds" / "images"))
    root.mkdir(parents=True, exist_ok=True)
    return root


@dataclass(frozen=True)
class Image:
    name: str
    build_args: dict[str, str]

    @property
    def tag(self) -> str:
        return f"localhost/{self.name}:dev"

    @property
    def modules(self) -> list[str]:
        """What the container imports at start: its ``python -m`` target and the app."""
        module = self.build_args["MODULE"]
        return [f"{module}.__main__", f"{module}.app"]


def skaffold_images() -> list[Image]:
    """Each image skaffold.yaml builds, with its production build args."""
    images = []
    with (repo_root() / "skaffold.yaml").open(encoding="utf-8") as handle:
        for config in yaml.safe_load_all(handle):
            for artifact in config.get("build", {}).get("artifacts", []):
                images.append(Image(artifact["image"], dict(artifact["docker"]["buildArgs"])))
    return images


def _buildah(*args: str) -> list[str]:
    storage = cache_dir() / "storage"
    return [
        "buildah",
        "--storage-driver",
        "overlay",
        "--root",
        str(storage / "root"),
        "--runroot",
        str(storage / "run"),
        *args,
    ]


def _run(
    command: list[str], *, cwd: Path | None = None, capture: bool = False, quiet: bool = False
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command,
        check=True,
        text=True,
        cwd=cwd,
        capture_output=capture,
        stdout=subprocess.DEVNULL if quiet else None,
    )


def require_tools() -> None:
    missing = [tool for tool in ("buildah", "debootstrap") if shutil.which(tool) is None]
    if missing:
        raise RuntimeError(
            f"{' and '.join(missing)} not found: install Debian's packages "
            f"(apt-get install {' '.join(missing)}), or run `make images`, which does"
        )


def has_image(tag: str) -> bool:
    found = subprocess.run(_buildah("images", "--quiet", tag), capture_output=True, text=True)
    return found.returncode == 0 and bool(found.stdout.strip())


def build_base() -> bool:
    """The Debian-built Python base image; False when it exists already."""
    if has_image(BASE_IMAGE):
        return False
    work = cache_dir() / "base"
    rootfs = work / "rootfs"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    _run(
        [
            "debootstrap",
            "--variant=minbase",
            f"--include={','.join(BASE_PACKAGES)}",
            DEBIAN_SUITE,
            str(rootfs),
            DEBIAN_MIRROR,
        ],
        quiet=True,
    )
    # What the official python image gives a Dockerfile: `python` and `pip` on PATH, and pip
    # allowed to install (the builder stage installs uv with it; Debian marks the system
    # Python as externally managed). No package lists or downloaded .debs in the image.
    (rootfs / "usr/lib/python3.11/EXTERNALLY-MANAGED").unlink(missing_ok=True)
    for link, target in (("usr/bin/python", "python3"), ("usr/bin/pip", "pip3")):
        (rootfs / link).unlink(missing_ok=True)
        (rootfs / link).symlink_to(target)
    for cache in ("var/cache/apt/archives", "var/lib/apt/lists"):
        shutil.rmtree(rootfs / cache, ignore_errors=True)
        (rootfs / cache).mkdir(parents=True)
    with tarfile.open(work / "rootfs.tar", "w") as archive:
        archive.add(rootfs, arcname=".")
    (work / "Containerfile").write_text('FROM scratch\nADD rootfs.tar /\nCMD ["python3"]\n')
    _run(_buildah("bud", "--isolation", "chroot", "-t", BASE_IMAGE, str(work)))
    shutil.rmtree(work)
    return True


def git_revision() -> str:
    """The commit checked out, or "unknown" outside a git work tree."""
    found = subprocess.run(
        ["git", "rev-parse", "HEAD"], capture_output=True, text=True, cwd=repo_root()
    )
    return found.stdout.strip() if found.returncode == 0 else "unknown"


def build(image: Image) -> None:
    """``buildah bud`` of the root Dockerfile's runtime stage with the image's build args."""
    args = ["bud", "--isolation", "chroot", "--layers", "--target", "runtime", "-t", image.tag]
    # skaffold.yaml's REVISION is a template of its own; the image reports this commit.
    build_args = {**image.build_args, "PYTHON_IMAGE": BASE_IMAGE, "REVISION": git_revision()}
    for name, value in build_args.items():
        args += ["--build-arg", f"{name}={value}"]
    ca_bundle = os.environ.get("SSL_CERT_FILE")
    if ca_bundle and Path(ca_bundle).is_file():
        args += ["--volume", f"{ca_bundle}:{SYSTEM_CA_BUNDLE}:ro", "--build-arg", "UV_NATIVE_TLS=1"]
    _run(_buildah(*args, "-f", "Dockerfile", "."), cwd=repo_root())


def smoke_test(image: Image) -> str:
    """Run the image as its own user: its modules import and the operators' CLI answers."""
    container = _run(_buildah("from", image.tag), capture=True).stdout.strip()
    try:
        imports = "; ".join(f"import {module}" for module in image.modules)
        script = f'id -u; python -c "{imports}"; tds --help >/dev/null && echo ok'
        result = _run(
            _buildah("run", "--isolation", "chroot", container, "--", "sh", "-c", script),
            capture=True,
        )
    finally:
        subprocess.run(_buildah("rm", container), capture_output=True)
    uid, verdict = result.stdout.split()
    if uid != "10001" or verdict != "ok":
        raise RuntimeError(f"{image.tag}: ran as uid {uid}, answered {verdict!r}")
    return f"{image.tag}: imports {', '.join(image.modules)} and runs tds as uid {uid}"
