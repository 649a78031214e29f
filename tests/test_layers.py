"""The layers of ARCHITECTURE.md, enforced on every module: imports point down, never up, and the
schema and transport layers hold no SQL.

    server -> transport -> schema -> resolvers -> loaders -> models -> core

A layer may import itself and any layer below it (core is below all); nothing imports server.py.
Beside the request path, jobs/ (background tasks) may use resolvers and what they use; only the top
layer (the worker command) imports it.
In schema/ and transport/ nothing imports SQLAlchemy (not even a session type), nothing opens or
calls a session, and models/ are used only for their enums and as row types in annotations. The scan reads
the source (an AST), so a change that breaks a rule fails here before it is ever run.
"""

from __future__ import annotations

import ast
import enum
import importlib
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
ORDER = ["server", "transport", "schema", "resolvers", "loaders", "models", "core"]
# Outside the request path: what each may use.
OTHERS = {
    "seed": {"seed", "models", "core"},
    "migrations": {"migrations", "models", "core"},
    "jobs": {"jobs", "resolvers", "loaders", "models", "core"},
}
NO_SQL_LAYERS = {"schema", "transport"}
SESSION_NAMES = {"session", "db", "conn", "connection"}
# Opening a session is the resolvers' job; the mutation runner opens the mutation's transaction
# (`write_transaction`), and that is all schema/ does with the database.
SESSION_OPENERS = {"read_session", "write_session", "sessionmaker", "read_sessionmaker", "write_sessionmaker"}
SESSION_METHODS = {
    "execute",
    "scalar",
    "scalars",
    "get",
    "add",
    "add_all",
    "delete",
    "flush",
    "merge",
    "refresh",
    "stream",
    "stream_scalars",
    "begin",
    "begin_nested",
}


@dataclass(frozen=True)
class Violation:
    path: str
    line: int
    rule: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.rule}"


def layer_of(path: str) -> str | None:
    top = path.split("/", 1)[0]
    if path in ("server.py", "cli.py"):  # the app and its command line: the top layer
        return "server"
    if top in ORDER or top in OTHERS:
        return top
    return None


def allowed(layer: str) -> set[str]:
    if layer in OTHERS:
        return OTHERS[layer]
    if layer == "server":  # the top: it assembles everything, seed and migrations included
        return set(ORDER) | set(OTHERS)
    return set(ORDER[ORDER.index(layer) :]) - {"server"}


def _imported_modules(tree: ast.AST) -> list[tuple[str, int]]:
    found: list[tuple[str, int]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.module, node.lineno))
    return found


def _annotation_nodes(tree: ast.AST) -> set[int]:
    """ids of every node inside an annotation (arguments, returns, annotated assignments)."""
    roots: list[ast.AST] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            args = node.args
            every = (
                args.posonlyargs + args.args + args.kwonlyargs + [a for a in (args.vararg, args.kwarg) if a]
            )
            roots += [a.annotation for a in every if a.annotation is not None]
            if node.returns is not None:
                roots.append(node.returns)
        elif isinstance(node, ast.AnnAssign):
            roots.append(node.annotation)
    return {id(inner) for root in roots for inner in ast.walk(root)}


def _model_misuse(path: str, tree: ast.AST) -> list[Violation]:
    """models/ names used other than as enums or as types in annotations."""
    modules: dict[str, str] = {}  # local name -> models module (`from models import flags as m`)
    names: dict[str, object] = {}  # local name -> the object (`from models.flags import FeatureFlag`)
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "models":
            for alias in node.names:
                local = alias.asname or alias.name
                if node.module == "models":
                    modules[local] = f"models.{alias.name}"
                else:
                    names[local] = getattr(importlib.import_module(node.module), alias.name)
    in_annotation = _annotation_nodes(tree)
    problems: list[Violation] = []
    for node in ast.walk(tree):
        target: object | None = None
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in modules:
            target = getattr(importlib.import_module(modules[node.value.id]), node.attr)
            shown = f"{node.value.id}.{node.attr}"
        elif isinstance(node, ast.Name) and node.id in names and isinstance(node.ctx, ast.Load):
            target, shown = names[node.id], node.id
        if target is None or id(node) in in_annotation:
            continue
        if isinstance(target, type) and issubclass(target, enum.Enum):
            continue
        problems.append(Violation(path, node.lineno, f"uses models' {shown} other than as an enum or a type"))
    return problems


def violations(path: str, source: str) -> list[Violation]:
    """Every rule `source`, the text of the module at `path` (relative to the root), breaks."""
    layer = layer_of(path)
    if layer is None:
        return []
    tree = ast.parse(source, filename=path)
    found: list[Violation] = []
    for module, line in _imported_modules(tree):
        top = module.split(".")[0]
        if top == "server":
            found.append(Violation(path, line, "imports server.py (nothing may)"))
        elif top == "cli" and layer != "server":
            found.append(Violation(path, line, "imports cli.py (only server.py runs the command line)"))
        elif (top in ORDER or top in OTHERS) and top not in allowed(layer):
            found.append(Violation(path, line, f"{layer} imports {module} (an upper or foreign layer)"))
        if layer in NO_SQL_LAYERS and top == "sqlalchemy":
            found.append(Violation(path, line, f"{layer} imports {module}: no SQL above resolvers/"))
    if layer in NO_SQL_LAYERS:
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in SESSION_METHODS
                and isinstance(node.func.value, ast.Name)
                and node.func.value.id in SESSION_NAMES
            ):
                found.append(Violation(path, node.lineno, f"calls {node.func.value.id}.{node.func.attr}()"))
            elif (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in SESSION_OPENERS
            ):
                found.append(
                    Violation(path, node.lineno, f"opens a session ({node.func.attr}): resolvers do")
                )
        found += _model_misuse(path, tree)
    return found


def _modules() -> list[Path]:
    tops = [ROOT / name for name in ORDER if name != "server"] + [ROOT / name for name in OTHERS]
    return sorted([ROOT / "server.py", ROOT / "cli.py", *(p for top in tops for p in top.rglob("*.py"))])


def test_every_module_keeps_the_layer_rules() -> None:
    broken = [
        str(v)
        for module in _modules()
        for v in violations(module.relative_to(ROOT).as_posix(), module.read_text("utf-8"))
    ]
    assert broken == []


@pytest.mark.parametrize(
    ("path", "source", "rule"),
    [
        ("schema/users/types.py", "from sqlalchemy.ext.asyncio import AsyncSession", "no SQL above"),
        ("schema/users/types.py", "from sqlalchemy import select", "no SQL above"),
        (
            "schema/users/types.py",
            "async def f(session):\n    await session.get(1, 2)\n",
            "calls session.get",
        ),
        ("schema/users/types.py", "from transport.http import GraphQLEndpoint", "an upper or foreign"),
        (
            "schema/users/queries.py",
            "async def f(ctx):\n    async with ctx.read_session() as s:\n        pass\n",
            "opens a session",
        ),
        ("resolvers/flags/reads.py", "from schema.flags.types import FeatureFlag", "an upper or foreign"),
        ("loaders/flags.py", "from resolvers.flags import reads", "an upper or foreign"),
        ("models/flags.py", "import loaders.flags", "an upper or foreign"),
        ("core/context.py", "from models.users import User", "an upper or foreign"),
        ("transport/http.py", "import server", "nothing may"),
        ("schema/nodes.py", "from cli import main", "only server.py"),
        ("seed/flags.py", "from schema import schema", "an upper or foreign"),
        ("jobs/maintenance.py", "from schema import schema", "an upper or foreign"),
        ("resolvers/admin/writes.py", "from jobs import maintenance", "an upper or foreign"),
        ("schema/admin/jobs.py", "import jobs.worker", "an upper or foreign"),
        ("schema/users/types.py", "from models.users import User\nuser = User()\n", "other than as an enum"),
        ("schema/users/types.py", "from models import users as m\nq = m.User.id\n", "other than as an enum"),
    ],
)
def test_a_broken_rule_is_reported(path: str, source: str, rule: str) -> None:
    assert any(rule in v.rule for v in violations(path, source))


@pytest.mark.parametrize(
    "source",
    [
        "from models.users import LoyaltyTier\ntier = LoyaltyTier('gold')\n",
        "from models import users as m\ndef f(row: m.User) -> m.User:\n    return row\n",
        "from loaders.users import UserByIdLoader\nfrom resolvers.users import reads\n",
        "from core.context import Ctx\n",
    ],
)
def test_what_the_schema_may_do_is_not_reported(source: str) -> None:
    assert violations("schema/users/types.py", source) == []


def _packages(layer: str) -> set[str]:
    return {p.parent.name for p in (ROOT / layer).glob("*/__init__.py")}


def test_every_domain_has_the_same_name_in_every_layer() -> None:
    # schema/extensions holds what every request runs through, schema/execution the executor under it
    # and schema/caching the response cache: none is a domain.
    domains = _packages("schema") - {"extensions", "execution", "caching"}
    assert _packages("resolvers") == domains
    assert domains <= _packages("tests")
    assert domains == {p.stem for p in (ROOT / "models").glob("*.py")} - {"__init__", "base"}
    # auth reads no relation through a loader; loaders/ holds a module per other domain.
    shared = {"__init__", "base", "visibility"}
    assert {p.stem for p in (ROOT / "loaders").glob("*.py")} - shared == domains - {"auth"}
