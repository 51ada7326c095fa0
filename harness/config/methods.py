"""Pruning methods as the config sees them: names from kprune's registry, per-method option tables
checked by building the method's own config, and the config of one sweep point.

Reads kprune's public registry only, lazily (so a config loads without torch); never prunes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from harness.errors import ConfigError


def method_config_classes() -> Mapping[str, type]:
    """kprune's method registry (name -> frozen config class); variants not included."""
    from kprune import METHOD_CONFIGS

    return METHOD_CONFIGS


def known_methods() -> list[str]:
    """Every pruning method and named variant (ablation) kprune offers."""
    from kprune import method_names

    return sorted(method_names())


def check_methods(methods: tuple[str, ...]) -> None:
    known = known_methods()
    if not methods:
        raise ConfigError(f"methods must not be empty; known methods: {known}")
    if len(set(methods)) != len(methods):
        raise ConfigError(f"methods has duplicates: {list(methods)}")
    for method in methods:
        if method not in known:
            raise ConfigError(f"unknown method {method!r}; known methods: {known}")


def check_method_options(method: str, options: Mapping[str, Any]) -> None:
    """Build the method's config with these options so that its own validation runs."""
    from kprune import make_config

    check_methods((method,))
    for key in ("target_flops_ratio", "target_params_ratio"):
        if key in options:
            raise ConfigError(
                f"{method}.{key} is set by the sweep; use flops_ratios (and budget) instead"
            )
    try:
        make_config(method, **options)
    except (TypeError, ValueError) as error:  # an unknown keyword, or the method's own checks
        raise ConfigError(f"{method}: {error}") from error


def method_config(
    method_options: Mapping[str, Mapping[str, Any]],
    method: str,
    ratio: float,
    budget: str = "flops",
) -> Any:
    """The method's own frozen config for one point of the sweep; `budget` "params" makes
    `ratio` the kept parameter ratio (the FLOPs target then stays 1.0, as kprune asks)."""
    from kprune import METHOD_VARIANTS, make_config

    # A variant (e.g. kprune-no-tuning) inherits its base method's table, except the fields
    # the variant itself pins; its own table, if any, wins over both.
    base, pinned = METHOD_VARIANTS.get(method, (method, {}))
    inherited = {k: v for k, v in method_options.get(base, {}).items() if k not in pinned}
    options = {**inherited, **method_options.get(method, {})} if base != method else inherited
    if budget == "params":
        return make_config(method, target_flops_ratio=1.0, target_params_ratio=ratio, **options)
    return make_config(method, target_flops_ratio=ratio, **options)
