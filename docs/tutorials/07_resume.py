"""
Resuming a long fit
===================

Every fine-tune saves its progress each epoch in a hidden folder next to the output. After
a crash, a kill or Ctrl-C, the same call continues from there and ends with the same
results as an uninterrupted run; ``resume=False`` starts over.
"""

# %%
# A fit started in another process, stopped with Ctrl-C once its first epoch is saved:
import contextlib
import io
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

out = Path(tempfile.mkdtemp()) / "model"
call = (f"from pytext_psych import example_data, fit_text_model; "
        f"fit_text_model(example_data(), 'answer', 'stress', epochs=3, max_length=32, strategy='full', "
        f"baseline=False, n_resamples=200, progress=False, export='fp32', output_dir={str(out)!r})")
proc = subprocess.Popen([sys.executable, "-c", call], stderr=subprocess.PIPE, text=True)
saved = out.parent / f".{out.name}.pytext-psych.resume"
while not list(saved.glob("*.pt")) and proc.poll() is None:
    time.sleep(0.1)
proc.send_signal(signal.SIGINT)
print(proc.communicate()[1].strip().splitlines()[-1])

# %%
# The same call again resumes (the message goes to stderr; shown here):
from pytext_psych import example_data, fit_text_model

said = io.StringIO()
with contextlib.redirect_stderr(said):
    fit = fit_text_model(example_data(), "answer", "stress", epochs=3, max_length=32, strategy="full",
                         baseline=False, n_resamples=200, progress=False, export="fp32", output_dir=out)
print([line for line in said.getvalue().splitlines() if "Resuming" in line])
fit.history

# %%
# The checkpoint folder is gone once the bundle is written:
saved.exists()
