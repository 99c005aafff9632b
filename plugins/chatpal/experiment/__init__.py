"""``escbench experiment``: the whole ChatPal study from one declarative YAML.

Modules, one job each: :mod:`.config` (schema and validation), :mod:`.units` (the plan: one
cached unit of work per artefact), :mod:`.cache` (unit state keyed by the hash of its inputs
and settings), :mod:`.invoke` (calls escbench's own commands in this process),
:mod:`.teacher_endpoint` and :mod:`.scripted_teacher` (the teacher server an experiment
starts and stops), :mod:`.stage_data`, :mod:`.stage_models`, :mod:`.stage_reports` (what
each stage does), :mod:`.leak` (test data never reaches training or the teacher),
:mod:`.manifest`, :mod:`.engine` (runs the plan), :mod:`.command` (argparse).
"""
