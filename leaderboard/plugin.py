"""Built-in table renderers, registered like any plugin's."""
from harness import hookimpl

from .renderers import CsvRenderer, JsonRenderer, MarkdownRenderer, TerminalRenderer


@hookimpl
def register_renderers():
    return [TerminalRenderer, MarkdownRenderer, CsvRenderer, JsonRenderer]
