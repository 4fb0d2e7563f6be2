"""Fingerprint, lineage tags and the pipeline's git sha."""

from __future__ import annotations

import json
from dataclasses import fields

import pytest
from hypothesis import given
from hypothesis import strategies as st

from airflow_mlops import lineage as vocabulary
from airflow_mlops.errors import ConfigError
from airflow_mlops.lineage import (
    GIT_SHA_ENV,
    LINEAGE_KEYS,
    Lineage,
    fingerprint,
    lineage_tag,
    pipeline_git_sha,
)

MD5, DIGEST = "d" * 32, "sha256:" + "e" * 64

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=5),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner, max_size=3)
    ),
    max_leaves=8,
)


@given(st.dictionaries(st.text(max_size=5), json_values, max_size=5))
def test_fingerprint_ignores_key_order_and_is_sha256_hex(params):
    reordered = dict(reversed(list(params.items())))
    value = fingerprint(MD5, DIGEST, params)
    assert value == fingerprint(MD5, DIGEST, reordered)
    assert len(value) == 64 and int(value, 16) >= 0


def test_fingerprint_changes_with_each_input():
    base = fingerprint(MD5, DIGEST, {"lr": 0.01})
    assert base != fingerprint("f" * 32, DIGEST, {"lr": 0.01})
    assert base != fingerprint(MD5, "sha256:" + "0" * 64, {"lr": 0.01})
    assert base != fingerprint(MD5, DIGEST, {"lr": 0.02})
    assert base == fingerprint(f" {MD5} ", DIGEST, {"lr": 0.01})


@pytest.mark.parametrize(
    ("md5", "digest", "params", "message"),
    [
        ("", DIGEST, {}, "data_md5=''"),
        (MD5, None, {}, "image_digest=None"),
        (MD5, DIGEST, ["lr"], "params must be a dict"),
        (MD5, DIGEST, {"lr": float("nan")}, "canonical JSON"),
        (MD5, DIGEST, {"when": object()}, "canonical JSON"),
    ],
)
def test_fingerprint_refuses_bad_input(md5, digest, params, message):
    with pytest.raises(ConfigError, match=message):
        fingerprint(md5, digest, params)


def test_lineage_tags_skip_unset_fields_and_encode_values():
    lineage = Lineage(
        dataset="cancer",
        run_id="manual__1",
        params={"b": 1, "a": [1, 2]},
        parity_max_abs=2.5e-7,
        data_rev="",
    )
    assert lineage.tags() == {
        "mlops.dataset": "cancer",
        "mlops.run_id": "manual__1",
        "mlops.params": '{"a":[1,2],"b":1}',
        "mlops.parity_max_abs": "2.5e-07",
    }
    assert lineage.identity() == {"mlops.run_id": "manual__1"}
    assert json.loads(lineage.tags()["mlops.params"]) == {"a": [1, 2], "b": 1}


def test_lineage_identity_needs_a_run_id_and_unknown_keys_are_refused():
    with pytest.raises(ConfigError, match="run_id"):
        Lineage(dataset="cancer").identity()
    with pytest.raises(ConfigError, match=r"Unknown lineage keys \['datset'\]"):
        Lineage.from_mapping({"datset": "cancer"})


def test_git_sha_from_env_then_git_then_unknown(monkeypatch, tmp_path):
    monkeypatch.setenv(GIT_SHA_ENV, "abc123")
    assert pipeline_git_sha() == "abc123"
    monkeypatch.delenv(GIT_SHA_ENV)
    sha = pipeline_git_sha()
    assert len(sha.removesuffix("+dirty")) == 40
    assert pipeline_git_sha(tmp_path) == "unknown"


def test_lineage_keys_are_the_lineage_fields_and_typos_are_refused():
    assert tuple(field.name for field in fields(Lineage)) == LINEAGE_KEYS
    assert set(Lineage(**dict.fromkeys(LINEAGE_KEYS, "x")).tags()) == {
        lineage_tag(key) for key in LINEAGE_KEYS
    }
    with pytest.raises(ValueError, match="'datset' is not a Lineage field"):
        lineage_tag("datset")


def test_the_contract_names_every_tag_and_the_wire_names_stay():
    """Registries keep these names for years: a rename orphans every version tagged before."""
    tags = {name: value for name, value in vars(vocabulary).items() if name.endswith("_TAG")}
    field_tags = {lineage_tag(key) for key in LINEAGE_KEYS}
    undocumented = [
        name
        for name, value in tags.items()
        if value not in field_tags and f"``{value}``" not in vocabulary.__doc__
    ]
    assert undocumented == []
    assert all(value.startswith("mlops.") for value in tags.values())
    assert (vocabulary.MODEL_TAG, vocabulary.REPORT_TAG) == ("mlops.model", "mlops.report_uri")
    assert (vocabulary.CHAMPION, vocabulary.CHALLENGER, vocabulary.PREVIOUS) == (
        "champion",
        "challenger",
        "previous",
    )
