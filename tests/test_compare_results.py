"""The results-tree comparison (tests/compare_results.py) finds every kind of difference it promises to."""

import json
import sys
from pathlib import Path

import numpy as np
import torch

from latentopt.io import write_h5, write_json

sys.path.insert(0, str(Path(__file__).resolve().parent))
from compare_results import compare_trees  # noqa: E402


def make_tree(root: Path, value: float = 1.0, seconds: float = 0.1, weight: float = 0.5) -> Path:
    write_h5(root / "s/data/x.h5", {"a": np.array([1.0, np.nan, value]), "fit_seconds": np.array([seconds]),
                                    "trace/b": np.arange(3)})
    write_json(root / "s/metrics.json", {"best": value, "runs": {"r": {"median_fit_seconds": seconds}}})
    (root / "s/vae").mkdir(parents=True)
    torch.save({"state_dict": {"w": torch.tensor([weight])}, "hparams": {}}, root / "s/vae/model.pt")
    return root


def test_identical_trees_agree_and_timings_are_ignored(tmp_path):
    assert compare_trees(make_tree(tmp_path / "a"), make_tree(tmp_path / "b", seconds=9.0)) == []


def test_each_difference_is_reported(tmp_path):
    a = make_tree(tmp_path / "a")
    assert any("x.h5:a" in p for p in compare_trees(a, make_tree(tmp_path / "b", value=2.0)))
    assert any("model.pt" in p for p in compare_trees(a, make_tree(tmp_path / "c", weight=0.6)))
    d = make_tree(tmp_path / "d")
    (d / "s/data/x.h5").unlink()
    assert any("only in" in p for p in compare_trees(a, d))
    e = make_tree(tmp_path / "e")
    (e / "s/metrics.json").write_text(json.dumps({"best": 1.0, "runs": {}}))
    assert any("metrics.json" in p for p in compare_trees(a, e))
