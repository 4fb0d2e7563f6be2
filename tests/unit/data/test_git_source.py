"""Registry URLs: credentials are used for git but never shown."""

from __future__ import annotations

from pathlib import Path

import pytest

from airflow_mlops.data.git_source import shown_url, url_secrets
from airflow_mlops.data.versions import list_versions
from airflow_mlops.errors import DataError

TOKEN = "tok-3b8f0c2e9d7a41c6"


def test_a_failing_git_call_never_shows_the_credentials(tmp_path: Path) -> None:
    from airflow_mlops.local.services import free_port

    url = f"https://ci-bot:{TOKEN}@127.0.0.1:{free_port()}/registry.git"
    with pytest.raises(DataError, match=r"https://ci-bot:\*\*\*@127") as error:
        list_versions(url, "data/cancer.csv", mirrors_dir=tmp_path)
    assert TOKEN not in str(error.value)


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("https://user:pw@host/r.git", "https://user:***@host/r.git"),
        ("https://ghp_token@github.com/o/r.git", "https://***@github.com/o/r.git"),
        ("ssh://git@host:22/r.git", "ssh://git@host:22/r.git"),
        ("ssh://git:pw@host/r.git", "ssh://git:***@host/r.git"),
        ("git@github.com:o/r.git", "git@github.com:o/r.git"),
        ("/srv/registry", "/srv/registry"),
        ("https://host/r.git", "https://host/r.git"),
        ("https://user:p%40ss@host/r.git", "https://user:***@host/r.git"),
    ],
)
def test_shown_url_hides_only_credentials(url: str, shown: str) -> None:
    assert shown_url(url) == shown


def test_url_secrets_names_the_written_and_the_decoded_form() -> None:
    assert url_secrets("https://user:p%40ss@host/r.git") == ["p%40ss", "p@ss"]
    assert url_secrets("ssh://git@host/r.git") == []
