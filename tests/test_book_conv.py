"""Chapter 12's sentences about its shipped sweep hold for the numbers in book/data/ch12/.

The chapter prints the sweep's results and then describes them in prose ("on every seed
between 6.5 and 8 times", "lower on 4 of the 5 seeds", "inconclusive"). Each such sentence is
recomputed here from the stored runs, independently of the notebook's cells, so that a rerun
of ``scripts/sweep_ch12_conv.py`` that changed them fails this test instead of leaving the
text wrong. The statistics are recomputed with ``scipy.stats`` directly.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
SWEEP = json.loads((ROOT / "book" / "data" / "ch12" / "conv_results.json").read_text())
stats = pytest.importorskip("scipy.stats")


def _runs(model: str, kind: str) -> np.ndarray:
    lr = SWEEP["chosen_lr"][model]
    runs = sorted((r for r in SWEEP["runs"] if r["model"] == model and r["lr"] == lr),
                  key=lambda r: r["seed"])
    assert [r["seed"] for r in runs] == [0, 1, 2, 3, 4]
    return np.array([r["test"][kind] for r in runs])


REC, ONE = _runs("LSTM-1", "recursive"), _runs("LSTM-1", "one_step_ahead")
DIRECT, TCN_REC = _runs("LSTM-10", "direct"), _runs("TCN-1", "recursive")
TCN_NEXT = _runs("TCN-1", "one_step_ahead")[:, 0]
LINEAR = {k: np.array(v) for k, v in SWEEP["baselines"]["linear"].items()}


def _interval(a, b):
    t = stats.ttest_rel(a, b)
    ci = t.confidence_interval(0.95)
    return ci.low, ci.high, t.pvalue


def test_rates_were_chosen_on_validation_and_equally_for_all_models():
    assert SWEEP["chosen_lr"] == {"LSTM-1": 0.01, "LSTM-10": 0.01, "TCN-1": 0.01,
                                  "ConvLSTM-1": 0.01}
    for model in ("LSTM-1", "LSTM-10", "TCN-1", "ConvLSTM-1"):
        lrs = sorted({r["lr"] for r in SWEEP["runs"] if r["model"] == model})
        assert lrs == [0.003, 0.01, 0.03]
        mean_val = {lr: np.mean([r["val_mse"] for r in SWEEP["runs"]
                                 if r["model"] == model and r["lr"] == lr]) for lr in lrs}
        assert min(mean_val, key=mean_val.get) == SWEEP["chosen_lr"][model]


def test_the_recursive_error_grows_and_the_one_step_ahead_error_does_not():
    ratio = REC[:, 9] / REC[:, 0]
    assert 6.45 <= ratio.min() and ratio.max() < 8.05        # "between 6.5 and 8 times"
    assert round(REC[:, 0].mean(), 4) == 0.0147 and round(REC[:, 9].mean(), 3) == 0.104
    low, high, p = _interval(REC[:, 9], REC[:, 0])
    assert (round(low, 3), round(high, 3)) == (0.080, 0.099) and p < 0.001
    low, high, p = _interval(ONE[:, 9], ONE[:, 0])
    assert low < 0 < high and p > 0.05                         # no growth detected
    means = ONE.mean(axis=0)
    assert (means.min().round(4), means.max().round(4)) == (0.0141, 0.0151)


def test_direct_against_recursive_is_inconclusive_at_five_seeds():
    rec_mean, dir_mean = REC.mean(axis=1), DIRECT.mean(axis=1)
    assert (round(rec_mean.mean(), 4), round(dir_mean.mean(), 4)) == (0.0765, 0.0571)
    assert int((dir_mean < rec_mean).sum()) == 4                # "lower on 4 of the 5 seeds"
    low, high, p = _interval(rec_mean, dir_mean)
    assert low < 0 < high and round(p, 3) == 0.078
    low, high, p = _interval(REC[:, 9], DIRECT[:, 9])
    assert low < 0 < high and round(p, 2) == 0.20


def test_the_linear_model_is_the_same_both_ways():
    assert np.abs(LINEAR["recursive"] - LINEAR["direct"]).max() <= 0.0012


def test_ten_steps_ahead_every_model_is_close_to_forecasting_zero():
    from rnncourse.data.series import sine_series
    test = sine_series(5000, n_steps=60, noise=0.05, seed=12)[4000:]
    zero = (test[:, 50:] ** 2).mean(axis=0)
    assert round(zero[9], 3) == 0.115
    at_10 = [REC[:, 9].mean(), DIRECT[:, 9].mean(), LINEAR["recursive"][9],
             LINEAR["direct"][9]]
    below = [1 - e / zero[9] for e in at_10]
    assert 0.09 <= min(below) and max(below) < 0.225          # "only 9 to 22% below"
    assert 5.5 < ONE[:, 0].mean() / 0.05 ** 2 < 6.5            # "about six times that floor"


def test_tcn_against_lstm():
    lstm_next = ONE[:, 0]
    assert int((TCN_NEXT < lstm_next).sum()) == 2
    low, high, p = _interval(TCN_NEXT, lstm_next)
    assert low < 0 < high and round(p, 2) == 0.50
    assert -low / lstm_next.mean() > 0.1 and high / lstm_next.mean() > 0.1   # either way
    lin = LINEAR["one_step_ahead"][0]
    assert int((lstm_next < lin).sum()) == 3 and int((TCN_NEXT < lin).sum()) == 2
    assert round(TCN_REC[:, 9].mean(), 3) == 0.098
    diverged = [r for r in SWEEP["runs"] if r["model"] == "TCN-1" and r["lr"] == 0.03
                and r["val_mse"] > 0.1]
    assert [r["seed"] for r in diverged] == [1]                # "one TCN seed never learned"


def test_the_front_end():
    conv, lstm_next = _runs("ConvLSTM-1", "one_step_ahead")[:, 0], ONE[:, 0]
    assert (round(conv.mean(), 4), round(lstm_next.mean(), 4)) == (0.0136, 0.0147)
    assert int((conv < lstm_next).sum()) == 3                  # "lower on 3 of the 5 seeds"
    low, high, p = _interval(conv, lstm_next)
    assert (round(low, 4), round(high, 4)) == (-0.0045, 0.0024) and round(p, 2) == 0.44
    assert bool((conv < TCN_NEXT).all())                       # "lower on every seed"
    low, high, p = _interval(conv, TCN_NEXT)
    assert high < 0 and round(p, 3) == 0.005 and 3 * p < 0.05  # "even with p tripled"
    lin = LINEAR["one_step_ahead"][0]
    below = {m: int((e < lin).sum()) for m, e in
             (("conv", conv), ("lstm", lstm_next), ("tcn", TCN_NEXT))}
    assert below == {"conv": 5, "lstm": 3, "tcn": 2}          # "the only model ... every seed"
