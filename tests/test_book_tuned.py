"""Chapter 10's sentences about the two regularisers added to the tuned language model
(``book/ch10_tuned.ipynb``, "The two additions") hold for the shipped ablation in
``book/data/ch10/charlm_tuned.json``; the statistics are recomputed with ``scipy.stats``
directly, not through ``rnncourse.evidence``."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

ROOT = Path(__file__).resolve().parents[1]
TUNED = json.loads((ROOT / "book" / "data" / "ch10" / "charlm_tuned.json").read_text())
BASE = np.array([r["val_bpc_best"] for r in TUNED["final"]])


def _arm(name: str) -> list[dict]:
    rows = TUNED["ablation"][name]
    assert [r["seed"] for r in rows] == [r["seed"] for r in TUNED["final"]] == [0, 1, 2, 3, 4]
    return rows


def _paired(rows: list[dict]) -> tuple[float, float, float, float]:
    d = np.array([r["val_bpc_best"] for r in rows]) - BASE
    t = stats.ttest_1samp(d, 0.0)
    low, high = t.confidence_interval(0.95)
    return float(d.mean()), float(low), float(high), float(t.pvalue)


def _train_at_best(rows: list[dict]) -> np.ndarray:
    return np.array([r["train_bpc"][r["best_epoch"] - 1] for r in rows])


def test_the_arms_are_the_final_configuration_plus_one_regulariser():
    chosen = TUNED["chosen"]
    assert _arm("zoneout")[0]["config"] == dict(chosen, zoneout=[0.5, 0.05])
    assert _arm("layer norm")[0]["config"] == dict(chosen, layer_norm=True)


@pytest.mark.parametrize(("arm", "mean", "low", "high"), [
    ("zoneout", 0.050, 0.045, 0.055), ("layer norm", 0.044, 0.031, 0.058)])
def test_each_addition_is_worse_on_every_seed(arm, mean, low, high):
    rows = _arm(arm)
    assert all(r["val_bpc_best"] > b for r, b in zip(rows, BASE, strict=True))
    m, lo, hi, p = _paired(rows)
    assert (round(m, 3), round(lo, 3), round(hi, 3)) == (mean, low, high) and p < 0.001


def test_zoneout_holds_the_model_back_and_layer_norm_overfits_sooner():
    base = _train_at_best(TUNED["final"])
    assert (round(base.min(), 2), round(base.max(), 2)) == (1.62, 1.66)
    zone = _arm("zoneout")
    z = _train_at_best(zone)
    assert (round(z.min(), 2), round(z.max(), 2)) == (1.93, 1.96)
    assert all(r["best_epoch"] == r["epochs_run"] for r in zone)      # the last was best
    runs = [r["epochs_run"] for r in zone]
    assert (min(runs), max(runs)) == (32, 38)                         # "after 32 to 38"
    ln = _arm("layer norm")
    t = _train_at_best(ln)
    assert (round(t.min(), 2), round(t.max(), 2)) == (1.49, 1.62) and t.mean() < base.mean()
    assert [min(r["epochs_run"] for r in rows) for rows in (ln, TUNED["final"])] == [14, 28]
    assert [max(r["epochs_run"] for r in rows) for rows in (ln, TUNED["final"])] == [16, 33]
