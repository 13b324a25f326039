r"""Symbolic (sympy) derivation of the leading-order traces from the moment matrices.

The leading-order risks are :math:`\sigma_y^2\gamma_z\,\mathrm{tr}(M_tM_l^{-1})` (teacher) and
:math:`\sigma_y^2\gamma_z\,\mathrm{tr}(PK_tP^\top M_l^{-1})` (student, :math:`N=\infty`), with
:math:`M_\eta = E_\eta ww^\top`, :math:`K_\eta = E_\eta\psi\psi^\top`,
:math:`P = E_u[w\psi^\top]K_u^{-1}` (docs/theory.md, section 3). This module builds those matrices
symbolically, in general position, and derives closed forms in terms of the covariance
:math:`C_\eta = \sigma_\xi^2 I + v_\eta\mu\mu^\top` of the group feature, where
:math:`v_\eta = \mathrm{Var}\,s`, the variance of the group law's scale (:mod:`setting.groups`):
:math:`\eta(1-\eta)` (mixture) or :math:`0` (mean-shift) (docs/theory.md, "Leading order"):

.. math::
    \mathrm{tr}(M_tM_l^{-1}) &= 1 + \mathrm{tr}(C^T_l{}^{-1}C^T_t) + (\eta_t-\eta_l)^2\mu_T^\top C^T_l{}^{-1}\mu_T,\\
    \mathrm{tr}(PK_tP^\top M_l^{-1}) &= 1 + \mathrm{tr}(C^T_l{}^{-1}BC^S_tB^\top) + m^\top C^T_l{}^{-1}m,

with :math:`C^T = T^\top CT`, :math:`C^S = S^\top CS`, :math:`B = T^\top C_uS\,(C^S_u)^{-1}` and
:math:`m = (\eta_u-\eta_l)\mu_T + (\eta_t-\eta_u)B\mu_S`. Under mean-shift :math:`B = \Xi` and
these are the printed forms; under the mixture, with :math:`a = \|\mu_T\|^2/\sigma_\xi^2`, the
teacher's is :math:`p_T + (\eta_t-\eta_l)(1-2\eta_l)\,a/(1+\eta_l(1-\eta_l)a)`.

The geometry is general for ``p_T = 3, p_S = 2``: up to a rotation of the group-feature space
(which leaves w and psi unchanged in distribution, and components of xi outside span(T, S)
never enter), ``T = [e1, e2]``, ``S = c e1 + s e3`` and ``mu = (m1, m2, m3)`` is arbitrary. The
unit column is parametrised rationally, ``c = (1 - k^2)/(1 + k^2)``, ``s = 2k/(1 + k^2)``, so every
identity is one between rational functions and ``sympy.cancel`` decides it exactly.
"""

from __future__ import annotations

import functools

import sympy as sp

from setting.groups import LAWS, group_law

__all__ = [
    "SYMBOLS",
    "bounded_penalty",
    "moment_matrices",
    "leading_traces",
    "printed_forms",
    "closed_forms",
    "mechanism_residuals",
    "residuals",
]

eta_l, eta_u, eta_t = sp.symbols("eta_l eta_u eta_t", real=True)
sigma2 = sp.Symbol("sigma_xi2", positive=True)
m1, m2, m3 = sp.symbols("m1 m2 m3", real=True)
k = sp.Symbol("k", real=True)
SYMBOLS = dict(eta_l=eta_l, eta_u=eta_u, eta_t=eta_t, sigma_xi2=sigma2, m1=m1, m2=m2, m3=m3, k=k)

MU = sp.Matrix([m1, m2, m3])
T = sp.Matrix([[1, 0], [0, 1], [0, 0]])
S = sp.Matrix([(1 - k**2) / (1 + k**2), 0, 2 * k / (1 + k**2)])


def _embed(M: sp.Matrix) -> sp.Matrix:
    out = sp.zeros(M.shape[1] + 1, M.shape[0] + 1)
    out[0, 0] = 1
    out[1:, 1:] = M.T
    return out


def moment_matrices(model: str, eta) -> tuple[sp.Matrix, sp.Matrix, sp.Matrix]:
    """(M_eta, K_eta, E_eta w psi^T) from G = E[1; xi][1; xi]^T, as in setting.moments."""
    G = sp.zeros(4, 4)
    G[0, 0] = 1
    law = group_law(model)
    G[0, 1:] = law.mean_scale(eta) * MU.T
    G[1:, 0] = law.mean_scale(eta) * MU
    G[1:, 1:] = sigma2 * sp.eye(3) + law.second_scale(eta) * MU * MU.T
    AT, AS = _embed(T), _embed(S)
    return AT * G * AT.T, AS * G * AS.T, AT * G * AS.T


def _simplify(expr):
    return sp.cancel(sp.together(expr))


@functools.cache
def leading_traces(model: str) -> tuple[sp.Expr, sp.Expr]:
    """tr(M_t M_l^{-1}) and tr(P K_t P^T M_l^{-1}), derived from the moment matrices."""
    M_l = moment_matrices(model, eta_l)[0]
    M_t, K_t, _ = moment_matrices(model, eta_t)
    _, K_u, C_u = moment_matrices(model, eta_u)
    M_l_inv = M_l.inv()
    P = C_u * K_u.inv()
    teacher = (M_t * M_l_inv).trace()
    student = (P * K_t * P.T * M_l_inv).trace()
    return sp.together(teacher), sp.together(student)


def printed_forms() -> tuple[sp.Expr, sp.Expr]:
    """The paper's printed forms divided by sigma_y^2 gamma_z (docs/theory.md, section 2)."""
    mu_T = T.T * MU
    Xi = T.T * S
    mu_S = S.T * MU
    teacher = 3 + (eta_t - eta_l) ** 2 * (mu_T.T * mu_T)[0] / sigma2
    shift = (eta_u - eta_l) * mu_T + (eta_t - eta_u) * Xi * mu_S
    student = 1 + (Xi.T * Xi)[0] + (shift.T * shift)[0] / sigma2
    return teacher, student


def closed_forms(model: str) -> tuple[sp.Expr, sp.Expr]:
    """The covariance (Schur-complement) closed forms of the module docstring."""
    law = group_law(model)
    v = lambda e: law.second_scale(e) - law.mean_scale(e) ** 2  # noqa: E731  (Var s)
    C = lambda e: sigma2 * sp.eye(3) + v(e) * MU * MU.T  # noqa: E731
    CT = lambda e: T.T * C(e) * T  # noqa: E731
    CS = lambda e: S.T * C(e) * S  # noqa: E731
    mu_T, mu_S = T.T * MU, S.T * MU
    CT_l_inv = CT(eta_l).inv()
    teacher = 1 + (CT_l_inv * CT(eta_t)).trace() + (eta_t - eta_l) ** 2 * (mu_T.T * CT_l_inv * mu_T)[0]
    B = T.T * C(eta_u) * S * CS(eta_u).inv()
    m = (eta_u - eta_l) * mu_T + (eta_t - eta_u) * B * mu_S
    student = 1 + (CT_l_inv * B * CS(eta_t) * B.T).trace() + (m.T * CT_l_inv * m)[0]
    return teacher, student


def mixture_teacher_scalar() -> sp.Expr:
    """p_T + (eta_t - eta_l)(1 - 2 eta_l) a / (1 + eta_l (1 - eta_l) a), a = ||mu_T||^2/sigma_xi^2."""
    a = (m1**2 + m2**2) / sigma2
    return 3 + (eta_t - eta_l) * (1 - 2 * eta_l) * a / (1 + eta_l * (1 - eta_l) * a)


def bounded_penalty() -> sp.Expr:
    """The mixture's leading-order gain over sigma_y^2 gamma_z with Xi = 0 and mu_S = 0:
    (p_T - 1) - D a / (1 + eta_l (1 - eta_l) a), D = (eta_u - eta_l)^2 - (eta_t - eta_l)(1 - 2 eta_l)."""
    a = (m1**2 + m2**2) / sigma2
    D = (eta_u - eta_l) ** 2 - (eta_t - eta_l) * (1 - 2 * eta_l)
    return 2 - D * a / (1 + eta_l * (1 - eta_l) * a)


def _at(expr, **values):
    return expr.subs({SYMBOLS[k]: v for k, v in values.items()})


def mechanism_residuals() -> dict[str, sp.Expr]:
    """The identities behind the claims audit's mechanisms and supported readings (docs/claims.md)."""
    out = {}
    # Xi = 0 (k = 1: S = e3, orthogonal to the teacher's directions) and mu_S = 0 (m3 = 0).
    teacher, student = leading_traces("mixture")
    out["mixture, Xi = 0, mu_S = 0: gain - bounded penalty form"] = _simplify(
        _at(teacher - student, k=1, m3=0) - bounded_penalty()
    )
    # At eta_t = eta_u the leading-order gain is tr(M_l^{-1} (M_u - C_u K_u^{-1} C_u^T)) >= 0: a Schur complement.
    for model in LAWS:
        teacher, student = leading_traces(model)
        M_l = moment_matrices(model, eta_l)[0]
        M_u, K_u, C_u = moment_matrices(model, eta_u)
        schur = (M_l.inv() * (M_u - C_u * K_u.inv() * C_u.T)).trace()
        out[f"{model}, eta_t = eta_u: gain - tr(M_l^-1 Schur complement)"] = _simplify(
            (teacher - student).subs(eta_t, eta_u) - schur
        )
    # The printed gain is a concave quadratic in eta_u with its peak at the printed eta_u*.
    pt, ps = printed_forms()
    mu_T, Xi, mu_S = T.T * MU, T.T * S, S.T * MU
    d = mu_T - Xi * mu_S
    star = (d.T * (eta_l * mu_T - eta_t * Xi * mu_S))[0] / (d.T * d)[0]
    gain = pt - ps
    out["printed: d^2 gain / d eta_u^2 + 2 ||mu_T - Xi mu_S||^2 / sigma_xi^2"] = _simplify(
        sp.diff(gain, eta_u, 2) + 2 * (d.T * d)[0] / sigma2
    )
    out["printed: d gain / d eta_u at the printed eta_u*"] = _simplify(sp.diff(gain, eta_u).subs(eta_u, star))
    return out


def residuals() -> dict[str, sp.Expr]:
    """Every identity this module asserts, as an expression that simplifies to 0."""
    out = mechanism_residuals()
    for model in LAWS:
        teacher, student = leading_traces(model)
        ct, cs = closed_forms(model)
        out[f"{model}: teacher trace - closed form"] = _simplify(teacher - ct)
        out[f"{model}: student trace - closed form"] = _simplify(student - cs)
    pt, ps = printed_forms()
    teacher, student = leading_traces("mean-shift")
    out["mean-shift: teacher trace - printed"] = _simplify(teacher - pt)
    out["mean-shift: student trace - printed"] = _simplify(student - ps)
    out["mixture: teacher trace - scalar form"] = _simplify(leading_traces("mixture")[0] - mixture_teacher_scalar())
    return out


if __name__ == "__main__":
    for name, r in residuals().items():
        print(f"{name:<45} {r}")
