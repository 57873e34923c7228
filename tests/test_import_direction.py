"""The layout holds: imports run one way, recipes -> export -> zoo. Nothing under zoo/ imports export or
recipes, and nothing under export/ imports recipes (read from the source, so an import
inside a function counts too)."""

import ast
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
FORBIDDEN = {"zoo": {"export", "recipes"}, "export": {"recipes"}}


def imported_packages(path):
    tree = ast.parse(path.read_text(), str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.module.split(".")[0]


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_imports_run_one_way(package):
    files = sorted((ROOT / package).rglob("*.py"))
    assert files
    wrong = [f"{path.relative_to(ROOT)} imports {name}" for path in files
             for name in imported_packages(path) if name in FORBIDDEN[package]]
    assert wrong == []


def test_the_check_sees_an_import_inside_a_function(tmp_path):
    module = tmp_path / "m.py"
    module.write_text("def f():\n    from export.saved_model import export_run\n")
    assert list(imported_packages(module)) == ["export"]


def test_zoo_keeps_its_roles_in_packages_and_the_tests_mirror_them():
    modules = sorted(path.name for path in (ROOT / "zoo").glob("*.py"))
    assert len(modules) <= 6, modules
    packages = {path.name for path in (ROOT / "zoo").iterdir() if (path / "__init__.py").exists()}
    mirrored = {path.name for path in (ROOT / "tests" / "zoo").iterdir()
                if path.is_dir() and path.name != "__pycache__"}
    assert mirrored <= packages, f"tests/zoo/ folders without a zoo/ package: {sorted(mirrored - packages)}"
