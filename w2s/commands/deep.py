"""``w2s deep``: one W2S / Enhanced-W2S configuration with frozen backbones (airline tweets or coloured digits)."""

from __future__ import annotations

import argparse
import sys
import time

from ._common import dump_json

# Config field -> command-line flag, so errors name the flag the user typed.
FLAGS = {
    "dataset": "--dataset",
    "pair": "--pair",
    "n": "--n",
    "N": "--N",
    "n_val": "--n-val",
    "n_bal": "--n-bal",
    "eta_l": "--eta-l",
    "eta_u": "--eta-u",
    "eta_t": "--eta-t",
    "p": "--p",
    "q": "--q",
    "rule": "--rule",
    "labels": "--labels",
    "resample_test": "--fixed-test",
    "steps": "--steps",
    "size": "--size",
    "source": "--heads",
}
HEADS = ("ce", "ridge")  # linear heads trained with cross-entropy (Adam), or closed-form ridge on +-1 labels
# Defaults shown in --help; they are DeepConfig's (tests check that the two agree).
DEFAULTS = {
    "dataset": "tweets",
    "eta_l": 0.1,
    "eta_u": 0.1,
    "eta_t": 0.5,
    "steps": 300,
    "rule": "balanced_val",
    "labels": "hard",
}
METRICS = ("average", "worst_group")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    d = DEFAULTS
    parser.add_argument("--dataset", default=d["dataset"], help=f"tweets or digits (default {d['dataset']})")
    parser.add_argument("--pair", default=None, help="weak/strong pair (default: the data set's; see --list-pairs)")
    parser.add_argument("--list-pairs", action="store_true", help="list the data sets and their pairs, and exit")
    parser.add_argument("--eta-l", type=float, default=d["eta_l"], help=f"labeled minority fraction ({d['eta_l']})")
    parser.add_argument("--eta-u", type=float, default=d["eta_u"], help=f"unlabeled minority fraction ({d['eta_u']})")
    parser.add_argument("--n", type=int, default=None, help="labeled budget, n_bal of it for validation (200, 100)")
    parser.add_argument("--N", type=int, default=None, help="unlabeled set size (tweets 2000, digits 600)")
    parser.add_argument(
        "--n-val", type=int, default=None, help="label-free validation set size, teacher-labelled (400, 100)"
    )
    parser.add_argument(
        "--n-bal", type=int, default=None, help="group-balanced validation labels taken from --n (tweets 40, digits 20)"
    )
    parser.add_argument("--p", type=float, default=None, help="Enhanced-W2S kept fraction in (0, 1] (default: grid)")
    parser.add_argument(
        "--q", type=float, default=None, help="GCE exponent in [0, 1], 0 = cross-entropy (default: grid)"
    )
    parser.add_argument(
        "--rule",
        default=d["rule"],
        help=f"rule choosing (p, q): label_free, balanced_val or oracle (an upper bound) (default {d['rule']})",
    )
    parser.add_argument(
        "--labels",
        default=d["labels"],
        help=f"student targets: hard pseudolabels or soft probabilities ({d['labels']})",
    )
    parser.add_argument(
        "--eta-t", type=float, default=d["eta_t"], help=f"test minority fraction of the average ({d['eta_t']})"
    )
    parser.add_argument(
        "--fixed-test", action="store_true", help="score on the fixed test set (default: a bootstrap draw per seed)"
    )
    parser.add_argument("--steps", type=int, default=d["steps"], help=f"Adam steps per head ({d['steps']})")
    parser.add_argument(
        "--size", default="full", help="tweet set: full (8,000 tweets) or small (320, the test subset) (default full)"
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of jax.random.key (default 0)")
    parser.add_argument(
        "--seeds", type=int, default=1, help="run seeds seed .. seed+K-1 and test each difference with t(K-1) (1)"
    )
    parser.add_argument(
        "--heads",
        default="ce",
        help="ce (linear heads, cross-entropy, Adam; default) or ridge (closed-form ridge on +-1 labels, ridge 1e-3)",
    )
    parser.add_argument(
        "--theory",
        action="store_true",
        help="with --heads ridge: gain curves over eta_l x eta_u, predicted (general-mixture theory), "
        "Gaussian surrogate and measured, with z-scores",
    )
    parser.add_argument(
        "--curve-seeds", type=int, default=10, help="seeds of each --theory curve point (default 10, at least 2)"
    )
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")


def summary(results: list[dict]) -> dict:
    """Mean, s.e., t and p-value (t with k-1 degrees of freedom) over the seeds of each difference.

    Keys: ``gain`` and ``pgr`` (W2S), and per selection rule ``enhanced_minus_w2s``,
    ``random_minus_w2s`` and ``enhanced_minus_random`` (the random-subset control at the rule's
    (p, q)), each per metric."""
    import numpy as np

    import simulate.deep as deep

    def test(values) -> dict:
        t = deep.t_test(np.asarray(values, np.float64))
        return {k: (int(v) if k == "k" else float(v)) for k, v in t.items()}

    out = {f: {m: test([r[f][m] for r in results]) for m in METRICS} for f in ("gain", "pgr")}
    if "mse" in results[0]["gain"]:  # ridge heads: the squared-error gain too
        out["gain"]["mse"] = test([r["gain"]["mse"] for r in results])
    if "enhanced" in results[0]:
        for name, a, b in (
            ("enhanced_minus_w2s", "", None),
            ("random_minus_w2s", "random_", None),
            ("enhanced_minus_random", "", "random_"),
        ):
            out[name] = {
                rule: {
                    m: test(
                        [
                            r["enhanced"]["rules"][rule][f"{a}{m}"]
                            - (r["w2s"][m] if b is None else r["enhanced"]["rules"][rule][f"{b}{m}"])
                            for r in results
                        ]
                    )
                    for m in METRICS
                }
                for rule in deep.RULES
            }
    return out


def run(args: argparse.Namespace) -> int:
    import simulate.deep as deep
    from w2s.commands import InputError

    if args.list_pairs:
        for name, info in deep.DATASETS.items():
            for pair, (weak, strong) in info["pairs"].items():
                mark = " (default)" if pair == info["pair"] else ""
                about = getattr(info["pairs"][pair], "description", "")
                line = f"{name:<7} {pair:<22} teacher {weak:<14} student {strong:<10} {about}{mark}"
                print(line.rstrip())
        return 0
    if args.seed < 0:
        raise InputError(f"--seed: must be >= 0, got {args.seed}")
    if args.seeds < 1:
        raise InputError(f"--seeds: must be >= 1, got {args.seeds}")
    _check_heads(args)
    import jax

    fields = {
        f: getattr(args, f)
        for f in ("dataset", "pair", "n", "N", "n_val", "n_bal", "eta_l", "eta_u", "eta_t", "p", "q", "rule")
    }
    fields.update(labels=args.labels, steps=args.steps, size=args.size, resample_test=not args.fixed_test)
    try:
        config = deep.DeepConfig(**fields)
    except deep.DeepConfigError as e:
        raise InputError(f"{FLAGS.get(e.field, e.field)}: {e.rule}") from None
    except (FileNotFoundError, ValueError) as e:  # a data or weights package missing or altered
        raise InputError(f"--dataset: {e}") from None
    t0 = time.perf_counter()
    seeds = list(range(args.seed, args.seed + args.seeds))
    try:
        if args.heads == "ridge":
            runs = [deep.run_ridge(config, key=jax.random.key(s), with_probes=i == 0) for i, s in enumerate(seeds)]
        else:
            runs = [
                deep.run_w2s(config, key=jax.random.key(s), progress=sys.stderr.isatty(), with_probes=i == 0)
                for i, s in enumerate(seeds)
            ]
    except FileNotFoundError as e:  # the weights package missing
        raise InputError(f"--pair: {e}") from None
    result = runs[0]
    result["seed"] = args.seed
    result["seeds"] = seeds
    if len(runs) > 1:
        result["per_seed"] = [{k: v for k, v in r.items() if k not in ("config", "probes")} for r in runs]
        result["summary"] = summary(runs)
    if args.theory:
        result.update(_theory(config, args))
    result["seconds"] = time.perf_counter() - t0
    result["device"] = str(jax.devices()[0])
    if args.json:
        print(dump_json(result))
        return 0
    if args.heads == "ridge":
        _print_ridge(config, result, args)
    else:
        _print(config, result, args)
    return 0


def _check_heads(args: argparse.Namespace) -> None:
    """The head option and what it excludes; one-line errors naming the flag."""
    from w2s.commands import InputError

    if args.heads not in HEADS:
        raise InputError(f"--heads: unknown head {args.heads!r} (known: {', '.join(HEADS)})")
    if args.theory and args.heads != "ridge":
        raise InputError("--theory: needs --heads ridge (the theory's model class: squared loss on +-1 labels)")
    if args.theory and args.dataset != "tweets":
        raise InputError(f"--theory: only for --dataset tweets (the pool's group moments), got {args.dataset!r}")
    if args.curve_seeds < 2:
        raise InputError(f"--curve-seeds: must be >= 2 (a standard error needs two seeds), got {args.curve_seeds}")
    if args.heads == "ridge":
        for flag, given in (("--labels", args.labels != "hard"), ("--p", args.p is not None),
                            ("--q", args.q is not None)):  # fmt: skip
            if given:
                raise InputError(f"{flag}: does not apply to --heads ridge (no Enhanced-W2S; the student fits "
                                 "the teacher's real-valued predictions)")  # fmt: skip


def _theory(config, args: argparse.Namespace) -> dict:
    """``curve`` (records of :func:`w2s.deep_theory.records`) for ``config.pair`` over eta_l in
    {0.1, 0.3, 0.5} x eta_u in {0, 0.1, ..., 1}, and the z summaries."""
    from w2s import deep_theory

    seeds = list(range(args.seed, args.seed + args.curve_seeds))
    c = deep_theory.curve(config.pair, seeds=seeds, size=config.size, n=config.n, N=config.N, n_val=config.n_val,
                          n_bal=config.n_bal, eta_t=config.eta_t, ridge=config.l2)  # fmt: skip
    return {
        "curve": deep_theory.records(c),
        "z_theory_vs_surrogate": deep_theory.z_summary(c["z_surrogate"]),
        "z_theory_vs_measured": deep_theory.z_summary(c["z_measured"]),
        "theory": {"pair": config.pair, "n_teacher": int(c["n_teacher"]), "N": int(c["N"]), "ridge": config.l2,
                   "eta_t": config.eta_t, "curve_seeds": seeds, "gain": "teacher minus student mean squared error"},
    }  # fmt: skip


def _print_ridge(config, result: dict, args: argparse.Namespace) -> None:
    weak, strong = config.backbones
    print(
        f"{config.dataset}: pair {config.pair} (teacher {weak}, student {strong}); "
        f"ridge heads, ridge {result['ridge']:g}; "
        f"teacher n={config.n - config.n_bal} eta_l={config.eta_l:g}, N={config.N} eta_u={config.eta_u:g}; "
        f"seed {args.seed}; test: {result['test_draw']}"
    )
    print(f"{'':<10} {'mse@eta_t':>10} {'avg acc':>8} {'worst':>7}   per-group mse (y,a)=00 01 10 11")
    for m in ("teacher", "w2s", "ceiling"):
        r = result[m]
        g = " ".join(f"{v:.3f}" for v in r["group_mse"])
        print(f"{m:<10} {r['mse']:10.4f} {r['average']:8.4f} {r['worst_group']:7.4f}   {g}")
    gn = result["gain"]
    print(f"gain: mse {gn['mse']:+.4f} (teacher minus student), accuracy {gn['average']:+.4f}, "
          f"worst group {gn['worst_group']:+.4f}")  # fmt: skip
    if "curve" in result:
        print(f"gain (mse) against eta_u, {len(result['theory']['curve_seeds'])} seeds: predicted | surrogate ± se | "
              "measured ± se")  # fmt: skip
        for rec in result["curve"]:
            su, me = rec["surrogate"], rec["measured"]
            print(f"  eta_l {rec['eta_l']:.1f} eta_u {rec['eta_u']:.1f}: {rec['predicted']:+.3f} | "
                  f"{su['mean']:+.3f} ± {su['se']:.3f} | {me['mean']:+.3f} ± {me['se']:.3f}")  # fmt: skip
        for name in ("z_theory_vs_surrogate", "z_theory_vs_measured"):
            z = result[name]
            print(f"{name}: median |z| {z['median']:.2f}, max |z| {z['max']:.2f} over {z['count']} points")
    print(f"{result['seconds']:.1f} s on {result['device']}")


def _print(config, result: dict, args: argparse.Namespace) -> None:
    import simulate.deep as deep

    weak, strong = config.backbones
    print(
        f"{config.dataset}: pair {config.pair} (teacher {weak}, student {strong}); n={config.n} "
        f"(teacher {config.n - config.n_bal}, balanced validation {config.n_bal}) eta_l={config.eta_l:g} "
        f"N={config.N} eta_u={config.eta_u:g} n_val={config.n_val}; {config.labels} labels; seed {args.seed}; "
        f"test: {result['test_draw']}"
    )
    for b, pr in result["probes"].items():
        print(f"probe {b:<14} label {pr['label']:.3f}  attribute {pr['attribute']:.3f}")
    print(f"{'':<10} {'avg@eta_t=' + format(config.eta_t, 'g'):>14} {'worst-group':>12}   per group (y,a)=00 01 10 11")
    for m in deep.MODELS:
        g = " ".join(f"{v:.3f}" for v in result[m]["group_acc"])
        print(f"{m:<10} {result[m]['average']:14.4f} {result[m]['worst_group']:12.4f}   {g}")
    e = result["enhanced"]
    print(f"Enhanced-W2S: p={e['p']:g} q={e['q']:g} (rule {e['rule']})")
    print(f"{'rule':<14} {'(p, q)':<12} {'avg':>7} {'worst':>7}   random subset: {'avg':>7} {'worst':>7}")
    for rule, r in e["rules"].items():
        tag = "  (upper bound)" if r.get("upper_bound") else ""
        print(
            f"{rule:<14} {f'({r["p"]:g}, {r["q"]:g})':<12} {r['average']:7.4f} {r['worst_group']:7.4f}   "
            f"{'':15}{r['random_average']:7.4f} {r['random_worst_group']:7.4f}{tag}"
        )
    for label, key in (("W2S gain", "gain"), ("Enhanced gain", "gain_enhanced"), ("PGR W2S", "pgr")):
        print(f"{label:<14} avg {result[key]['average']:+.4f}  worst {result[key]['worst_group']:+.4f}")
    pe = result["pgr_enhanced"]
    print(f"{'PGR Enhanced':<14} avg {pe['average']:+.4f}  worst {pe['worst_group']:+.4f}")
    pl = result["pseudolabels"]
    print(
        f"pseudolabels: acc {pl['acc']:.3f} (majority {pl['acc_majority']:.3f}, minority {pl['acc_minority']:.3f}); "
        f"kept {pl['kept']} with minority fraction {pl['kept_minority_fraction']:.3f}, acc {pl['kept_acc']:.3f}"
    )
    if "summary" in result:
        s = result["summary"]
        print(f"over {len(result['seeds'])} seeds (mean ± s.e., two-sided p from t(k-1)):")
        rows = [("W2S gain", s["gain"])]
        rows += [(f"Enh - W2S {r}", s["enhanced_minus_w2s"][r]) for r in deep.RULES]
        rows += [(f"Rand - W2S {r}", s["random_minus_w2s"][r]) for r in deep.RULES]
        for label, d in rows:
            cells = "  ".join(f"{m} {d[m]['mean']:+.4f} ± {d[m]['se']:.4f} (p {d[m]['p_value']:.3g})" for m in METRICS)
            print(f"  {label:<24} {cells}")
    print(f"{result['seconds']:.1f} s on {result['device']}")
