"""The FP32 peak the benchmarks report each rate against, read from /proc/cpuinfo text."""
import pytest

from benchmarks import peers


def cpuinfo(vendor, family, flags, mhz="2000.000"):
    return f"vendor_id\t: {vendor}\ncpu family\t: {family}\ncpu MHz\t\t: {mhz}\nflags\t\t: {flags}\n"


@pytest.mark.parametrize("text, lanes", [
    (cpuinfo("GenuineIntel", "6", "fpu sse2 avx2 avx512f avx512bw"), 16),
    (cpuinfo("AuthenticAMD", "25", "fpu sse2 avx2 avx512f avx512bw avx512_bf16"), 8),  # Zen 4: 2 x 256-bit FMA
    (cpuinfo("AuthenticAMD", "23", "fpu sse2 avx2"), 8),
    (cpuinfo("GenuineIntel", "6", "fpu sse2 sse4_2"), 4),
])
def test_the_peak_is_cores_times_clock_times_two_fma_units_times_lanes_times_two(monkeypatch, text, lanes):
    monkeypatch.setattr("zoo.fused.schedule.cpu_cores", lambda: 2)
    peak, how = peers.fp32_peak(text)
    assert peak == pytest.approx(2 * 2.0 * 2 * lanes * 2)
    assert f"{lanes} lanes" in how


def test_a_cpuinfo_without_a_clock_gives_no_peak():
    peak, how = peers.fp32_peak("vendor_id\t: GenuineIntel\nflags\t\t: avx2\n")
    assert peak is None and how == "unknown (no clock in /proc/cpuinfo)"


def test_a_clock_given_replaces_the_listed_one(monkeypatch):
    monkeypatch.setattr("zoo.fused.schedule.cpu_cores", lambda: 2)
    peak, how = peers.fp32_peak(cpuinfo("AuthenticAMD", "25", "avx2 avx512f", mhz="2600.000"), clock_ghz=3.65)
    assert peak == pytest.approx(2 * 3.65 * 2 * 8 * 2) and "3.65 GHz" in how
