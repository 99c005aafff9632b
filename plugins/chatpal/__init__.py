"""ChatPal built-in plugin: the paper's pipeline steps and student training.

Each step lives in its own sub-package; this module only wires their commands into
escbench through the plugin hooks, so new steps can be added without touching others.
"""
from __future__ import annotations

from harness import hookimpl


@hookimpl
def register_commands(commands):
    from .train import command as train_command

    commands.add("train", train_command.HELP, train_command.configure, train_command.run)

    from .pipeline_commands import register_pipeline_commands

    register_pipeline_commands(commands)

    from .experiment import command as experiment_command

    commands.add("experiment", experiment_command.HELP, experiment_command.configure, experiment_command.run)
