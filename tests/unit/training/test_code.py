"""The model code's fingerprint changes with the model code, and so does the CT fingerprint."""

from __future__ import annotations

from pathlib import Path

import pytest

from airflow_mlops.ct.config import ModelSpec
from airflow_mlops.errors import ConfigError, ServiceError
from airflow_mlops.lineage import fingerprint
from airflow_mlops.training.code import (
    BUILTIN,
    factory_code_digest,
    image_content_digest,
    model_code_fingerprint,
)

MD5 = "0" * 32
DIGEST = "sha256:" + "1" * 64


def write_package(root: Path, body: str) -> Path:
    package = root / "models" / "user_models"
    package.mkdir(parents=True, exist_ok=True)
    (package / "__init__.py").write_text("")
    (package / "nets.py").write_text(body)
    return package


def test_the_builtin_mlp_has_a_constant_code_fingerprint() -> None:
    assert model_code_fingerprint(ModelSpec()) == BUILTIN


def test_changing_the_model_code_changes_the_ct_fingerprint(tmp_path: Path) -> None:
    write_package(tmp_path, "def build(c):\n    return 1\n")
    spec = ModelSpec(model_factory="user_models.nets:build", package_path="models")
    before = model_code_fingerprint(spec, root=tmp_path)
    assert before.startswith("sha256:")
    assert model_code_fingerprint(spec, root=tmp_path) == before
    (tmp_path / "models" / "user_models" / "__pycache__").mkdir()
    (tmp_path / "models" / "user_models" / "__pycache__" / "nets.cpython-311.pyc").write_bytes(b"x")
    assert model_code_fingerprint(spec, root=tmp_path) == before

    write_package(tmp_path, "def build(c):\n    return 2\n")
    after = model_code_fingerprint(spec, root=tmp_path)
    assert after != before
    params = {"max_epochs": 5}
    assert fingerprint(MD5, DIGEST, params, model_code=before) != fingerprint(
        MD5, DIGEST, params, model_code=after
    )


def test_an_importable_module_outside_a_distribution_is_hashed_by_its_source(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    package = write_package(tmp_path, "def build(c):\n    return 1\n")
    monkeypatch.syspath_prepend(str(tmp_path / "models"))
    spec = ModelSpec(model_factory="user_models.nets:build")
    before = model_code_fingerprint(spec)
    (package / "nets.py").write_text("def build(c):\n    return 3\n")
    assert model_code_fingerprint(spec) != before


def test_an_installed_distribution_counts_by_version_and_record() -> None:
    digest = factory_code_digest("torch.nn")
    assert digest is not None and digest == factory_code_digest("torch")


def test_code_that_cannot_be_found_is_refused_naming_the_field(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"model_factory='gone_pkg\.nets:build'") as refused:
        model_code_fingerprint(ModelSpec(model_factory="gone_pkg.nets:build"), root=tmp_path)
    assert "package_path" in refused.value.hint
    with pytest.raises(ConfigError, match=r"package_path='.*missing': no such file"):
        model_code_fingerprint(
            ModelSpec(model_factory="gone_pkg.nets:build", package_path="missing"), root=tmp_path
        )


def test_the_ct_fingerprint_takes_the_pipeline_commit_and_stays_stable_without_new_inputs() -> None:
    params = {"lr": 0.01}
    old = fingerprint(MD5, DIGEST, params)
    assert fingerprint(MD5, DIGEST, params, model_code=None, git_sha=None) == old
    assert fingerprint(MD5, DIGEST, params, git_sha="a" * 40) != old
    assert fingerprint(MD5, DIGEST, params, git_sha="a" * 40) != fingerprint(
        MD5, DIGEST, params, git_sha="b" * 40
    )


def test_the_image_digest_is_the_content_not_the_tag(monkeypatch: pytest.MonkeyPatch) -> None:
    from airflow_mlops.training import image

    pinned = "registry:5000/train:1.0@sha256:" + "2" * 64
    assert image_content_digest(pinned) == "sha256:" + "2" * 64
    assert image_content_digest("local:airflow-mlops-1.0") == "local:airflow-mlops-1.0"
    ids = {"train:1.0": "sha256:" + "3" * 64}
    registry = {"registry:5000/train:3.0": "sha256:" + "4" * 64}

    def pull(reference: str) -> None:
        if reference not in registry:
            raise ServiceError(f"`docker pull` failed: manifest for {reference} not found")
        ids[reference] = registry[reference]

    monkeypatch.setattr(image, "image_id", ids.get)
    monkeypatch.setattr(image, "docker_pull", pull)
    assert image_content_digest("train:1.0") == "sha256:" + "3" * 64
    # not on the engine yet: pulled, as the training container would be, then its id
    assert image_content_digest("registry:5000/train:3.0") == "sha256:" + "4" * 64
    with pytest.raises(ConfigError, match=r"image='train:2\.0': not on this Docker engine"):
        image_content_digest("train:2.0")
