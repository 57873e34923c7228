"""Run a script in a fresh interpreter that cannot import the project (as TF Serving, a
client or `saved_model_cli` would load an export)."""

import json
import subprocess
import sys
import textwrap

PROJECT = ("zoo", "export", "recipes", "toy_recipe")

PROLOGUE = f"""
import sys
for name in {PROJECT!r}:
    sys.modules[name] = None  # the project must not be importable
"""

EPILOGUE = f"""
import json
print(json.dumps(sorted(m for m in sys.modules if m.split(".")[0] in {PROJECT!r}
                        and sys.modules[m] is not None)))
"""


def run_without_project(script, cwd, timeout=300):
    """Run `script` (isolated mode: no PYTHONPATH, no user site) in `cwd`; fails the test
    if it fails or imported any project module. Returns its stdout without the last line."""
    result = subprocess.run([sys.executable, "-I", "-c", PROLOGUE + textwrap.dedent(script) + EPILOGUE],
                            cwd=cwd, capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, result.stderr[-3000:]
    *output, imported = result.stdout.strip().splitlines()
    assert json.loads(imported) == []
    return "\n".join(output)
