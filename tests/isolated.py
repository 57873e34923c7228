"""Run a script in a fresh interpreter that cannot import the project (as TF Serving, a
client or `saved_model_cli` would load an export)."""

import json
import subprocess
import sys
import textwrap

PROJECT = ("zoo", "export", "recipes", "toy_recipe")

# `python -I` does not hide an editable install (its finder sits on sys.meta_path), so a
# finder placed before every other one refuses the project's names.
PROLOGUE = f"""
import sys

class _NoProject:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {PROJECT!r}:
            raise ImportError(f"{{name}}: the project must not be importable here")
        return None

sys.meta_path.insert(0, _NoProject())
"""

EPILOGUE = f"""
import json
print(json.dumps(sorted(m for m in sys.modules if m.split(".")[0] in {PROJECT!r}
                        and sys.modules[m] is not None)))
"""


def run_without_project(script, cwd, timeout=300, stdin=None):
    """Run `script` (isolated mode: no PYTHONPATH, no user site) in `cwd`, with `stdin`;
    fails the test if it fails or imported any project module. Returns its stdout
    without the last line."""
    result = subprocess.run([sys.executable, "-I", "-c", PROLOGUE + textwrap.dedent(script) + EPILOGUE],
                            cwd=cwd, capture_output=True, text=True, timeout=timeout, input=stdin)
    assert result.returncode == 0, result.stderr[-3000:]
    *output, imported = result.stdout.strip().splitlines()
    assert json.loads(imported) == []
    return "\n".join(output)
