"""Energies against closed forms, an independent bond sum, finite differences and torch."""

import numpy as np
import pytest
import torch

from latentopt.physics import states
from latentopt.physics import torch_physics as tp
from latentopt.physics.hamiltonian import (ChiralMagnet, commensurate_spiral_energy, effective_field,
                                           energy_density, energy_per_spin, lowest_commensurate_spiral,
                                           spiral_energy, spiral_ground_state)


def naive_energy(s, J, D, dmi, K, B):
    """Direct transcription of the docs/design.md Hamiltonian: loop over sites and their +x/+y bonds."""
    L = s.shape[-1]
    z_hat = np.array([0.0, 0.0, 1.0])
    E = 0.0
    for y in range(L):
        for x in range(L):
            si = s[:, y, x]
            for r_ij, (ny, nx) in ((np.array([1.0, 0, 0]), (y, (x + 1) % L)), (np.array([0, 1.0, 0]), ((y + 1) % L, x))):
                sj = s[:, ny, nx]
                D_ij = D * np.cross(z_hat, r_ij) if dmi == "interfacial" else D * r_ij
                E += -J * si @ sj - D_ij @ np.cross(si, sj)
            E += -K * si[2] ** 2 - np.asarray(B) @ si
    return E


@pytest.mark.parametrize("direction", [(0, 0, 1), (1, 0, 0), (0.3, -0.4, 0.5)])
def test_ferromagnet_energy(direction):
    K, B = 0.2, (0.1, -0.3, 0.4)
    s = states.ferromagnet(16, direction)
    d = np.asarray(direction) / np.linalg.norm(direction)
    assert energy_per_spin(s, ChiralMagnet(L=16)) == pytest.approx(-2.0, abs=1e-12)
    expected = -2 * 1.5 - K * d[2] ** 2 - np.dot(B, d)
    assert energy_per_spin(s, ChiralMagnet(L=16, J=1.5, D=0.7, K=K, B=B)) == pytest.approx(expected, abs=1e-12)


@pytest.mark.parametrize("dmi", ["interfacial", "bulk"])
@pytest.mark.parametrize("axis", ["x", "y"])
@pytest.mark.parametrize("n_periods", [1, 2, 3, 5, 8, -2, -5])
def test_spiral_energy_closed_form(dmi, axis, n_periods):
    L, J, D = 48, 1.3, 0.45
    s = states.spiral(L, n_periods, dmi, axis)
    q = 2 * np.pi * n_periods / L
    assert energy_per_spin(s, ChiralMagnet(L=L, J=J, D=D, dmi=dmi)) == pytest.approx(spiral_energy(q, J, D), abs=1e-12)
    # the density of a single-q spiral is uniform
    dens = energy_density(s, ChiralMagnet(L=L, J=J, D=D, dmi=dmi))
    assert np.ptp(dens) < 1e-12


@pytest.mark.parametrize("dmi", ["interfacial", "bulk"])
@pytest.mark.parametrize("n", [(1, 0), (0, 3), (2, 2), (3, 1), (-2, 5), (4, -4), (6, 0), (6, 6), (5, 6)])
def test_commensurate_spiral_energy_closed_form(dmi, n):
    """Oblique cycloids and helices, with anisotropy and field, against the lattice Hamiltonian."""
    L = 12
    m = ChiralMagnet(L=L, J=1.2, D=0.4, dmi=dmi, K=0.15, B=(0.05, -0.02, 0.1))
    assert energy_per_spin(states.commensurate_spiral(L, n, dmi), m) == pytest.approx(commensurate_spiral_energy(m, n), abs=1e-12)
    # the opposite rotation sense (in-plane components reversed) turns the DMI energy's sign
    reverse = energy_per_spin(states.commensurate_spiral(L, n, dmi) * np.array([-1.0, -1.0, 1.0])[:, None, None], m)
    dmi_part = -0.4 * np.linalg.norm(np.sin(2 * np.pi * np.asarray(n) / L))
    assert reverse == pytest.approx(commensurate_spiral_energy(m, n) - 2 * dmi_part, abs=1e-12)
    ferro = ChiralMagnet(L=L, J=1.2, D=0.4, dmi=dmi, K=0.15, B=(0.0, 0.0, 0.1))
    assert commensurate_spiral_energy(ferro, (0, 0)) == pytest.approx(energy_per_spin(states.ferromagnet(L), ferro))


def test_lowest_commensurate_spiral_is_the_diagonal_cycloid_on_64():
    """The reference of the spin study's polished stripes (issue: -2.04434 diagonal, -2.04403 along an axis)."""
    m = ChiralMagnet(L=64, J=1.0, D=0.3)
    n, e = lowest_commensurate_spiral(m)
    assert n == (2, 2) and e == pytest.approx(-2.04434, abs=5e-6)
    assert commensurate_spiral_energy(m, (3, 0)) == pytest.approx(-2.04403, abs=5e-6)
    assert e > -np.sqrt(4 + 2 * 0.3**2)  # above the continuum optimum of the diagonal direction
    assert e == pytest.approx(energy_per_spin(states.commensurate_spiral(64, n, "interfacial"), m), abs=1e-12)
    for axis in ("x", "y"):  # along an axis it is spiral()
        along = (3, 0) if axis == "x" else (0, 3)
        assert np.allclose(states.commensurate_spiral(64, along), states.spiral(64, 3, axis=axis), atol=1e-12)
    # no lattice-periodic spiral is lower: brute force over all wave vectors, both signs
    assert all(commensurate_spiral_energy(m, (a, b)) >= e - 1e-15 for a in range(-32, 33) for b in range(-32, 33))


def test_spiral_minimum():
    q_star, e_star = spiral_ground_state(1.0, 0.3)
    assert e_star == pytest.approx(-2.04403, abs=1e-5)
    assert q_star == pytest.approx(np.arctan(0.3))
    L = 512
    m = ChiralMagnet(L=L, J=1.0, D=0.3)
    energies = {n: energy_per_spin(states.spiral(L, n), m) for n in range(1, 50)}
    best = min(energies, key=energies.get)
    assert best == round(q_star * L / (2 * np.pi))  # 23.7 -> 24 periods
    assert min(energies.values()) >= e_star - 1e-12
    assert min(energies.values()) - e_star < 1e-4
    # the matching chirality beats the opposite one
    assert energy_per_spin(states.spiral(L, -best), m) > energies[best] + 0.1


@pytest.mark.parametrize("dmi", ["interfacial", "bulk"])
def test_density_sums_to_naive_total(dmi):
    rng = np.random.default_rng(1)
    s = states.random_states(1, 6, rng)[0]
    params = dict(J=0.9, D=0.35, dmi=dmi, K=0.15, B=(0.05, -0.1, 0.2))
    dens = energy_density(s, ChiralMagnet(L=6, **params))
    assert dens.sum() == pytest.approx(naive_energy(s, **params), abs=1e-10)


def test_translation_invariance():
    s = states.random_states(1, 16, np.random.default_rng(2))[0]
    m = ChiralMagnet(L=16, K=0.1, B=(0, 0, 0.3))
    assert energy_per_spin(np.roll(s, (3, -5), axis=(1, 2)), m) == pytest.approx(energy_per_spin(s, m), abs=1e-12)


@pytest.mark.parametrize("dmi", ["interfacial", "bulk"])
def test_effective_field_is_minus_gradient(dmi):
    """h_i = -dE/ds_i, checked by central finite differences of the naive energy."""
    rng = np.random.default_rng(3)
    L = 4
    s = states.random_states(1, L, rng)[0]
    params = dict(J=1.1, D=0.4, dmi=dmi, K=0.3, B=(0.2, 0.1, -0.25))
    h = effective_field(s, ChiralMagnet(L=L, **params))
    eps = 1e-6
    for (c, y, x) in [(0, 0, 0), (1, 2, 3), (2, 3, 1), (2, 1, 2)]:
        sp, sm = s.copy(), s.copy()
        sp[c, y, x] += eps
        sm[c, y, x] -= eps
        grad = (naive_energy(sp, **params) - naive_energy(sm, **params)) / (2 * eps)
        assert h[c, y, x] == pytest.approx(-grad, abs=1e-6)


@pytest.mark.parametrize("dmi", ["interfacial", "bulk"])
@pytest.mark.parametrize("K, B", [(0.1, (0.1, 0.0, 0.2)), (0.0, (0.0, 0.0, 0.0)), (-0.2, (0.0, -0.3, 0.0))])
def test_numba_and_torch_agree(dmi, K, B):
    rng = np.random.default_rng(4)
    s = states.random_states(3, 32, rng)
    m = ChiralMagnet(L=32, J=1.0, D=0.3, dmi=dmi, K=K, B=B)
    t32 = torch.tensor(s, dtype=torch.float32)
    assert np.abs(tp.energy_density(t32, m).numpy() - energy_density(s, m)).max() < 1e-5
    assert np.abs(tp.energy_per_spin(t32, m).numpy() - energy_per_spin(s, m)).max() < 1e-5
    # the torch gradient is minus the effective field, for the density and for E / L^2
    t64 = torch.tensor(s, dtype=torch.float64, requires_grad=True)
    tp.energy_density(t64, m).sum().backward()
    assert np.abs(-t64.grad.numpy() - effective_field(s, m)).max() < 1e-10
    t64.grad = None
    tp.energy_per_spin(t64, m).sum().backward()
    assert np.abs(-t64.grad.numpy() * 32**2 - effective_field(s, m)).max() < 1e-10
    assert np.abs(tp.energy_per_spin(t64, m).detach().numpy() - energy_per_spin(s, m)).max() < 1e-13
    # the closed-form torch field (used by the descent steps of relaxed objectives) is the numba field
    assert np.abs(tp.effective_field(t64.detach(), m).numpy() - effective_field(s, m)).max() < 1e-13
    assert np.abs(tp.effective_field(t32, m).numpy() - effective_field(s, m)).max() < 1e-5


def test_torch_neighbours_from_the_padding_are_the_rolls():
    """The padded views (no gradient) and the rolls (with one) give the same neighbours bit for bit,
    on a non-square lattice, for every offset the energy, field and W take."""
    s = torch.tensor(states.random_states(2, 8, np.random.default_rng(5)))[..., :6]  # (2, 3, 8, 6)
    c = tp._components(s)
    padded = tp._neighbours(s, c)
    rolled = tp._neighbours(s.clone().requires_grad_(), c)
    for dx in (-1, 0, 1):
        for dy in (-1, 0, 1):
            for a, b, k in zip(padded(dx, dy), rolled(dx, dy), range(3)):
                assert torch.equal(a, b)
                assert torch.equal(a, s[:, k].roll((-dy, -dx), dims=(-2, -1)))
    m = ChiralMagnet(L=8, J=1.0, D=0.3, K=0.1, B=(0.1, 0.0, 0.2))
    square = torch.tensor(states.random_states(2, 8, np.random.default_rng(6)))
    with torch.no_grad():
        values = [tp.energy_density(square, m), tp.effective_field(square, m), tp.topological_charge(square)]
    grad = square.clone().requires_grad_()
    for a, b in zip(values, [tp.energy_density(grad, m), tp.effective_field(grad, m), tp.topological_charge(grad)]):
        assert torch.equal(a, b.detach())


def test_bad_inputs():
    with pytest.raises(ValueError, match="dmi"):
        ChiralMagnet(L=16, dmi="chiral")
    with pytest.raises(ValueError, match="B"):
        ChiralMagnet(L=16, B=(0, 1))
    with pytest.raises(ValueError, match="shape"):
        energy_density(np.zeros((2, 8, 8)), ChiralMagnet(L=8))
    with pytest.raises(ValueError, match=r"\(n, 3, L, L\)"):
        tp.energy_density(torch.zeros(3, 8, 8), ChiralMagnet(L=8))
