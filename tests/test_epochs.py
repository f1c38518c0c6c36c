"""The training loop says how long it will take, measured on its first steps; its
learning-rate schedule is transformers'."""

import io
import subprocess
import sys
import time

import numpy as np
import pytest
import torch
from tqdm import tqdm

from pytext_psych.core.settings import TrainSettings
from pytext_psych.training.checkpoints import Checkpoint
from pytext_psych.training.epochs import Epochs, Optimiser, StepTimer, duration, linear_schedule


@pytest.mark.parametrize("warmup, total", [(0, 7), (3, 10), (5, 5), (1, 1)])
def test_the_schedule_is_transformers_linear_warmup_and_decay(warmup, total):
    from transformers.optimization import get_linear_schedule_with_warmup

    rates = []
    for make in (linear_schedule, get_linear_schedule_with_warmup):
        optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1)
        schedule, seen = make(optimizer, warmup, total), []
        for _ in range(total + 2):  # past the end too
            seen.append(optimizer.param_groups[0]["lr"])
            optimizer.step()
            schedule.step()
        rates.append(seen)
    assert rates[0] == rates[1]


def test_the_training_loop_does_not_import_peft():
    code = "import sys, pytext_psych.training.epochs; print('peft' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"


def test_the_estimate_is_the_pace_of_the_timed_steps_times_the_steps_left():
    out = io.StringIO()
    with tqdm(total=60 * 10 + 1, desc="fine-tuning", file=out) as bar:
        timer = StepTimer(bar, [1.0] * 601)  # one epoch of steps of equal work
        for pause in (0.3, 0.1, 0.1, 0.1, 0.5):  # the first step's set-up is not timed
            time.sleep(pause)
            bar.update(1)
            timer.step()
    said = [line for line in out.getvalue().replace("\r", "\n").splitlines() if "this machine" in line]
    assert len(said) == 1  # once
    pace = float(said[0].split(": ")[1].split(" s a step")[0])
    assert 0.09 <= pace < 0.2
    minutes = 597 * pace / 60
    assert f"about {duration(597 * pace)} more for all 601 steps" in said[0]
    assert 0.9 < minutes < 2.1


def test_a_resumed_loop_or_a_silent_bar_says_nothing():
    out = io.StringIO()
    with tqdm(total=100, initial=40, file=out) as bar:
        timer = StepTimer(bar, [1.0] * 100)
        for _ in range(5):
            bar.update(1)
            timer.step()
    assert "this machine" not in out.getvalue()


def test_durations_read_as_people_say_them():
    assert [duration(s) for s in (10, 95, 3599, 5400)] == ["1 min", "2 min", "1 h 0 min", "1 h 30 min"]


def test_the_estimate_adds_a_dev_rating_for_each_epoch_left():
    out = io.StringIO()
    with tqdm(total=60 * 10, desc="fine-tuning", file=out) as bar:
        timer = StepTimer(bar, [1.0] * 60, rating_time=lambda: 30.0)
        for pause in (0.3, 0.1, 0.1, 0.1, 0.5):
            time.sleep(pause)
            bar.update(1)
            timer.step()
    said = [line for line in out.getvalue().replace("\r", "\n").splitlines() if "this machine" in line][0]
    pace = float(said.split(": ")[1].split(" s a step")[0])
    assert f"about {duration(596 * pace + 10 * 30.0)} more for all 600 steps and 10 dev ratings of 30 s (" in said


def test_the_estimate_weighs_the_steps_by_their_work():
    """Steps timed on long batches (4 units of work each) do not make every step look long:
    the pace is per unit of work, and the epoch's work is mostly short batches."""
    out = io.StringIO()
    costs = [1.0, 4.0, 4.0, 4.0] + [1.0] * 56
    with tqdm(total=60 * 10, desc="fine-tuning", file=out) as bar:
        timer = StepTimer(bar, costs)
        for work in costs[:5]:
            time.sleep(0.1 * work)
            bar.update(1)
            timer.step()
    said = [line for line in out.getvalue().replace("\r", "\n").splitlines() if "this machine" in line][0]
    pace = float(said.split(": ")[1].split(" s a step")[0])
    assert 0.1 <= pace < 0.2  # 0.1 s a unit x 69 units / 60 steps; unweighted it would be 0.4
    assert "about 1 min more for all 600 steps" in said  # 0.1 x (56 + 9 x 69) = 68 s; unweighted 238 s


class _Recorded(Checkpoint):
    """A real checkpoint file that also keeps each state it was given."""

    def __init__(self, path):
        super().__init__(path)
        self.saved = []

    def save(self, state):
        self.saved.append(state)
        super().save(state)


@pytest.mark.parametrize("patience, scores, trained", [(5, [1, 2, 3], 3), (1, [3, 2, 1], 2)])
def test_after_the_last_epoch_only_the_finished_state_is_saved(tmp_path, patience, scores, trained):
    """Every epoch but the last saves the whole state (to resume from); the last, whether
    the epochs ran out or patience did, goes straight to the finished state, without the
    optimiser, and a run from that checkpoint trains nothing more."""
    torch.manual_seed(0)
    x, y = torch.randn(16, 3), torch.randn(16)
    net = torch.nn.Linear(3, 1)
    settings = TrainSettings(epochs=3, patience=patience)
    rated = iter(scores)

    def loop():
        return Epochs(net, Optimiser(net, settings, 2, settings.epochs, torch.device("cpu")),
                      np.random.default_rng(0), settings, lambda: [np.arange(8), np.arange(8, 16)],
                      lambda b: torch.nn.functional.mse_loss(net(x[b]).squeeze(1), y[b]),
                      end_epoch=lambda record: next(rated))

    checkpoint = _Recorded(tmp_path / "loop.pt")
    assert len(loop().run(checkpoint, "test", False).history) == trained
    assert [s["progress"]["finished"] for s in checkpoint.saved] == [False] * (trained - 1) + [True]
    assert "optimiser" in checkpoint.saved[0] and sorted(checkpoint.saved[-1]) == ["net", "progress"]
    again = _Recorded(tmp_path / "loop.pt")
    assert len(loop().run(again, "test", False).history) == trained and again.saved == []
