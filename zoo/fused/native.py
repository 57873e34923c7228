"""Compiled step kernels: a fused pass's per-step elementwise work as one TensorFlow op.

TensorFlow runs each elementwise op of a recurrent step on its own, and on a CPU a
step's ops cost as much as its matmul: an LSTM step is one [batch, units] x [units,
4 units] matmul and ten ops forward, one matmul and fourteen ops backward. The kernels in
`zoo/fused/kernels/` do each direction's elementwise work in one pass over the rows (the
equations are in each source file); the matmuls stay TensorFlow's (oneDNN).

TensorFlow has no such op for a step whose input projection is hoisted out of the loop
(its `LSTMBlockCell` multiplies [x_t, h] by the stacked weights inside the op, with
Eigen's matmul), so the kernels are compiled here, against the installed TensorFlow's
headers (`tf.sysconfig`), on first use: a few seconds, once per machine. The library lands
in the cache folder (`$RNN_ZOO_CACHE`, else `$XDG_CACHE_HOME/rnn-zoo`, else
`~/.cache/rnn-zoo`) under a name that hashes the source, the TensorFlow version, the
compiler and its flags, so a change of any of them builds anew.

Where the kernels cannot be had (no C++ compiler, a failed build, a GPU machine,
`RNN_ZOO_NATIVE_KERNELS=0`), the fused passes run the same maths as TensorFlow ops, as
they do in graphs traced inside `tf_ops_only()`: the serving export (TensorFlow Serving
loads no custom ops) and XLA-compiled steps (XLA has no kernel for them).
"""

import contextlib
import contextvars
import functools
import hashlib
import os
import pathlib
import shutil
import subprocess
import tempfile
import warnings

SOURCES = pathlib.Path(__file__).parent / "kernels"
SWITCH = "RNN_ZOO_NATIVE_KERNELS"  # "0" turns the compiled kernels off

_tf_ops_only = contextvars.ContextVar("tf_ops_only", default=False)


@contextlib.contextmanager
def tf_ops_only():
    """Within this context fused passes traced use TensorFlow's own ops only."""
    token = _tf_ops_only.set(True)
    try:
        yield
    finally:
        _tf_ops_only.reset(token)


def step_kernels(dtype):
    """The loaded kernel library (its ops as Python functions, `zoo_lstm_step` and
    `zoo_lstm_step_grad`) for a pass traced now in `dtype`, or None where the pass must
    run TensorFlow ops."""
    import tensorflow as tf

    if _tf_ops_only.get() or os.environ.get(SWITCH) == "0" or dtype not in (tf.float32, tf.float64):
        return None
    if tf.config.list_logical_devices("GPU"):  # CPU kernels only
        return None
    return _library()


@functools.cache
def _library():
    import tensorflow as tf

    try:
        return tf.load_op_library(str(_built()))
    except (OSError, subprocess.SubprocessError, tf.errors.OpError) as error:
        warnings.warn(f"rnn-zoo: the compiled step kernels are not available ({error}); "
                      "the fused passes run TensorFlow ops", RuntimeWarning, stacklevel=3)
        return None


def compile_command(source, target):
    """The compiler's argument list building `source` into the shared library `target`."""
    import tensorflow as tf

    compiler = os.environ.get("CXX") or shutil.which("c++") or shutil.which("g++") or "c++"
    return [compiler, "-O3", *_vector_flags(), "-shared", "-fPIC", "-w", str(source), "-o", str(target),
            *tf.sysconfig.get_compile_flags(), *tf.sysconfig.get_link_flags()]


# The compiler flags for each vector extension, in the order they are tried: the widest
# whose CPU flags (as /proc/cpuinfo names them) this CPU lists all of. Not `-march=native`:
# on a CPU with AVX512-FP16 it fails to build Eigen's half-precision header with GCC 12.
VECTOR_EXTENSIONS = (
    ({"avx512f", "avx512vl", "avx512dq", "avx512bw", "avx2", "fma"},
     ["-mavx2", "-mfma", "-mavx512f", "-mavx512vl", "-mavx512dq", "-mavx512bw"]),
    ({"avx2", "fma"}, ["-mavx2", "-mfma"]),
)


def _vector_flags(cpu_flags=None):
    """The widest of `VECTOR_EXTENSIONS` this CPU has (`cpu_flags`, else /proc/cpuinfo's);
    none where it has none or does not say. AVX-512 ran the kernels 1.13x faster than AVX2
    on the Xeon measured (docs/benchmarks.md)."""
    if cpu_flags is None:
        try:
            line = next((line for line in open("/proc/cpuinfo") if line.startswith("flags")), "")
        except OSError:
            return []
        cpu_flags = line.partition(":")[2].split()
    return next((flags for needed, flags in VECTOR_EXTENSIONS if needed <= set(cpu_flags)), [])


def _compiler_version(compiler):
    return subprocess.run([compiler, "--version"], capture_output=True, text=True, check=True).stdout


def cache_folder():
    """Where built kernel libraries are kept."""
    if os.environ.get("RNN_ZOO_CACHE"):
        return pathlib.Path(os.environ["RNN_ZOO_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or pathlib.Path.home() / ".cache"
    return pathlib.Path(base) / "rnn-zoo"


def _built():
    """The path of the kernel library, built first if this source, TensorFlow, compiler
    and flags have none yet. Built under a temporary name and renamed into place, so two
    processes building at once (the test workers, say) never load a half-written file."""
    import tensorflow as tf

    source = SOURCES / "lstm_step.cc"
    command = compile_command(source, "OUTPUT")  # the target's place filled in below
    key = hashlib.sha256("\0".join([source.read_text(), tf.__version__, _compiler_version(command[0]),
                                    *command]).encode()).hexdigest()
    target = cache_folder() / f"lstm_step-{key[:16]}.so"
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=target.parent) as building:
            partial = pathlib.Path(building) / target.name
            result = subprocess.run([str(partial) if part == "OUTPUT" else part for part in command],
                                    capture_output=True, text=True)
            if result.returncode:
                raise OSError(f"{command[0]} failed on {source.name}: "
                              f"{(result.stderr.strip().splitlines() or ['no message'])[-1]}")
            os.replace(partial, target)
    return target
