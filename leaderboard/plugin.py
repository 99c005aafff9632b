"""Built-in table renderers and the ``escbench leaderboard`` and ``escbench plot`` commands,
registered like any plugin's."""
from escbench.harness import hookimpl

from .commands import configure_leaderboard, configure_plot, run_leaderboard, run_plot
from .html import HtmlRenderer
from .latex import LatexRenderer
from .renderers import CsvRenderer, JsonRenderer, MarkdownRenderer, TerminalRenderer, WideCsvRenderer


@hookimpl
def register_renderers():
    return [TerminalRenderer, MarkdownRenderer, LatexRenderer, HtmlRenderer, CsvRenderer, WideCsvRenderer,
            JsonRenderer]


@hookimpl
def register_commands(commands):
    commands.add("leaderboard", "collect results records into tables", configure_leaderboard, run_leaderboard)
    commands.add("plot", "figures from results: metric bars across systems, or metrics against DRI's k",
                 configure_plot, run_plot)
