"""The optimizers' Checkpointer (latentopt.optimizers.common): save, restore, fingerprints, atomic writes."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import numpy as np
import pytest
import torch

from latentopt.optimizers.common import Checkpointer, fingerprint

SETTINGS = {"algorithm": "genetic", "population": 8, "seed": 4, "a": [0, 1]}


def _state(seed: int = 0) -> dict:
    """An optimizer-like state: tensors, arrays, RNG states and plain values."""
    g = torch.Generator().manual_seed(seed)
    return {"iteration": 7, "z": torch.randn(4, 3, generator=g), "best": np.arange(6.0).reshape(2, 3),
            "rng": g.get_state(), "np_rng": np.random.default_rng(seed).bit_generator.state, "values": [1.5, -2.0]}


def _files(folder) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def test_fingerprint_is_stable_and_tells_settings_apart():
    assert fingerprint(SETTINGS) == fingerprint(dict(reversed(list(SETTINGS.items()))))  # key order is irrelevant
    assert fingerprint(SETTINGS) == fingerprint({**SETTINGS})
    assert len({fingerprint(SETTINGS), fingerprint({**SETTINGS, "seed": 5}), fingerprint({**SETTINGS, "a": [1, 0]}),
                fingerprint({**SETTINGS, "population": 8.5})}) == 4
    assert Checkpointer(None, SETTINGS).key == fingerprint(SETTINGS)


def test_save_then_restore_round_trip(tmp_path):
    path = tmp_path / "ckpt" / "run.pt"  # parent folders are created
    ckpt = Checkpointer(path, SETTINGS, every=3)
    assert ckpt.load() is None  # nothing saved yet: no warning, nothing to resume
    state = _state()
    ckpt.maybe_save(2, lambda: dict(state))  # (2 + 1) % 3 == 0
    loaded = Checkpointer(path, dict(SETTINGS)).load()
    assert loaded["fingerprint"] == fingerprint(SETTINGS)
    assert loaded.keys() == {*state, "fingerprint"}
    assert torch.equal(loaded["z"], state["z"]) and torch.equal(loaded["rng"], state["rng"])
    np.testing.assert_array_equal(loaded["best"], state["best"])
    assert (loaded["iteration"], loaded["values"], loaded["np_rng"]) == (7, [1.5, -2.0], state["np_rng"])
    # the restored generator continues the stream exactly
    g = torch.Generator()
    g.set_state(loaded["rng"])
    reference = torch.Generator().manual_seed(0)
    reference.set_state(state["rng"])
    assert torch.equal(torch.rand(5, generator=g), torch.rand(5, generator=reference))


def test_saves_every_n_iterations_or_when_forced(tmp_path):
    path = tmp_path / "run.pt"
    ckpt = Checkpointer(path, SETTINGS, every=4)
    calls = []

    def state_fn():
        calls.append(len(calls))
        return {"n": len(calls)}

    for it in range(10):
        ckpt.maybe_save(it, state_fn)
    assert len(calls) == 2  # after iterations 3 and 7 only; state_fn is not called otherwise
    assert ckpt.load()["n"] == 2
    ckpt.maybe_save(8, state_fn, force=True)
    assert len(calls) == 3 and ckpt.load()["n"] == 3
    assert Checkpointer(path, SETTINGS, every=0).every == 1  # at least every iteration


def test_no_path_disables_checkpointing(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    ckpt = Checkpointer(None, SETTINGS)
    ckpt.maybe_save(0, lambda: pytest.fail("state_fn must not be called without a path"), force=True)
    assert ckpt.load() is None and _files(tmp_path) == []
    assert Checkpointer("", SETTINGS).path is None


def test_checkpoint_of_other_settings_is_ignored_with_a_warning(tmp_path):
    path = tmp_path / "run.pt"
    Checkpointer(path, SETTINGS, every=1).maybe_save(0, _state)
    with pytest.warns(UserWarning, match="other settings"):
        assert Checkpointer(path, {**SETTINGS, "seed": 5}).load() is None
    # a file without a fingerprint (not a Checkpointer file) is ignored too
    torch.save({"z": torch.zeros(2)}, path)
    with pytest.warns(UserWarning, match="other settings"):
        assert Checkpointer(path, SETTINGS).load() is None
    torch.save([1, 2, 3], path)
    with pytest.warns(UserWarning, match="other settings"):
        assert Checkpointer(path, SETTINGS).load() is None


@pytest.mark.parametrize("content", [b"", b"not a torch file", None], ids=["empty", "garbage", "truncated"])
def test_unreadable_checkpoint_is_ignored_with_a_warning(tmp_path, content):
    path = tmp_path / "run.pt"
    if content is None:  # the first half of a real checkpoint
        Checkpointer(path, SETTINGS, every=1).maybe_save(0, _state)
        content = path.read_bytes()[: path.stat().st_size // 2]
    path.write_bytes(content)
    with pytest.warns(UserWarning, match="unreadable checkpoint"):
        assert Checkpointer(path, SETTINGS).load() is None


def test_failed_write_keeps_the_previous_checkpoint_and_leaves_no_temporary(tmp_path, monkeypatch):
    """Writes go to a temporary file renamed over the checkpoint: a crash mid-write changes nothing."""
    path = tmp_path / "run.pt"
    ckpt = Checkpointer(path, SETTINGS, every=1)
    ckpt.maybe_save(0, lambda: {"n": 1})
    before = path.read_bytes()
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~umask  # not the temporary file's 0600

    with pytest.raises(Exception):  # torch.save fails part-way through pickling
        ckpt.maybe_save(1, lambda: {"n": 2, "f": lambda: None})
    assert path.read_bytes() == before and _files(tmp_path) == ["run.pt"]

    real_save = torch.save

    def killed_mid_write(obj, f):
        real_save(obj, f)
        Path(f).write_bytes(Path(f).read_bytes()[:20])  # what a killed job leaves: a truncated file
        raise KeyboardInterrupt

    monkeypatch.setattr(torch, "save", killed_mid_write)
    with pytest.raises(KeyboardInterrupt):
        ckpt.maybe_save(2, lambda: {"n": 3})
    assert path.read_bytes() == before and _files(tmp_path) == ["run.pt"]
    assert ckpt.load()["n"] == 1
    monkeypatch.undo()
    ckpt.maybe_save(3, lambda: {"n": 4})
    assert ckpt.load()["n"] == 4 and _files(tmp_path) == ["run.pt"]
