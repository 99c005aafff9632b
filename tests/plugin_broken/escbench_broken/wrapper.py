"""A plugin with a wrapper hook implementation (escbench refuses wrappers)."""
from escbench import hookimpl


@hookimpl(wrapper=True)
def register_renderers():
    result = yield
    return result
