"""The problem spec: validation rules, TOML round trip, scalar family, pytree behaviour."""

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from setting.problem import parse_value
from w2s import FIELDS, Problem, ProblemError, load_problem


@pytest.fixture
def problem():
    return Problem.from_scalars(p_T=3, p_S=2, similarity=0.5, mu_T2=4.0, mu_S2=2.0, eta_l=0.1, eta_u=0.4)


@pytest.mark.parametrize(
    "field, value, match",
    [
        ("eta_l", -0.1, r"^eta_l: must lie in \[0, 1\]"),
        ("eta_u", 1.5, r"^eta_u: must lie in \[0, 1\]"),
        ("eta_t", float("nan"), r"^eta_t: must be finite"),
        ("sigma_y2", -1.0, r"^sigma_y2: must be >= 0"),
        ("signal", -1.0, r"^signal: must be >= 0"),
        ("sigma_xi2", 0.0, r"^sigma_xi2: must be > 0"),
        ("gamma", 0.0, r"^gamma: must be > 0"),
        ("nu", -0.01, r"^nu: must be >= 0"),
        ("ridge_teacher", -1e-3, r"^ridge_teacher: must be >= 0"),
        ("ridge_student", -1.0, r"^ridge_student: must be >= 0"),
        ("group_model", "gaussian", r"^group_model: must be one of"),
        ("d_z", 0, r"^d_z: must be a positive integer"),
        ("d_z", 2.5, r"^d_z: must be a positive integer"),
        ("gamma", "fast", r"^gamma: must be a number"),
        ("eta_l", np.array([0.1, 0.2]), r"^eta_l: must be a scalar"),
        ("eta_l", [0.1, 0.2], r"^eta_l: must be a number"),
        ("mu_xi", [[1.0]], r"^mu_xi: must be a vector"),
        ("T", np.ones((3, 2)), r"^T: columns must be orthonormal within 1e-08"),
        ("S", np.ones((2, 1)), r"^S: must have shape \(p, p_S - 1\)"),
        ("T", np.eye(3)[:, :1] * (1 + 1e-7), r"^T: columns must be orthonormal"),
    ],
)
def test_every_rule_is_a_one_line_error_naming_the_field(problem, field, value, match):
    with pytest.raises(ProblemError, match=match) as info:
        problem.replace(**{field: value})
    assert "\n" not in str(info.value)


def test_orthonormality_tolerance_is_1e_8(problem):
    T = np.asarray(problem.T).copy()
    T[0, 0] += 1e-10  # within tolerance: accepted
    problem.replace(T=T)


def test_student_may_not_be_wider_than_teacher():
    with pytest.raises(ProblemError, match=r"^S: the paper's setting needs p_S <= p_T"):
        Problem(mu_xi=np.zeros(3), T=np.eye(3)[:, :1], S=np.eye(3)[:, :2])


def test_unknown_key_and_bad_override(tmp_path):
    with pytest.raises(ProblemError, match=r"^etal: unknown key"):
        Problem.from_dict({"etal": 0.3})
    with pytest.raises(ProblemError, match=r"^--set: expected key=value"):
        load_problem(None, ["eta_l"])
    bad = tmp_path / "bad.toml"
    bad.write_text("eta_l = [")
    with pytest.raises(ProblemError, match=r"^config: .* is not valid TOML"):
        load_problem(bad)
    with pytest.raises(ProblemError, match=r"^config: cannot read"):
        load_problem(tmp_path / "missing.toml")


def test_toml_round_trip_uses_exactly_the_field_names(problem, tmp_path):
    path = tmp_path / "p.toml"
    path.write_text(problem.to_toml())
    back = Problem.from_toml(path)
    assert set(problem.to_dict()) == set(FIELDS)
    for f in FIELDS:
        np.testing.assert_array_equal(np.asarray(getattr(back, f)), np.asarray(getattr(problem, f)))


def test_overrides_are_toml_values(problem, tmp_path):
    path = tmp_path / "p.toml"
    path.write_text(problem.to_toml())
    p = load_problem(path, ["eta_u=0.7", 'group_model="mean-shift"', "d_z=64"])
    assert (p.eta_u, p.group_model, p.d_z) == (0.7, "mean-shift", 64)
    assert parse_value("mean-shift") == "mean-shift"  # bare words are strings
    assert parse_value("[1, 0]") == [1, 0]


@pytest.mark.parametrize(
    "p_T, p_S, similarity, mu_T2, mu_S2",
    [(3, 2, 0.5, 4.0, 2.0), (4, 3, 1.7, 9.0, 0.3), (2, 2, 0.0, 1.0, 5.0), (1, 1, 0.0, 0.0, 0.0), (3, 1, 0.0, 2.0, 0.0)],
)
def test_scalar_family_has_the_requested_invariants(p_T, p_S, similarity, mu_T2, mu_S2):
    p = Problem.from_scalars(p_T=p_T, p_S=p_S, similarity=similarity, mu_T2=mu_T2, mu_S2=mu_S2, sigma_xi2=2.0)
    s = p.summary()
    assert (s["p_T"], s["p_S"]) == (p_T, p_S)
    np.testing.assert_allclose([s["similarity"], s["mu_T2"], s["mu_S2"]], [similarity, mu_T2, mu_S2], atol=1e-12)


def test_scalar_family_rejects_impossible_geometry():
    with pytest.raises(ProblemError, match=r"^similarity: .* must lie in \[0, p_S - 1\]"):
        Problem.from_scalars(p_T=3, p_S=2, similarity=1.5)
    with pytest.raises(ProblemError, match=r"^mu_T2: must be 0 when p_T = 1"):
        Problem.from_scalars(p_T=1, p_S=1, mu_T2=1.0)
    with pytest.raises(ProblemError, match=r"^mu_S2: with full similarity"):
        Problem.from_scalars(p_T=2, p_S=2, similarity=1.0, mu_T2=1.0, mu_S2=4.0)
    with pytest.raises(ProblemError, match=r"^p_S: must be <= p_T"):
        Problem.from_scalars(p_T=2, p_S=3)


def test_pytree_leaves_and_static_fields(problem):
    leaves, treedef = jax.tree_util.tree_flatten(problem)
    assert len(leaves) == len(FIELDS) - 2  # group_model and d_z are static
    rebuilt = jax.tree_util.tree_unflatten(treedef, leaves)
    assert rebuilt.group_model == problem.group_model and rebuilt.d_z == problem.d_z
    # Rebuilding with non-array leaves (as vmap's in_axes does) must not trigger validation.
    axes = jax.tree_util.tree_map(lambda _: None, problem)
    assert isinstance(axes, Problem)
    # Inside jit the fields are tracers and construction skips the checks.
    out = jax.jit(lambda q: q.eta_u * 2.0)(dataclasses.replace(problem, eta_u=jnp.asarray(0.25)))
    assert float(out) == 0.5


def test_sample_sizes(problem):
    p = problem.replace(d_z=200, gamma=0.1, nu=0.01)
    assert (p.n, p.N) == (2000, 20000)
    assert p.replace(nu=0.0).N is None
