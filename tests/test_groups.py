"""The group-law registry: every registered model's sampler and theory moments equal its law's.

The law of a model is its components (weights pi_j(eta), scales a_j(eta)), with
xi | s ~ N(s mu_xi, sigma_xi^2 I). Here the moments of [1; xi] are computed from the components
in NumPy, independently of the code under test, and compared with (a) the simulator's samples,
(b) ``asymptotics.augmented_moment`` and (c) the exact theory's Gaussian-mixture law. A third
model, registered only for this module, shows that a new model needs nothing but its law.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import asymptotics
import simulate
from asymptotics._exact import _law
from setting.groups import LAWS, GroupLaw, group_law, register
from w2s import Problem, ProblemError

ETAS = (0.0, 0.3, 1.0)
THREE = GroupLaw(
    "test-three-point",
    "binomial(2, eta)/2 shifts: 0, mu/2, mu",
    lambda eta: (((1 - eta) * (1 - eta), 2 * eta * (1 - eta), eta * eta), (0, 0.5, 1)),
)


@pytest.fixture(scope="module", autouse=True)
def _three_point():
    register(THREE)
    yield
    del LAWS[THREE.name]


MODELS = [*LAWS, THREE.name]


def _problem(model: str) -> Problem:
    return Problem.from_scalars(
        p_T=3, p_S=2, similarity=0.5, mu_T2=4.0, mu_S2=2.0, eta_l=0.2, eta_u=0.6, eta_t=0.5, group_model=model
    )


def _augmented_law(problem: Problem, eta: float) -> np.ndarray:
    """E [1; xi][1; xi]^T = sum_j pi_j (m_j m_j^T + diag(0, sigma^2 I)), m_j = [1; a_j mu], in NumPy."""
    weights, scales = problem.law.components(eta)
    mu = np.asarray(problem.mu_xi, dtype=float)
    out = np.zeros((mu.size + 1, mu.size + 1))
    for w, a in zip(weights, scales, strict=True):
        m = np.concatenate([[1.0], float(a) * mu])
        out += float(w) * np.outer(m, m)
    out[1:, 1:] += problem.sigma_xi2 * np.eye(mu.size)
    return out


def test_unknown_group_model_names_the_known_ones():
    with pytest.raises(ProblemError, match=r"^group_model: must be one of \('mixture', 'mean-shift'") as e:
        Problem(group_model="mixtur")
    assert "\n" not in str(e.value)
    with pytest.raises(ValueError, match="already registered"):
        register(LAWS["mixture"])
    with pytest.raises(ValueError, match=r"^group_model: must be one of"):
        group_law("gaussian")


@pytest.mark.parametrize("model", MODELS)
def test_law_is_a_distribution(model):
    law = group_law(model)
    for eta in np.linspace(0.0, 1.0, 11):
        weights, scales = law.components(eta)
        assert len(weights) == len(scales) >= 1
        assert min(weights) >= 0 and np.isclose(sum(weights), 1.0, rtol=0, atol=1e-15)
        tails = law.tails(eta)
        assert all(0 <= t <= 1 + 1e-15 for t in tails) and list(tails) == sorted(tails, reverse=True)


@pytest.mark.parametrize("model", MODELS)
def test_sampler_moments_equal_the_law(model):
    """Monte Carlo, 200,000 draws per eta with a pinned key: every entry of the sample mean of
    x x^T (x = [1; xi]) within 5 standard errors of the law's (about 60 entries in all; a false
    failure has probability below 1e-4 under the normal approximation)."""
    problem = _problem(model)
    n = 200_000
    for i, eta in enumerate(ETAS):
        xi = np.asarray(simulate.sample_group_features(problem, eta, n, key=jax.random.key(1000 + i)))
        x = np.concatenate([np.ones((n, 1)), xi], axis=1)
        prods = x[:, :, None] * x[:, None, :]
        mean, se = prods.mean(axis=0), prods.std(axis=0, ddof=1) / np.sqrt(n)
        law = _augmented_law(problem, eta)
        z = np.abs(mean - law) / np.where(se > 0, se, 1.0)
        assert np.all(z[se > 0] < 5.0), (model, eta, z.max())
        np.testing.assert_allclose(mean[se == 0], law[se == 0], rtol=1e-15)  # the constant entry: sum of weights


@pytest.mark.parametrize("model", MODELS)
def test_theory_moments_equal_the_law(model):
    problem = _problem(model)
    for eta in ETAS:
        law = _augmented_law(problem, eta)
        np.testing.assert_allclose(np.asarray(asymptotics.augmented_moment(problem, eta)), law, rtol=0, atol=1e-14)
        # the exact theory's quadrature law of [1; V^T xi], here with V = I
        mixture = _law(problem, jnp.asarray(eta), jnp.eye(problem.p))
        np.testing.assert_allclose(np.asarray(mixture.moment()), law, rtol=0, atol=1e-14)


def test_a_new_model_runs_through_the_exact_theory():
    """The registered third model needs no other code: at small gamma the exact teacher risk
    approaches the leading-order trace sigma_y^2 gamma tr(M_t M_l^{-1}) computed from the moments,
    with relative difference O(gamma p_T) = O(3e-4); the bound 1e-3 is well below the relative
    difference between this law's and the mixture's leading orders at this problem (> 5e-3, checked)."""
    problem = _problem(THREE.name).replace(gamma=1e-4)
    exact = float(jax.jit(asymptotics.teacher_risk_exact)(problem))
    leading = float(asymptotics.teacher_risk_paper(problem))
    other = float(asymptotics.teacher_risk_paper(problem.replace(group_model="mixture")))
    assert abs(exact / leading - 1) < 1e-3
    assert abs(leading / other - 1) > 5e-3  # the new law's moments are not the mixture's


def test_every_list_of_models_reads_the_registry():
    """Figures, the validation grid and the explorer list the registered models, the third one
    included: nothing types the two built-in names into a list of its own."""
    import importlib

    from setting import group_models
    from w2s import validation

    assert group_models() == tuple(MODELS)
    for name in ("failure", "gain_vs_shift", "predicted_vs_empirical"):
        fig = importlib.import_module(f"figures.{name}")
        for size in ("fast", "default"):
            assert tuple(fig.params(size)["models"]) == tuple(MODELS), name
    assert {q.group_model for q in validation.grid_problems(40)} == set(MODELS)
