"""Interactive evaluation (issue 18): a simulated help-seeker built from a role card talks with
the system under test, an LLM judge rates the whole conversation on the guideline's dimensions,
and cheap measures (strategy diversity, repetition, length, Distinct-n, distress change) are
computed per conversation. ``escbench interact`` runs it; results are ordinary results records."""
from escbench.harness import hookimpl


@hookimpl
def register_commands(commands):
    from .commands import configure, run

    commands.add("interact", "interactive evaluation: simulated seekers talk with systems, an LLM judge rates "
                 "the conversations", configure, run)


@hookimpl
def register_split_kinds():
    from .split_kind import InteractiveSplitKind

    return [InteractiveSplitKind]


@hookimpl
def register_splits():
    from .spec import SPECS_DIR

    return [SPECS_DIR]
