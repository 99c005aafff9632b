"""One of two plugins registering the same system name 'twin'."""
from escbench import hookimpl, Generation


class Twin:
    name = "twin"
    description = "twin from side a"

    def config(self):
        return {}

    def prepare(self):
        pass

    def generate(self, examples, settings):
        return [Generation(text="a") for _ in examples]


@hookimpl
def register_systems():
    return [Twin]
