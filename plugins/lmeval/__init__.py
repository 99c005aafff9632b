"""lm-evaluation-harness integration: escbench splits as lm-eval tasks, scored by escbench.

* ``escbench export-split SPLIT`` writes a split as the JSONL the task YAMLs in
  ``tasks/lm_eval`` read (no hub download); ``escbench export-model`` gives the embedded
  SmolLM2 (or any GGUF file) as a local transformers folder for ``--model_args pretrained=``.
* The task YAMLs score with escbench's own metric plugins (``tasks/lm_eval/utils.py``).
* ``read_foreign_results`` turns an lm-eval results JSON into escbench results records, so
  ``escbench leaderboard`` ranks models evaluated under lm-eval beside escbench runs.

Importing this module is cheap: lm-eval, transformers and the metrics load only when used.
"""
from __future__ import annotations

from escbench.harness import hookimpl


@hookimpl
def register_commands(commands):
    from .commands import configure_export_model, configure_export_split, run_export_model, run_export_split

    commands.add("export-split", "write a split as JSONL for the lm-eval tasks in tasks/lm_eval",
                 configure_export_split, run_export_split)
    commands.add("export-model", "give a model (default: the embedded SmolLM2) as a local transformers folder",
                 configure_export_model, run_export_model)


@hookimpl
def read_foreign_results(path):
    from .results_import import read_lmeval_results

    return read_lmeval_results(path)
