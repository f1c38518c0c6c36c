"""The arithmetic of a fit's torch passes, chosen from the CPU's flags (recorded flag sets of
four CPUs, tests/data/cpuinfo) or asked for."""

from pathlib import Path

import pytest
import torch

from pytext_psych.core.machine import cpu_flags
from pytext_psych.training.precision import autocast, autocast_for

CPUINFO = Path(__file__).parent / "data" / "cpuinfo"
CPU = torch.device("cpu")


@pytest.mark.parametrize("cpu, dtype", [("xeon_amx", torch.bfloat16), ("epyc_avx512_vnni", torch.float32),
                                        ("haswell_avx2", torch.float32), ("arm_neoverse", torch.float32)])
def test_auto_picks_bf16_on_a_cpu_with_amx_only(cpu, dtype):
    flags = cpu_flags(str(CPUINFO / f"{cpu}.txt"))
    assert autocast_for(CPU, "auto", flags) == (dtype == torch.bfloat16, dtype)


@pytest.mark.parametrize("cpu", ["xeon_amx", "haswell_avx2"])
def test_asked_for_precision_holds_on_every_cpu(cpu):
    flags = cpu_flags(str(CPUINFO / f"{cpu}.txt"))
    assert autocast_for(CPU, "bf16", flags) == (True, torch.bfloat16)
    assert autocast_for(CPU, "off", flags) == (False, torch.float32)


def test_auto_reads_this_machine_when_no_flags_are_given():
    on, dtype = autocast_for(CPU, "auto")
    assert on == ("amx_bf16" in cpu_flags()) and dtype == (torch.bfloat16 if on else torch.float32)


def test_the_context_runs_matrix_products_in_the_chosen_type():
    x = torch.ones(2, 4)
    with autocast("cpu", "bf16"):
        assert (x @ x.T).dtype == torch.bfloat16
    with autocast("cpu", "off"):
        assert (x @ x.T).dtype == torch.float32
