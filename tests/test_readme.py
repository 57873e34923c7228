"""The README's front page holds: its Keras example runs as printed, it stays a front page
(at most 250 lines), and it links to every page of the docs."""

import pathlib
import re

import keras
import numpy as np

ROOT = pathlib.Path(__file__).parent.parent
README = (ROOT / "README.md").read_text()


def test_the_keras_example_runs_trains_and_reloads(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    example = README.split("## The zoo in your own Keras model")[1].split("```python\n")[1].split("```")[0]
    namespace = {}
    exec(compile(example, "README.md", "exec"), namespace)  # the README's own code, nothing from data
    model = namespace["model"]
    ids = np.random.default_rng(0).integers(0, 96, (2, 7))
    model.fit(ids, ids, epochs=1, verbose=0)
    model.save("model.keras")
    np.testing.assert_allclose(keras.saving.load_model("model.keras")(ids), model(ids), rtol=1e-6)


def test_the_readme_is_a_front_page_that_links_every_docs_page():
    assert len(README.splitlines()) <= 250
    linked = set(re.findall(r"\]\((docs/[^)#]+\.md)\)", README))
    pages = {str(path.relative_to(ROOT)) for path in (ROOT / "docs").rglob("*.md")} - {"docs/index.md"}
    assert pages <= linked, f"not linked from the README: {sorted(pages - linked)}"


def test_the_docs_home_page_is_the_readme_with_its_links_inside_the_site():
    # docs/index.md is made from the README by: sed -e 's#](docs/#](#g' -e 's#(LICENSE)#(LICENSE_URL)#'
    home = README.replace("](docs/", "](").replace("(LICENSE)", "(https://www.apache.org/licenses/LICENSE-2.0)")
    assert (ROOT / "docs" / "index.md").read_text() == home
