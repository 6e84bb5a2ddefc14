"""The phase classifier on constructed states, the candidate states against closed forms, the boundaries."""

import math

import numpy as np
import pytest

from latentopt.physics import phases as P
from latentopt.physics import states
from latentopt.physics.hamiltonian import ChiralMagnet, commensurate_spiral_energy, energy_per_spin
from latentopt.physics.observables import topological_charge


def test_reduced_field_and_continuum_fields():
    assert P.reduced_field(0.072, 1.0, 0.3) == pytest.approx(0.8)
    f = P.continuum_fields(1.0, 0.3)
    assert f["B_c2"] == pytest.approx(0.801 * 0.09)
    assert f["B_c1"] == pytest.approx(0.2 * 0.09)
    assert f["B_wall"] == pytest.approx(math.pi ** 2 / 16 * 0.09)


def test_isolated_wall_field_is_where_the_continuum_kink_costs_nothing():
    """Numerical 2 pi kink of e = A t'^2 - D t' + B (1 - cos t), A = J/2: its energy vanishes at the closed form."""
    J, D = 1.0, 0.3
    A = J / 2

    def kink_energy(B):
        theta = np.linspace(0, 2 * np.pi, 200001)
        dtheta = np.sqrt(B * (1 - np.cos(theta)) / A)  # Bogomolny: A t'^2 = B (1 - cos t)
        # integral over x of 2 A t'^2 = integral over theta of 2 A t'
        return np.trapezoid(2 * A * dtheta, theta) - 2 * np.pi * D

    B0 = P.isolated_wall_field(J, D)
    assert abs(kink_energy(B0)) < 1e-6
    assert kink_energy(0.9 * B0) < 0 < kink_energy(1.1 * B0)


def test_close_packed_density():
    rho = P.close_packed_density(1.0, 0.3)
    a = 4 * np.pi / (np.sqrt(3) * np.arctan(0.3))
    assert rho == pytest.approx(1 / (np.sqrt(3) / 2 * a ** 2))
    assert 64 ** 2 * rho == pytest.approx(7.6, abs=0.05)


def test_sz_peaks_of_a_spiral_and_a_ferromagnet():
    s = states.commensurate_spiral(32, (3, 1))
    q, frac = P.sz_peaks(s, 3)
    assert np.allclose(np.abs(q[0]), 2 * np.pi * np.array([3, 1]) / 32)
    assert frac[0] == pytest.approx(1.0)
    assert np.allclose(frac[1:], 0, atol=1e-12)
    _, frac = P.sz_peaks(states.ferromagnet(16), 2)
    assert np.all(frac == 0)


def test_classify_ferromagnet_and_spiral():
    assert P.classify(states.ferromagnet(32)) == "ferromagnet"
    assert P.classify(states.ferromagnet(32, (0, 0, -1))) == "ferromagnet"
    assert P.classify(states.commensurate_spiral(48, (2, 0))) == "spiral"
    assert P.classify(states.commensurate_spiral(48, (2, 2))) == "spiral"
    # three superposed modulations of s_z (spins in the x-z plane, so W = 0 exactly): no pair dominates
    y, x = np.mgrid[0:48, 0:48]
    sz = np.cos(2 * np.pi * 2 * x / 48) + np.cos(2 * np.pi * 3 * y / 48) + np.cos(2 * np.pi * (x + y) / 24)
    s = np.stack([np.ones_like(sz), np.zeros_like(sz), 0.6 * sz])  # within a half circle: every solid angle 0
    s /= np.linalg.norm(s, axis=0)
    assert float(topological_charge(s)) == pytest.approx(0, abs=1e-9)
    assert P.sz_peaks(s, 1)[1][0] < 0.5
    assert P.classify(s) == "mixed"


def test_classify_skyrmion_lattice_isolated_skyrmions_and_mixed():
    L = 64
    skx = P.skyrmion_lattice(L, 3, 2)
    assert float(topological_charge(skx)) == pytest.approx(-12)
    assert P.classify(skx, 1.0, 0.3) == "skyrmion_lattice"
    one = states.skyrmion(L, 6.0)  # one skyrmion in 64 x 64: 0.13 of close packing
    assert float(topological_charge(one)) == pytest.approx(-1)
    assert P.classify(one, 1.0, 0.3) == "isolated_skyrmions"
    # a dense set of skyrmions in one row along x: one star direction only -> mixed
    row = np.concatenate([P.skyrmion_lattice(L, 6, 1)[:, :L // 2], states.ferromagnet(L)[:, L // 2:]], axis=1)
    assert round(abs(float(topological_charge(row)))) == 6
    assert P.classify(row, 1.0, 0.3) == "mixed"
    # skyrmions half the lattice, a spiral the other half: charge, but no triangular star
    half = np.concatenate([P.skyrmion_lattice(L, 3, 2)[:, :L // 2], states.spiral(L, 3)[:, L // 2:]], axis=1)
    half /= np.linalg.norm(half, axis=0)
    assert abs(float(topological_charge(half))) >= 1
    assert P.classify(half, 1.0, 0.3) in ("mixed", "skyrmion_lattice")


def test_skyrmion_lattice_geometry():
    s = P.skyrmion_lattice(48, 2, 1)
    assert s.shape == (3, 48, 48)
    assert np.allclose(np.linalg.norm(s, axis=0), 1)
    assert float(topological_charge(s)) == pytest.approx(-4)
    with pytest.raises(ValueError, match="n_x"):
        P.skyrmion_lattice(48, 0, 1)


def test_arrangements_are_nearly_triangular_and_near_the_ideal_spacing():
    L, J, D = 128, 1.0, 0.3
    arr = P.skyrmion_lattice_arrangements(L, J, D, max_strain=0.16)
    assert (5, 3) in arr and (6, 3) in arr and (4, 2) in arr
    a_star = 4 * np.pi / (np.sqrt(3) * np.arctan(D / J))
    for nx, ny in arr:
        assert abs(nx / (np.sqrt(3) * ny) - 1) <= 0.16
        assert 0.6 <= np.sqrt(L * L / (np.sqrt(3) * nx * ny)) / a_star <= 1.6
    assert P.skyrmion_lattice_arrangements(L, J, D, max_strain=0.05) == [(5, 3), (7, 4)]


def test_lattice_strain_is_zero_for_triangular_lattices_and_the_anisotropy_of_centred_cells():
    for angle in (0.0, 0.3, 1.0):
        rot = np.array([[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]])
        u, w = rot @ [7.0, 0.0], rot @ [3.5, 7.0 * math.sqrt(3) / 2]
        assert P.lattice_strain(u, w) == pytest.approx(0.0, abs=1e-12)
        assert P.lattice_strain(u, u + w) == pytest.approx(0.0, abs=1e-12)  # another basis, the same lattice
    L = 128
    for n_x, n_y in [(2, 1), (5, 3), (4, 3), (3, 1)]:
        s = (L / (2 * n_y)) / (math.sqrt(3) / 2 * L / n_x) - 1  # the anisotropy of skyrmion_lattice_arrangements
        centred = P.lattice_strain([L / n_x, 0.0], [L / n_x / 2, L / (2 * n_y)])
        assert centred == pytest.approx(max(1 + s, 1 / (1 + s)) - 1, rel=1e-12)


def test_commensurate_lattices_are_periodic_and_include_the_centred_cells():
    L, J, D = 64, 1.0, 0.3
    lattices = P.commensurate_skyrmion_lattices(L, J, D, max_strain=1.0, period_range=(0.7, 1.4))
    a_star = 4 * np.pi / (np.sqrt(3) * np.arctan(D / J))
    for name, c in lattices.items():
        N, a, d, k = (int(v) for v in name.split("_"))
        assert c.shape == (N, 2) and a * d == N and 0 <= k < a
        assert 0.7 <= np.sqrt(2 * L * L / (np.sqrt(3) * N)) / a_star <= 1.4
        # a lattice: every difference of centres maps the set onto itself on the torus
        for shift in c[1:3] - c[0]:
            moved = np.sort(np.round((c + shift) % L, 6), axis=0)
            assert np.allclose(moved, np.sort(np.round(c % L, 6), axis=0))
        state = P.skyrmions_at(L, c, 3.0)
        assert float(topological_charge(state)) == pytest.approx(-N, abs=1e-6)
    assert "4_2_2_1" in lattices and "9_3_3_1" in lattices and "6_2_3_1" in lattices
    # every nearly triangular centred cell is among them, with its strain
    near = P.commensurate_skyrmion_lattices(128, J, D)
    strains = {name: P.lattice_strain(*_basis(name, 128)) for name in near}
    for n_x, n_y in P.skyrmion_lattice_arrangements(128, J, D):
        assert any(int(name.split("_")[0]) == 2 * n_x * n_y and strains[name] <= 0.16 + 1e-12 for name in near)
    assert all(s <= 0.16 + 1e-12 for s in strains.values())
    # lattices that differ by a symmetry of the box appear once: no two share N and their shortest vectors
    def shape(name):
        u, w = (np.array(v) for v in _basis(name, 128))
        return (name.split("_")[0],) + tuple(sorted({round(float(np.linalg.norm(i * u + j * w)), 4)
                                                    for i in range(-2, 3) for j in range(-2, 3) if i or j})[:3])
    assert len({shape(name) for name in near}) == len(near)


def _basis(name: str, L: int) -> tuple[list[float], list[float]]:
    N, a, d, k = (int(v) for v in name.split("_"))
    return [L / a, 0.0], [k * L / (a * d), L / d]


@pytest.mark.parametrize("dmi, expected", [("interfacial", math.pi), ("bulk", math.pi / 2)])
def test_favoured_helicity_is_the_lowest_of_the_four(dmi, expected):
    m = ChiralMagnet(L=48, D=0.3, dmi=dmi)
    h = P.favoured_helicity(m, (2, 1))
    assert h in (expected, expected + math.pi) if dmi == "bulk" else h == pytest.approx(expected)
    e = {hh: energy_per_spin(P.skyrmion_lattice(48, 2, 1, helicity=hh), m) for hh in (0, math.pi / 2, math.pi)}
    assert energy_per_spin(P.skyrmion_lattice(48, 2, 1, helicity=h), m) <= min(e.values()) + 1e-12


def test_candidates_match_closed_forms():
    """Unrelaxed ferromagnet: -2J - K - B_z; every spiral: commensurate_spiral_energy (field averages out)."""
    m = ChiralMagnet(L=32, J=1.0, D=0.3, B=(0, 0, 0.05))
    cands = P.candidate_states(m)
    assert energy_per_spin(cands["ferromagnet"], m) == pytest.approx(-2.0 - 0.05, abs=1e-12)
    spirals = [k for k in cands if k.startswith("spiral_")]
    assert len(spirals) == 3
    for k in spirals:
        n = tuple(int(v) for v in k.split("_")[1:])
        assert energy_per_spin(cands[k], m) == pytest.approx(commensurate_spiral_energy(m, n), abs=1e-12)
    # the first is the lowest commensurate spiral at zero field
    zero = ChiralMagnet(L=32, D=0.3)
    assert commensurate_spiral_energy(zero, P.spiral_candidates(m, 1)[0]) == pytest.approx(
        min(commensurate_spiral_energy(zero, (a, b)) for a in range(17) for b in range(a + 1) if a or b))
    assert any(k.startswith("skx_") for k in cands)
    assert {P.family(k) for k in cands} == {"ferromagnet", "spiral", "skyrmion_lattice"}


def test_relaxed_candidates_at_zero_field_and_far_above_saturation():
    """B = 0: the spiral is lowest and already stationary (energy unchanged); B = 0.3 D-scale x 3: the ferromagnet."""
    m0 = ChiralMagnet(L=32, D=0.3)
    r = P.relax_candidates(m0, P.candidate_states(m0, n_spirals=1))
    spiral = next(k for k in r if k.startswith("spiral_"))
    assert r[spiral]["energy"] == pytest.approx(r[spiral]["initial_energy"], abs=1e-9)
    assert min(r, key=lambda k: r[k]["energy"]) == spiral
    assert r[spiral]["phase"] == "spiral"
    for v in r.values():
        assert v["energy"] <= v["initial_energy"] + 1e-12
    m1 = ChiralMagnet(L=32, D=0.3, B=(0, 0, 0.3))
    r = P.relax_candidates(m1, P.candidate_states(m1, n_spirals=1))
    best = min(r, key=lambda k: r[k]["energy"])
    assert r[best]["phase"] == "ferromagnet"
    assert r[best]["energy"] == pytest.approx(-2.3, abs=1e-9)


def test_phase_boundaries_and_crossing():
    fields = [0.0, 0.01, 0.02, 0.03, 0.04]
    assert P.phase_boundaries(fields, ["spiral", "spiral", "skyrmion_lattice", "skyrmion_lattice", "ferromagnet"]) \
        == {"B_c1": 0.02, "B_c2": 0.04}
    assert P.phase_boundaries(fields, ["spiral", "ferromagnet", "spiral", "spiral", "spiral"]) \
        == {"B_c1": None, "B_c2": 0.01}
    assert P.phase_boundaries(fields, ["spiral"] * 5) == {"B_c1": None, "B_c2": None}
    with pytest.raises(ValueError, match="increasing"):
        P.phase_boundaries([0.1, 0.0], ["spiral", "spiral"])
    assert P.crossing_field([0, 1, 2], [0, 0, 0], [1, 0.5, -0.5]) == pytest.approx(1.5)
    assert P.crossing_field([0, 1], [0, 0], [1, 1]) is None
    assert P.crossing_field([0, 1, 2, 3], [0, np.inf, 0, 0], [1, 0, 0.5, -0.5]) == pytest.approx(2.5)
