"""The direct search in spin space (latentopt.optimizers.direct): equal evaluations, the W surrogate, the descent."""

import math

import numpy as np
import pytest
import torch

from latentopt.optimizers import direct, make_objective
from latentopt.optimizers.dispatch import run as run_latent
from latentopt.optimizers.objectives import Objective
from latentopt.physics import spheres, states
from latentopt.physics import torch_physics as tp
from latentopt.physics.hamiltonian import ChiralMagnet, energy_per_spin

L = 8


def _toy_decoder(latent_dim: int, seed: int = 0):
    """A fixed random linear map of codes (m, N) to unit spins (m, 3, L, L), differentiable."""
    w = torch.randn(latent_dim, 3 * L * L, generator=torch.Generator().manual_seed(seed))
    return lambda z: spheres.normalize((z @ w).reshape(-1, 3, L, L))


def _counting(objective: Objective) -> tuple[Objective, list[int]]:
    """The objective, counting the states it scores."""
    seen = [0]

    def fn(s):
        seen[0] += len(s)
        return objective.fn(s)

    return Objective(objective.name, objective.direction, fn, objective.relax_steps), seen


RUNS = [
    dict(algorithm="genetic", population=5, generations=3, restarts=2, elitism=1, seed=1),
    dict(algorithm="stochastic", samples=4, iterations=6, seed=2),
    # sigma_tol above 1: sigma* = 1 at the start, so the run stops after its first iteration
    dict(algorithm="stochastic", samples=3, iterations=50, sigma_tol=1.5, seed=3),
    dict(algorithm="single_code", codes=3, iterations=4, seed=4),
]


@pytest.mark.parametrize("settings", RUNS, ids=lambda r: f"{r['algorithm']}-{r.get('sigma_tol', '')}")
@pytest.mark.parametrize("relax_steps", [0, 2])
def test_direct_search_gets_the_latent_runs_evaluations(settings, relax_steps):
    """latent_evaluations counts what each optimizer scores; the direct search spends exactly that."""
    model = ChiralMagnet(L=L, J=1.0, D=0.3)
    counted, seen = _counting(make_objective("energy", "min", model, relax_steps=relax_steps))
    result = run_latent(settings["algorithm"], _toy_decoder(4), counted, 4, settings)
    budget = direct.latent_evaluations(settings, len(result.objective))
    assert budget == seen[0] > 0

    batch, steps = direct.search_plan(settings, len(result.objective))
    assert batch * steps == budget
    spent = [0]

    def evaluate(x):
        spent[0] += len(x)
        return direct.evaluator(make_objective("energy", "min", model), model)[0](x)

    x0 = direct.initial_states(batch, L, "random", 0)
    found = direct.direct_search(make_objective("energy", "min", model), model, x0, steps, evaluate=evaluate)
    assert spent[0] == budget == found.evaluations[-1]
    assert len(found.result.objective) == steps


def test_latent_evaluations_rejects_unknown_runs():
    with pytest.raises(ValueError, match="algorithm"):
        direct.latent_evaluations({"algorithm": "bayes"}, 3)
    with pytest.raises(ValueError, match="iterations"):
        direct.latent_evaluations(RUNS[0], -1)


# ------------------------------------------------------------------ W and its differentiable form
def test_berg_luscher_charge_has_no_gradient_on_the_spheres():
    """W is an integer for every state: its projected gradient vanishes (why the search ascends the chirality)."""
    x = spheres.normalize(torch.randn(3, 3, 12, 12, dtype=torch.float64, generator=torch.Generator().manual_seed(0)))
    x.requires_grad_(True)
    w = tp.topological_charge(x)
    (g,) = torch.autograd.grad(w.sum(), x)
    assert torch.allclose(w, w.round(), atol=1e-9)
    assert spheres.project_tangent(x.detach(), g).abs().max() < 1e-10
    _, gc = tp.chirality_charge_gradient(x.detach())
    assert spheres.project_tangent(x.detach(), gc).abs().max() > 1e-2  # the surrogate's is not zero


def test_chirality_gradient_matches_autograd_and_finite_differences():
    gen = torch.Generator().manual_seed(1)
    x = spheres.normalize(torch.randn(2, 3, 10, 10, dtype=torch.float64, generator=gen))
    value, grad = tp.chirality_charge_gradient(x)
    xx = x.clone().requires_grad_(True)
    f = tp.chirality_charge(xx)
    (g_auto,) = torch.autograd.grad(f.sum(), xx)
    assert torch.allclose(value, f.detach(), atol=1e-12) and torch.allclose(grad, g_auto, atol=1e-12)
    # central differences along a random direction, in float64
    v = torch.randn(x.shape, dtype=torch.float64, generator=gen)
    h = 1e-6
    fd = (tp.chirality_charge(x + h * v) - tp.chirality_charge(x - h * v)) / (2 * h)
    assert torch.allclose(fd, (grad * v).sum(dim=(1, 2, 3)), rtol=1e-7, atol=1e-9)


@pytest.mark.parametrize("polarity", [-1, 1])
def test_charge_of_constructed_states(polarity):
    """A skyrmion has W = polarity (Berg-Luscher) and chirality close to it; the ferromagnet and spiral 0."""
    sk = torch.as_tensor(states.skyrmion(64, 20.0, polarity=polarity))[None]
    assert float(tp.topological_charge(sk)) == pytest.approx(polarity, abs=1e-9)
    assert float(tp.chirality_charge(sk)) == pytest.approx(polarity, abs=0.02)  # small-angle limit of W
    for flat in (states.ferromagnet(16), states.commensurate_spiral(16, (1, 2))):
        s = torch.as_tensor(flat)[None]
        assert abs(float(tp.topological_charge(s))) < 1e-9 and abs(float(tp.chirality_charge(s))) < 1e-9


def test_w_ascent_raises_the_charge_of_random_states():
    model = ChiralMagnet(L=16, J=1.0, D=0.3)
    objective = make_objective("W", "max", model)
    found = direct.direct_search(objective, model, direct.initial_states(4, 16, "random", 1), 60)
    assert found.form == "chirality"
    w0 = tp.topological_charge(torch.as_tensor(direct.initial_states(4, 16, "random", 1))).max()
    assert found.result.best_value > float(w0) + 5
    assert np.allclose(found.result.objective, found.result.objective.round(), atol=1e-4)  # scored in float64
    best = torch.as_tensor(found.result.best_spins[None])
    assert float(tp.topological_charge(best)) == pytest.approx(found.result.best_value, abs=1e-4)


# ------------------------------------------------------------------ energy descent
def test_energy_evaluator_gives_energy_and_field():
    """E = -1/2 sum s.(h + B) equals the energy per spin; the direction is -P dE/ds (min) or +P dE/ds (max)."""
    model = ChiralMagnet(L=12, J=1.0, D=0.3, K=0.07, B=(0.02, -0.05, 0.2))
    x = spheres.normalize(torch.randn(3, 3, 12, 12, dtype=torch.float64, generator=torch.Generator().manual_seed(2)))
    xx = x.clone().requires_grad_(True)
    e = tp.energy_per_spin(xx, model)
    (g,) = torch.autograd.grad(e.sum() * 144, xx)
    for direction, sign in (("min", -1.0), ("max", 1.0)):
        values, d = direct.evaluator(make_objective("energy", direction, model), model)[0](x)
        assert torch.allclose(values, e.detach(), atol=1e-12)
        assert torch.allclose(d, spheres.project_tangent(x, sign * g), atol=1e-12)


def _single_state_descent(model, start, steps):
    found = direct.direct_search(make_objective("energy", "min", model), model, start[None], steps)
    return found.result.objective, found.result.best_spins


def test_energy_descent_is_monotone_to_the_ferromagnet():
    J, K, B, n = 1.0, 0.1, 0.3, 12
    model = ChiralMagnet(L=n, J=J, D=0.0, K=K, B=(0, 0, B))
    start = spheres.exp_map(torch.as_tensor(states.ferromagnet(n, (1, 0, 1)))[None],
                            0.3 * torch.randn(1, 3, n, n, dtype=torch.float64, generator=torch.Generator().manual_seed(3)))
    trace, best = _single_state_descent(model, start[0].numpy(), 400)
    assert np.all(np.diff(trace) <= 1e-6)  # float32 rounding
    assert trace[-1] == pytest.approx(-2 * J - K - B, abs=1e-5)
    assert np.allclose(best[2], 1.0, atol=1e-3)


def test_energy_descent_is_monotone_to_the_spiral():
    """D = J tan(2 pi / L): the one-period spiral is the minimum, e = -J - sqrt(J^2 + D^2) (test_minimize)."""
    n, J = 20, 1.0
    D = J * math.tan(2 * math.pi / n)
    model = ChiralMagnet(L=n, J=J, D=D)
    start = spheres.exp_map(torch.as_tensor(states.spiral(n, 1))[None],
                            0.1 * torch.randn(1, 3, n, n, dtype=torch.float64, generator=torch.Generator().manual_seed(4)))
    trace, _ = _single_state_descent(model, start[0].numpy(), 1500)
    assert np.all(np.diff(trace) <= 1e-6)
    assert trace[-1] == pytest.approx(-J - math.hypot(J, D), abs=1e-5)
    assert trace[0] > trace[-1] + 1e-3


def test_energy_direct_search_from_random_states_lowers_the_best_energy():
    model = ChiralMagnet(L=16, J=1.0, D=0.3)
    found = direct.direct_search(make_objective("energy", "min", model), model,
                                 direct.initial_states(3, 16, "random", 5), 50)
    assert found.form == "field"
    assert np.all(np.diff(found.result.objective) <= 1e-6)
    assert found.result.objective[-1] < found.result.objective[0] - 0.5
    assert found.result.best_value == pytest.approx(
        float(energy_per_spin(found.result.best_spins.astype(np.float64), model)), abs=1e-5)


# ------------------------------------------------------------------ other objectives, initial states, errors
@pytest.mark.parametrize("name", ["Mz", "C"])
def test_ascent_of_smooth_objectives(name):
    model = ChiralMagnet(L=L, J=1.0, D=0.3)
    objective = make_objective(name, "max", model, a=(0, 1))
    found = direct.direct_search(objective, model, direct.initial_states(2, L, "random", 6), 40)
    assert found.form == "exact" and found.result.objective[-1] > found.result.objective[0] + 0.3


def test_initial_states():
    x = direct.initial_states(5, L, "random", 7)
    assert x.shape == (5, 3, L, L) and x.dtype == np.float32
    assert np.allclose(np.linalg.norm(x, axis=1), 1.0, atol=1e-6)
    data = np.stack([states.ferromagnet(L, (0, 0, s)) for s in (1.0, -1.0, 1.0)]).astype(np.float32)
    data[:, 0] += np.arange(3)[:, None, None]  # distinguishable rows
    picked = direct.initial_states(2, L, "heatbath", 8, data)
    assert all(any(np.array_equal(p, d) for d in data) for p in picked)
    assert direct.initial_states(7, L, "heatbath", 8, data).shape == (7, 3, L, L)  # with replacement
    with pytest.raises(ValueError, match="heatbath"):
        direct.initial_states(2, L, "heatbath", 8)
    with pytest.raises(ValueError, match="init"):
        direct.initial_states(2, L, "annealed", 8)


def test_direct_search_rejects_bad_input():
    model = ChiralMagnet(L=L)
    objective = make_objective("energy", "min", model)
    with pytest.raises(ValueError, match="states"):
        direct.direct_search(objective, model, np.ones((2, 3, L, L + 1)), 3)
    with pytest.raises(ValueError, match="steps"):
        direct.direct_search(objective, model, np.ones((2, 3, L, L)), 0)
    with pytest.raises(ValueError, match="relax_steps"):
        direct.evaluator(make_objective("energy", "min", model, relax_steps=2), model)


# ------------------------------------------------------------------ reporting
def test_winner_follows_the_direction():
    from latentopt.studies.spins import _winner

    assert _winner(1.0, 5.0, 3.0) == "latent" and _winner(-1.0, 5.0, 3.0) == "direct"
    assert _winner(-1.0, -2.0, -2.0) == "tie" and _winner(1.0, 0.0, 1e-12) == "tie"


def test_trace_verdict_and_labels():
    from latentopt.studies.spins import _charge_label, _gap, _trace_verdict

    summary = dict(best_value=8.0, polished_value=8.0,
                   direct=dict(best_value=1014.0, winner="direct", polished_value=4.0, polished_winner="latent"))
    assert _trace_verdict("W", summary) == "search: direct wins, 1014 vs 8\npolished: latent wins, 8 vs 4"
    tie = dict(best_value=-2.04434, direct=dict(best_value=-2.04434, winner="tie"))
    assert _trace_verdict("energy", tie) == "search: tie, -2.0443 vs -2.0443"
    assert _charge_label(-3.5e-17) == "0" and _charge_label(7.9999) == "8"
    assert _gap(-2.0443, -2.0443) == 1e-6 and _gap(-2.0, -2.5) == 0.5


def test_plot_baseline_comparison():
    from latentopt.plots.spins import plot_baseline_comparison

    state = states.ferromagnet(L)
    row = dict(run="r", ylabel="W", latent=(np.arange(1, 4) * 5, np.array([0.0, 1, 1])),
               direct=(np.arange(1, 4) * 5, np.array([0.0, 2, 3])), states=(state, state), titles=("a", "b"),
               verdict="direct wins")
    fig = plot_baseline_comparison([row, row])
    # per row: traces and two states; the colour wheel and the shared legend
    assert len(fig.axes) == 2 * 3 + 2 and fig.axes[0].get_title() == "r\ndirect wins"
    assert fig.axes[0].get_yscale() == "linear"
    fig = plot_baseline_comparison([{**row, "yscale": "symlog", "polished": (1.0, 2.0)}])
    ax = fig.axes[0]
    assert ax.get_yscale() == "symlog" and ax.get_ylim()[0] == 0.0  # values >= 0: no negative decades
    assert ax.get_legend_handles_labels()[1] == ["latent", "latent polished", "direct", "direct polished"]
    with pytest.raises(ValueError, match="yscale"):
        plot_baseline_comparison([{**row, "yscale": "loglog"}])
    with pytest.raises(ValueError, match="differ"):
        plot_baseline_comparison([{**row, "direct": (np.arange(3), np.arange(2))}])
    with pytest.raises(ValueError, match="at least one"):
        plot_baseline_comparison([])


def test_boundary_correlation_ascent():
    from latentopt.physics.boundary import boundary_from_config

    n = 16
    model = ChiralMagnet(L=n, J=1.0, D=0.3)
    s_bc = boundary_from_config({"shape": "ring", "radius": 0.3, "width": 2.0, "direction": "radial_out"}, n, ".")
    objective = make_objective("C_BC", "max", model, boundary=s_bc)
    found = direct.direct_search(objective, model, direct.initial_states(2, n, "random", 9), 30)
    assert found.form == "exact" and found.result.best_value > 0.9  # the ring's spins turn to the map
