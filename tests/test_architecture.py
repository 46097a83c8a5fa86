"""The package's shape: no import cycles (function-level imports included) and the light stages
(ingest, export, the worker side of segment) never load torch."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import planseg

PACKAGE = Path(planseg.__file__).parent


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path, modules: set[str], name: str) -> set[str]:
    """planseg modules ``path`` imports anywhere in its body (TYPE_CHECKING blocks excluded:
    they never run)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skipped = {id(node) for block in ast.walk(tree) if isinstance(block, ast.If)
               and ast.unparse(block.test) in ("TYPE_CHECKING", "typing.TYPE_CHECKING")
               for inner in block.body for node in ast.walk(inner)}
    found = set()
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1]
                                + ([base] if base else []))
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return {module for module in found if module in modules and module != name}


def _graph() -> dict[str, set[str]]:
    paths = {_module_name(p): p for p in PACKAGE.rglob("*.py")}
    modules = set(paths)
    return {name: _imports(path, modules, name) for name, path in paths.items()}


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle as a list of modules, or None (iterative DFS, three colours)."""
    state: dict[str, int] = {}
    for root in sorted(graph):
        if state.get(root):
            continue
        stack = [(root, iter(sorted(graph[root])))]
        state[root] = 1
        while stack:
            node, children = stack[-1]
            child = next(children, None)
            if child is None:
                state[node] = 2
                stack.pop()
            elif state.get(child) == 1:
                path = [n for n, _ in stack]
                return path[path.index(child):] + [child]
            elif not state.get(child):
                state[child] = 1
                stack.append((child, iter(sorted(graph.get(child, ())))))
    return None


def test_the_walker_sees_function_level_imports_and_cycles(tmp_path):
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}}
    assert _cycle(graph) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None
    source = tmp_path / "m.py"
    source.write_text("def f():\n    from planseg.infer import run\n", encoding="utf-8")
    assert _imports(source, {"planseg.infer.run"}, "planseg.m") == {"planseg.infer.run"}


def test_planseg_has_no_import_cycle():
    assert _cycle(_graph()) is None


def test_nothing_imports_the_segment_recipe():
    importers = [name for name, deps in _graph().items() if "planseg.infer.run" in deps
                 and not name.startswith("planseg.cli")]
    assert importers == []


def test_light_stages_do_not_load_torch():
    """ingest, export and the modules segment's worker processes run import no torch, so
    the CLI starts fast and vector work runs in light processes."""
    code = ("import sys\n"
            "import planseg.ingest, planseg.export, planseg.infer.config, planseg.config\n"
            "from planseg.ingest import documents, render, rasterize, georef, text, tiling\n"
            "from planseg.export import document, features, coco, geojson, evaluate\n"
            "from planseg.infer import engines, tiles\n"
            "from planseg.infer.engines import sam\n"
            "from planseg.config import load_config\n"
            "from planseg.infer.config import SegmentConfig\n"
            "load_config(SegmentConfig, None, {'inputs': ['x'], 'out': 'y'})\n"
            "print('torch' in sys.modules)\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True)
    assert result.stdout.strip() == "False"


def test_the_model_free_engines_never_load_torch(tmp_path):
    """``--engine vector`` (and ``regions``) read no model: a whole segment run, workers
    in-process, leaves torch unimported (it took 15 of 19 s of a Newport run to import)."""
    import pymupdf

    pdf = tmp_path / "in" / "plan.pdf"
    pdf.parent.mkdir()
    doc = pymupdf.open()
    page = doc.new_page(width=300, height=300)
    page.draw_rect(pymupdf.Rect(20, 20, 150, 280), color=(0, 0, 0), fill=(0.9, 0.5, 0.2))
    page.draw_rect(pymupdf.Rect(150, 20, 280, 280), color=(0, 0, 0), fill=(0.2, 0.5, 0.9))
    doc.save(pdf)
    code = ("import sys\n"
            "from planseg.cli import app\n"
            "for engine in ('vector', 'regions'):\n"
            "    try:\n"
            f"        app(['-q', 'segment', {str(pdf.parent)!r}, '--out',\n"
            f"             {str(tmp_path)!r} + '/out-' + engine, '--engine', engine,\n"
            "             '--workers', '0', '--dpi', '30'])\n"
            "    except SystemExit as exc:\n"
            "        assert exc.code == 0, exc.code\n"
            "print('torch' in sys.modules)\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True)
    assert result.stdout.strip().splitlines()[-1] == "False"
    for engine in ("vector", "regions"):
        collection = json.loads((tmp_path / f"out-{engine}" / "plan.geojson").read_text())
        assert len(collection["features"]) == 2, engine
