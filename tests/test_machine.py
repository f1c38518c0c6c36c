"""The CPU read from /proc/cpuinfo: recorded files of four CPUs, and a missing file."""

from pathlib import Path

from pytext_psych.core.machine import cpu_flags, cpu_model

CPUINFO = Path(__file__).parent / "data" / "cpuinfo"


def test_flags_and_model_of_recorded_cpus():
    amx = cpu_flags(str(CPUINFO / "xeon_amx.txt"))
    assert {"avx2", "avx512_vnni", "amx_int8", "amx_bf16"} <= amx and "fpu" in amx
    assert cpu_model(str(CPUINFO / "epyc_avx512_vnni.txt")) == "AMD EPYC 9B14"
    assert "avx512_vnni" in cpu_flags(str(CPUINFO / "epyc_avx512_vnni.txt"))
    assert "asimddp" in cpu_flags(str(CPUINFO / "arm_neoverse.txt"))  # Arm says "Features"


def test_unreadable_cpuinfo_gives_no_flags(tmp_path):
    assert cpu_flags(str(tmp_path / "missing")) == frozenset()
    assert cpu_model(str(tmp_path / "missing"))  # falls back to the platform's name
