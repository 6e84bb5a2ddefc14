"""Config validation: defaults, and rejection of bad configs with the key named."""

import copy
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from latentopt.config import ConfigError, validate_config

REPO = Path(__file__).resolve().parents[1]
SCHEMA = REPO / "workflow/schemas/config.schema.yaml"


def load(name):
    return yaml.safe_load((REPO / name).read_text())


SHIPPED = ["config/config.yaml", "config/paper.yaml", "tests/data/tiny.yaml", "tests/data/tiny_ferro.yaml",
           "tests/data/tiny_schedules.yaml"]


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_configs_are_valid(name):
    cfg = validate_config(load(name), SCHEMA, root=REPO)
    for study in cfg["studies"].values():
        if study["kind"] in ("trajectories", "schedules"):
            assert all(run["algorithm"] == "bayes" for run in study["optimize"].values())
        elif study["kind"] == "spins":
            assert study["system"]["L"] % 16 == 0  # the VAE halves the lattice four times
            for run in study["optimize"].values():
                assert run["direction"] in ("max", "min")
        elif study["kind"] == "transitions":
            # no VAE of its own, so no L % 16 rule; double_images: true is resolved to the first run
            assert study["runs"] and study["neb"]["double_images"] in (False, *study["runs"])
        elif study["kind"] == "upscaling":
            assert study["system"]["L"] % (2 * study["gan"]["upsample"]) == 0
            assert study["evaluate"]["heatbath_scale"] in study["evaluate"]["scales"]


def test_trajectory_study_defaults():
    cfg = validate_config({"studies": {"f": {"system": {"model": "ferrosim", "N": 12}, "trajectories": {},
                                             "optimize": {"u": {"algorithm": "bayes"}}}}}, SCHEMA)
    s = cfg["studies"]["f"]
    assert s["trajectories"] == {"families": {"damped_sine": {"weight": 1.0}}, "n": 7500, "steps": 900, "seed": 11}
    assert s["latent"]["grid"] == 100 and s["ground_truth"] is True
    assert s["vae"]["latent_dim"] == 2 and s["vae"]["sigma"] == 0.3
    assert s["objective"] == {"name": "curl", "equilibration": 50, "eps": 0.001}
    run = s["optimize"]["u"]
    assert (run["acquisition"], run["kappa"], run["n_initial"], run["iterations"]) == ("ucb", 10.0, 100, 500)
    assert s["system"]["defects"] == {"fraction": 0.1, "strength": 2.0}
    assert (s["system"]["field_unit"], s["system"]["boundary"]) == ("E_c", "periodic")
    big = validate_config({"studies": {"f": {"system": {"model": "ferrosim", "N": 12}, "trajectories": {},
                                             "latent": {"grid": 101}}}}, SCHEMA)
    assert big["studies"]["f"]["ground_truth"] is False


def mutate_ferro(path, value):
    cfg = load("tests/data/tiny_ferro.yaml")
    node = cfg
    *parents, last = path
    for key in parents:
        node = node[key]
    node[last] = value
    return cfg


BAD_FERRO = [
    (("studies", "ferro", "system", "dt"), 0.05, r"studies\.ferro\.system\.dt: explicit Euler"),
    (("studies", "ferro", "system", "alpha1"), 1.0, r"studies\.ferro\.system\.alpha1"),
    (("studies", "ferro", "system", "L"), 16, r"studies\.ferro\.system: Additional properties"),
    (("studies", "ferro", "trajectories", "families"), {"sawtooth": {}},
     r"studies\.ferro\.trajectories\.families\.sawtooth: unknown trajectory family"),
    (("studies", "ferro", "trajectories", "families"), {"damped_sine": {"ranges": {"A": [1.0, 0.0]}}},
     r"studies\.ferro\.trajectories\.families\.damped_sine: .*low > high"),
    (("studies", "ferro", "latent", "constraints"), {"min": 2.0, "max": 1.0},
     r"studies\.ferro\.latent\.constraints: min must be below max"),
    (("studies", "ferro", "optimize", "ucb", "acquisition"), "lcb", r"studies\.ferro\.optimize\.ucb\.acquisition"),
    (("studies", "ferro", "optimize", "ucb", "n_initial"), 500, r"studies\.ferro\.optimize\.ucb\.n_initial: 500"),
    (("studies", "ferro", "system", "alpha3"), float("nan"), r"studies\.ferro\.system\.alpha3: nan is not a finite"),
    (("studies", "ferro", "vae", "batch_size"), 1000,
     r"studies\.ferro\.vae\.batch_size: 1000 is larger than the 270 training trajectories"),
    (("studies", "ferro", "simulate"), {"n_samples": 3},
     r"studies\.ferro\.simulate: not a key of a trajectories study \(a key of spins, upscaling studies\)"),
    (("studies", "ferro", "system", "field_unit"), "Ec", r"studies\.ferro\.system\.field_unit: 'Ec' is not one of"),
    (("studies", "ferro", "system", "boundary"), "dirichlet",
     r"studies\.ferro\.system\.boundary: 'dirichlet' is not one of"),
]


@pytest.mark.parametrize("path,value,message", BAD_FERRO)
def test_bad_trajectory_config_rejected_with_key(path, value, message):
    with pytest.raises(ConfigError, match=message):
        validate_config(mutate_ferro(path, value), SCHEMA, root=REPO)


@pytest.mark.parametrize("unit", ["E_c", "ferrosim_Ec"])
@pytest.mark.parametrize("boundary", ["periodic", "open", "ferrosim"])
def test_field_unit_and_boundary_accepted(unit, boundary):
    cfg = mutate_ferro(("studies", "ferro", "system", "field_unit"), unit)
    cfg["studies"]["ferro"]["system"]["boundary"] = boundary
    system = validate_config(cfg, SCHEMA, root=REPO)["studies"]["ferro"]["system"]
    assert (system["field_unit"], system["boundary"]) == (unit, boundary)


def test_stability_check_reads_fields_in_the_field_unit():
    """|E| <= 10 plus defects of 2: too strong for dt = 0.0014 in E_c, fine in FerroSim's sqrt(2) smaller unit."""
    cfg = mutate_ferro(("studies", "ferro", "system", "dt"), 0.0014)
    with pytest.raises(ConfigError, match=r"studies\.ferro\.system\.dt: .* up to 10\.0 E_c \(plus defects of 2\.0 E_c\)"):
        validate_config(cfg, SCHEMA, root=REPO)
    cfg["studies"]["ferro"]["system"]["field_unit"] = "ferrosim_Ec"
    validate_config(cfg, SCHEMA, root=REPO)


def test_defaults_filled():
    cfg = validate_config({"studies": {"s": {"system": {"L": 32}, "simulate": {"n_samples": 200},
                                             "vae": {}, "optimize": {"r": {"algorithm": "genetic",
                                                                           "objective": "energy"}}}}}, SCHEMA)
    s = cfg["studies"]["s"]
    assert cfg["device"] == "auto"
    assert s["system"]["D"] == 0.3 and s["system"]["dmi"] == "interfacial" and s["system"]["B"] == [0.0, 0.0, 0.0]
    assert s["simulate"]["T_end"] == 0.01 and s["vae"]["beta"] == 0.001
    assert s["optimize"]["r"]["direction"] == "min"
    assert s["optimize"]["r"]["mutation_rate"] == 0.01 and s["optimize"]["r"]["selection_pressure"] == 8.0


def mutate(path, value):
    cfg = load("tests/data/tiny.yaml")
    node = cfg
    *parents, last = path
    for key in parents:
        node = node[key]
    if value is KeyError:
        del node[last]
    else:
        node[last] = value
    return cfg


BAD = [
    (("studies", "tiny", "system", "L"), 40, r"studies\.tiny\.system\.L: 40 is not divisible by 16"),
    (("studies", "tiny", "system", "L"), 8, r"studies\.tiny\.system\.L: 8 is not divisible by 16"),
    (("studies", "tiny", "system", "L"), 2, r"studies\.tiny\.system\.L: 2 is less than the minimum of 4"),
    (("studies", "tiny", "system", "dmi"), "chiral", r"studies\.tiny\.system\.dmi: 'chiral' is not one of"),
    (("studies", "tiny", "system", "B"), [0, 1], r"studies\.tiny\.system\.B"),
    (("studies", "tiny", "system", "J"), "one", r"studies\.tiny\.system\.J: 'one' is not of type 'number'"),
    (("studies", "tiny", "simulate", "T_end"), 3.0, r"studies\.tiny\.simulate\.T_end: must be below T_start"),
    (("studies", "tiny", "simulate", "n_samples"), 0, r"studies\.tiny\.simulate\.n_samples"),
    (("studies", "tiny", "simulate", "shards"), 50, r"studies\.tiny\.simulate\.shards"),
    (("studies", "tiny", "simulate", "n_sweeps"), KeyError, None),  # optional: has a default
    (("studies", "tiny", "vae", "val_fraction"), 1.5, r"studies\.tiny\.vae\.val_fraction"),
    (("studies", "tiny", "vae", "epochs"), 2.5, r"studies\.tiny\.vae\.epochs: 2.5 is not of type 'integer'"),
    (("studies", "tiny", "vae", "latnt_dim"), 3, r"studies\.tiny\.vae: Additional properties"),
    (("device",), "gpu", r"device: 'gpu' is not one of"),
    (("studies", "tiny", "optimize", "ga-W", "algorithm"), "annealing", r"studies\.tiny\.optimize\.ga-W\.algorithm"),
    (("studies", "tiny", "optimize", "ga-W", "objective"), "Q", r"studies\.tiny\.optimize\.ga-W\.objective"),
    (("studies", "tiny", "optimize", "ga-W", "samples"), 4, r"studies\.tiny\.optimize\.ga-W: Additional properties"),
    (("studies", "tiny", "optimize", "ga-W", "elitism"), 8, r"studies\.tiny\.optimize\.ga-W\.elitism"),
    (("studies", "tiny", "optimize", "ga-W", "mutation_rate"), 2, r"studies\.tiny\.optimize\.ga-W\.mutation_rate"),
    (("studies", "tiny", "optimize", "ga-W", "restarts"), 0, r"studies\.tiny\.optimize\.ga-W\.restarts"),
    (("studies", "tiny", "optimize", "ga-W", "relax_steps"), -1, r"studies\.tiny\.optimize\.ga-W\.relax_steps"),
    (("studies", "tiny", "optimize", "sto-CBC", "restarts"), 2, r"studies\.tiny\.optimize\.sto-CBC: Additional properties"),
    (("studies", "tiny", "optimize", "sto-CBC", "boundary"), {"file": "resources/nope.npy"},
     r"studies\.tiny\.optimize\.sto-CBC\.boundary: .*does not exist"),
    (("studies", "tiny", "optimize", "sto-CBC", "boundary"), {"radius": 0.01, "width": 0.1},
     r"studies\.tiny\.optimize\.sto-CBC\.boundary: .*contains no site"),
    # non-finite numbers (YAML .nan, .inf) are refused, naming the key
    (("studies", "tiny", "system", "J"), float("nan"), r"studies\.tiny\.system\.J: nan is not a finite number"),
    (("studies", "tiny", "system", "D"), float("inf"), r"studies\.tiny\.system\.D: inf is not a finite number"),
    (("studies", "tiny", "system", "B"), [0.0, 0.0, float("-inf")], r"studies\.tiny\.system\.B\.2: -inf is not"),
    (("studies", "tiny", "vae", "lr"), float("nan"), r"studies\.tiny\.vae\.lr: nan is not a finite number"),
    # sizes that cannot work together
    (("studies", "tiny", "vae", "batch_size"), 100000,
     r"studies\.tiny\.vae\.batch_size: 100000 is larger than the 18 training states \(simulate\.n_samples = 24"),
    (("studies", "tiny", "vae", "val_fraction"), 0.95, r"studies\.tiny\.vae\.val_fraction: 0\.95 of 24 states"),
]


@pytest.mark.parametrize("path,value,message", BAD)
def test_bad_config_rejected_with_key(path, value, message):
    cfg = mutate(path, value)
    if message is None:
        validate_config(cfg, SCHEMA, root=REPO)
        return
    with pytest.raises(ConfigError, match=message):
        validate_config(cfg, SCHEMA, root=REPO)


def test_input_not_modified():
    cfg = load("tests/data/tiny.yaml")
    before = copy.deepcopy(cfg)
    validate_config(cfg, SCHEMA, root=REPO)
    assert cfg == before


def test_snakemake_rejects_bad_config_before_any_job(tmp_path):
    cfg = mutate(("studies", "tiny", "system", "L"), 40)
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(cfg))
    proc = subprocess.run([sys.executable, "-m", "snakemake", "-n", "--snakefile", str(REPO / "Snakefile"),
                           "--directory", str(tmp_path), "--configfile", str(path)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode != 0
    assert "studies.tiny.system.L: 40 is not divisible by 16" in proc.stdout + proc.stderr
    assert not (tmp_path / "results").exists()


def test_readme_example_study_is_valid():
    """The 'Adding a study' examples in config/README.md validate."""
    text = (REPO / "config/README.md").read_text()
    block = text.split("## Adding a study", 1)[1].split("```yaml", 1)[1].split("```", 1)[0]
    cfg = validate_config(yaml.safe_load(block), SCHEMA, root=REPO)
    runs = cfg["studies"]["field-B0.05"]["optimize"]
    assert runs["ring"]["boundary"]["direction"] == "radial_out"
    assert runs["genetic-C"]["a"] == [4, 0]
    block = text.split("A trajectory study has", 1)[1].split("```yaml", 1)[1].split("```", 1)[0]
    cfg = validate_config(yaml.safe_load(block), SCHEMA, root=REPO)
    assert cfg["studies"]["my-ferro"]["optimize"]["ei"]["acquisition"] == "ei"


@pytest.mark.parametrize("name", SHIPPED)
def test_validation_is_idempotent(name):
    """The report hook re-validates the validated config: it must pass unchanged."""
    once = validate_config(load(name), SCHEMA, root=REPO)
    assert validate_config(once, SCHEMA, root=REPO) == once


def test_boundary_defaults():
    cfg = load("tests/data/tiny.yaml")
    cfg["studies"]["tiny"]["optimize"]["sto-CBC"]["boundary"] = {"direction": "down"}
    out = validate_config(cfg, SCHEMA, root=REPO)["studies"]["tiny"]["optimize"]["sto-CBC"]["boundary"]
    assert out == {"direction": "down", "radius": 0.35, "shape": "ring", "width": 2.0}
    cfg["studies"]["tiny"]["optimize"]["sto-CBC"]["boundary"] = {"file": "resources/x.npy", "radius": 0.3}
    with pytest.raises(ConfigError, match="boundary"):
        validate_config(cfg, SCHEMA, root=REPO)


BAD_SCHEDULES = [
    (("latent", "constraints"), {"min": 50.0, "max": 1.0},
     r"studies\.kl\.latent\.constraints: the bounds of beta_c are reversed"),
    (("trajectories", "steps"), 10, r"studies\.kl\.trajectories\.steps: .*N = 10 must equal jrvae\.epochs = 4"),
    (("trajectories", "families"), {"sawtooth": {}}, r"studies\.kl\.trajectories\.families\.sawtooth: unknown"),
    (("jrvae", "discrete_dim"), 1, r"studies\.kl\.jrvae\.discrete_dim: 1 is less than the minimum of 2"),
    (("optimize", "zbo", "iterations"), 5, r"studies\.kl\.optimize\.zbo\.iterations: 5 is not a multiple of q"),
    (("optimize", "zbo", "random_pool"), 4, r"studies\.kl\.optimize\.zbo\.random_pool: 4 random points"),
    (("data", "counts"), [1, 2], r"studies\.kl\.data\.counts: not a setting of the 'digits' images"),
    (("latent", "constraints"), {"min": 1.0, "max": 5.0}, r"studies\.kl\.trajectories\.families: .*outside the bounds"),
    (("jrvae", "batch_size"), 100, r"studies\.kl\.jrvae\.batch_size: 100 is larger than data\.train_subset = 60"),
    (("latent", "constraints"), {"min": 0.0, "max": 50.0}, r"studies\.kl\.latent\.constraints\.min"),
]


@pytest.mark.parametrize("path,value,message", BAD_SCHEDULES)
def test_bad_schedules_config_rejected_with_key(path, value, message):
    cfg = load("tests/data/tiny_schedules.yaml")
    node = cfg["studies"]["kl"]
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    with pytest.raises(ConfigError, match=message):
        validate_config(cfg, SCHEMA, root=REPO)
