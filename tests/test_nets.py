"""The torch helpers the training modules share: seeding without leaking, and the
permissions of saved weights."""

import os

import pytest
import torch

from pytext_psych.core.outputs import follow_umask
from pytext_psych.training.nets import seeded


def test_seeded_is_reproducible_and_gives_the_cpu_rng_back():
    torch.manual_seed(123)
    expected_next = torch.rand(3)
    torch.manual_seed(123)
    with seeded(7):
        first = torch.rand(3)
    assert torch.equal(torch.rand(3), expected_next)  # the caller's stream goes on untouched
    with seeded(7):
        assert torch.equal(torch.rand(3), first)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_seeded_gives_every_cuda_rng_back():
    torch.cuda.manual_seed_all(123)
    before = [s.clone() for s in torch.cuda.get_rng_state_all()]
    with seeded(7):
        torch.rand(3, device="cuda")
    after = torch.cuda.get_rng_state_all()
    assert all(torch.equal(a, b) for a, b in zip(before, after))


def test_follow_umask_gives_written_files_the_umask_mode(tmp_path):
    weights = tmp_path / "model.safetensors"
    weights.write_bytes(b"w")
    os.chmod(weights, 0o600)  # as safetensors writes it
    old = os.umask(0o027)
    try:
        follow_umask([weights])
    finally:
        os.umask(old)
    assert weights.stat().st_mode & 0o777 == 0o640
