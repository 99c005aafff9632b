"""The ``interactive`` split kind: ``escbench run --splits seed_interactive`` runs the same
evaluation as ``escbench interact``, with the simulator and judge named in the split's YAML."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from escbench.harness.errors import ConfigError


class InteractiveSplitKind:
    name = "interactive"
    description = "simulated seekers talk with each system; an LLM judge rates whole conversations"

    def run(self, path: Path, config: Any, host: Any, outcome: Any) -> None:
        """Add a record per system of ``config`` to ``outcome`` (errors as lines, like the runner)."""
        from .commands import _check, _run_systems, options_for_run
        from .spec import load_cards, read_interactive_spec

        spec = read_interactive_spec(path)
        if not spec.simulator or not spec.simulator.get("model"):
            raise ConfigError(f"{path}: `escbench run` needs 'simulator: {{model: ..., base_url: ...}}' in this "
                              "interactive split (or run it with `escbench interact --simulator-model ...`)")
        args = options_for_run(spec, config)
        _check(args)
        cards, source = load_cards(spec, host, config.limit)
        records, errors, paths = _run_systems(args, host, spec, cards, source, config.systems)
        outcome.records.extend(records)
        outcome.record_paths.extend(paths)
        outcome.errors.extend(errors)
