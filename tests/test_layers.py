"""The import contracts that `make lint` checks (import-linter, configured in pyproject.toml)
cover every private module: a new private module (its name starts with an underscore) must be
listed, or the contract would silently let other packages import it."""

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _contracts() -> dict[str, dict]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    return {c["name"]: c for c in config["contracts"]}


def _private_modules(package: str) -> set[str]:
    """Modules named ``_*`` (not ``__init__``) in ``package`` and its subpackages."""
    base = ROOT / package
    out = set()
    for path in base.rglob("_*.py"):
        if path.name == "__init__.py" or "__pycache__" in path.parts:
            continue
        rel = path.relative_to(ROOT).with_suffix("")
        out.add(".".join(rel.parts))
    return out


def test_every_private_module_is_forbidden_to_other_packages():
    contracts = _contracts()
    for package in ("asymptotics", "simulate", "w2s"):
        contract = contracts[f"private modules of {package} stay inside it"]
        assert contract["type"] == "forbidden" and package not in contract["source_modules"]
        assert set(contract["forbidden_modules"]) == _private_modules(package), package


def test_layers_put_the_ground_at_the_bottom():
    layers = _contracts()["layers"]["layers"]
    assert layers[-2:] == ["asymptotics | simulate", "setting"]
    ground = _contracts()["the ground's own layers"]
    assert ground["containers"] == ["setting"] and ground["layers"] == ["moments", "problem", "groups"]
