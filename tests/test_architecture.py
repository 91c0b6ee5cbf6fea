"""The package boundaries, checked from the code's own imports (read with ``ast``, nothing run).

- ``lanes`` is the domain: it imports neither Slack, nor SQLAlchemy, nor ``storage`` or ``bot``.
- ``storage`` implements the audit log port: from ``lanes`` it imports ``lanes.audit`` only.
- Only ``lanes/providers`` talks to model SDKs; nothing above it sees an SDK exception.
- ``bot`` is laid out by architecture: its top holds packages, not loose modules.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def imports_of(path: Path) -> Iterator[tuple[int, str]]:
    """(line, module) of every import in ``path``, relative imports resolved to absolute names."""
    tree = ast.parse(path.read_text(), filename=str(path))
    package = ".".join(path.relative_to(ROOT).with_suffix("").parts[:-1])
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parent, base] if base else parent)
            yield node.lineno, base
            for alias in node.names:
                yield node.lineno, f"{base}.{alias.name}"


def sources(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


def violations(package: str, forbidden: tuple[str, ...], *, allowed: tuple[str, ...] = ()) -> list[str]:
    found = []
    for path in sources(package):
        for line, module in imports_of(path):
            hit = any(module == f or module.startswith(f"{f}.") for f in forbidden)
            ok = any(module == a or module.startswith(f"{a}.") for a in allowed)
            if hit and not ok:
                found.append(f"{path.relative_to(ROOT)}:{line} imports {module}")
    return sorted(set(found))


def test_the_domain_imports_no_delivery_and_no_storage() -> None:
    forbidden = ("slack_sdk", "slack_bolt", "sqlalchemy", "alembic", "storage", "bot")
    assert violations("lanes", forbidden) == []


def test_storage_imports_only_the_audit_port_from_the_domain() -> None:
    assert violations("storage", ("lanes",), allowed=("lanes.audit",)) == []
    assert violations("storage", ("bot", "slack_sdk", "slack_bolt")) == []


@pytest.mark.parametrize("package", ["lanes", "storage", "bot"])
def test_only_the_provider_adapters_import_model_sdks(package: str) -> None:
    found = [
        v
        for v in violations(package, ("openai", "anthropic"))
        if not v.startswith(str(Path("lanes") / "providers"))
    ]
    assert found == []


def test_bot_keeps_its_modules_in_packages_that_name_their_part() -> None:
    loose = sorted(p.name for p in (ROOT / "bot").glob("*.py") if p.name != "__init__.py")
    assert loose == []
    parts = sorted(p.name for p in (ROOT / "bot").iterdir() if (p / "__init__.py").exists())
    assert parts == ["cli", "digest", "playground", "runtime", "slack"]


def test_one_name_for_one_module() -> None:
    """No two modules share a file name, apart from names a package uses for its own part (``errors.py``
    is each package's error tree, ``views.py``/``models.py`` its views or tables)."""
    fixed = {"__init__.py", "__main__.py", "errors.py", "models.py", "views.py", "digest.py", "env.py"}
    seen: dict[str, list[str]] = {}
    for package in ("bot", "lanes", "storage"):
        for path in sources(package):
            if path.name not in fixed and "migrations" not in path.parts:
                seen.setdefault(path.name, []).append(str(path.relative_to(ROOT)))
    assert {name: paths for name, paths in seen.items() if len(paths) > 1} == {}


def test_every_third_party_import_is_a_declared_runtime_dependency() -> None:
    """Declare every import: a module that works only because something else pulled it in breaks
    the day that something drops it (python-dotenv was imported but not declared)."""
    import re
    import sys
    import tomllib
    from importlib.metadata import packages_distributions

    declared = {
        re.split(r"[<>=!\[; ]", requirement, maxsplit=1)[0].lower().replace("_", "-")
        for requirement in tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    }
    owners = packages_distributions()
    ours = {"bot", "lanes", "storage"}
    missing = []
    for package in sorted(ours):
        for path in sources(package):
            for line, module in imports_of(path):
                top = module.split(".")[0]
                if not top or top in ours or top in sys.stdlib_module_names or top == "__future__":
                    continue
                distributions = {d.lower().replace("_", "-") for d in owners.get(top, [top])}
                if not distributions & declared:
                    names = ", ".join(sorted(distributions))
                    missing.append(f"{path.relative_to(ROOT)}:{line} imports {top} ({names})")
    assert sorted(set(missing)) == []
