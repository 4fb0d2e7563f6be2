"""The user training image: FROM the library image, the user's code installed offline, tagged by
a hash of the library image's id and the code."""

from __future__ import annotations

from pathlib import Path

import pytest

from airflow_mlops.ct.config import ModelSpec
from airflow_mlops.errors import ConfigError, ServiceError
from airflow_mlops.training import image


def package(root: Path, body: str = "def make(config):\n    return None\n") -> None:
    (root / "net" / "src" / "net").mkdir(parents=True, exist_ok=True)
    (root / "net" / "pyproject.toml").write_text(
        '[build-system]\nrequires = ["setuptools"]\nbuild-backend = "setuptools.build_meta"\n'
        '[project]\nname = "net"\nversion = "0.1.0"\n'
    )
    (root / "net" / "src" / "net" / "__init__.py").write_text(body)


def test_the_tag_changes_with_the_library_image_and_the_code() -> None:
    tag = image.user_image_tag("sha256:a", "sha256:code")
    assert tag.startswith(f"{image.USER_IMAGE_NAME}:") and tag == image.user_image_tag(
        "sha256:a", "sha256:code"
    )
    assert tag != image.user_image_tag("sha256:b", "sha256:code")
    assert tag != image.user_image_tag("sha256:a", "sha256:other")


def test_the_package_is_built_into_a_wheel_and_installed_from_the_library_image(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    package(tmp_path)
    built: dict[str, object] = {}
    ids = {"lib:1": "sha256:lib"}

    def docker(*args: str, **kwargs: object) -> str:
        context = Path(args[-1])
        built.update(
            args=args,
            dockerfile=(context / "Dockerfile").read_text(),
            install=(context / "user" / "install.txt").read_text().split(),
            wheels=sorted(p.name for p in (context / "user" / "deps").iterdir()),
        )
        ids[args[args.index("-t") + 1]] = "sha256:user"
        return ""

    monkeypatch.setattr(image, "_docker", docker)
    monkeypatch.setattr(image, "image_id", ids.get)
    model = ModelSpec(model_factory="net:make", package_path="net")

    result = image.build_user_image(model, "lib:1", root=tmp_path, log=lambda line: None)

    assert (result.image_id, result.built, result.base_image) == ("sha256:user", True, "lib:1")
    assert "BASE_IMAGE=lib:1" in built["args"] and "FROM ${BASE_IMAGE}" in built["dockerfile"]
    assert built["wheels"] == ["net-0.1.0-py3-none-any.whl"]
    assert built["install"] == ["/tmp/user/deps/net-0.1.0-py3-none-any.whl"]
    assert not list((tmp_path / "net").rglob("*.egg-info"))  # the user's tree stays clean
    again = image.build_user_image(model, "lib:1", root=tmp_path, log=lambda line: None)
    assert (again.tag, again.built) == (result.tag, False)
    package(tmp_path, "def make(config):\n    return 1\n")
    assert image.build_user_image(model, "lib:1", root=tmp_path, log=print).tag != result.tag


def test_no_code_or_no_library_image_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ConfigError, match="package_path"):
        image.build_user_image(ModelSpec(), "lib:1")
    monkeypatch.setattr(image, "image_id", lambda reference: None)
    with pytest.raises(ServiceError, match="lib:1"):
        image.build_user_image(ModelSpec(requirements="r.txt"), "lib:1")
