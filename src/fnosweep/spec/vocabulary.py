"""The closed sets of names a spec may use, and the Optuna classes behind sampler and pruner.

Sampler and pruner argument names are a static table so that `fnosweep validate` need
not import Optuna; a test keeps the table equal to Optuna's signatures.
"""

from __future__ import annotations

from fnosweep.data.request import PROBLEMS  # noqa: F401 (the data package's list: one list of problems)

OPTIMIZERS = ("adamw", "adam", "sgd")
SCHEDULERS = ("none", "step", "cosine", "plateau")
LOSSES = ("l2", "h1")
PRECISIONS = ("fp32", "bf16")
BACKENDS = ("ray", "inline")
DIRECTIONS = ("minimize", "maximize")
SEARCH_TYPES = ("float", "int", "categorical")

SAMPLERS: dict[str, tuple[str, tuple[str, ...]]] = {
    "tpe": ("TPESampler", ("consider_prior", "prior_weight", "consider_magic_clip",
                           "consider_endpoints", "n_startup_trials", "n_ei_candidates",
                           "multivariate", "group", "warn_independent_sampling",
                           "constant_liar")),
    "random": ("RandomSampler", ()),
    "cmaes": ("CmaEsSampler", ("x0", "sigma0", "n_startup_trials", "warn_independent_sampling",
                               "consider_pruned_trials", "restart_strategy", "popsize",
                               "inc_popsize", "use_separable_cma", "with_margin", "lr_adapt")),
    "qmc": ("QMCSampler", ("qmc_type", "scramble", "warn_asynchronous_seeding",
                           "warn_independent_sampling")),
    "gp": ("GPSampler", ("n_startup_trials", "deterministic_objective",
                         "warn_independent_sampling")),
}
"""Sampler type → (class in `optuna.samplers`, keyword arguments a spec may set besides
`seed`). Arguments that take Python objects (callables, samplers, trials) are left out:
a YAML file cannot give them."""

PRUNERS: dict[str, tuple[str, tuple[str, ...], tuple[str, ...]]] = {
    "median": ("MedianPruner", ("n_startup_trials", "n_warmup_steps", "interval_steps",
                                "n_min_trials"), ()),
    "percentile": ("PercentilePruner", ("percentile", "n_startup_trials", "n_warmup_steps",
                                        "interval_steps", "n_min_trials"), ("percentile",)),
    "hyperband": ("HyperbandPruner", ("min_resource", "max_resource", "reduction_factor",
                                      "bootstrap_count"), ()),
    "successive_halving": ("SuccessiveHalvingPruner", ("min_resource", "reduction_factor",
                                                       "min_early_stopping_rate",
                                                       "bootstrap_count"), ()),
    "threshold": ("ThresholdPruner", ("lower", "upper", "n_warmup_steps", "interval_steps"), ()),
    "patient": ("PatientPruner", ("wrapped_pruner", "patience", "min_delta"), ("patience",)),
    "wilcoxon": ("WilcoxonPruner", ("p_threshold", "n_startup_steps"), ()),
    "curve": ("fnosweep.pruners.CurvePruner", ("n_startup_trials", "n_warmup_steps",
                                               "max_resource", "confidence", "margin", "rank",
                                               "headroom", "or_pruner"), ()),
    "none": ("NopPruner", (), ()),
}
"""Pruner type → (class in `optuna.pruners`, or a dotted path for fnosweep's own, keyword
arguments, required ones). `patient`'s `wrapped_pruner` and `curve`'s `or_pruner` are
themselves pruner mappings (`{type: median, ...}`) or null (`NESTED_PRUNER`)."""

NESTED_PRUNER = {"patient": "wrapped_pruner", "curve": "or_pruner"}
"""The argument of a pruner type that is itself a pruner mapping."""

SECTIONS = ("study", "data", "model", "training", "search", "stability", "execution")
"""Top-level keys of a spec, in the order messages list them."""

NS_ONLY = ("viscosity", "t_final", "dt", "t0")
"""Data fields only the navier-stokes problem uses (refused, and not written, elsewhere)."""
