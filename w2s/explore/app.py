"""Interactive phase-diagram explorer of the W2S gain (a marimo app).

Start it with ``w2s explore`` (which runs ``marimo run`` on this file, wherever the package is
installed); it is also a plain script (``python -m w2s.explore.app`` evaluates every cell once).
The numbers and the plots come from :mod:`w2s.explore`; this file only lays out the controls and
the outputs.
"""

import marimo

__generated_with = "0.25.2"
app = marimo.App(width="full", app_title="W2S phase-diagram explorer")


@app.cell(hide_code=True)
def _():
    import time

    import marimo as mo

    from w2s import explore

    # `w2s explore --methods paper` (marimo run ... -- --methods paper) restricts the theory
    # methods computed; the first is shown. Default: every registered method, "exact" shown.
    _arg = mo.cli_args().get("methods")
    methods = tuple(str(_arg).split(",")) if _arg else (explore.default_method(), *explore.forms()[1:])
    methods = tuple(dict.fromkeys(methods))  # first occurrence wins, order kept
    # Compile the theory for the default shapes before the first page is drawn (once per server;
    # the other group model in a background thread, except in a script that is about to exit).
    warmup_seconds = explore.warmup(
        method=methods[0], compare=methods, background=mo.app_meta().mode in ("run", "edit")
    )
    return explore, methods, mo, time, warmup_seconds


@app.cell(hide_code=True)
def _(explore, methods, mo):
    _d = explore.Controls()

    def _slider(start, stop, step, value, label):
        return mo.ui.slider(start, stop, step, value, label=label, show_value=True, full_width=True)

    eta_l = _slider(0.0, 1.0, 0.01, _d.eta_l, r"$\eta_l$ labeled minority")
    eta_u = _slider(0.0, 1.0, 0.01, _d.eta_u, r"$\eta_u$ pseudolabeled minority")
    eta_t = _slider(0.0, 1.0, 0.01, _d.eta_t, r"$\eta_t$ test minority")
    gamma = _slider(0.01, 1.0, 0.01, _d.gamma, r"$\gamma_z = d_z/n$")
    nu = _slider(0.0, 2.0, 0.01, _d.nu, r"$\nu_z = d_z/N$")
    similarity = _slider(0.0, float(explore.P_MAX - 1), 0.05, _d.similarity, r"$\|\Xi\|_F^2$")
    mu_T2 = _slider(0.0, 40.0, 0.25, _d.mu_T2, r"$\|\mu_T\|^2/\sigma_\xi^2$")
    mu_S2 = _slider(0.0, 40.0, 0.25, _d.mu_S2, r"$\|\mu_S\|^2/\sigma_\xi^2$")
    p_T = _slider(1, explore.P_MAX, 1, _d.p_T, r"$p_T$")
    p_S = _slider(1, explore.P_MAX, 1, _d.p_S, r"$p_S$")
    ridge_teacher = _slider(0.0, 2.0, 0.01, _d.ridge_teacher, r"teacher ridge $\lambda_T$")
    ridge_student = _slider(0.0, 2.0, 0.01, _d.ridge_student, r"student ridge $\lambda_S$")
    group_model = mo.ui.dropdown(list(explore.GROUP_MODELS), value=_d.group_model, label="group model")
    method = mo.ui.dropdown(list(methods), value=methods[0], label="theory")
    simulate_button = mo.ui.run_button(
        label="quick simulation",
        tooltip="a small Monte Carlo at the current point (finite d_z)",
    )
    mo.vstack(
        [
            mo.md("## Weak-to-strong gain under spurious correlations: phase-diagram explorer"),
            mo.hstack(
                [
                    mo.vstack([eta_l, eta_u, eta_t]),
                    mo.vstack([gamma, nu, ridge_teacher, ridge_student]),
                    mo.vstack([similarity, mu_T2, mu_S2]),
                    mo.vstack([p_T, p_S, mo.hstack([group_model, method], justify="start"), simulate_button]),
                ],
                widths="equal",
                gap=2,
            ),
        ]
    )
    return (
        eta_l,
        eta_t,
        eta_u,
        gamma,
        group_model,
        method,
        mu_S2,
        mu_T2,
        nu,
        p_S,
        p_T,
        ridge_student,
        ridge_teacher,
        similarity,
        simulate_button,
    )


@app.cell(hide_code=True)
def _(
    eta_t,
    explore,
    gamma,
    group_model,
    mu_S2,
    mu_T2,
    nu,
    p_S,
    p_T,
    ridge_student,
    ridge_teacher,
    similarity,
):
    # Everything but eta_l and eta_u: the phase diagram depends on nothing else, so moving those
    # two sliders never recomputes it.
    base, notes = explore.problem_from(
        explore.Controls(
            eta_t=eta_t.value,
            gamma=gamma.value,
            nu=nu.value,
            similarity=similarity.value,
            mu_T2=mu_T2.value,
            mu_S2=mu_S2.value,
            p_T=p_T.value,
            p_S=p_S.value,
            group_model=group_model.value,
            ridge_teacher=ridge_teacher.value,
            ridge_student=ridge_student.value,
        )
    )
    return base, notes


@app.cell(hide_code=True)
def _(base, explore, method):
    phase = explore.phase_diagram(base, method.value)
    return (phase,)


@app.cell(hide_code=True)
def _(base, eta_l, eta_u, explore, method, methods):
    problem = base.replace(eta_l=eta_l.value, eta_u=eta_u.value)
    along = explore.along(problem, method.value, compare=methods)
    return along, problem


@app.cell(hide_code=True)
def _(explore, problem, simulate_button):
    # Runs only when the button is pressed; a later slider move clears the overlay (it is stale).
    simulation = explore.quick_simulation(problem) if simulate_button.value else None
    return (simulation,)


@app.cell(hide_code=True)
def _(along, explore, mo, notes, phase, problem, simulation, time):
    _t0 = time.perf_counter()
    _result = explore.Result(phase, along)
    _plots = explore.plots_html(_result, problem, simulation)
    _text = explore.summary_html(_result, problem, notes, simulation, render_seconds=time.perf_counter() - _t0)
    mo.vstack([mo.Html(_plots), mo.Html(_text)])
    return


@app.cell(hide_code=True)
def _(mo, warmup_seconds):
    mo.md(
        f"""
        <small>Left: the W2S gain (teacher risk minus student risk on $D(\\eta_t)$) over
        $(\\eta_l, \\eta_u)$, blue where the student beats its teacher, red where W2S fails; the
        black curve is the phase boundary (gain = 0), the green dotted curve the best $\\eta_u$ for
        each $\\eta_l$, the circle the current point. Middle: the gain against $\\eta_u$ at the
        current $\\eta_l$ for the printed closed forms and every theory method, with $\\eta_u^*$
        marked. Right: teacher and student risks. Theory: Liu, Dong, Lei, "Does Weak-to-strong
        Generalization Happen under Spurious Correlations?" (ICLR 2026, arXiv:2509.24005); the
        guide is docs/explore.md of the project.
        Compiled in {warmup_seconds:.1f} s at start.</small>
        """
    )
    return


if __name__ == "__main__":
    app.run()
