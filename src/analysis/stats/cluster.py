"""Cluster-robust inference for few clusters: CR1, CR2 with Bell–McCaffrey degrees of freedom,
the CV3 cluster jackknife and the restricted wild cluster bootstrap (WCR), in plain numpy.

The fixed-effects model of :func:`analysis.stats.panel_regression` is refitted here in a form
that keeps every small-sample correction exact:

- effects **nested in the clusters** (entity effects, with clusters = entities) are absorbed by
  demeaning within entity — dropping a cluster drops its effects, so nothing is lost;
- effects **not nested** in the clusters (period effects) stay in the design as explicit
  dummies (entity-demeaned when entity effects are absorbed), exactly as clubSandwich's
  ``augmented_model_matrix`` does for a two-way ``plm`` model clustered by individual.

Call the design ``U = [X, S]`` (slopes first, then the period dummies or the intercept). By
Frisch–Waugh the slope block of every quantity below equals the one of the full dummy-variable
regression, including the leverages ``H_gg`` of the clusters (the absorbed nested effects do not
change CR2, Pustejovsky & Tipton 2018, Theorem 2).

Methods (``G`` clusters, ``e`` the OLS residuals, ``M = (U'U)^-1``):

- ``cr1``: ``c * M (sum_g U_g'e_g e_g'U_g) M`` with the factor ``c`` given by the caller
  (``panel_regression`` passes its own, today's default); t(G-1).
- ``cr2``: ``M (sum_g U_g'A_g e_g e_g'A_g U_g) M`` with ``A_g = (I - H_gg)^(-1/2)`` (symmetric
  pseudo-inverse square root, eigenvalues below 1e-12 dropped, as clubSandwich), working model
  ``Omega = I``; no further factor. Degrees of freedom per coefficient: the Bell–McCaffrey /
  Imbens–Kolesár Satterthwaite approximation ``(sum lambda)^2 / sum lambda^2`` over the
  eigenvalues of ``G'G`` with ``G = (I - H) [blockdiag_g A_g U_g M c]`` (clubSandwich's
  ``coef_test(..., test = "Satterthwaite")``).
- ``cv3``: ``(G-1)/G * sum_g (b_(g) - b)(b_(g) - b)'`` where ``b_(g)`` refits the model without
  cluster g and the centre ``b`` is the full-sample estimate beta-hat (MacKinnon, Nielsen & Webb's
  CV3, summclust's ``CRV3``; pyfixest's CRV3 before its own small-sample factor). Centring on the
  mean of the jackknife estimates (summclust's ``CRV3J``) gives a matrix smaller by
  ``(G-1)(bbar - b)(bbar - b)'``; ``center="mean"`` selects it. t(G-1).
- ``wild``: restricted wild cluster bootstrap-t (WCR, as Stata/R ``boottest``): for each
  coefficient the null ``beta_j = 0`` is imposed, the restricted residuals are multiplied by one
  weight per cluster, and the CR1 t statistic is recomputed; the p-value is the share of
  bootstrap ``|t*|`` at least the observed ``|t|`` (symmetric). Weights: Rademacher, or Webb's
  six-point weights when G < 12; every one of the 2^G Rademacher or 6^G Webb weight vectors is
  used when there are at most twice as many as the draws (then the p-value is exact for the
  bootstrap; the constant vectors reproduce the observed |t|, so it is at least 2/2^G or 6/6^G:
  :func:`bootstrap_p_floor`). The reported
  standard error is the bootstrap-t one: CR1 SE * q*/t(G-1, 1-(1-level)/2), where q* is the
  level-quantile of ``|t*|``; with df = G-1 the usual interval ``est ± t * se`` is then the
  bootstrap-t interval ``est ± q* * SE_CR1``.

- ``wild_cv3``: the same restricted wild cluster bootstrap of the CV3 t statistic (each bootstrap
  sample's slope over its own CV3 SE, centred on its estimate; MacKinnon, Nielsen & Webb 2023
  bootstrap jackknife-studentized statistics). Every leave-one-cluster-out slope is linear in the
  outcome, so the bootstrap's jackknife slopes come from G × G products, without refits. The
  reported SE is CV3 SE * q*/t(G-1, 1-(1-level)/2); the observed t is CV3's.

A leave-one-cluster-out fit that cannot identify a coefficient (its regressor does not vary
without that cluster, or the reduced design is singular) makes that coefficient's CV3 standard
error and p-value NaN, ``identified`` False and names the clusters in ``notes``: never a silent
non-rejection.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy import stats

from analysis.errors import InputError

INFERENCE_METHODS = ("cr1", "cr2", "cv3", "wild", "wild_cv3")
INFERENCE_LABELS = {
    "cr1": "CR1, t(G-1)",
    "cr2": "CR2, Bell-McCaffrey df",
    "cv3": "CV3 cluster jackknife, t(G-1)",
    "wild": "wild cluster bootstrap (restricted)",
    "wild_cv3": "wild cluster bootstrap of the CV3 t (restricted)",
}
WEBB_BELOW = 12
MIN_DRAWS = 999
_EIG_TOL = 1e-12
_ID_TOL = 1e-8

_WEBB = np.array([-np.sqrt(1.5), -1.0, -np.sqrt(0.5), np.sqrt(0.5), 1.0, np.sqrt(1.5)])


@dataclass
class ClusterInference:
    """Per-coefficient results of :func:`cluster_inference` (arrays of length ``n_terms``)."""

    method: str
    estimate: np.ndarray
    std_error: np.ndarray
    statistic: np.ndarray
    df: np.ndarray
    p_value: np.ndarray
    ci_low: np.ndarray
    ci_high: np.ndarray
    identified: np.ndarray
    notes: list[str]
    label: str
    n_clusters: int
    details: dict = field(default_factory=dict)


def _groups(cluster: np.ndarray) -> list[np.ndarray]:
    codes, _ = _factorize(cluster)
    order = np.argsort(codes, kind="stable")
    bounds = np.flatnonzero(np.diff(codes[order])) + 1
    return np.split(order, bounds)


def _factorize(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    labels, codes = np.unique(np.asarray(values), return_inverse=True)
    return codes.ravel(), labels


def _inv_sqrt_psd(a: np.ndarray) -> np.ndarray:
    lam, vec = np.linalg.eigh(a)
    inv = np.where(lam > _EIG_TOL, 1.0 / np.sqrt(np.clip(lam, _EIG_TOL, None)), 0.0)
    return (vec * inv) @ vec.T


#: Enumerate every weight vector (the exact bootstrap distribution instead of draws from it) when
#: there are at most this many times the requested draws: Rademacher up to G = 10, Webb up to
#: G = 4 with 999 draws (1,296 vectors).
ENUMERATE_FACTOR = 2
#: Weight vectors whose bootstrap sample reproduces the observed |t| exactly, whatever the data:
#: the constant ones (every cluster the same weight c gives y* = fitted_r + c * resid_r, whose slope
#: and every leave-one-out slope are c times the observed ones).
_CONSTANT_VECTORS = {"rademacher": 2, "webb": 6}


def _n_vectors(n_clusters: int, weights: str) -> int:
    return (2 if weights == "rademacher" else 6) ** int(n_clusters)


def bootstrap_weights(
    n_clusters: int, n_draws: int, weights: str, rng: np.random.Generator
) -> tuple[np.ndarray, bool]:
    """Cluster weights, shape (G, B), and whether they enumerate every weight vector (all 2^G
    Rademacher or 6^G Webb vectors, when there are at most ``ENUMERATE_FACTOR`` × ``n_draws``;
    ``rng`` is then not used)."""
    if _n_vectors(n_clusters, weights) <= ENUMERATE_FACTOR * n_draws:
        points = np.array([-1.0, 1.0]) if weights == "rademacher" else _WEBB
        digits = np.indices((len(points),) * n_clusters).reshape(n_clusters, -1)
        return points[digits], True
    if weights == "rademacher":
        return rng.choice(np.array([-1.0, 1.0]), size=(n_clusters, n_draws)), False
    return rng.choice(_WEBB, size=(n_clusters, n_draws)), False


def bootstrap_p_floor(n_clusters: int, n_draws: int = MIN_DRAWS, weights: str = "auto") -> float:
    """The smallest p-value the restricted wild cluster bootstrap (``wild``, ``wild_cv3``) can give
    with ``n_clusters`` clusters: when every weight vector is enumerated, the constant vectors
    (2 Rademacher, 6 Webb) reproduce the observed |t|, so p >= their share of the vectors (Webb:
    6/216 = 0.028 with 3 clusters, 6/1296 = 0.0046 with 4); with random draws 0 (p moves in steps of
    1/``n_draws``). A level below it cannot be reached whatever the data.

    >>> round(bootstrap_p_floor(3), 4), round(bootstrap_p_floor(4), 4), bootstrap_p_floor(10)
    (0.0278, 0.0046, 0.0)
    """
    g = int(n_clusters)
    w = ("webb" if g < WEBB_BELOW else "rademacher") if weights == "auto" else weights
    count = _n_vectors(g, w)
    if count <= ENUMERATE_FACTOR * int(n_draws):
        return _CONSTANT_VECTORS[w] / count
    return 0.0


def _check_options(method: str, weights: str, center: str, n_boot: int) -> None:
    if method not in INFERENCE_METHODS:
        raise InputError(
            f"`inference` must be one of {list(INFERENCE_METHODS)}, but {method!r} was passed."
        )
    if weights not in ("auto", "rademacher", "webb"):
        raise InputError(
            f"`weights` must be 'auto', 'rademacher' or 'webb', but {weights!r} was passed."
        )
    if center not in ("estimate", "mean"):
        raise InputError(f"`center` must be 'estimate' or 'mean', but {center!r} was passed.")
    if method in ("wild", "wild_cv3") and n_boot < MIN_DRAWS:
        raise InputError(f"`n_boot` must be at least {MIN_DRAWS}, got {n_boot}.")


def cluster_inference(
    design: np.ndarray,
    y: np.ndarray,
    cluster: np.ndarray,
    *,
    n_terms: int,
    method: str,
    cr1_factor: float | None = None,
    confidence: float = 0.95,
    n_boot: int = MIN_DRAWS,
    weights: str = "auto",
    seed: int | np.random.Generator | None = None,
    center: str = "estimate",
    cluster_labels: np.ndarray | None = None,
) -> ClusterInference:
    """Cluster-robust standard errors, degrees of freedom and p-values for OLS on ``design``.

    Parameters
    ----------
    design : ndarray, shape (n, p)
        ``U = [X, S]``: the ``n_terms`` coefficients of interest first, then nuisance columns
        (period dummies, intercept). Fixed effects nested in the clusters must already be
        removed by demeaning (see the module docstring).
    y : ndarray, shape (n,)
        Outcome, transformed as the design.
    cluster : ndarray, shape (n,)
        Cluster of each row.
    n_terms : int
        How many leading columns get results.
    method : {"cr1", "cr2", "cv3", "wild", "wild_cv3"}
        See the module docstring.
    cr1_factor : float, optional
        Factor applied to the CR1 matrix (also inside the wild bootstrap's t, where it cancels);
        default ``G/(G-1) * (n-1)/(n-p)``.
    confidence : float
        Level of the intervals.
    n_boot : int
        Wild bootstrap draws (at least 999).
    weights : {"auto", "rademacher", "webb"}
        Wild bootstrap weights; ``auto`` is Webb below 12 clusters, Rademacher otherwise.
    seed : int or numpy.random.Generator, optional
        Randomness of the wild bootstrap (the same draws serve every coefficient).
    center : {"estimate", "mean"}
        Centre of the CV3 jackknife.
    cluster_labels : ndarray, optional
        Names of the clusters (sorted as ``numpy.unique(cluster)``) for the notes.

    Returns
    -------
    ClusterInference
        ``method``; arrays over the first ``n_terms`` coefficients: ``estimate``,
        ``std_error``, ``statistic`` (t; for ``wild`` the CR1 t), ``df``, ``p_value``,
        ``ci_low``, ``ci_high``, ``identified`` (False: some leave-one-cluster-out fit cannot
        identify it, CV3 only), ``notes`` (one string per coefficient, empty when none);
        ``label`` (the method in words), ``n_clusters``, ``details`` (wild: ``weights``,
        ``n_boot``, ``enumerated``, ``q_star``).

    Raises
    ------
    analysis.errors.InputError
        Unknown ``method``, ``weights`` or ``center``, fewer than 999 bootstrap draws, fewer
        than 2 clusters.

    Examples
    --------
    >>> import numpy as np
    >>> from analysis.stats import cluster_inference
    >>> rng = np.random.default_rng(0)
    >>> cluster = np.repeat(np.arange(12), 5)
    >>> x = rng.normal(size=60) + np.repeat(rng.normal(size=12), 5)
    >>> design = np.column_stack([x, np.ones(60)])
    >>> y = 0.3 * x + rng.normal(size=60)
    >>> res = cluster_inference(design, y, cluster, n_terms=1, method="cr2")
    >>> res.label, bool(res.df[0] < 11)
    ('CR2, Bell-McCaffrey df, G=12', True)
    >>> wild = cluster_inference(design, y, cluster, n_terms=1, method="wild", seed=1, n_boot=9999)
    >>> wild.details["weights"], wild.details["enumerated"], wild.details["n_boot"]
    ('rademacher', True, 4096)
    """
    _check_options(method, weights, center, n_boot)
    u = np.asarray(design, dtype=float)
    yv = np.asarray(y, dtype=float)
    n, p = u.shape
    groups = _groups(np.asarray(cluster))
    g = len(groups)
    if g < 2:
        raise InputError(f"Cluster-robust inference needs at least 2 clusters; got {g}.")
    labels = cluster_labels if cluster_labels is not None else np.unique(np.asarray(cluster))
    uu = u.T @ u
    m = np.linalg.pinv(uu, hermitian=True)
    beta = m @ (u.T @ yv)
    e = yv - u @ beta
    k = int(n_terms)
    if cr1_factor is None:
        cr1_factor = g / (g - 1) * (n - 1) / (n - p)
    scores = _group_sums(u * e[:, None], groups)  # (G, p)
    v_cr1 = cr1_factor * m @ (scores.T @ scores) @ m
    se_cr1 = np.sqrt(np.diag(v_cr1)[:k])
    est = beta[:k]
    identified = np.ones(k, dtype=bool)
    notes = [""] * k
    details: dict = {}
    dfv = np.full(k, float(g - 1))
    level_q = stats.t.ppf(0.5 + confidence / 2, g - 1)

    if method == "cr1":
        se = se_cr1
    elif method == "cr2":
        se, dfv = _cr2(u, e, groups, m, k)
    elif method == "cv3":
        se, identified, notes = _cv3(u, yv, groups, uu, u.T @ yv, beta, k, center, labels)
    else:
        rng = np.random.default_rng(seed)
        wname = ("webb" if g < WEBB_BELOW else "rademacher") if weights == "auto" else weights
        vmat, enumerated = bootstrap_weights(g, int(n_boot), wname, rng)
        if method == "wild_cv3":
            se_t, identified, notes = _cv3(u, yv, groups, uu, u.T @ yv, beta, k, "estimate", labels)
            tstat = est / se_t
            pvals, qstar = _wild_cv3(u, yv, groups, uu, m, k, vmat, tstat, confidence)
            pvals[~identified] = np.nan
        else:
            se_t = se_cr1
            tstat = est / se_cr1
            pvals, qstar = _wild(u, yv, groups, m, k, cr1_factor, vmat, tstat, confidence)
        se = se_t * qstar / level_q
        details.update(
            weights=wname, n_boot=int(vmat.shape[1]), enumerated=bool(enumerated), q_star=qstar
        )
        ci_half = qstar * se_t
        return ClusterInference(
            method=method, estimate=est, std_error=se, statistic=tstat, df=dfv, p_value=pvals,
            ci_low=est - ci_half, ci_high=est + ci_half, identified=identified, notes=notes,
            label=_label(method, g, details), n_clusters=g, details=details,
        )  # fmt: skip
    tstat = est / se
    pvals = 2 * stats.t.sf(np.abs(tstat), dfv)
    q = stats.t.ppf(0.5 + confidence / 2, dfv)
    return ClusterInference(
        method=method, estimate=est, std_error=se, statistic=tstat, df=dfv, p_value=pvals,
        ci_low=est - q * se, ci_high=est + q * se, identified=identified, notes=notes,
        label=_label(method, g, details), n_clusters=g, details=details,
    )  # fmt: skip


def _label(method: str, g: int, details: dict) -> str:
    if method in ("wild", "wild_cv3"):
        how = (f"all {details['n_boot']} weight vectors" if details["enumerated"]
               else f"{details['n_boot']} draws")
        of = " of the CV3 t" if method == "wild_cv3" else ""
        return (f"wild cluster bootstrap{of} (restricted, {details['weights']} weights, {how}), "
                f"G={g}")
    return f"{INFERENCE_LABELS[method]}, G={g}"


def _cr2(
    u: np.ndarray, e: np.ndarray, groups: list[np.ndarray], m: np.ndarray, k: int
) -> tuple[np.ndarray, np.ndarray]:
    p = u.shape[1]
    meat = np.zeros((p, p))
    a_rows = []  # per cluster: A_g U_g M[:, :k], shape (n_g, k)
    for ix in groups:
        ug = u[ix]
        adj = _inv_sqrt_psd(np.eye(len(ix)) - ug @ m @ ug.T)
        s = ug.T @ (adj @ e[ix])
        meat += np.outer(s, s)
        a_rows.append(adj @ (ug @ m[:, :k]))
    v = m @ meat @ m
    se = np.sqrt(np.diag(v)[:k])
    # Bell-McCaffrey / Imbens-Kolesar df: B = Q'Q with Q = (I - H) blockdiag(a_g); since
    # U'U M = I this is B = diag(a_g'a_g) - R M R' with R_g = U_g' a_g.
    dfv = np.empty(k)
    for j in range(k):
        d = np.array([a[:, j] @ a[:, j] for a in a_rows])
        r = np.stack([u[ix].T @ a[:, j] for ix, a in zip(groups, a_rows, strict=True)])  # (G, p)
        b = np.diag(d) - r @ m @ r.T
        dfv[j] = np.trace(b) ** 2 / np.sum(b * b)
    return se, dfv


def _cv3(
    u: np.ndarray, y: np.ndarray, groups: list[np.ndarray], uu: np.ndarray, uy: np.ndarray,
    beta: np.ndarray, k: int, center: str, labels: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, list[str]]:  # fmt: skip
    """Leave-one-cluster-out refits by downdating ``U'U`` and ``U'y`` with each cluster's own
    cross-products (all clusters at once, stacked), never refitting from the rows."""
    g = len(groups)
    full_schur, _ = _schur(uu, uy, k)
    scale = np.sqrt(np.clip(np.diag(full_schur), 1e-300, None))
    # (G, p, p): U_g'U_g (n × p² memory avoided)
    cross = np.stack([u[ix].T @ u[ix] for ix in groups])
    cross_y = _group_sums(u * y[:, None], groups)  # (G, p): U_g'y_g
    schur, rhs = _schur(uu[None] - cross, uy[None] - cross_y, k)  # (G, k, k), (G, k)
    sn = schur / np.outer(scale, scale)
    pinv = np.linalg.pinv(sn, rcond=_ID_TOL, hermitian=True)
    estimable = np.abs((sn @ pinv) - np.eye(k)).max(axis=1) < 1e-6  # (G, k)
    b = (pinv @ (rhs / scale)[..., None])[..., 0] / scale
    jack = np.where(estimable, b, np.nan)
    lost = {j: [str(labels[i]) for i in np.flatnonzero(~estimable[:, j])] for j in range(k)}
    centre = beta[:k] if center == "estimate" else np.nanmean(jack, axis=0)
    dev = jack - centre
    var = (g - 1) / g * np.sum(dev**2, axis=0)
    identified = np.array([not lost[j] for j in range(k)])
    var[~identified] = np.nan
    notes = [
        f"loo_unidentified: without cluster(s) {', '.join(lost[j])} "
        "the coefficient is not identified"
        if lost[j] else ""
        for j in range(k)
    ]  # fmt: skip
    return np.sqrt(var), identified, notes


def _group_sums(a: np.ndarray, groups: list[np.ndarray]) -> np.ndarray:
    """Sums of the rows of ``a`` within each group (groups as from :func:`_groups`: row indices,
    in cluster order), shape ``(G, *a.shape[1:])``."""
    order = np.concatenate(groups)
    starts = np.cumsum([0] + [len(ix) for ix in groups[:-1]])
    return np.add.reduceat(a[order], starts, axis=0)


def _schur(a: np.ndarray, b: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Normal equations of the first k coefficients after partialling out the rest (one system,
    or a stack of them along the first axis)."""
    if a.shape[-1] == k:
        return a, b
    axx, axs, ass = a[..., :k, :k], a[..., :k, k:], a[..., k:, k:]
    pinv = np.linalg.pinv(ass, hermitian=True)
    proj = axs @ pinv
    return axx - proj @ np.swapaxes(axs, -1, -2), b[..., :k] - (proj @ b[..., k:, None])[..., 0]


def _wild(
    u: np.ndarray, y: np.ndarray, groups: list[np.ndarray], m: np.ndarray, k: int, factor: float,
    vmat: np.ndarray, tstat: np.ndarray, confidence: float,
) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """Restricted wild cluster bootstrap-t p-values and |t*| quantiles for the first k terms."""
    p = u.shape[1]
    pvals = np.full(k, np.nan)
    qstar = np.full(k, np.nan)
    cross = np.stack([u[ix].T @ u[ix] for ix in groups])  # (G, p, p)
    uu, uy = u.T @ u, u.T @ y
    # The (G, B) products go through einsum, not BLAS: a multithreaded BLAS spins its threads on
    # these small matrices (25x the CPU time of one thread on a loaded 2-core machine, measured)
    for j in range(k):
        keep = np.arange(p) != j
        # restricted fit from the normal equations (a QR of the n × p design per term cost more)
        br = np.linalg.pinv(uu[np.ix_(keep, keep)], hermitian=True) @ uy[keep]
        resid = y - u[:, keep] @ br  # restricted residuals
        z = _group_sums(u * resid[:, None], groups)  # (G, p)
        cj = m[j]  # row j of M
        a = z @ cj  # (G,)
        w = np.einsum("q,gqr,rs->gs", cj, cross, m)  # (G, p)
        numer = np.einsum("g,gb->b", a, vmat)  # beta*_j under the null, (B,)
        # per-cluster scores of coefficient j, (G, B)
        s = a[:, None] * vmat - np.einsum("gp,pb->gb", w, np.einsum("gp,gb->pb", z, vmat))
        se = np.sqrt(factor * np.einsum("gb,gb->b", s, s))
        with np.errstate(divide="ignore", invalid="ignore"):
            tb = numer / se
        tb = np.abs(tb[np.isfinite(tb)])
        tol = 1e-10 * max(1.0, abs(tstat[j]))
        pvals[j] = np.mean(tb >= abs(tstat[j]) - tol)
        qstar[j] = np.quantile(tb, confidence)
    return pvals, qstar


def _wild_cv3(
    u: np.ndarray, y: np.ndarray, groups: list[np.ndarray], uu: np.ndarray, m: np.ndarray, k: int,
    vmat: np.ndarray, tstat: np.ndarray, confidence: float,
) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """Restricted wild cluster bootstrap of the CV3 t statistic (each bootstrap sample's slope
    over its own CV3 SE, as MacKinnon, Nielsen & Webb 2023 bootstrap jackknife-studentized
    statistics): p-values and |t*| quantiles for the first k terms. Every leave-one-cluster-out
    slope is linear in the outcome, so with ``y* = fitted_r + v_g resid_r`` the bootstrap
    slope is ``sum_h v_h a_h`` and the slope without cluster g is ``alpha_g + sum_h v_h K_gh -
    v_g K_gg`` (``K_gh`` = row j of ``(U'U - U_g'U_g)^+`` times ``U_h' resid_h``): no refit."""
    g, p = len(groups), u.shape[1]
    pvals = np.full(k, np.nan)
    qstar = np.full(k, np.nan)
    cross = np.stack([u[ix].T @ u[ix] for ix in groups])  # (G, p, p)
    loo = np.linalg.pinv(uu[None] - cross, hermitian=True)  # (G, p, p)
    uy = u.T @ y
    for j in range(k):
        keep = np.arange(p) != j
        br = np.linalg.pinv(uu[np.ix_(keep, keep)], hermitian=True) @ uy[keep]
        fitted = u[:, keep] @ br
        z = _group_sums(u * (y - fitted)[:, None], groups)  # (G, p): U_h' resid_h
        c = _group_sums(u * fitted[:, None], groups)  # (G, p): U_h' fitted_h
        rows = loo[:, j, :]  # (G, p)
        alpha = np.einsum("gp,gp->g", rows, c.sum(axis=0)[None] - c)
        kmat = rows @ z.T  # (G, G)
        a = z @ m[j]  # (G,)
        full = a @ vmat  # (B,)
        jack = alpha[:, None] + kmat @ vmat - np.diag(kmat)[:, None] * vmat  # (G, B)
        se = np.sqrt((g - 1) / g * np.sum((jack - full) ** 2, axis=0))
        with np.errstate(divide="ignore", invalid="ignore"):
            tb = full / se
        tb = np.abs(tb[np.isfinite(tb)])
        tol = 1e-10 * max(1.0, abs(tstat[j]))
        pvals[j] = np.mean(tb >= abs(tstat[j]) - tol)
        qstar[j] = np.quantile(tb, confidence)
    return pvals, qstar


__all__ = ["INFERENCE_METHODS", "ClusterInference", "bootstrap_p_floor", "bootstrap_weights",
           "cluster_inference"]
