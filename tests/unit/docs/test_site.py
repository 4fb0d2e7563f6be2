"""The documentation site builds with ``mkdocs build --strict`` (broken links, anchors, snippet
includes and API reference entries all fail the build)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
#: a Sphinx cross-reference role left as text
RAW_ROLE = re.compile(r":(?:py:)?(?:class|func|mod|data|meth|attr|exc|obj):(?:`|<code>)")


@pytest.mark.slow
def test_mkdocs_build_strict(tmp_path):
    pytest.importorskip("mkdocstrings", reason="install the docs extra: pip install -e .[docs]")
    site = tmp_path / "site"
    done = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-d", str(site)],
        cwd=REPO,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    operators = (site / "reference" / "operators" / "index.html").read_text(encoding="utf-8")
    # the package-dir mapped operators render under their import path, with parsed :param:s
    assert 'id="airflow_mlops.operators.validation.ValidateDataOperator"' in operators
    assert 'id="airflow_mlops.operators.evaluation.EvaluateAndPromoteOperator.compare"' in operators
    assert ":param " not in operators
    # Sphinx roles in docstrings render as links into the reference, never as raw text
    raw = {
        str(page.relative_to(site)): RAW_ROLE.findall(page.read_text(encoding="utf-8"))
        for page in site.rglob("*.html")
    }
    assert {page: roles for page, roles in raw.items() if roles} == {}
    assert (
        '<a class="autorefs autorefs-internal" title="build_suite '
        '(airflow_mlops.operators.validation.ValidateDataOperator.build_suite)" '
        'href="#airflow_mlops.operators.validation.ValidateDataOperator.build_suite">'
        "<code>build_suite()</code></a>"
    ) in operators
    assert 'href="../validation/#airflow_mlops.validation.policy.ValidationPolicy"' in operators
    subclassing = (site / "subclassing" / "index.html").read_text(encoding="utf-8")
    assert "ClinicalSuiteValidateOperator" in subclassing  # the example files are included
    assert "SafetyGatePromoteOperator" in subclassing
    scaling = (site / "scaling" / "index.html").read_text(encoding="utf-8")
    for included in (
        "CeleryExecutor",
        "KubernetesExecutor",
        "TRAINING_POD",
        "artifacts-destination",
    ):
        assert included in scaling, included
