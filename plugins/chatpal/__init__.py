"""ChatPal built-in plugin: the paper's pipeline steps, student training and the student
systems they produce (``augesc``, ``augesc+dri``, ``chatpal-w/o-dri``, ``chatpal``; their prompt
format is :mod:`escbench.plugins.chatpal.student_format`, their training card :mod:`escbench.plugins.chatpal.train.card`).

Each step lives in its own module or sub-package; this module only wires their commands and
systems into escbench through the plugin hooks, so new steps can be added without touching others.
"""
from __future__ import annotations

from escbench.harness import hookimpl


@hookimpl
def register_systems():
    from .student import STUDENT_SYSTEMS

    return list(STUDENT_SYSTEMS)


@hookimpl
def register_commands(commands):
    from .train import command as train_command

    commands.add("train", train_command.HELP, train_command.configure, train_command.run)

    from .pipeline_commands import register_pipeline_commands

    register_pipeline_commands(commands)

    from .experiment import command as experiment_command

    commands.add("experiment", experiment_command.HELP, experiment_command.configure, experiment_command.run)
