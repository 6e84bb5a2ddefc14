"""Saddle check: lowest eigenvalues of the energy Hessian on the tangent space of ``(S^2)^N``.

A relaxed climbing image of :func:`latentopt.optimizers.neb.run_neb` is a first-order saddle
point when the Riemannian Hessian of the energy there has exactly one negative eigenvalue
(Bessarab, Uzdin, Jonsson, Comp. Phys. Commun. 196, 335 (2015), Eq. 12). :func:`tangent_hessian`
applies that Hessian through autograd Hessian-vector products and finds its lowest eigenvalues
with Lanczos (``scipy.sparse.linalg.eigsh``; :func:`_eigsh_lowest` recovers degenerate copies)
or, for small systems, densely.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from latentopt.physics import spheres

from .neb_path import EnergyFn

__all__ = ["HessianResult", "tangent_hessian"]


def _eigsh_lowest(matvec, n: int, k: int, tol: float, seed: int, max_passes: int = 4):
    """Lowest ``k`` eigenpairs of a symmetric operator with ``eigsh``, robust to degenerate eigenvalues.

    Lanczos (ARPACK) can return a degenerate eigenvalue fewer times than its multiplicity.
    After the first pass the found vectors ``Q`` are shifted out of the way, ``H + c Q Q^T``
    with ``c`` above the spectrum window, and ``eigsh`` runs again; eigenvalues below the
    current ``k``-th are merged in. Repeats until a pass finds nothing new.
    """
    import scipy.sparse.linalg as sla

    rng = np.random.default_rng(seed)
    ncv = min(n, max(4 * k, 40))
    op = sla.LinearOperator((n, n), matvec=matvec, dtype=np.float64)
    w, V = sla.eigsh(op, k=k, which="SA", tol=tol, v0=rng.standard_normal(n), ncv=ncv)
    for _ in range(max_passes):
        order = np.argsort(w)
        w, V = w[order], V[:, order]
        Q, _ = np.linalg.qr(V)
        shift = 2.0 * (abs(w[-1]) + abs(w[0])) + 1.0

        def shifted(x, Q=Q, shift=shift):
            return matvec(x) + shift * (Q @ (Q.T @ x))

        op2 = sla.LinearOperator((n, n), matvec=shifted, dtype=np.float64)
        w2, V2 = sla.eigsh(op2, k=k, which="SA", tol=tol, v0=rng.standard_normal(n), ncv=ncv)
        new = w2 < w[-1] - max(tol, 1e-10) * max(1.0, abs(w[-1]))
        if not new.any():
            break
        W2 = V2[:, new] - Q @ (Q.T @ V2[:, new])
        W2 /= np.linalg.norm(W2, axis=0, keepdims=True)
        w = np.concatenate([w, w2[new]])
        V = np.concatenate([V, W2], axis=1)
        order = np.argsort(w)[:k]
        w, V = w[order], V[:, order]
    order = np.argsort(w)
    return w[order], V[:, order]


@dataclass
class HessianResult:
    """Lowest eigenvalues of the energy Hessian on the tangent space of ``(S^2)^N``.

    Attributes
    ----------
    eigenvalues : ndarray, shape (k,)
        Ascending (energy per radian^2).
    eigenvectors : ndarray, shape (k, 3, *sites)
        As tangent vectors in the embedding (unit norm).
    negative_modes : int
        Eigenvalues below ``-threshold``.
    threshold : float
    """

    eigenvalues: np.ndarray
    eigenvectors: np.ndarray
    negative_modes: int
    threshold: float


def tangent_hessian(energy_fn: EnergyFn, state: torch.Tensor, k: int = 6, threshold: float = 1e-5,
                    tol: float = 1e-10, dense_below: int = 400, seed: int = 0) -> HessianResult:
    """Lowest eigenvalues of the Riemannian Hessian of the energy at ``state``.

    On the product of spheres the Hessian acting on a tangent vector ``v`` is
    ``H v = P_S(d^2E v) - (s_i . dE/ds_i) v_i`` spin by spin (the second term is the curvature
    of the sphere, the Lagrange-multiplier term of Bessarab et al. 2015, Eq. 12; Absil,
    Mahony, Sepulchre, "Optimization algorithms on matrix manifolds", Eq. 5.39). It is
    expressed in the orthonormal basis :func:`latentopt.physics.spheres.tangent_basis`
    (2 dof per spin), applied through autograd Hessian-vector products, and its lowest
    eigenvalues are found with ``scipy.sparse.linalg.eigsh`` (``which="SA"``) on a
    ``LinearOperator`` (dense ``numpy.linalg.eigh`` when ``2N <= dense_below``); extra
    deflated passes recover copies of degenerate eigenvalues that a single Lanczos run misses.
    A first-order saddle point has exactly one negative eigenvalue.

    Parameters
    ----------
    energy_fn : callable
        ``(N, 3, *sites) -> (N,)``.
    state : Tensor, shape (3, *sites)
        Unit spins (float64 recommended).
    k : int
        Number of eigenvalues.
    threshold : float
        Count eigenvalues below ``-threshold`` as negative modes.
    tol : float
        ``eigsh`` tolerance.
    seed : int
        Seed of the ``eigsh`` start vector.

    Returns
    -------
    HessianResult
    """
    if state.ndim < 1 or state.shape[0] != 3:
        raise ValueError(f"state: expected (3, *sites), got {tuple(state.shape)}")
    s = spheres.normalize(state.detach().unsqueeze(0))
    e1, e2 = spheres.tangent_basis(s)
    x = s.clone().requires_grad_(True)
    (g,) = torch.autograd.grad(energy_fn(x).sum(), x, create_graph=True)
    sg = spheres.dot(s, g.detach())
    n = 2 * s[0, 0].numel()
    shape = s.shape

    def matvec(c: np.ndarray) -> np.ndarray:
        c = torch.as_tensor(np.asarray(c).reshape(2, -1), dtype=s.dtype, device=s.device)
        site_shape = (1, 1) + tuple(shape[2:])
        vec = c[0].reshape(site_shape) * e1 + c[1].reshape(site_shape) * e2
        (hv,) = torch.autograd.grad(g, x, grad_outputs=vec, retain_graph=True)
        hv = hv - sg * vec
        return torch.cat([spheres.dot(hv, e1).reshape(-1), spheres.dot(hv, e2).reshape(-1)]).cpu().numpy()

    k = int(min(k, n))
    if n <= dense_below or k >= n - 1:
        H = np.stack([matvec(col) for col in np.eye(n)], axis=1)
        w, V = np.linalg.eigh(0.5 * (H + H.T))
        w, V = w[:k], V[:, :k]
    else:
        w, V = _eigsh_lowest(matvec, n, k, tol, seed)
    vecs = []
    for j in range(k):
        c = torch.as_tensor(V[:, j].reshape(2, -1), dtype=s.dtype)
        vec = c[0].reshape(shape[2:]) * e1[0] + c[1].reshape(shape[2:]) * e2[0]
        vecs.append(vec.cpu().numpy())
    return HessianResult(eigenvalues=np.asarray(w), eigenvectors=np.stack(vecs),
                         negative_modes=int((w < -threshold).sum()), threshold=float(threshold))
