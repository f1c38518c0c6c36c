"""model="auto": the encoder picked by hardware and data size, said before training."""

import pytest
from tokenizers import Tokenizer

from pytext_psych import example_data, request
from pytext_psych.core.catalog import known_model
from pytext_psych.training.encoder_choice import BUDGET_MINUTES, TOKENS_PER_CORE_MINUTE, choose_encoder
from pytext_psych.training.encoders import resolve_model

# /proc/cpuinfo flags of CPUs met in this project's runs (the parts that matter here)
AMX_XEON = frozenset({"avx2", "avx512f", "avx512_vnni", "avx512_bf16", "amx_bf16", "amx_int8", "amx_tile"})
EPYC = frozenset({"avx2", "avx512f", "avx512_vnni", "avx512_bf16"})
LAPTOP = frozenset({"avx2", "fma"})


@pytest.mark.parametrize("flags, gpu, installed, expected", [
    (AMX_XEON, False, True, "mpnet-base"),
    (EPYC, False, True, "default"),     # AVX512-BF16 without AMX: a base-size step 1.7x fp32 at best
    (LAPTOP, False, True, "default"),
    (LAPTOP, True, True, "mpnet-base"),  # a GPU
    (AMX_XEON, True, False, "default"),  # not installed: nothing is downloaded
])
def test_the_machine_decides(flags, gpu, installed, expected):
    assert choose_encoder(100_000, 2, flags, gpu=gpu, installed=installed).model == expected


def test_data_larger_than_an_hour_of_this_cpu_keep_the_small_encoder():
    budget = BUDGET_MINUTES * TOKENS_PER_CORE_MINUTE
    assert choose_encoder(2 * budget, 2, AMX_XEON, gpu=False, installed=True).model == "mpnet-base"
    late = choose_encoder(2 * budget + 1, 2, AMX_XEON, gpu=False, installed=True)
    assert late.model == "default" and "more than 60 min" in late.reason
    assert choose_encoder(2 * budget + 1, 4, AMX_XEON, gpu=False, installed=True).model == "mpnet-base"


def test_a_fit_request_resolves_auto_and_says_why(capsys):
    """The request carries a concrete encoder (the bundle records it) and the choice is said."""
    data = example_data().head(200)
    job = request.check_request(data, "answer", "topic", "auto", dict(model="auto", max_length=32), progress=True)
    said = capsys.readouterr().err
    assert job.settings.model in ("default", "mpnet-base") and f"model='auto' chose {job.settings.model!r}" in said
    if not known_model("mpnet-base").installed:
        assert job.settings.model == "default" and "not installed" in said
    elif "amx_bf16" in open("/proc/cpuinfo").read():  # a few thousand tokens on an AMX CPU
        tok = Tokenizer.from_file(f"{resolve_model('default')}/tokenizer.json")
        tok.no_truncation()
        tok.no_padding()
        tokens = sum(len(e.ids) for e in tok.encode_batch(list(data.answer)))  # every token, uncut
        assert job.settings.model == "mpnet-base" and f"these {tokens:,} tokens" in said
    quiet = request.check_request(data, "answer", "topic", "auto", dict(model="auto", max_length=32), progress=False)
    assert quiet.settings.model == job.settings.model and capsys.readouterr().err == ""
