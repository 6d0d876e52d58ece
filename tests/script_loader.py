"""Import a file of scripts/ as a module, for the tests of the scripts (they are not a package)."""

import importlib.util
import sys
from pathlib import Path

SCRIPTS = Path(__file__).resolve().parents[1] / "scripts"


def script_path(name: str) -> Path:
    """scripts/**/NAME.py: the one script of that name, in whichever folder of scripts/ holds it."""
    found = sorted(SCRIPTS.rglob(f"{name}.py"))
    if len(found) != 1:
        raise FileNotFoundError(f"expected one scripts/**/{name}.py, found {found}")
    return found[0]


def load_script(name: str):
    """scripts/**/NAME.py as module NAME (registered in sys.modules, so dataclasses and pickling work)."""
    spec = importlib.util.spec_from_file_location(name, script_path(name))
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module
