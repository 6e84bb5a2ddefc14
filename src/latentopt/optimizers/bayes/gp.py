"""The Gaussian-process surrogate of zBO and its posterior over a finite candidate set.

The surrogate is scikit-optimize's :class:`skopt.learning.GaussianProcessRegressor` with a
Matern-5/2 ARD kernel times a constant, plus a white-noise term, ``normalize_y``, on inputs
scaled to the unit box (:func:`make_gp`, :func:`unit_box`; Biswas et al. 2023, Table 1).

Between two maximum-likelihood refits of the hyper-parameters the posterior over all
candidates is kept incrementally (:class:`_IncrementalPosterior`): after a refit the
Cholesky factor ``L`` of the training covariance and the whitened cross-covariance
``V = L^-1 K(X, X_cand)`` are computed once; every new observation borders ``L`` by one row
and ``V`` by one row (O(n M) instead of the O(n^2 M) triangular solve of
:func:`gp_posterior`), and the posterior variance is ``k(x, x) - sum_rows V^2``, kept as a
running sum. The result equals a fresh fit with the same hyper-parameters to rounding
(tested to 1e-10) and makes the same choices. The incremental posterior is a function of the
hyper-parameters, the observations at the last refit and the observations added since, so a
resumed run rebuilds it exactly.
"""

from __future__ import annotations

import math
import warnings
from typing import Callable

import numba
import numpy as np
from scipy.linalg import cholesky, solve_triangular
from skopt.learning import GaussianProcessRegressor
from skopt.learning.gaussian_process.kernels import ConstantKernel, Matern, WhiteKernel
from sklearn.exceptions import ConvergenceWarning


def make_gp(n_dims: int, seed: int, n_restarts: int = 2) -> GaussianProcessRegressor:
    """The surrogate: ``C * Matern(nu=2.5, ARD) + White`` on inputs scaled to the unit box."""
    kernel = (ConstantKernel(1.0, (1e-3, 1e3)) * Matern(np.full(n_dims, 0.2), (1e-3, 1e2), nu=2.5)
              + WhiteKernel(1e-4, (1e-6, 1e-1)))
    # noise="gaussian" makes scikit-optimize keep the fitted white-noise level in ``noise_`` and zero it in
    # ``kernel_`` (noise-free predictions); the WhiteKernel above is reused, not duplicated
    return GaussianProcessRegressor(kernel=kernel, normalize_y=True, n_restarts_optimizer=n_restarts,
                                    random_state=seed, noise="gaussian")


def unit_box(candidates: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
    """Affine map of the candidates' bounding box onto ``[0, 1]^d`` (GP inputs)."""
    lo, hi = candidates.min(axis=0), candidates.max(axis=0)
    span = np.where(hi > lo, hi - lo, 1.0)
    return lambda z: (np.asarray(z, dtype=np.float64) - lo) / span


def _fit(gp: GaussianProcessRegressor, X: np.ndarray, y: np.ndarray, theta: np.ndarray | None,
         optimize: bool) -> GaussianProcessRegressor:
    """Fit ``gp`` to ``X (n, d)``, ``y (n,)``, ConvergenceWarnings silenced.

    ``theta`` (log hyper-parameters, as :func:`fitted_theta` returns them), when given, replaces
    the kernel's values and turns off the random restarts; ``optimize`` chooses between a
    maximum-likelihood fit (L-BFGS-B, starting from the kernel's values) and hyper-parameters
    kept fixed. Returns ``gp``, fitted.
    """
    if theta is not None:
        gp.kernel = gp.kernel.clone_with_theta(theta)
        gp.n_restarts_optimizer = 0
    gp.optimizer = "fmin_l_bfgs_b" if optimize else None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return gp.fit(X, y)


def fitted_theta(gp: GaussianProcessRegressor) -> np.ndarray:
    """Log hyper-parameters of a fitted :func:`make_gp` model, noise level included.

    scikit-optimize zeroes the white-noise level in ``kernel_`` after fitting (so that
    predictions are noise-free) and keeps the fitted value in ``noise_``; it is put back
    here so the hyper-parameters can seed the next fit.
    """
    with np.errstate(divide="ignore"):  # the zeroed noise level is log(0) in kernel_.theta
        theta = gp.kernel_.theta.copy()
    theta[-1] = np.log(max(gp.noise_ or 1e-10, 1e-10))
    return theta


def _fixed_fit_theta(kernel, theta: np.ndarray) -> np.ndarray:
    """What :func:`fitted_theta` returns after ``_fit(gp, X, y, theta, optimize=False)``, without fitting.

    The kernel stores ``exp(theta)`` and reports ``log`` of it (and the noise level at least
    1e-10), so the round trip may move ``theta`` by an ulp; repeating it keeps the
    hyper-parameters of the next refit's starting point identical to a refit-every-iteration run.
    """
    k = kernel.clone_with_theta(theta)
    with np.errstate(divide="ignore"):
        out = k.theta.copy()
    out[-1] = np.log(max(float(k.k2.noise_level) or 1e-10, 1e-10))
    return out


def gp_posterior(gp: GaussianProcessRegressor, X: np.ndarray, chunk: int = 4096) -> tuple[np.ndarray, np.ndarray]:
    """Posterior mean and standard deviation of a fitted GP at ``X (m, d)``.

    Equal to ``gp.predict(X, return_std=True)`` (tested) but faster and numerically
    stabler: the variance is ``k(x, x) - |L^-1 k_*|^2`` with the Cholesky factor ``L`` of
    the training covariance (scikit-optimize multiplies by an explicit inverse in a
    three-operand ``einsum``), and the cross-covariance of the :func:`make_gp` kernel is a
    parallel numba kernel. Rows are processed in chunks of ``chunk``. The noise term is
    excluded (scikit-optimize zeroes the white kernel after fitting), so ``std`` is the
    uncertainty of the latent function.

    Returns
    -------
    mean, std : ndarray, shape (m,)
    """
    X = np.asarray(X, dtype=np.float64)
    mean, std = np.empty(len(X)), np.empty(len(X))
    for a in range(0, len(X), chunk):
        x = X[a:a + chunk]
        K_trans = _cross_covariance(gp.kernel_, x, gp.X_train_)
        mean[a:a + chunk] = K_trans @ gp.alpha_
        v = solve_triangular(gp.L_, K_trans.T, lower=True, check_finite=False)
        var = gp.kernel_.diag(x) - np.einsum("ij,ij->j", v, v)
        std[a:a + chunk] = np.sqrt(np.clip(var, 0.0, None))
    return gp.y_train_std_ * mean + gp.y_train_mean_, std * gp.y_train_std_


def _matern52_parameters(kernel, n_dims: int) -> tuple[float, np.ndarray] | None:
    """``(C, length_scales (n_dims,))`` of a :func:`make_gp` kernel ``C * Matern(nu=2.5) + White``, else None."""
    try:
        const, matern, white = kernel.k1.k1, kernel.k1.k2, kernel.k2
        ok = isinstance(white, WhiteKernel) and isinstance(const, ConstantKernel) and matern.nu == 2.5
    except AttributeError:
        return None
    if not ok:
        return None
    ls = np.broadcast_to(np.asarray(matern.length_scale, dtype=np.float64), (n_dims,)).copy()
    return float(const.constant_value), ls


def _matern52_matrix(a: np.ndarray, b: np.ndarray, c: float, ls: np.ndarray) -> np.ndarray:
    """``C M(a, b)``, shape ``(len(a), len(b))``, by the numba kernel :func:`_matern52`."""
    out = np.empty((len(a), len(b)))
    _matern52(np.ascontiguousarray(a), np.ascontiguousarray(b), ls, c, out)
    return out


def _cross_covariance(kernel, x: np.ndarray, X_train: np.ndarray) -> np.ndarray:
    """``kernel(x, X_train)``; the numba path for ``C * Matern(nu=2.5) + White``, else the kernel itself."""
    params = _matern52_parameters(kernel, x.shape[1])
    if params is None:
        return kernel(x, X_train)
    return _matern52_matrix(x, X_train, *params)


@numba.njit(cache=True, parallel=True)
def _matern52(x, X, ls, c, out):
    """``out[i, j] = c (1 + r + r^2 / 3) exp(-r)``, ``r = sqrt(5) |(x_i - X_j) / ls|`` (Rasmussen & Williams Eq. 4.17)."""
    for i in numba.prange(x.shape[0]):
        for j in range(X.shape[0]):
            s = 0.0
            for k in range(x.shape[1]):
                t = (x[i, k] - X[j, k]) / ls[k]
                s += t * t
            r = math.sqrt(5.0 * s)
            out[i, j] = c * (1.0 + r + r * r / 3.0) * math.exp(-r)


class _IncrementalPosterior:
    """GP posterior over a fixed candidate set, extended one observation at a time.

    The model is :func:`make_gp`'s ``C * Matern(nu=2.5) + White(noise)`` with the nugget
    ``alpha`` of the regressor, at fixed log hyper-parameters ``theta`` (as
    :func:`fitted_theta` returns them). With the training covariance
    ``K = C M(X, X) + (noise + alpha) I = L L^T`` and ``V = L^-1 C M(X, X_cand)``
    (rows: observations, columns: candidates), a new observation at candidate ``i``
    borders the factor (Rasmussen & Williams 2006, App. A.4; Golub & Van Loan, Sec. 4.2):

        l = V[:, i],  d = sqrt(C + noise + alpha - l.l),  L <- [[L, 0], [l^T, d]]
        V <- [[V], [(C M(x_i, X_cand) - l^T V) / d]]

    The posterior of the normalized targets (``normalize_y`` as scikit-learn: mean and
    population standard deviation of ``y``) is ``mean = V^T L^-1 y_n`` and ``var = C -
    sum_rows V^2``, the noise-free latent function as in :func:`gp_posterior`.

    Parameters
    ----------
    kernel : sklearn kernel
        A :func:`make_gp` kernel (its structure; the values come from ``theta``).
    theta : ndarray
        Log hyper-parameters ``(log C, log length_scales..., log noise)``.
    alpha : float
        The regressor's diagonal nugget.
    X : ndarray, shape (M, d)
        All candidates (GP inputs).
    observed : ndarray of int, shape (n0,)
        Candidates observed so far, in order; ``n0 >= 1``.
    capacity : int
        Maximum number of observations (rows preallocated).

    Raises
    ------
    ValueError
        If the kernel is not a :func:`make_gp` kernel.
    """

    def __init__(self, kernel, theta: np.ndarray, alpha: float, X: np.ndarray, observed: np.ndarray, capacity: int):
        k = kernel.clone_with_theta(theta)
        params = _matern52_parameters(k, X.shape[1])
        if params is None:
            raise ValueError("_IncrementalPosterior: expected a C * Matern(nu=2.5) + White kernel (make_gp)")
        self.c, self.ls = params
        self.diag = self.c + float(k.k2.noise_level) + float(alpha)
        self.X = np.ascontiguousarray(X, dtype=np.float64)
        observed = np.asarray(observed, dtype=np.int64)
        n0, M = len(observed), len(self.X)
        capacity = max(int(capacity), n0)
        Xo = self.X[observed]
        K = self._cov(Xo, Xo)
        K[np.diag_indices_from(K)] += self.diag - self.c
        self.L = np.zeros((capacity, capacity))
        self.L[:n0, :n0] = cholesky(K, lower=True, check_finite=False)
        self.V = np.empty((capacity, M))
        self.V[:n0] = solve_triangular(self.L[:n0, :n0], self._cov(Xo, self.X), lower=True, check_finite=False)
        self.colsq = np.einsum("ij,ij->j", self.V[:n0], self.V[:n0])
        self.n = n0

    def _cov(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return _matern52_matrix(a, b, self.c, self.ls)

    def add(self, i: int) -> None:
        """Condition on one more observation, at candidate ``i``."""
        n = self.n
        if n == len(self.L):
            raise ValueError("_IncrementalPosterior: capacity exhausted")
        l = self.V[:n, i].copy()  # noqa: E741
        d = math.sqrt(self.diag - float(l @ l))
        v = (self._cov(self.X[i:i + 1], self.X)[0] - l @ self.V[:n]) / d
        self.L[n, :n], self.L[n, n] = l, d
        self.V[n] = v
        self.colsq += v * v
        self.n = n + 1

    def posterior(self, y: np.ndarray, columns: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Posterior mean and standard deviation at candidates ``columns`` given targets ``y (n,)`` (original units)."""
        y = np.asarray(y, dtype=np.float64)
        mu = float(np.mean(y))
        sd = float(np.std(y))
        sd = 1.0 if sd < 10 * np.finfo(np.float64).eps else sd
        w = solve_triangular(self.L[:self.n, :self.n], (y - mu) / sd, lower=True, check_finite=False)
        mean = (w @ self.V[:self.n])[columns]
        var = self.c - self.colsq[columns]
        return sd * mean + mu, np.sqrt(np.clip(var, 0.0, None)) * sd
