"""The code a model is trained with: the model code's fingerprint and the image's content digest.

Both enter the CT fingerprint and the lineage (``mlops.model_code``, ``mlops.image_digest``), so
a changed model factory or a rebuilt image under the same tag retrains, even when the data and
the params stay the same.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.metadata
import importlib.util
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from airflow_mlops.errors import ConfigError

if TYPE_CHECKING:
    from airflow_mlops.ct.config import ModelSpec

#: the built-in MLP's code ships with the library, whose version the image digest pins
BUILTIN = "builtin"
#: the files of a local package that decide what is installed and run
SOURCE_SUFFIXES = (".py", ".toml", ".cfg", ".txt", ".json", ".yaml", ".yml")
#: where installers put distributions (elsewhere on ``sys.path`` is a source checkout)
_INSTALL_DIRS = frozenset({"site-packages", "dist-packages"})
#: directories never part of the code (caches, builds, virtual environments, VCS)
SKIPPED_DIRS = frozenset(
    {"__pycache__", ".git", ".venv", "venv", "build", "dist", ".mypy_cache", ".pytest_cache"}
)


def model_code_fingerprint(model: ModelSpec, *, root: str | Path | None = None) -> str:
    """``sha256:<hex>`` of the model's code, or ``"builtin"`` for the built-in MLP.

    The parts, each when present: the files of ``package_path`` (sources and build files), the
    bytes of ``wheel`` and of ``requirements``, and the factory's code where it imports here:
    an installed distribution's name, version and RECORD (the hashes of its files), or else
    the source files of the factory's top-level package (or module).

    :param model: the pipeline's model spec.
    :param root: the directory relative paths start from (the pipeline repository); None =
        the current directory.
    :raises ConfigError: a named file is missing, or nothing identifies the factory's code
        (it neither imports here nor comes with a package, wheel or requirements file).
    """
    if model.model_factory is None and not model.requirements:
        return BUILTIN
    base = Path(root) if root is not None else Path.cwd()
    digest = hashlib.sha256()
    found = False
    for name in ("package_path", "wheel", "requirements"):
        value = getattr(model, name)
        if value:
            digest.update(f"{name}\0".encode() + _path_digest(name, base / value).encode())
            found = True
    if model.model_factory is not None:
        module = model.model_factory.partition(":")[0]
        code = factory_code_digest(module)
        if code is not None:
            digest.update(b"factory\0" + code.encode())
            found = True
    if not found:
        raise ConfigError(
            f"model_factory={model.model_factory!r}: its module does not import here and the "
            "config names no package_path, wheel or requirements, so a change of the model "
            "code could not be detected.",
            hint="Set model.package_path (or wheel) to your model's package, or install the "
            "package where the pipeline runs.",
        )
    return "sha256:" + digest.hexdigest()


def image_content_digest(reference: str) -> str:
    """The content digest (``sha256:...``) of a training image, not its tag.

    A reference pinned with ``@sha256:...`` is its own digest; otherwise the local image's id
    (``docker image inspect``), which changes whenever the image is rebuilt. An image that is
    not on the engine yet is pulled first, as the training container would be. A non-Docker
    runner (``local:...``) is returned as it is.

    :raises ConfigError: the image is neither pinned, nor present locally, nor pullable.
    :raises ServiceError: no Docker engine answers.
    """
    if reference.startswith("local:"):
        return reference
    _, pinned, digest = reference.partition("@")
    if pinned and digest.startswith("sha256:"):
        return digest
    from airflow_mlops.errors import ServiceError
    from airflow_mlops.training.image import check_engine, docker_pull, image_id

    check_engine()
    found = image_id(reference)
    if not found:
        try:
            docker_pull(reference)
        except ServiceError as error:
            raise ConfigError(
                f"image={reference!r}: not on this Docker engine and the pull failed, so its "
                f"content digest is unknown ({error.message})",
                hint="Build the image here (airflow-mlops build-image, or level 2), make its "
                "registry reachable, or pin it as 'name@sha256:<digest>'.",
            ) from error
        found = image_id(reference)
    if not found:
        raise ConfigError(
            f"image={reference!r}: pulled, but the engine does not list it.",
            hint="Check `docker image inspect` on the worker; pin it as 'name@sha256:<digest>'.",
        )
    return found


def factory_code_digest(module: str) -> str | None:
    """A digest of the code of ``module``'s top-level package, or None when it is not found.

    An installed distribution counts by its name, version and RECORD file; a package found on
    ``sys.path`` outside any distribution (a source checkout) by its source files.
    """
    top = module.split(".")[0]
    try:
        spec = importlib.util.find_spec(top)
    except (ImportError, ValueError):
        return None
    if spec is None:
        return None
    installed = spec.origin is not None and _INSTALL_DIRS.intersection(Path(spec.origin).parts)
    for name in _distributions().get(top, []) if installed else []:
        distribution = importlib.metadata.distribution(name)
        record = distribution.read_text("RECORD")
        if record is not None and _installed_from(distribution, spec.origin):
            meta = distribution.metadata
            return _sha256(f"{meta['Name']}=={meta['Version']}\0{record}".encode())
    if spec.submodule_search_locations:
        return _path_digest(module, Path(next(iter(spec.submodule_search_locations))))
    if spec.origin and Path(spec.origin).is_file():
        return _path_digest(module, Path(spec.origin))
    return None


@functools.lru_cache(maxsize=1)
def _distributions() -> Mapping[str, list[str]]:
    """Top-level package -> distributions (a scan of every installed one: done once)."""
    return importlib.metadata.packages_distributions()


def _installed_from(distribution: importlib.metadata.Distribution, origin: str | None) -> bool:
    """Whether the module file ``origin`` is one of the distribution's installed files (an
    editable install or a checkout on ``sys.path`` is not: its sources are hashed instead)."""
    if origin is None or not distribution.files:
        return False
    root = Path(distribution.locate_file("")).resolve()
    try:
        relative = Path(origin).resolve().relative_to(root).as_posix()
    except ValueError:
        return False
    return any(str(file) == relative for file in distribution.files)


def _path_digest(name: str, path: Path) -> str:
    """sha256 of a file, or of a directory's source files (relative names and bytes)."""
    if path.is_file():
        return _sha256(path.read_bytes())
    if not path.is_dir():
        raise ConfigError(
            f"{name}={str(path)!r}: no such file or directory.",
            hint=f"Fix {name}: a path relative to the pipeline repository, or absolute.",
        )
    digest = hashlib.sha256()
    for file in sorted(path.rglob("*")):
        relative = file.relative_to(path)
        if (
            file.is_file()
            and file.suffix in SOURCE_SUFFIXES
            and not SKIPPED_DIRS.intersection(relative.parts)
        ):
            digest.update(relative.as_posix().encode() + b"\0" + file.read_bytes() + b"\0")
    return digest.hexdigest()


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
