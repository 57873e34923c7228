"""The recurrent state a client of the exported `step` signature carries."""

import json
import pathlib


def state_sizes(export):
    """{state input name: units} of the `step` signature of the export folder `export`
    (token_ids excluded), from its asset `requests.json`: the signatures leave shapes open."""
    inputs = json.loads((pathlib.Path(export) / "assets" / "requests.json").read_text())["inputs"]["step"]
    return {name: spec["shape"][-1] for name, spec in inputs.items() if name != "token_ids"}
