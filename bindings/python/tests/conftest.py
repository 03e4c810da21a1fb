"""Lets `pytest bindings/python/tests` run from a checkout without `pip install` (the installed
package is used only when the source tree is not next to the tests)."""
import sys
from pathlib import Path

_SRC = Path(__file__).resolve().parents[1]
if (_SRC / "llmkit" / "__init__.py").exists():
    sys.path.insert(0, str(_SRC))
