"""The layout's rules that the import contract (.importlinter) cannot check."""

import ast
import io
import re
import tokenize
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


# --- the offline assistant names no service's things ---------------------------------------------

# The reading of requests: generic over the specs. What differs per service is data (its
# spec, its aliases), never a word in this code.
GROUNDING = [*sorted((ROOT / "assistants" / "grounding").glob("*.py")),
             *(ROOT / "assistants" / name for name in ("planning.py", "local.py", "ranking.py", "evaluation.py")),
             ROOT / "core" / "words.py", ROOT / "prompts" / "vocabulary.py", ROOT / "operations" / "ranking.py"]
# Words of those services' paths that are also plain English the reading needs.
ENGLISH = {"me", "new", "next", "search", "start", "top", "user", "version", "reorder", "browse", "recently",
           "currently", "following", "play", "played", "playing", "player", "queue", "device", "volume", "repeat",
           "pause", "previou", "related", "release", "recommendation", "favorite", "favourite", "member", "business",
           "direction", "person", "role", "figure", "cast", "tune", "band", "session", "beat", "order", "position",
           "slot"}


def _service_words() -> set[str]:
    """The things particular services keep: the nouns of the paths of the services the
    project serves or tests with (the demo's, the nine FountainAI ones, the music API)
    and the aliases the tests give them."""
    import json

    import yaml

    from core.words import split_identifier, stem
    from tests.shared_material import SHARED

    specs = [*sorted((ROOT / "demo").glob("*.yml")), *sorted((SHARED / "reference" / "fountainai-services").glob("*.yml")),
             SHARED / "routing" / "public-api" / "Spotify.yml"]
    words = set()
    for spec in specs:
        if not spec.exists():
            continue
        for path in (yaml.safe_load(spec.read_text()) or {}).get("paths", {}):
            words |= {stem(w) for segment in path.split("/") if segment and not segment.startswith("{")
                      for w in split_identifier(segment)}
    aliases = json.loads((ROOT / "tests" / "routing" / "fountainai_aliases.json").read_text())
    aliases_text = " ".join(v for k, v in aliases.items() if not k.startswith("_"))
    aliases_text += " " + (ROOT / "tests" / "routing" / "public_api_aliases.txt").read_text().split("\n", 1)[1]
    words |= {stem(w) for w in re.findall(r"[A-Za-z]+", aliases_text)}
    return {w for w in words if len(w) > 2} - ENGLISH


def _logic_words(path: Path) -> list[tuple[int, str]]:
    """(line, word) of the identifiers and string literals of a module, docstrings and
    comments left out: the words its logic reads and writes."""
    source = path.read_text(encoding="utf-8")
    tree = ast.parse(source)
    docstrings = {node.body[0].value.lineno for node in ast.walk(tree)
                  if isinstance(node, (ast.Module, ast.FunctionDef, ast.ClassDef, ast.AsyncFunctionDef))
                  and node.body and isinstance(node.body[0], ast.Expr) and isinstance(node.body[0].value, ast.Constant)}
    found = []
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type == tokenize.NAME or (token.type == tokenize.STRING and token.start[0] not in docstrings):
            found += [(token.start[0], w.lower()) for w in re.findall(r"[A-Za-z][a-z]+|[A-Z]+(?![a-z])", token.string)]
    return found


def test_the_grounding_code_names_no_service_s_things():
    from core.words import stem

    words = _service_words()
    found = [f"{path.relative_to(ROOT)}:{line}: {word}" for path in GROUNDING for line, word in _logic_words(path)
             if stem(word) in words]
    assert found == []


def test_the_check_sees_a_service_word(tmp_path):
    from core.words import stem

    sample = tmp_path / "probe.py"
    sample.write_text('"""A docstring may say playlist."""\n# so may a comment: playlist\nKINDS = {"playlists": 1}\n')
    assert [w for _, w in _logic_words(sample) if stem(w) in _service_words()] == ["playlists"]
