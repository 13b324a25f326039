"""``w2s deep``: one W2S / Enhanced-W2S configuration on the coloured-digits benchmark."""

from __future__ import annotations

import argparse
import sys
import time

from ._common import dump_json

# Config field -> command-line flag, so errors name the flag the user typed.
FLAGS = {
    "pair": "--pair",
    "n": "--n",
    "N": "--N",
    "eta_l": "--eta-l",
    "eta_u": "--eta-u",
    "eta_t": "--eta-t",
    "p": "--p",
    "q": "--q",
    "steps": "--steps",
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--pair",
        default="mlp-tiny/mlp-wide",
        help="weak/strong backbone pair (mlp-tiny/cnn-large, cnn-tiny/cnn-large, mlp-tiny/mlp-wide)",
    )
    parser.add_argument("--eta-l", type=float, default=0.1, help="labeled minority fraction (default 0.1)")
    parser.add_argument("--eta-u", type=float, default=0.1, help="unlabeled minority fraction (default 0.1)")
    parser.add_argument("--n", type=int, default=100, help="labeled set size (default 100)")
    parser.add_argument("--N", type=int, default=600, help="unlabeled set size (default 600)")
    parser.add_argument("--p", type=float, default=0.5, help="Enhanced-W2S: kept fraction, in (0, 1] (default 0.5)")
    parser.add_argument("--q", type=float, default=0.7, help="Enhanced-W2S: GCE exponent, in (0, 1] (default 0.7)")
    parser.add_argument(
        "--eta-t", type=float, default=0.5, help="test minority fraction of the average accuracy (default 0.5)"
    )
    parser.add_argument("--steps", type=int, default=300, help="Adam steps per head (default 300)")
    parser.add_argument("--seed", type=int, default=0, help="seed of jax.random.key (default 0)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")


def run(args: argparse.Namespace) -> int:
    from w2s.cli import InputError

    if args.seed < 0:
        raise InputError(f"--seed: must be >= 0, got {args.seed}")
    import jax

    import simulate.deep as deep

    fields = {f: getattr(args, f) for f in ("pair", "n", "N", "eta_l", "eta_u", "eta_t", "p", "q", "steps")}
    try:
        config = deep.DeepConfig(**fields)
    except deep.DeepConfigError as e:
        raise InputError(f"{FLAGS.get(e.field, e.field)}: {e.rule}") from None
    t0 = time.perf_counter()
    result = deep.run_w2s(config, key=jax.random.key(args.seed), progress=sys.stderr.isatty())
    result["seed"] = args.seed
    result["seconds"] = time.perf_counter() - t0
    result["device"] = str(jax.devices()[0])
    if args.json:
        print(dump_json(result))
        return 0
    weak, strong = deep.PAIRS[config.pair]
    print(
        f"pair {config.pair} (teacher {weak}, student {strong}); n={config.n} eta_l={config.eta_l:g} "
        f"N={config.N} eta_u={config.eta_u:g}; p={config.p:g} q={config.q:g}; seed {args.seed}"
    )
    print(f"{'':<10} {'avg@eta_t=' + format(config.eta_t, 'g'):>14} {'worst-group':>12}   per group (y,a)=00 01 10 11")
    for m in deep.MODELS:
        g = " ".join(f"{v:.3f}" for v in result[m]["group_acc"])
        print(f"{m:<10} {result[m]['avg']:14.4f} {result[m]['worst']:12.4f}   {g}")
    for label, key in (("W2S gain", "gain"), ("Enhanced gain", "gain_enhanced"), ("PGR W2S", "pgr")):
        print(f"{label:<14} avg {result[key]['avg']:+.4f}  worst {result[key]['worst']:+.4f}")
    print(
        f"{'PGR Enhanced':<14} avg {result['pgr_enhanced']['avg']:+.4f}  worst {result['pgr_enhanced']['worst']:+.4f}"
    )
    ri = result["relative_improvement"]
    print(f"Enhanced vs W2S (relative, %): avg {ri['avg']:+.2f}  worst {ri['worst']:+.2f}")
    pl = result["pseudolabels"]
    print(
        f"pseudolabels: acc {pl['acc']:.3f} (majority {pl['acc_majority']:.3f}, minority {pl['acc_minority']:.3f}); "
        f"kept {pl['kept']} with minority fraction {pl['kept_minority_fraction']:.3f}, acc {pl['kept_acc']:.3f}"
    )
    print(f"{result['seconds']:.1f} s on {result['device']}")
    return 0
