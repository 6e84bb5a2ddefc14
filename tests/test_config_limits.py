"""Absurd sizes in a config are ConfigErrors naming the key and its accepted range, never a crash of validation.

Validation samples the schedules study's training trajectories ``(trajectories.n, jrvae.epochs)``
(to check their span against the bounds) and builds each C_BC run's boundary mask ``(L, L)``;
without a maximum in the schema, a size of 1e12 made it allocate terabytes (MemoryError).
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
import yaml

from latentopt.config import ConfigError, load_schema, validate_config
from latentopt.families import sample_family, sample_training_set

REPO = Path(__file__).resolve().parents[1]
SCHEMA = load_schema(REPO / "workflow/schemas/config.schema.yaml")
ABSURD = 10**12


def _config(name: str, path: tuple[str, ...], value) -> dict:
    """``tests/data/<name>.yaml`` with the key ``studies.<path>`` set to ``value`` (parents created)."""
    cfg = yaml.safe_load((REPO / "tests/data" / f"{name}.yaml").read_text())
    node = cfg["studies"]
    for key in path[:-1]:
        node = node.setdefault(key, {})
    node[path[-1]] = value
    return cfg


# (config, key below studies, accepted range): the sizes that validation allocates arrays of
SIZES = [
    ("tiny_schedules", ("kl", "jrvae", "epochs"), (1, 1000)),
    ("tiny_schedules", ("kl", "trajectories", "n"), (2, 10000)),
    ("tiny_schedules", ("kl", "trajectories", "steps"), (2, 1000)),
    ("tiny", ("tiny", "system", "L"), (4, 1024)),
    ("tiny_transitions", ("collapse", "system", "L"), (4, 1024)),
    ("tiny_upscaling", ("up", "system", "L"), (4, 1024)),
]


@pytest.mark.parametrize("name,path,bounds", SIZES, ids=[".".join(p) for _, p, _ in SIZES])
def test_absurd_size_is_a_config_error_naming_key_and_range(name, path, bounds):
    lo, hi = bounds
    key = re.escape("studies." + ".".join(path))
    with pytest.raises(ConfigError, match=rf"^{key}: {ABSURD} is greater than the maximum of {hi}; "
                                          rf"accepted range \[{lo}, {hi}\]$"):
        validate_config(_config(name, path, ABSURD), SCHEMA, root=REPO)
    # one above the maximum is rejected as well: the limit is the schema's, not an accident of numpy
    with pytest.raises(ConfigError, match=rf"^{key}: {hi + 1} is greater than the maximum of {hi}"):
        validate_config(_config(name, path, hi + 1), SCHEMA, root=REPO)


def test_largest_schedules_training_set_is_accepted():
    """At both maxima the trajectories sampled by validation are 10,000 x 1000 values (80 MB): valid."""
    cfg = _config("tiny_schedules", ("kl", "jrvae", "epochs"), 1000)
    cfg["studies"]["kl"]["trajectories"]["n"] = 10000
    out = validate_config(cfg, SCHEMA, root=REPO)["studies"]["kl"]
    assert (out["trajectories"]["n"], out["trajectories"]["steps"], out["jrvae"]["epochs"]) == (10000, 1000, 1000)


def test_largest_lattice_is_accepted_with_a_boundary_run():
    """L = 1024 passes the spins checks (divisible by 16) including the C_BC run's boundary mask."""
    out = validate_config(_config("tiny", ("tiny", "system", "L"), 1024), SCHEMA, root=REPO)
    assert out["studies"]["tiny"]["system"]["L"] == 1024


def test_exclusive_and_open_bounds_in_the_message():
    with pytest.raises(ConfigError, match=r"^studies\.kl\.jrvae\.lr: 0 is less than or equal to the minimum of 0; "
                                          r"accepted range \(0, inf\)$"):
        validate_config(_config("tiny_schedules", ("kl", "jrvae", "lr"), 0), SCHEMA, root=REPO)
    with pytest.raises(ConfigError, match=r"^studies\.kl\.objective\.quantile: 0\.5 is greater than or equal to the "
                                          r"maximum of 0\.5; accepted range \(0, 0\.5\)$"):
        validate_config(_config("tiny_schedules", ("kl", "objective", "quantile"), 0.5), SCHEMA, root=REPO)


def test_other_errors_get_no_range():
    with pytest.raises(ConfigError, match=r"^studies\.kl\.jrvae\.epochs: 2\.5 is not of type 'integer'$"):
        validate_config(_config("tiny_schedules", ("kl", "jrvae", "epochs"), 2.5), SCHEMA, root=REPO)


@pytest.mark.parametrize("weights", [{"cooldown": 0.0}, {"cooldown": float(ABSURD)}],
                         ids=["weight 0", "weight 1e12"])
def test_family_without_trajectories_is_valid(weights):
    """A family given no trajectories (weight 0, or outweighed) is allowed and does not crash validation."""
    cfg = _config("tiny_schedules", ("kl", "trajectories", "families"),
                  {name: {"weight": w} for name, w in {"cooldown": 1.0, "segments": 1.0, **weights}.items()})
    validate_config(cfg, SCHEMA, root=REPO)
    data = sample_training_set(cfg["studies"]["kl"]["trajectories"]["families"], 60, 4, seed=2)
    counts = np.bincount(data["family"], minlength=2)
    assert counts.sum() == 60 and data["trajectories"].shape == (60, 4)
    assert (counts[0] == 0) == (weights["cooldown"] == 0.0)
    assert (counts[1] == 0) == (weights["cooldown"] > 60)


def test_sample_family_of_no_trajectories():
    x, p = sample_family("cooldown", 0, 7, seed=0)
    assert x.shape == (0, 7) and p.shape == (0, 4)
