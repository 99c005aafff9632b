"""A plugin whose register_systems returns a class instead of a list of classes."""
from escbench import hookimpl


class Lonely:
    name = "lonely"
    description = "never registered: the hook forgot the list"


@hookimpl
def register_systems():
    return Lonely
