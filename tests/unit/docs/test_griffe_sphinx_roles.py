"""docs/_ext/griffe_sphinx_roles.py: each Sphinx role becomes an optional autorefs reference."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import griffe
import pytest

EXT = Path(__file__).resolve().parents[3] / "docs" / "_ext" / "griffe_sphinx_roles.py"


@pytest.fixture(scope="module")
def roles():
    spec = importlib.util.spec_from_file_location("griffe_sphinx_roles", EXT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def package(tmp_path: Path, roles, monkeypatch: pytest.MonkeyPatch):
    """``pkg`` with ``pkg.policy.Policy`` and ``pkg.ops.Op``, whose docstring uses roles."""
    root = tmp_path / "pkg"
    root.mkdir()
    (root / "__init__.py").write_text('"""See :mod:`.ops` and :mod:`importlib.resources`."""\n')
    (root / "policy.py").write_text('class Policy:\n    """A policy."""\n')
    (root / "ops.py").write_text(
        "from pkg.policy import Policy\n\n\n"
        "class Op:\n"
        '    """Takes a :class:`Policy`; see :meth:`run`, :func:`~pkg.ops.helper` and\n'
        '    :class:`the policy <pkg.policy.Policy>`."""\n\n'
        "    def run(self):\n"
        '        """Run."""\n\n\n'
        "def helper():\n"
        '    """Help."""\n'
    )
    monkeypatch.setattr(sys, "path", [str(tmp_path), *sys.path])
    loader = griffe.GriffeLoader(
        extensions=griffe.load_extensions(roles.SphinxRolesExtension()),
        search_paths=[str(tmp_path)],
    )
    return loader.load("pkg")


def test_roles_become_optional_references_to_full_paths(package) -> None:
    doc = package["ops.Op"].docstring.value
    assert ":class:" not in doc and ":meth:" not in doc and ":func:" not in doc
    assert '<autoref identifier="pkg.policy.Policy" optional><code>Policy</code></autoref>' in doc
    assert '<autoref identifier="pkg.ops.Op.run" optional><code>run()</code></autoref>' in doc
    assert '<autoref identifier="pkg.ops.helper" optional><code>helper()</code></autoref>' in doc
    assert (
        '<autoref identifier="pkg.policy.Policy" optional><code>the policy</code></autoref>' in doc
    )


def test_relative_and_foreign_modules(package) -> None:
    doc = package.docstring.value
    assert '<autoref identifier="pkg.ops" optional><code>ops</code></autoref>' in doc
    assert (
        '<autoref identifier="importlib.resources" optional>'
        "<code>importlib.resources</code></autoref>"
    ) in doc
