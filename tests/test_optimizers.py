"""Latent optimizers on a small differentiable toy decoder: improvement, selection law, checkpoints."""

import numpy as np
import pytest
import torch

from latentopt.optimizers import make_objective, run
from latentopt.optimizers.genetic import breed, genetic, selection_probabilities
from latentopt.optimizers.single_code import single_code
from latentopt.optimizers.stochastic import gaussian_kl, stochastic
from latentopt.physics.boundary import ring_map
from latentopt.physics.hamiltonian import ChiralMagnet

L, N = 16, 6


class ToyDecoder:
    """z (m, N) -> unit-vector states (m, 3, L, L): a fixed random linear map, then normalisation."""

    def __init__(self, seed=0, fail_at=None):
        g = torch.Generator().manual_seed(seed)
        self.A = torch.randn(3 * L * L, N, generator=g) * 0.6
        self.b = torch.randn(3 * L * L, generator=g)
        self.calls, self.fail_at = 0, fail_at

    def __call__(self, z):
        self.calls += 1
        if self.fail_at is not None and self.calls == self.fail_at:
            raise KeyboardInterrupt("simulated interruption")
        return torch.nn.functional.normalize((z @ self.A.T + self.b).view(-1, 3, L, L), dim=1)


MODEL = ChiralMagnet(L=L)
OBJECTIVES = [("energy", "min", {}), ("W", "max", {}), ("Mz", "max", {}), ("Mz", "min", {}),
              ("C", "max", {"a": (1, 0)}), ("C_BC", "max", {"boundary": ring_map(L, 0.3, 2.0, "radial_out")})]
SETTINGS = {"genetic": dict(population=24, generations=25, seed=1),
            "stochastic": dict(samples=16, iterations=60, gamma0=0.01, gamma_every=20, seed=1),
            "single_code": dict(codes=4, iterations=40, seed=1)}


@pytest.mark.parametrize("name,direction,kw", OBJECTIVES)
@pytest.mark.parametrize("algorithm", list(SETTINGS))
def test_optimizer_improves_objective(algorithm, name, direction, kw):
    objective = make_objective(name, direction, MODEL, **kw)
    result = run(algorithm, ToyDecoder(), objective, N, SETTINGS[algorithm])
    sign = objective.sign
    assert sign * result.best_value > sign * result.objective[0]
    assert result.best_spins.shape == (3, L, L) and result.best_z.shape == (N,)
    # best_value is the objective of best_spins, and the best of the whole trace
    check = objective.value(torch.tensor(result.best_spins)[None]).item()
    assert check == pytest.approx(result.best_value, abs=1e-5)
    assert sign * result.best_value == pytest.approx(np.max(sign * result.objective), abs=1e-6)
    assert len(result.snapshots) == len(result.snapshot_iteration) >= 2


def test_genetic_with_elitism_is_monotone():
    objective = make_objective("Mz", "max", MODEL)
    result = genetic(ToyDecoder(), objective, N, population=16, generations=20, elitism=1, seed=3)
    assert np.all(np.diff(result.objective) >= -1e-6)


def test_selection_pressure_law():
    f = torch.tensor([0.0, 0.5, 1.0, 2.0])
    p = selection_probabilities(f, 8.0)
    assert p.sum().item() == pytest.approx(1.0)
    assert (p[3] / p[0]).item() == pytest.approx(np.exp(8.0))
    assert (p[1] / p[0]).item() == pytest.approx(np.exp(8.0 * 0.25))
    # invariant to the objective's scale and offset
    assert torch.allclose(selection_probabilities(3 * f - 7, 8.0), p)
    assert torch.allclose(selection_probabilities(f, 0.0), torch.full((4,), 0.25, dtype=torch.float64))
    assert torch.allclose(selection_probabilities(torch.ones(5), 8.0), torch.full((5,), 0.2, dtype=torch.float64))


def test_breed_operators():
    gen = torch.Generator().manual_seed(0)
    P, n = 200, 50
    pop = torch.stack([torch.full((n,), float(i)) for i in range(P)])
    fit = torch.arange(P, dtype=torch.float32)
    child = breed(pop, fit, selection_pressure=8.0, mutation_rate=0.0, elitism=2, generator=gen)
    assert torch.equal(child[0], pop[P - 1]) and torch.equal(child[1], pop[P - 2])
    # without mutation every gene comes from one of the parents -> an integer "parent id"
    assert torch.equal(child, child.round())
    # pressure 8 favours the fit: mean parent id well above the uniform 99.5
    assert child[2:].mean() > 150
    mutated = breed(torch.zeros(P, n), fit, selection_pressure=0.0, mutation_rate=0.1, elitism=0, generator=gen)
    rate = (mutated != 0).float().mean().item()
    assert rate == pytest.approx(0.1, abs=0.01)


def test_gaussian_kl():
    assert gaussian_kl(torch.zeros(5), torch.ones(5)).item() == pytest.approx(0.0)
    mu, sigma = torch.tensor([1.0, -2.0]), torch.tensor([0.5, 2.0])
    expected = 0.5 * sum(s**2 + m**2 - np.log(s**2) - 1 for m, s in zip(mu.tolist(), sigma.tolist()))
    assert gaussian_kl(mu, sigma).item() == pytest.approx(expected)


def test_stochastic_converges_and_stops():
    objective = make_objective("Mz", "max", MODEL)
    result = stochastic(ToyDecoder(), objective, N, samples=16, iterations=2000, lr=0.05, gamma0=0.1,
                        gamma_every=30, sigma_tol=0.05, seed=2)
    assert result.final["iterations_run"] < 2000
    assert np.abs(result.final["sigma"]).max() < 0.05
    assert result.traces["max_sigma"][-1] < 0.05
    assert result.snapshot_iteration[-1] == result.final["iterations_run"] - 1


def test_single_code_history():
    objective = make_objective("energy", "min", MODEL)
    z0 = torch.randn(5, N, generator=torch.Generator().manual_seed(0))
    result = single_code(ToyDecoder(), objective, z0, iterations=30, lr=0.05)
    hist = result.final["value_history"]
    assert hist.shape == (30, 5)
    assert np.all(result.final["values"] < hist[0])  # every code relaxed


@pytest.mark.parametrize("algorithm", list(SETTINGS))
def test_resume_after_interruption_is_exact(algorithm, tmp_path):
    objective = make_objective("W", "max", MODEL)
    settings = {**SETTINGS[algorithm], "checkpoint_every": 3}
    full = run(algorithm, ToyDecoder(), objective, N, settings)
    ckpt = tmp_path / "ckpt.pt"
    with pytest.raises(KeyboardInterrupt):
        run(algorithm, ToyDecoder(fail_at=12), objective, N, settings, checkpoint=ckpt)
    assert ckpt.exists()
    resumed = run(algorithm, ToyDecoder(), objective, N, settings, checkpoint=ckpt)
    assert np.array_equal(full.objective, resumed.objective)
    assert np.array_equal(full.best_z, resumed.best_z)
    assert np.array_equal(full.snapshot_iteration, resumed.snapshot_iteration)
    # a checkpoint of other settings is ignored
    with pytest.warns(UserWarning, match="other settings"):
        other = run(algorithm, ToyDecoder(), objective, N, {**settings, "seed": 99}, checkpoint=ckpt)
    assert len(other.objective) == len(full.objective)


def test_objective_errors():
    with pytest.raises(ValueError, match="objective"):
        make_objective("Q", "max", MODEL)
    with pytest.raises(ValueError, match="direction"):
        make_objective("W", "up", MODEL)
    with pytest.raises(ValueError, match="boundary"):
        make_objective("C_BC", "max", MODEL)
    with pytest.raises(ValueError, match="algorithm"):
        run("annealing", ToyDecoder(), make_objective("W", "max", MODEL), N, {})


@pytest.mark.parametrize("algorithm", list(SETTINGS))
def test_checkpoint_not_reused_for_another_decoder(algorithm, tmp_path):
    """The checkpoint fingerprint includes the run's context (decoder weights, system)."""
    objective = make_objective("Mz", "max", MODEL)
    ckpt = tmp_path / "ckpt.pt"
    first = run(algorithm, ToyDecoder(seed=0), objective, N, SETTINGS[algorithm], checkpoint=ckpt,
                context={"model": "digest-A"})
    assert ckpt.exists()
    with pytest.warns(UserWarning, match="other settings"):
        second = run(algorithm, ToyDecoder(seed=1), objective, N, SETTINGS[algorithm], checkpoint=ckpt,
                     context={"model": "digest-B"})
    fresh = run(algorithm, ToyDecoder(seed=1), objective, N, SETTINGS[algorithm])
    assert np.array_equal(second.objective, fresh.objective)
    assert not np.array_equal(second.objective, first.objective)


def test_best_z_per_iteration_decodes_to_trace():
    objective = make_objective("W", "max", MODEL)
    decoder = ToyDecoder()
    result = genetic(decoder, objective, N, population=12, generations=6, seed=5)
    assert result.best_z_per_iteration.shape == (6, N)
    values = objective.value(decoder(torch.as_tensor(result.best_z_per_iteration)))
    assert np.allclose(values.numpy(), result.objective, atol=1e-5)


def test_stochastic_resume_of_converged_run_does_not_step_again(tmp_path):
    objective = make_objective("Mz", "max", MODEL)
    kw = dict(samples=16, iterations=2000, lr=0.05, gamma0=0.1, gamma_every=30, sigma_tol=0.05, seed=2,
              checkpoint_every=1000)
    ckpt = tmp_path / "ckpt.pt"
    done = stochastic(ToyDecoder(), objective, N, checkpoint=ckpt, **kw)
    again = stochastic(ToyDecoder(), objective, N, checkpoint=ckpt, **kw)
    assert again.final["iterations_run"] == done.final["iterations_run"] == len(done.objective)
    assert np.array_equal(again.final["mu"], done.final["mu"])


def test_relaxed_objective_scores_the_descended_state():
    """relax_steps: the objective of descend(state), differentiable for the gradient-based optimizers."""
    from latentopt.physics.minimize import chiral_magnet_energy_fn, descend, descent_step

    model = ChiralMagnet(L=L, J=1.0, D=0.3)
    spins = ToyDecoder()(torch.randn(5, N, generator=torch.Generator().manual_seed(0)))
    plain = make_objective("energy", "min", model)
    relaxed = make_objective("energy", "min", model, relax_steps=3)
    expect = plain.value(descend(chiral_magnet_energy_fn(model), spins, 3, descent_step(model)))
    with torch.inference_mode():  # as the genetic algorithm calls it
        got = relaxed.value(spins)
    assert torch.allclose(got, expect, atol=1e-6)
    assert torch.all(got < plain.value(spins))  # descent lowers every energy
    w = make_objective("W", "max", model, relax_steps=2)  # any objective, scored after the descent
    assert w.relax_steps == 2 and w.value(spins).shape == (5,)
    with pytest.raises(ValueError, match="relax_steps"):
        make_objective("energy", "min", model, relax_steps=-1)
    result = run("single_code", ToyDecoder(), relaxed, N, SETTINGS["single_code"])  # gradients through the steps
    assert result.best_value < result.objective[0]


def test_genetic_restarts_are_independent_populations():
    """Restart 0 is the run without restarts; each later restart starts from fresh codes, the best is over all."""
    objective = make_objective("Mz", "max", MODEL)
    one = genetic(ToyDecoder(), objective, N, population=12, generations=8, seed=4)
    three = genetic(ToyDecoder(), objective, N, population=12, generations=8, seed=4, restarts=3)
    assert len(three.objective) == 24
    assert np.array_equal(three.objective[:8], one.objective)
    assert three.best_value == pytest.approx(max(three.objective)) and three.best_value >= one.best_value
    # elitism keeps each restart monotone; a restart drops back (nothing carried over)
    for r in range(3):
        assert np.all(np.diff(three.objective[8 * r:8 * (r + 1)]) >= -1e-6)
    assert three.objective[8] < three.objective[7] or three.objective[16] < three.objective[15]
    with pytest.raises(ValueError, match="restarts"):
        genetic(ToyDecoder(), objective, N, restarts=0)


def test_genetic_resume_across_a_restart_is_exact(tmp_path):
    objective = make_objective("W", "max", MODEL)
    settings = dict(population=12, generations=5, restarts=3, seed=2, checkpoint_every=2)
    full = run("genetic", ToyDecoder(), objective, N, settings)
    ckpt = tmp_path / "ckpt.pt"
    with pytest.raises(KeyboardInterrupt):  # checkpoint at generation 6 (restart 1), stopped at 8
        run("genetic", ToyDecoder(fail_at=9), objective, N, settings, checkpoint=ckpt)
    resumed = run("genetic", ToyDecoder(), objective, N, settings, checkpoint=ckpt)
    assert np.array_equal(full.objective, resumed.objective) and np.array_equal(full.best_z, resumed.best_z)
