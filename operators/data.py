"""DvcPullOperator: pull a dataset version from a DVC data registry into a workspace."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperator
from airflow.sdk.exceptions import AirflowFailException

from airflow_mlops.data.dvc import DEFAULT_LINK_TYPE, check_targets, pull
from airflow_mlops.data.dvc_remote import RemoteSpec
from airflow_mlops.errors import ConfigError, MlopsError
from airflow_mlops.inputs import (
    check_git_source,
    check_int,
    check_name,
    check_path,
    check_pattern,
    check_rev,
    fail,
    rule,
)
from airflow_mlops.operators.arguments import check_arguments
from airflow_mlops.operators.artifacts import context_artifact_dir
from airflow_mlops.operators.exceptions import MlopsTaskError, fails_again
from airflow_mlops.operators.secrets import MaskRegistryCredentials
from airflow_mlops.plugins.links import DataRevisionLink
from airflow_mlops.settings import MlopsHome

if TYPE_CHECKING:
    from airflow.sdk import Context


class DvcPullError(MlopsTaskError):
    """A DVC pull failed: unknown revision, untracked target, remote or object problem."""


class DvcPullRefused(DvcPullError, AirflowFailException):
    """A DVC pull that a retry would not fix (unknown revision, bad target): fails without
    retrying."""


def check_target_list(name: str, value: Any) -> list[str]:
    """One target path or a non-empty list of them, each relative inside the registry."""
    targets = [value] if isinstance(value, str) else value
    if not isinstance(targets, list | tuple):
        raise fail(name, value, "must be a path or a list of paths inside the registry")
    for target in targets:
        check_path(name, target)
    try:
        return check_targets(targets)
    except ConfigError as error:
        raise fail(name, value, error.message.rstrip(".")) from error


#: DVC's cache.type: link types in order of preference, comma-separated
LINK_TYPES_PATTERN = r"^(reflink|hardlink|symlink|copy)(,(reflink|hardlink|symlink|copy))*$"


class DvcPullOperator(MaskRegistryCredentials, BaseOperator):
    """Pull ``targets`` of a DVC data registry at ``rev`` into a workspace.

    Returns to XCom ``{"registry", "rev", "commit", "md5", "size", "workspace", "targets":
    [{"path", "local_path", "md5", "size", "nfiles"}], "fetched", "seconds"}``. The data goes
    through a DVC cache shared by all tasks, so a repeated pull of one version is near-instant;
    each run gets its own workspace, replaced only when the pull succeeds.

    :param registry: the data registry: a git URL or a local repository path. (templated)
    :param targets: paths tracked by DVC in the registry, e.g. ``["data/train.csv"]``.
        (templated)
    :param rev: tag, branch or commit to pull; ``HEAD`` is the default branch. (templated)
    :param workspace: where the registry's files at ``rev`` and the data go; default
        ``$AIRFLOW_MLOPS_HOME/workspaces/data/<dag_id>/<run_id>/<task_id>[/<map_index>]``.
        (templated)
    :param remote: a remote named in the registry's DVC config; None for its default.
    :param remote_url: replaces that remote's URL (a local directory or ``s3://bucket/path``).
        (templated)
    :param aws_conn_id: an Airflow AWS connection whose credentials, endpoint and region are
        handed to DVC in memory (never logged, written to disk or pushed to XCom); None uses
        the remote's own config and the environment.
    :param cache_dir: the shared DVC cache; default ``$AIRFLOW_MLOPS_HOME/dvc-cache``.
    :param link_type: DVC ``cache.type``; the default links files out of the cache (read-only
        hard links where reflinks are not supported); ``"copy"`` gives writable copies.
    :param jobs: parallel transfers (DVC's default when None).
    """

    template_fields: Sequence[str] = ("registry", "targets", "rev", "workspace", "remote_url")
    operator_extra_links = (DataRevisionLink(),)
    ui_color = "#945dd6"
    argument_rules = {
        "registry": check_git_source,
        "targets": check_target_list,
        "rev": check_rev,
        "workspace": rule(check_path, allow_none=True),
        "remote": rule(check_name, allow_none=True),
        "remote_url": rule(check_path, allow_none=True),
        "aws_conn_id": rule(check_name, allow_none=True),
        "cache_dir": rule(check_path, allow_none=True),
        "link_type": rule(
            check_pattern,
            LINK_TYPES_PATTERN,
            "must list DVC link types: reflink, hardlink, symlink, copy, comma-separated",
        ),
        "jobs": rule(check_int, 1, 256, allow_none=True),
    }

    def __init__(
        self,
        *,
        registry: str,
        targets: Sequence[str] | str,
        rev: str = "HEAD",
        workspace: str | None = None,
        remote: str | None = None,
        remote_url: str | None = None,
        aws_conn_id: str | None = None,
        cache_dir: str | None = None,
        link_type: str = DEFAULT_LINK_TYPE,
        jobs: int | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.registry = registry
        self.targets = targets
        self.rev = rev
        self.workspace = workspace
        self.remote = remote
        self.remote_url = remote_url
        self.aws_conn_id = aws_conn_id
        self.cache_dir = cache_dir
        self.link_type = link_type
        self.jobs = jobs
        check_arguments(self, self.argument_rules, rendered=False)

    def remote_spec(self) -> RemoteSpec:
        """The remote to pull from, with credentials from ``aws_conn_id`` when set."""
        config: dict[str, Any] = {}
        if self.aws_conn_id:
            from airflow_mlops.hooks.dvc import DvcRemoteHook

            config = DvcRemoteHook(aws_conn_id=self.aws_conn_id).get_remote_config()
        return RemoteSpec(name=self.remote, url=self.remote_url or None, config=config)

    def default_workspace(self, context: Context) -> Path:
        """``$AIRFLOW_MLOPS_HOME/workspaces/data/<dag_id>/<run_id>/<task_id>[/<map_index>]``."""
        return context_artifact_dir(context, "data", root=MlopsHome.from_env().workspaces)

    def execute(self, context: Context) -> dict[str, Any]:
        check_arguments(self, self.argument_rules, rendered=True)
        targets = [self.targets] if isinstance(self.targets, str) else list(self.targets)
        workspace = Path(self.workspace) if self.workspace else self.default_workspace(context)
        cache = Path(self.cache_dir) if self.cache_dir else MlopsHome.from_env().dvc_cache
        try:
            result = pull(
                self.registry,
                targets,
                rev=str(self.rev),
                workspace=workspace,
                cache_dir=cache,
                remote=self.remote_spec(),
                link_type=self.link_type,
                jobs=self.jobs,
            )
        except MlopsError as error:
            refused = fails_again(error)
            raise (DvcPullRefused if refused else DvcPullError).from_core(error) from error
        self.log.info(
            "Pulled %s at %s (commit %s, md5 %s, %d bytes, %d objects fetched) into %s in %.2f s",
            ", ".join(targets),
            result.rev,
            result.commit[:12],
            result.md5,
            result.size,
            result.fetched,
            result.workspace,
            result.seconds,
        )
        return result.as_dict()
