"""DvcPullOperator against an S3 remote served by moto, credentials from an AWS connection."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import boto3
import pytest

from airflow_mlops.operators.data import DvcPullError, DvcPullOperator

pytestmark = pytest.mark.integration
TARGET = "data/cancer.csv"


#: the operator needs no context when ``workspace`` is given
CONTEXT: dict = {}


def _operator(demo_registry, tmp_path: Path, remote_url: str, **kwargs) -> DvcPullOperator:
    return DvcPullOperator(
        task_id="pull",
        registry=str(demo_registry.repo),
        targets=[TARGET],
        rev=kwargs.pop("rev", "v2"),
        remote_url=remote_url,
        aws_conn_id=kwargs.pop("aws_conn_id", "dvc_s3"),
        workspace=str(tmp_path / "ws"),
        cache_dir=str(tmp_path / "cache"),
        **kwargs,
    )


def test_pull_from_s3_with_connection_credentials(
    demo_registry, s3_remote: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog
) -> None:
    # only the connection may supply credentials
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")

    result = _operator(demo_registry, tmp_path, s3_remote).execute(CONTEXT)

    data = Path(result["targets"][0]["local_path"]).read_bytes()
    assert hashlib.md5(data, usedforsecurity=False).hexdigest() == result["md5"]
    assert result["fetched"] == 1
    assert "testing" not in json.dumps(result)
    assert "testing" not in caplog.text
    on_disk = [p.read_bytes() for p in (tmp_path / "ws" / ".dvc").rglob("config*")]
    assert all(b"testing" not in content for content in on_disk)


def test_corrupt_object_on_s3_is_a_checksum_mismatch(
    demo_registry, s3_remote: str, s3_server: str, tmp_path: Path
) -> None:
    bucket, prefix = s3_remote.removeprefix("s3://").split("/", 1)
    s3 = boto3.client("s3", endpoint_url=s3_server, region_name="us-east-1")
    md5 = "d35034f8377d344035e10b9c95f3d9f6"  # v2's data/cancer.csv
    s3.put_object(Bucket=bucket, Key=f"{prefix}/files/md5/{md5[:2]}/{md5[2:]}", Body=b"a,b\n1,2\n")

    with pytest.raises(DvcPullError, match="is corrupt") as caught:
        _operator(demo_registry, tmp_path, s3_remote).execute(CONTEXT)

    assert caught.value.details["kind"] == "checksum_mismatch"
    assert caught.value.details["corrupt"][0]["expected"] == md5
    assert not (tmp_path / "ws").exists()


def test_object_whose_etag_is_not_its_md5_is_hashed_and_passes(
    demo_registry, s3_remote: str, s3_server: str, tmp_path: Path
) -> None:
    # a multipart upload's ETag is not the object's md5: the pull hashes the object instead
    bucket, prefix = s3_remote.removeprefix("s3://").split("/", 1)
    s3 = boto3.client("s3", endpoint_url=s3_server, region_name="us-east-1")
    md5 = "d35034f8377d344035e10b9c95f3d9f6"  # v2's data/cancer.csv
    key = f"{prefix}/files/md5/{md5[:2]}/{md5[2:]}"
    body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    upload = s3.create_multipart_upload(Bucket=bucket, Key=key)["UploadId"]
    part = s3.upload_part(Bucket=bucket, Key=key, UploadId=upload, PartNumber=1, Body=body)
    s3.complete_multipart_upload(
        Bucket=bucket,
        Key=key,
        UploadId=upload,
        MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": part["ETag"]}]},
    )
    assert "-" in s3.head_object(Bucket=bucket, Key=key)["ETag"]

    result = _operator(demo_registry, tmp_path, s3_remote).execute(CONTEXT)

    data = Path(result["targets"][0]["local_path"]).read_bytes()
    assert hashlib.md5(data, usedforsecurity=False).hexdigest() == result["md5"] == md5


def test_object_missing_on_s3(demo_registry, s3_remote, s3_server, tmp_path: Path) -> None:
    bucket, prefix = s3_remote.removeprefix("s3://").split("/", 1)
    s3 = boto3.client("s3", endpoint_url=s3_server, region_name="us-east-1")
    md5 = "d35034f8377d344035e10b9c95f3d9f6"
    s3.delete_object(Bucket=bucket, Key=f"{prefix}/files/md5/{md5[:2]}/{md5[2:]}")

    with pytest.raises(DvcPullError, match="missing on remote") as caught:
        _operator(demo_registry, tmp_path, s3_remote).execute(CONTEXT)

    assert caught.value.details["missing"] == [md5]


def test_bad_credentials_are_named(
    demo_registry, s3_remote: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from moto import settings

    monkeypatch.setattr(settings, "INITIAL_NO_AUTH_ACTION_COUNT", 0)  # moto now checks keys

    with pytest.raises(DvcPullError, match="refused the credentials") as caught:
        _operator(demo_registry, tmp_path, s3_remote).execute(CONTEXT)

    assert caught.value.details["kind"] == "bad_credentials"
    assert "testing" not in str(caught.value)
    assert not (tmp_path / "ws").exists()


def test_unreachable_s3_endpoint(
    demo_registry, s3_remote: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from airflow_mlops.local.services import free_port

    closed = {"conn_type": "aws", "login": "k", "password": "s"}
    closed["extra"] = {"endpoint_url": f"http://127.0.0.1:{free_port()}"}
    monkeypatch.setenv("AIRFLOW_CONN_DVC_S3_DOWN", json.dumps(closed))

    with pytest.raises(DvcPullError, match="unreachable") as caught:
        _operator(demo_registry, tmp_path, s3_remote, aws_conn_id="dvc_s3_down").execute(CONTEXT)

    assert caught.value.details["kind"] == "remote_unreachable"
