"""Every Python block of the docs pages that teach code runs as printed, in order, one
namespace per page (the docs' own code, nothing from data)."""

import pathlib
import re

import pytest

DOCS = pathlib.Path(__file__).parent.parent / "docs"
PAGES = ["own_model.md"]


@pytest.mark.slow  # 17 s of model building and tracing; the README's example runs by default
@pytest.mark.parametrize("page", PAGES)
def test_the_pages_code_runs_as_printed(page, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    blocks = re.findall(r"^```python\n(.*?)^```", (DOCS / page).read_text(), flags=re.S | re.M)
    assert blocks
    namespace = {}
    for number, block in enumerate(blocks, 1):
        exec(compile(block, f"{page}, block {number}", "exec"), namespace)
