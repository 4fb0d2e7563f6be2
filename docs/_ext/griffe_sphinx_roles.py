"""Griffe extension: Sphinx roles in docstrings become links into the API reference.

The docstrings cross-reference with Sphinx roles (``:class:`~pkg.mod.Name```, ``:func:``,
``:mod:``, ``:meth:``, ``:attr:``, ``:data:``, ``:exc:``, ``:obj:``), which mkdocstrings would show
as text. Once a package is loaded, each role in each docstring is replaced by an *optional*
mkdocs-autorefs reference to the object it names: a link where the site documents that object,
plain code where it does not (a standard-library module, say), never the raw role.

Names resolve as Sphinx resolves them: a dotted path as written; a leading ``.`` from the
docstring's module and then its package; a bare name in the docstring owner's scope (its members,
its module's imports), then its module's. ``~`` shows only the last part of the name.
"""

from __future__ import annotations

import html
import re
from typing import Any

import griffe

#: one Sphinx cross-reference role: ``:kind:`title <target>``` or ``:kind:`[~]target```
ROLE = re.compile(r":(?:py:)?(?P<kind>class|func|mod|data|meth|attr|exc|obj):`(?P<body>[^`]+)`")
_EXPLICIT_TITLE = re.compile(r"^(?P<title>.+?)\s*<(?P<target>[^<>]+)>$")


class SphinxRolesExtension(griffe.Extension):
    """Rewrites the roles of every docstring in a loaded package (run after PackageDirExtension,
    so the operator, sensor and hook folders mapped into the package are included)."""

    def on_package(self, *, pkg: griffe.Module, loader: griffe.GriffeLoader, **kwargs: Any) -> None:
        for obj in _objects(pkg):
            if obj.docstring is not None and ":" in obj.docstring.value:
                obj.docstring.value = rewrite(obj.docstring.value, obj, loader)


def rewrite(text: str, owner: griffe.Object, loader: griffe.GriffeLoader) -> str:
    """``text`` with each role replaced by ``<autoref identifier=... optional><code>``."""

    def replace(match: re.Match[str]) -> str:
        body = match["body"].strip()
        if explicit := _EXPLICIT_TITLE.match(body):
            title, target = explicit["title"], explicit["target"].lstrip("~")
        else:
            target = body.lstrip("~")
            title = target.rsplit(".", 1)[-1] if body.startswith("~") else target.lstrip(".")
        if match["kind"] in ("func", "meth") and not title.endswith(")"):
            title += "()"
        identifier = resolve(target, owner, loader)
        return (
            f'<autoref identifier="{html.escape(identifier)}" optional>'
            f"<code>{html.escape(title)}</code></autoref>"
        )

    return ROLE.sub(replace, text)


def resolve(target: str, owner: griffe.Object, loader: griffe.GriffeLoader) -> str:
    """The full dotted path that ``target`` names from ``owner``'s docstring (``target`` itself
    when it names nothing the loader knows, e.g. another library's object)."""
    module = owner.module
    if target.startswith("."):
        candidates = [module.path + target]
        if module.parent is not None:
            candidates.append(module.parent.path + target)
    else:
        candidates = [target]
        first, _, rest = target.partition(".")
        for scope in (owner, module):
            try:
                found = scope.resolve(first)
            except (griffe.NameResolutionError, griffe.AliasResolutionError, KeyError):
                continue
            candidates.insert(0, f"{found}.{rest}" if rest else found)
            break
    for path in candidates:
        if _exists(path, loader):
            return _final_path(path, loader)
    return candidates[0].lstrip(".")


def _exists(path: str, loader: griffe.GriffeLoader) -> bool:
    try:
        loader.modules_collection.get_member(path)
    except (KeyError, ValueError, IndexError, griffe.AliasResolutionError):
        return False
    return True


def _final_path(path: str, loader: griffe.GriffeLoader) -> str:
    """Where an imported name is defined (its documented home), else ``path``."""
    obj = loader.modules_collection.get_member(path)
    try:
        return obj.final_target.path if obj.is_alias else obj.path
    except (griffe.AliasResolutionError, griffe.CyclicAliasError):
        return path


def _objects(obj: griffe.Object) -> list[griffe.Object]:
    found = [obj]
    for member in obj.members.values():
        if not member.is_alias:
            found += _objects(member)
    return found
