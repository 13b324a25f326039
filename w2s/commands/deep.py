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
    "eta_l": "--eta-l",
    "eta_u": "--eta-u",
    "eta_t": "--eta-t",
    "p": "--p",
    "q": "--q",
    "steps": "--steps",
    "size": "--size",
}
# Defaults shown in --help; they are DeepConfig's (tests check that the two agree).
DEFAULTS = {"dataset": "tweets", "eta_l": 0.1, "eta_u": 0.1, "eta_t": 0.5, "steps": 300}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    d = DEFAULTS
    parser.add_argument("--dataset", default=d["dataset"], help=f"tweets or digits (default {d['dataset']})")
    parser.add_argument("--pair", default=None, help="weak/strong pair (default: the data set's; see --list-pairs)")
    parser.add_argument("--list-pairs", action="store_true", help="list the data sets and their pairs, and exit")
    parser.add_argument("--eta-l", type=float, default=d["eta_l"], help=f"labeled minority fraction ({d['eta_l']})")
    parser.add_argument("--eta-u", type=float, default=d["eta_u"], help=f"unlabeled minority fraction ({d['eta_u']})")
    parser.add_argument("--n", type=int, default=None, help="labeled set size (tweets 200, digits 100)")
    parser.add_argument("--N", type=int, default=None, help="unlabeled set size (tweets 2000, digits 600)")
    parser.add_argument("--n-val", type=int, default=None, help="validation set size (tweets 400, digits 100)")
    parser.add_argument(
        "--p", type=float, default=None, help="Enhanced-W2S kept fraction in (0, 1] (default: chosen on validation)"
    )
    parser.add_argument(
        "--q", type=float, default=None, help="Enhanced-W2S GCE exponent in (0, 1] (default: chosen on validation)"
    )
    parser.add_argument(
        "--eta-t", type=float, default=d["eta_t"], help=f"test minority fraction of the average ({d['eta_t']})"
    )
    parser.add_argument("--steps", type=int, default=d["steps"], help=f"Adam steps per head ({d['steps']})")
    parser.add_argument(
        "--size", default="full", help="tweet set: full (8,000 tweets) or small (320, the test subset) (default full)"
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of jax.random.key (default 0)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")


def run(args: argparse.Namespace) -> int:
    import simulate.deep as deep
    from w2s.commands import InputError

    if args.list_pairs:
        for name, info in deep.DATASETS.items():
            for pair, (weak, strong) in info["pairs"].items():
                mark = "  (default)" if pair == info["pair"] else ""
                print(f"{name:<7} {pair:<22} teacher {weak:<14} student {strong}{mark}")
        return 0
    if args.seed < 0:
        raise InputError(f"--seed: must be >= 0, got {args.seed}")
    import jax

    fields = {
        f: getattr(args, f)
        for f in ("dataset", "pair", "n", "N", "n_val", "eta_l", "eta_u", "eta_t", "p", "q", "steps", "size")
    }
    try:
        config = deep.DeepConfig(**fields)
    except deep.DeepConfigError as e:
        raise InputError(f"{FLAGS.get(e.field, e.field)}: {e.rule}") from None
    except (FileNotFoundError, ValueError) as e:  # a data or weights package missing or altered
        raise InputError(f"--dataset: {e}") from None
    t0 = time.perf_counter()
    try:
        result = deep.run_w2s(config, key=jax.random.key(args.seed), progress=sys.stderr.isatty())
    except FileNotFoundError as e:  # the weights package missing
        raise InputError(f"--pair: {e}") from None
    result["seed"] = args.seed
    result["seconds"] = time.perf_counter() - t0
    result["device"] = str(jax.devices()[0])
    if args.json:
        print(dump_json(result))
        return 0
    weak, strong = config.backbones
    print(
        f"{config.dataset}: pair {config.pair} (teacher {weak}, student {strong}); n={config.n} "
        f"eta_l={config.eta_l:g} N={config.N} eta_u={config.eta_u:g} n_val={config.n_val}; seed {args.seed}"
    )
    for b, pr in result["probes"].items():
        print(f"probe {b:<14} label {pr['label']:.3f}  attribute {pr['attribute']:.3f}")
    print(f"{'':<10} {'avg@eta_t=' + format(config.eta_t, 'g'):>14} {'worst-group':>12}   per group (y,a)=00 01 10 11")
    for m in deep.MODELS:
        g = " ".join(f"{v:.3f}" for v in result[m]["group_acc"])
        print(f"{m:<10} {result[m]['average']:14.4f} {result[m]['worst_group']:12.4f}   {g}")
    e = result["enhanced"]
    print(f"Enhanced-W2S: p={e['p']:g} q={e['q']:g}" + (" (chosen on validation)" if args.p is None else ""))
    for label, key in (("W2S gain", "gain"), ("Enhanced gain", "gain_enhanced"), ("PGR W2S", "pgr")):
        print(f"{label:<14} avg {result[key]['average']:+.4f}  worst {result[key]['worst_group']:+.4f}")
    pe = result["pgr_enhanced"]
    print(f"{'PGR Enhanced':<14} avg {pe['average']:+.4f}  worst {pe['worst_group']:+.4f}")
    ri = result["relative_improvement"]
    print(f"Enhanced vs W2S (relative, %): avg {ri['average']:+.2f}  worst {ri['worst_group']:+.2f}")
    pl = result["pseudolabels"]
    print(
        f"pseudolabels: acc {pl['acc']:.3f} (majority {pl['acc_majority']:.3f}, minority {pl['acc_minority']:.3f}); "
        f"kept {pl['kept']} with minority fraction {pl['kept_minority_fraction']:.3f}, acc {pl['kept_acc']:.3f}"
    )
    print(f"{result['seconds']:.1f} s on {result['device']}")
    return 0
