"""The layout's rules that the import contract (.importlinter) cannot check."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# The project's own packages: every folder at the top with an __init__.py, but tests.
PACKAGES = sorted(p.name for p in ROOT.iterdir() if (p / "__init__.py").exists() and p.name != "tests")


def _modules():
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if "migrations" not in path.parts:
                yield package, path


def _private_imports(package: str, path: Path) -> list[str]:
    """`from other_app.x import _name`, and `_name` read off a module of another app."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found, foreign_modules = [], set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            top = node.module.split(".")[0]
            if top in PACKAGES and top != package:
                for alias in node.names:
                    if alias.name.startswith("_"):
                        found.append(f"{path.relative_to(ROOT)}:{node.lineno} imports {node.module}.{alias.name}")
                    elif _is_module(f"{node.module}.{alias.name}"):
                        foreign_modules.add(alias.asname or alias.name)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                top = alias.name.split(".")[0]
                if top in PACKAGES and top != package:
                    foreign_modules.add(alias.asname or top)
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr.startswith("_") and not node.attr.startswith("__"):
            root = node.value
            while isinstance(root, ast.Attribute):
                root = root.value
            if isinstance(root, ast.Name) and root.id in foreign_modules:
                found.append(f"{path.relative_to(ROOT)}:{node.lineno} reads {ast.unparse(node)}")
    return found


def _is_module(dotted: str) -> bool:
    where = ROOT.joinpath(*dotted.split("."))
    return where.with_suffix(".py").exists() or (where / "__init__.py").exists()


def test_no_module_uses_a_private_name_of_another_app():
    """An underscore name is its app's own business: another app that needs it asks for a
    public name instead, so each app can change its insides without breaking others."""
    found = [problem for package, path in _modules() for problem in _private_imports(package, path)]
    assert found == []


def test_the_check_sees_a_private_import(tmp_path):
    sample = ROOT / "operations" / "_layout_probe.py"
    try:
        sample.write_text("from prompts.services import _save_new_or_theirs\nimport registry.rules\nregistry.rules._x\n")
        problems = _private_imports("operations", sample)
    finally:
        sample.unlink()
    assert len(problems) == 2
