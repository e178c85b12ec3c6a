"""The example scripts still run (at their smoke size) and report what they promise."""

import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def _load(name):
    spec = importlib.util.spec_from_file_location(name, EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_quickstart_runs_and_saves_its_figure(tmp_path, capsys):
    report = _load("quickstart").main("smoke", output=tmp_path)
    printed = capsys.readouterr().out
    assert "bits/spike" in printed and "real vs real" in printed
    # What to expect is said before the long part (the default size says its minutes).
    assert printed.index("expect seconds") < printed.index("fitted in")
    assert re.search(r"about \d+ minutes", _load("quickstart").SIZES["default"]["cost"])
    assert (tmp_path / "quickstart.png").stat().st_size > 10_000
    assert set(report["table"]) == {"LDNS samples", "Poisson, true rates", "real vs real"}
    assert all(np.isfinite(v) for v in report["table"]["real vs real"].values())


def test_using_your_own_recordings_gets_trials_from_each_source():
    import runpy

    import quantities as pq

    done = runpy.run_path(str(EXAMPLES / "using_your_own_recordings.py"), run_name="__main__")
    # 4 movement onsets, a 700 ms window in 5 ms bins, 6 neurons: from NWB and from Neo alike.
    assert done["data"].counts.shape == (4, 140, 6)
    assert done["data"].velocity.shape[:2] == (4, 140)
    assert done["data"].spiketrains[0].spiketrains[0].t_start == -250 * pq.ms
    assert np.asarray(done["counts"]).shape == (4, 140, 6)
    # Both routes bin the same spikes of the same windows.
    np.testing.assert_array_equal(np.asarray(done["counts"]), done["data"].counts)
    assert np.asarray(done["samples"]).shape == (2, 40, 6)
    assert not done["workdir"].exists()


def test_elephant_analyses_run_on_generated_neo_trials(capsys):
    report = _load("elephant_analyses").main("smoke")
    assert "GPFA log-lik per trial" in capsys.readouterr().out
    table = report["table"]
    assert set(table) == {"LDNS samples", "real, second set", "Poisson, same rates"}
    assert all(np.isfinite(value) for row in table.values() for value in row.values())
    # The analyses tell real data from structureless Poisson trains of the same rates.
    second, poisson = table["real, second set"], table["Poisson, same rates"]
    assert second["correlation RMSE"] < poisson["correlation RMSE"]
    assert second["GPFA log-lik per trial"] > poisson["GPFA log-lik per trial"]


@pytest.mark.external
def test_train_distributed_runs_under_torchrun_and_rank_0_saves(tmp_path):
    import os
    import subprocess
    import sys

    from ldns_sklearn import load_model

    command = [sys.executable, "-m", "torch.distributed.run", "--standalone",
               "--nproc-per-node", "2", str(EXAMPLES / "train_distributed.py"), "--smoke",
               "--output", "model.npz"]
    done = subprocess.run(command, capture_output=True, text=True, cwd=tmp_path, timeout=300,
                          env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.count("saved the fitted pipeline") == 1
    assert load_model(tmp_path / "model.npz").named_steps["ae"].n_features_in_ == 128


# The stand-in file's units fire a few spikes per trial: some have no ISIs in 2 trials.
@pytest.mark.filterwarnings("ignore:Some statistics are defined in only one")
def test_mc_maze_fits_on_a_file_of_the_real_layout(tmp_path, capsys):
    from tests._nwb_files import write_maze

    path = write_maze(tmp_path / "maze.nwb", n_units=6, repeats=4)  # 16 train/val trials
    report = _load("mc_maze").main(path, size="smoke", n_latents=2)
    printed = capsys.readouterr().out
    assert "Loaded 16 trials x 140 bins x 6 units" in printed
    assert "velocity decoded from spikes" in printed
    # 12 training trials; the 4 held-out ones split into two sets of 2.
    assert report["generated"].shape == (2, 140, 6)
    assert set(report["table"]) == {
        "population_spike_count_kl", "pairwise_correlation_rmse", "mean_rate_rmse",
        "mean_isi_rmse", "std_isi_rmse",
    }
    assert np.isfinite(report["r2_real"]) and np.isfinite(report["r2_generated"])


def test_conditional_reaches_reports_behaviour_checks_per_guidance_scale(tmp_path, capsys):
    report = _load("conditional_reaches").main("smoke", output=tmp_path)
    printed = capsys.readouterr().out
    assert "unseen target" in printed and "velocity decoded" in printed
    assert set(report["accuracy"]) == set(report["r2"]) == {1.0, 2.0}
    assert all(np.isfinite(r2["real"]) and np.isfinite(r2["generated"])
               for r2 in report["r2"].values())
    assert len(report["unconditional_ratios"]) == 5
    assert (tmp_path / "conditional_reaches.png").stat().st_size > 10_000


@pytest.mark.parametrize(
    "name, argv",
    [
        ("quickstart", ["--smoke"]),
        ("conditional_reaches", ["--smoke"]),
        ("elephant_analyses", ["--smoke"]),
        ("using_your_own_recordings", []),
    ],
)
def test_gallery_examples_run_as_the_docs_build_runs_them(name, argv, tmp_path, monkeypatch):
    # sphinx-gallery executes a script as __main__ with no __file__, its argv reset, from the
    # script's folder (here a scratch one, so what it writes lands there).
    import sys

    path = EXAMPLES / f"{name}.py"
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "argv", [path.name, *argv])
    exec(compile(path.read_text(), str(path), "exec"), {"__name__": "__main__"})
    if name in ("quickstart", "conditional_reaches"):
        assert (tmp_path / "output" / f"{name}.png").exists()


def test_the_quickstart_offers_a_middle_size():
    done = subprocess.run([sys.executable, str(EXAMPLES / "quickstart.py"), "--help"],
                          capture_output=True, text=True, check=True)
    assert "--quick" in done.stdout and "--smoke" in done.stdout
    sizes = _load("quickstart").SIZES
    assert sizes["smoke"]["n_trials"] < sizes["quick"]["n_trials"] < sizes["default"]["n_trials"]
