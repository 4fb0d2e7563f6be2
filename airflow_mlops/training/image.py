"""Build the training image offline, tagged by a hash of what goes into it.

No image registry or package index needs to be reachable from the Docker build: wheels are
downloaded on the host (``pip download -c constraints.txt``; torch from pip's find-links) into
a wheelhouse cache, hard-linked into a private build context, and installed in the first stage of
``airflow_mlops/docker/Dockerfile`` (package data) with ``--no-index``. The tag
``airflow-mlops-train:<hash>`` hashes the Dockerfile, the training code, the pinned requirements
and the base image id, so an unchanged image is found and not rebuilt.

A user's model code goes into a second, small image built FROM that one
(:func:`build_user_image`): the user's package (a local path or a wheel) and its requirements,
installed offline the same way, tagged by a hash of the library image's id and the code.

Command line (``docker/build.sh`` calls it): ``python -m airflow_mlops.training.image --help``;
the user image: ``airflow-mlops build-image --config pkg.module:CONFIG``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from airflow_mlops.errors import ServiceError

if TYPE_CHECKING:
    from airflow_mlops.ct.config import ModelSpec

IMAGE_NAME = "airflow-mlops-train"
#: the repository of user training images (the library image plus a user's model code)
USER_IMAGE_NAME = "airflow-mlops-train-user"
#: the user image: the library image with the user's wheels installed offline into its venv
USER_DOCKERFILE = """\
ARG BASE_IMAGE
FROM ${BASE_IMAGE}
USER root
COPY user /tmp/user
RUN /opt/venv/bin/pip install --no-cache-dir --no-index --find-links /tmp/user/deps \\
      $(cat /tmp/user/install.txt) \\
 && rm -rf /tmp/user
USER 1000:1000
"""
#: the image's Dockerfile in the source tree (shipped as package data of airflow_mlops.docker)
DOCKERFILE = "airflow_mlops/docker/Dockerfile"
#: what the entrypoint and the pipeline tests (pytest) need besides the package itself (exact pins
#: come from constraints.txt)
REQUIREMENTS = ("numpy", "pandas", "pyarrow", "pytest")
TORCH = "torch"
#: the package files the image's behaviour depends on (the training code and what it imports)
SOURCE_GLOBS = (
    "airflow_mlops/__init__.py",
    "airflow_mlops/errors.py",
    "airflow_mlops/artifacts.py",
    "airflow_mlops/data/__init__.py",
    "airflow_mlops/data/io.py",
    "airflow_mlops/data/holdout.py",
    "airflow_mlops/training/*.py",
)
#: what a wheel of the package is built from (copied, so parallel builds never share build/)
PACKAGE_PATHS = ("pyproject.toml", "README.md", "airflow_mlops", "operators", "sensors",
                 "plugins", "hooks")  # fmt: skip


@dataclass(frozen=True)
class BuiltImage:
    """A training image: its tag, its id (``sha256:...``), whether this call built it."""

    tag: str
    image_id: str
    built: bool
    seconds: float
    base_image: str


def _docker(*args: str, capture: bool = True, log: Callable[[str], None] | None = None) -> str:
    """Run the docker CLI; :class:`ServiceError` with its output when it fails."""
    if shutil.which("docker") is None:
        raise ServiceError(
            "The docker CLI is not installed.",
            hint="Install Docker (Debian: apt-get install docker.io) and start dockerd.",
        )
    env = {**os.environ, "DOCKER_BUILDKIT": "0"}
    if not capture:
        process = subprocess.Popen(
            ["docker", *args], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env
        )
        lines = []
        assert process.stdout is not None
        for line in process.stdout:
            lines.append(line.rstrip())
            if log:
                log(lines[-1])
        if process.wait() != 0:
            raise ServiceError(
                f"`docker {args[0]}` failed (exit {process.returncode}):\n" + "\n".join(lines[-30:])
            )
        return "\n".join(lines)
    done = subprocess.run(["docker", *args], capture_output=True, text=True, env=env)
    if done.returncode != 0:
        raise ServiceError(
            f"`docker {' '.join(args[:3])}` failed: {done.stderr.strip() or done.stdout.strip()}",
            hint="Check that dockerd runs (`docker info`); on Debian: scripts/ensure-docker.sh.",
        )
    return done.stdout.strip()


def check_engine() -> None:
    """:class:`ServiceError` naming ``DOCKER_HOST`` when no Docker engine answers (a service
    that is down: worth a retry, unlike an image that does not exist)."""
    try:
        _docker("version", "--format", "{{.Server.Version}}")
    except ServiceError as error:
        host = os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")
        raise ServiceError(
            f"No Docker engine answers at {host}: {error.message}",
            hint="Start Docker (`sudo systemctl start docker`, or scripts/ensure-docker.sh as "
            "root) and make its socket readable by the Airflow worker, or set backend='local' "
            "to train in a subprocess of the worker.",
        ) from error


def docker_pull(reference: str) -> None:
    """Pull ``reference`` onto the engine; :class:`ServiceError` when the registry refuses or
    cannot be reached."""
    _docker("pull", "--quiet", reference)


def image_id(reference: str) -> str | None:
    """The id (``sha256:...``) of a local image, or ``None`` when it is not there."""
    try:
        return _docker("image", "inspect", "--format", "{{.Id}}", reference)
    except ServiceError:
        return None


def pinned_requirements(repo: Path, *, with_torch: bool) -> list[str]:
    """``name==version`` for the image's requirements, from the repository's constraints.txt."""
    pins = {}
    for line in (repo / "constraints.txt").read_text(encoding="utf-8").splitlines():
        name, sep, version = line.strip().partition("==")
        if sep:
            pins[name.lower()] = version
    wanted = [*REQUIREMENTS, *((TORCH,) if with_torch else ())]
    missing = [name for name in wanted if name not in pins]
    if missing:
        raise ServiceError(f"constraints.txt pins none of {missing}; the image needs exact pins.")
    return [f"{name}=={pins[name]}" for name in wanted]


def content_hash(repo: Path, requirements: list[str], base_id: str) -> str:
    """sha256 over the Dockerfile, the training sources, the requirement pins, the base image."""
    digest = hashlib.sha256()
    files = [repo / DOCKERFILE]
    for pattern in SOURCE_GLOBS:
        files += sorted(repo.glob(pattern))
    for path in files:
        digest.update(str(path.relative_to(repo)).encode() + b"\0" + path.read_bytes() + b"\0")
    digest.update(json.dumps([requirements, base_id]).encode())
    return digest.hexdigest()


def _wheelhouse(repo: Path, requirements: list[str], log: Callable[[str], None]) -> Path:
    """Download the requirements' wheels once per requirement set (cached under docker/)."""
    key = hashlib.sha256("\n".join(requirements).encode()).hexdigest()[:16]
    cache = repo / "docker" / "wheelhouse" / key
    if (cache / "requirements.txt").is_file():
        return cache
    cache.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{key}.", dir=cache.parent))
    log(f"downloading wheels for {', '.join(requirements)}")
    done = subprocess.run(
        [sys.executable, "-m", "pip", "download", "--quiet", "--only-binary=:all:",
         "-c", str(repo / "constraints.txt"), "-d", str(tmp), *requirements],
        capture_output=True, text=True,
    )  # fmt: skip
    if done.returncode != 0:
        shutil.rmtree(tmp, ignore_errors=True)
        raise ServiceError(
            f"pip download failed for {requirements}: {done.stderr.strip()[-2000:]}",
            hint="The host needs the package index (or pip's find-links) to fetch the wheels.",
        )
    (tmp / "requirements.txt").write_text("\n".join(requirements) + "\n", encoding="utf-8")
    try:
        os.replace(tmp, cache)
    except OSError:  # another build filled the cache first
        shutil.rmtree(tmp, ignore_errors=True)
    return cache


def _package_wheel(repo: Path, into: Path) -> Path:
    """Build the airflow-mlops wheel from a private copy of the sources, without dependencies."""
    with tempfile.TemporaryDirectory(prefix="airflow-mlops-src-") as src:
        for name in PACKAGE_PATHS:
            source = repo / name
            if source.is_dir():
                shutil.copytree(source, Path(src) / name,
                                ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))  # fmt: skip
            elif source.is_file():
                shutil.copy2(source, Path(src) / name)
        done = subprocess.run(
            [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
             "-w", str(into), src],
            capture_output=True, text=True,
        )  # fmt: skip
    if done.returncode != 0:
        raise ServiceError(f"Building the airflow-mlops wheel failed: {done.stderr[-2000:]}")
    return next(into.glob("airflow_mlops-*.whl"))


def build_image(
    repo: str | Path,
    *,
    base_image: str = "local/bookworm-py:base",
    base_has_torch: bool = False,
    tag: str | None = None,
    force: bool = False,
    log: Callable[[str], None] = print,
) -> BuiltImage:
    """Build (or find) the training image for ``repo``'s current training code.

    :param base_image: a local image with Python 3.11 (the CUDA PyTorch runtime in production).
    :param base_has_torch: the base image brings torch (CUDA builds); the wheelhouse skips it.
    :param tag: also tag the image with this reference (e.g. ``airflow-mlops-train:latest``).
    :param force: rebuild even if the content-hash tag exists.
    """
    started = time.monotonic()
    root = Path(repo).resolve()
    base_id = image_id(base_image)
    if base_id is None:
        raise ServiceError(
            f"Base image {base_image!r} is not on this Docker engine.",
            hint="Build or pull it first (tests use scripts/ensure-docker.sh for the local base).",
        )
    requirements = pinned_requirements(root, with_torch=not base_has_torch)
    reference = f"{IMAGE_NAME}:{content_hash(root, requirements, base_id)[:16]}"
    existing = None if force else image_id(reference)
    built = existing is None
    if existing:
        log(f"image {reference} is up to date")
    else:
        log(f"building {reference} from {base_image}")
        wheels = _wheelhouse(root, requirements, log)
        context_root = root / "docker" / "context"
        context_root.mkdir(parents=True, exist_ok=True)
        context = Path(tempfile.mkdtemp(prefix="build-", dir=context_root))
        try:
            (context / "deps").mkdir()
            for wheel in wheels.iterdir():
                os.link(wheel, context / "deps" / wheel.name)
            (context / "pkg").mkdir()
            _package_wheel(root, context / "pkg")
            shutil.copy2(root / DOCKERFILE, context / "Dockerfile")
            _docker("build", "--build-arg", f"BASE_IMAGE={base_image}", "--label",
                    f"airflow-mlops.content={reference}", "-t", reference, str(context),
                    capture=False, log=log)  # fmt: skip
        finally:
            shutil.rmtree(context, ignore_errors=True)
        existing = image_id(reference)
    if tag:
        _docker("tag", reference, tag)
    return BuiltImage(
        tag=reference,
        image_id=existing or "",
        built=built,
        seconds=round(time.monotonic() - started, 1),
        base_image=base_image,
    )


def user_image_tag(library_image_id: str, model_code: str) -> str:
    """``airflow-mlops-train-user:<hash>``: the hash of the library image's id and the model
    code's fingerprint, so a new library image or changed user code gets a new tag."""
    key = hashlib.sha256(f"{library_image_id}\0{model_code}".encode()).hexdigest()[:16]
    return f"{USER_IMAGE_NAME}:{key}"


def build_user_image(
    model: ModelSpec,
    library_image: str,
    *,
    root: str | Path | None = None,
    tag: str | None = None,
    force: bool = False,
    log: Callable[[str], None] = print,
) -> BuiltImage:
    """Build (or find) a training image FROM ``library_image`` with the user's model code.

    The package at ``model.package_path`` is built into a wheel (``pip wheel --no-deps``), or
    ``model.wheel`` is taken as it is; ``model.requirements`` are downloaded as wheels on this
    host. All are installed offline into the image's venv, so the build needs no network.

    :param model: the pipeline's model spec; it must name a package, a wheel or requirements.
    :param library_image: the library's training image (:func:`build_image`, or the Variable
        ``mlops_training_image``), present on this engine.
    :param root: the pipeline repository, where relative paths of ``model`` start.
    :param tag: also tag the image with this reference.
    :param force: rebuild even if the content-hash tag exists.
    :raises ConfigError: the spec names no code, or a named file is missing.
    :raises ServiceError: the library image is missing, or pip or docker failed.
    """
    from airflow_mlops.errors import ConfigError
    from airflow_mlops.training.code import model_code_fingerprint

    started = time.monotonic()
    base = Path(root) if root is not None else Path.cwd()
    if not (model.code_source or model.requirements):
        raise ConfigError(
            "model: names no package_path, wheel or requirements, so there is no code to add "
            "to the training image.",
            hint="Set model.package_path (or wheel, or requirements) in the pipeline config.",
        )
    library_id = image_id(library_image)
    if library_id is None:
        raise ServiceError(
            f"Library training image {library_image!r} is not on this Docker engine.",
            hint="Build it first (python -m airflow_mlops.training.image) or pull it.",
        )
    reference = user_image_tag(library_id, model_code_fingerprint(model, root=base))
    existing = None if force else image_id(reference)
    built = existing is None
    if existing:
        log(f"image {reference} is up to date")
    else:
        log(f"building {reference} from {library_image}")
        with tempfile.TemporaryDirectory(prefix="airflow-mlops-user-") as scratch:
            context = Path(scratch)
            _user_context(model, base, context / "user", log)
            (context / "Dockerfile").write_text(USER_DOCKERFILE, encoding="utf-8")
            _docker("build", "--build-arg", f"BASE_IMAGE={library_image}", "--label",
                    f"airflow-mlops.content={reference}", "-t", reference, str(context),
                    capture=False, log=log)  # fmt: skip
        existing = image_id(reference)
    if tag:
        _docker("tag", reference, tag)
    return BuiltImage(
        tag=reference,
        image_id=existing or "",
        built=built,
        seconds=round(time.monotonic() - started, 1),
        base_image=library_image,
    )


def _user_context(model: ModelSpec, base: Path, into: Path, log: Callable[[str], None]) -> None:
    """``into/deps`` (the wheels) and ``into/install.txt`` (what pip installs from them)."""
    deps = into / "deps"
    deps.mkdir(parents=True)
    install = []
    if model.package_path:
        log(f"building a wheel of {model.package_path}")
        with tempfile.TemporaryDirectory(prefix="airflow-mlops-user-src-") as src:
            # from a copy: the build's egg-info and build/ never land in the user's tree
            copy = Path(src) / "package"
            shutil.copytree(base / model.package_path, copy, ignore=_NOT_SOURCE)
            _pip("wheel", "--no-deps", "--no-build-isolation", "-w", str(deps), str(copy))
        install += [f"/tmp/user/deps/{wheel.name}" for wheel in deps.glob("*.whl")]
    if model.wheel:
        shutil.copy2(base / model.wheel, deps / Path(model.wheel).name)
        install.append(f"/tmp/user/deps/{Path(model.wheel).name}")
    if model.requirements:
        log(f"downloading the wheels of {model.requirements}")
        shutil.copy2(base / model.requirements, into / "requirements.txt")
        _pip(
            "download", "--only-binary=:all:", "-d", str(deps), "-r", str(into / "requirements.txt")
        )
        install += ["-r", "/tmp/user/requirements.txt"]
    (into / "install.txt").write_text(" ".join(install) + "\n", encoding="utf-8")


#: what a copy of a user's package leaves out (caches, builds, environments, VCS)
_NOT_SOURCE = shutil.ignore_patterns(
    "__pycache__", "*.pyc", "*.egg-info", "build", "dist", ".git", ".venv", "venv"
)


def _pip(*args: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "pip", *args, "--quiet"], capture_output=True, text=True
    )
    if done.returncode != 0:
        raise ServiceError(
            f"pip {args[0]} failed: {done.stderr.strip()[-2000:]}",
            hint="Check the package builds here (pip wheel) and the requirements resolve.",
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m airflow_mlops.training.image", description="Build the training image."
    )
    parser.add_argument("--repo", default=".", help=f"repository root (holds {DOCKERFILE})")
    parser.add_argument("--base", default="local/bookworm-py:base", help="base image")
    parser.add_argument("--base-has-torch", action="store_true", help="use the base's torch")
    parser.add_argument("--tag", help="extra tag, e.g. airflow-mlops-train:latest")
    parser.add_argument("--force", action="store_true", help="rebuild even if up to date")
    args = parser.parse_args(argv)
    result = build_image(
        args.repo,
        base_image=args.base,
        base_has_torch=args.base_has_torch,
        tag=args.tag,
        force=args.force,
    )
    print(json.dumps(asdict(result)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
