"""Transitions study steps: config validation, latent initial path, a small skyrmion collapse with its saddle check."""

import math

import numpy as np
import pytest
import torch

from pathlib import Path

from latentopt.config import ConfigError, validate_config
from latentopt.physics import states
from latentopt.studies import transitions as tr

REPO = Path(__file__).resolve().parents[1]
SCHEMA = REPO / "workflow/schemas/config.schema.yaml"

pytestmark = pytest.mark.usefixtures("float64_default")  # float64 tensors by default (tests/conftest.py)

SMALL = dict(model="chiral_magnet", L=10, J=1.0, D=0.8, dmi="interfacial", K=0.0, B=[0.0, 0.0, 0.5])


def study(tmp_path=None, **blocks) -> dict:
    """A validated transitions study of the SMALL magnet (schema defaults filled in), as the workflow sees it."""
    cfg = {"studies": {"t": {"kind": "transitions", "system": dict(SMALL), **blocks}}}
    return validate_config(cfg, SCHEMA, root=REPO)["studies"]["t"]


def test_defaults_and_rejections(tmp_path):
    cfg = tr.settings(study())
    assert cfg["images"] == 16 and cfg["runs"]["vp"]["method"] == "vp" and cfg["meta"]["initial"] == [0.01, 1.0, 3.0]
    assert cfg["double_images"] == "vp"
    cfg = tr.settings(study(runs={"fast": {"method": "vp"}}, meta={"epochs": 3}))
    assert list(cfg["runs"]) == ["fast"] and cfg["double_images"] == "fast"  # runs replace the defaults
    assert cfg["meta"]["epochs"] == 3 and cfg["meta"]["n_paths"] == 30   # other blocks merge
    bad = [
        (dict(neb={"double_images": "nope"}), r"studies\.t\.neb\.double_images: 'nope' is not a run"),
        (dict(neb={"images": 2}), r"studies\.t\.neb\.images: 2 is less than the minimum of 3"),
        (dict(runs={"fast": {"method": "lbfgs"}}), r"studies\.t\.runs\.fast\.method: 'lbfgs' is not one of"),
        (dict(runs={"fast": {"method": "vp", "tangent": "central"}}), r"studies\.t\.runs\.fast\.tangent"),
        (dict(end_states={"final": {"kind": "vortex"}}), r"studies\.t\.end_states\.final\.kind"),
        (dict(neb={"initial_path": "latent"}), r"studies\.t\.neb\.latent_study: required"),
        (dict(meta={"epochs": 0}), r"studies\.t\.meta\.epochs"),
        (dict(runs={"end_states": {"method": "vp"}}), r"studies\.t\.runs\.end_states: the name is taken"),
    ]
    for blocks, message in bad:
        with pytest.raises(ConfigError, match=message):
            study(**blocks)
    a, b = tmp_path / "a.npy", tmp_path / "b.npy"
    np.save(a, states.ferromagnet(10))
    np.save(b, states.ferromagnet(12))
    with pytest.raises(ConfigError, match=r"end_states\.final\.path: .*b\.npy holds a state of shape \(3, 12, 12\)"):
        study(end_states={"initial": {"kind": "npy", "path": str(a)}, "final": {"kind": "npy", "path": str(b)}})
    with pytest.raises(ConfigError, match=r"end_states\.initial\.path: .* does not exist"):
        study(end_states={"initial": {"kind": "npy", "path": str(tmp_path / "none.npy")}})


def test_latent_initial_path_with_stand_in_decoder():
    """A stand-in 'VAE': the code is the mean spin; decoding gives the uniform state along the code."""
    L = 6
    encode = lambda x: x.mean(dim=(-2, -1))  # noqa: E731  (n, 3, L, L) -> (n, 3)
    decode = lambda z: z[:, :, None, None].expand(-1, -1, L, L) + 0.0  # noqa: E731
    a = states.ferromagnet(L, (0, 0, 1))
    b = states.skyrmion(L, 2.5, helicity=math.pi)
    path = tr.latent_initial_path(encode, decode, a, b, 5)
    assert path.shape == (5, 3, L, L) and path.dtype == np.float64
    assert np.array_equal(path[0], a) and np.array_equal(path[-1], b)     # end points are the relaxed states
    assert np.allclose(np.linalg.norm(path, axis=1), 1.0, atol=1e-6)
    za, zb = a.mean(axis=(1, 2)), b.astype(np.float32).mean(axis=(1, 2))
    for k, t in ((1, 0.25), (2, 0.5), (3, 0.75)):                          # decode(lerp) normalized
        z = (1 - t) * za + t * zb
        assert np.allclose(path[k][:, 0, 0], z / np.linalg.norm(z), atol=1e-6)
    with pytest.raises(ValueError, match="n_images"):
        tr.latent_initial_path(encode, decode, a, b, 2)
    with pytest.raises(ValueError, match="decode"):
        tr.latent_initial_path(encode, lambda z: torch.ones(len(z), 3, L + 1, L + 1), a, b, 4)
    with pytest.raises(ValueError, match="latent"):
        tr.initial_path(a, b, 4, "latent")


def test_double_images_inserts_geodesic_midpoints():
    path = tr.initial_path(states.ferromagnet(6), states.skyrmion(6, 2.5, helicity=math.pi), 4)
    fine = tr.double_images(path)
    assert fine.shape == (7, 3, 6, 6)
    assert np.array_equal(fine[0::2], path)
    from latentopt.physics.spheres import geodesic_distance
    d = geodesic_distance(torch.as_tensor(fine[1:]), torch.as_tensor(fine[:-1])).numpy()
    assert np.allclose(d[0::2], d[1::2], rtol=1e-10)


def test_small_skyrmion_collapse_saddle_check():
    cfg = tr.settings(study(neb={"images": 8}, end_states={"initial": {"kind": "skyrmion", "radius": 3.0}}))
    ends = tr.prepare_end_states(SMALL, cfg)
    assert ends["W"][0] == pytest.approx(-1.0, abs=1e-6) and ends["W"][1] == pytest.approx(0.0, abs=1e-9)
    assert ends["energy"][0] > ends["energy"][1]                 # the skyrmion is metastable at this field
    path = tr.initial_path(ends["initial"], ends["final"], 8)
    kw = tr.method_settings(cfg, "vp")
    kw["tol"] = 1e-7
    res = tr.run_transition(SMALL, path, kw)
    assert res.converged
    sad = tr.saddle_check(SMALL, res, k=4)
    assert sad["negative_modes"] == 1 and sad["is_first_order_saddle"]
    assert sad["saddle_force"] < 1e-7
    W = tr.path_charge(res.path)
    assert W[0] == pytest.approx(-1.0, abs=1e-6) and W[-1] == pytest.approx(0.0, abs=1e-6)
    assert np.all(np.abs(np.diff(np.round(W))) <= 1)             # one jump -1 -> 0
    assert res.barrier > 0 and res.energy[res.saddle_index] == res.energy.max()
    fine = tr.run_transition(SMALL, tr.double_images(res.path), kw)
    assert abs(fine.barrier - res.barrier) < 1e-3
    d = tr.transition_datasets(res, sad)
    for key in ("path", "energy", "arc", "profile_s", "profile_e", "barrier", "saddle_index", "hessian_lowest",
                "force_history", "W"):
        assert key in d
    assert d["energy"][0] == 0.0 and d["energy"][d["saddle_index"]] == pytest.approx(d["barrier"])
    assert d["path"].shape == (8, 3, 10, 10) and d["hessian_lowest"].shape == (4,)
    m = tr.metrics({"vp": dict(d, barrier_doubled=fine.barrier, initial_path="geodesic")}, {"speedup": 20.0}, SMALL,
                   ends)
    assert m["runs"]["vp"]["negative_modes"] == 1 and m["speedup"] == 20.0
    assert abs(m["runs"]["vp"]["barrier_change_doubled"]) < 1e-3 and m["D_over_J"] == pytest.approx(0.8)


def test_end_states_from_files(tmp_path):
    from latentopt.io import write_h5
    a = tmp_path / "sk.npy"
    np.save(a, states.skyrmion(10, 3.0, helicity=math.pi))
    write_h5(tmp_path / "run.h5", {"best_spins": states.ferromagnet(10).astype(np.float32)})
    cfg = tr.settings(study(end_states={"initial": {"kind": "npy", "path": str(a)},
                                        "final": {"kind": "h5", "path": str(tmp_path / "run.h5")}}))
    ends = tr.prepare_end_states(SMALL, cfg)
    assert ends["W"][0] == pytest.approx(-1.0, abs=1e-6) and ends["W"][1] == pytest.approx(0.0, abs=1e-9)
    assert ends["initial"].shape == ends["final"].shape == (3, 10, 10)
    assert np.allclose(np.linalg.norm(ends["initial"], axis=0), 1.0)
