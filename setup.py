"""Install metadata for rnn-zoo: recurrent cells, TBPTT training and serving export."""

from setuptools import find_packages, setup

# TensorFlow 2.21.x. The CPU build is the default so that a machine without a GPU
# installs the small wheel; `pip install -e .[gpu]` adds the CUDA build on Linux.
TENSORFLOW_CPU = [
    "tensorflow-cpu~=2.21.0; sys_platform == 'linux' and platform_machine == 'x86_64'",
    "tensorflow~=2.21.0; sys_platform != 'linux' or platform_machine != 'x86_64'",
]

# JapaneseVowels, the classify recipe's default data, is read from sktime's wheel (which
# ships it); sktime also parses the UEA/UCR .ts files a user brings. Not in the base
# install: it pulls in pandas, scikit-learn and scipy.
TIMESERIES = ["sktime>=0.30,<2"]

# `python -m export --format litert|onnx` (docs/deploy.md): the TF Lite converter ships
# with TensorFlow; the files are checked in the standalone LiteRT interpreter and in
# onnxruntime, and ONNX files are written by tf2onnx (1.17: checked against TF 2.21 here).
# onnxruntime 1.32 needs Python >= 3.11; pip picks an older one on 3.10.
DEPLOY = ["ai-edge-litert>=2.1,<3", "onnxruntime>=1.20,<2", "onnx>=1.17,<2", "tf2onnx>=1.17,<1.18"]

setup(
    name="rnn-zoo",
    version="0.1.0",
    description="Recurrent-network model zoo for TensorFlow/Keras with TBPTT and TF Serving export",
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    packages=find_packages(include=["zoo", "zoo.*", "recipes", "recipes.*", "export", "export.*",
                                    "benchmarks", "benchmarks.*"]),
    # The compiled step kernels' C++ source, built on first use (zoo.fused.native).
    package_data={"zoo.fused": ["kernels/*.cc"]},
    python_requires=">=3.10,<3.13",
    install_requires=TENSORFLOW_CPU + [
        "keras>=3.15,<4",
        # TF 2.21 no longer pulls TensorBoard in; training writes its events.
        "tensorboard~=2.21.0",
        "tensorflow-datasets>=4.9,<5",
        "numpy>=1.26,<3",
        # Plots (gradient flow through time) rendered into TensorBoard images.
        "matplotlib>=3.8,<4",
        # CLDR locale data: the date normalisation pairs are written by babel.dates.
        "babel>=2.14,<3",
        # BLEU and chrF of seq2seq runs on sentence pairs (the reference implementation).
        "sacrebleu>=2.4,<3",
        # The tagger's scores: per-label precision, recall and F1 (scikit-learn), and
        # entity-level F1 of BIO / BIOES columns (seqeval, the reference for CoNLL).
        "scikit-learn>=1.3,<2",
        "seqeval>=1.2.2,<2",
    ],
    extras_require={
        "gpu": ["tensorflow[and-cuda]~=2.21.0"],
        "timeseries": TIMESERIES,
        # JAX (CPU) lets the tests run the zoo under a second Keras backend; the classify
        # tests read JapaneseVowels and check scores against scikit-learn (sktime's).
        # ruff is the linter .ci/run runs beside the tests (its rules: ruff.toml); pytest-xdist
        # runs the default suite on both cores (the README's `-n 2`).
        # The deploy tests run the converted files in their runtimes, so the test install has them.
        "test": ["pytest>=8,<10", "pytest-xdist>=3.6,<4", "jax>=0.4.36,<1", "ruff>=0.15,<0.18"] + TIMESERIES + DEPLOY,
        "deploy": DEPLOY,
        # The reference site in docs/ (mkdocs.yml); mkdocs-material needs Python >= 3.8,
        # the API pages read the docstrings through mkdocstrings' Python handler.
        "docs": ["mkdocs>=1.6,<2", "mkdocs-material>=9.5,<10", "mkdocstrings[python]>=0.26,<2"],
    },
    classifiers=[
        "Programming Language :: Python :: 3.10",
        "Programming Language :: Python :: 3.11",
        "Programming Language :: Python :: 3.12",
    ],
)
