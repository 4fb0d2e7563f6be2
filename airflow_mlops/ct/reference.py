"""The validation reference of a CT run, resolved when the run starts (not when the DAG parses).

Without a named revision the suite is learned from the data the current champion was trained on
(its lineage), else from the data registry's first version: the data that was accepted last,
not a tag name that a config might have left behind.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from airflow_mlops.ct.config import resolve_reference_rev
from airflow_mlops.errors import ConfigError, ModelVersionNotFoundError
from airflow_mlops.lineage import CHAMPION


@dataclass(frozen=True)
class Reference:
    """The data version a validation suite is learned from, and why that one.

    :param rev: the revision to pull (tag, branch or commit).
    :param source: ``named`` (the config's), ``champion`` (its lineage) or ``first_version``.
    """

    rev: str
    source: str


def champion_tags(tracking_uri: str, model_name: str) -> dict[str, str] | None:
    """The tags of ``model_name``'s champion version, or None when it has no champion."""
    from airflow_mlops.model_registry.client import resolve_model_version

    try:
        return dict(resolve_model_version(tracking_uri, model_name, CHAMPION).tags)
    except ModelVersionNotFoundError:
        return None


def resolve_reference(
    named: str | None,
    *,
    tracking_uri: str,
    model_name: str,
    registry: str,
    target: str,
    mirrors_dir: str | os.PathLike[str],
) -> Reference:
    """The validation reference of a run: ``named`` if given, else the champion's training data,
    else the first tagged version of ``target`` in the registry (its first branch
    version when it has no tags).

    :param named: the config's ``validation_reference_rev``, or None.
    :param tracking_uri: the MLflow tracking server (the champion's lineage).
    :param model_name: the registered model.
    :param registry: the data registry (git URL or path).
    :param target: the DVC-tracked file.
    :param mirrors_dir: where bare git mirrors of registries are kept.
    :raises ConfigError: nothing to learn from (see :func:`resolve_reference_rev`).
    """
    if named:
        return Reference(resolve_reference_rev(named, None, ()), "named")
    tags = champion_tags(tracking_uri, model_name)
    if tags is not None:
        try:
            return Reference(resolve_reference_rev(None, tags, ()), CHAMPION)
        except ConfigError:  # a champion without data lineage: fall back to the first version
            pass
    from airflow_mlops.data.versions import list_versions

    # tags in creation order; a registry without tags has only its branches to offer
    versions = list_versions(registry, target, mirrors_dir=mirrors_dir) or list_versions(
        registry, target, refs="refs/heads/*", mirrors_dir=mirrors_dir
    )
    return Reference(resolve_reference_rev(None, None, [v.rev for v in versions]), "first_version")
