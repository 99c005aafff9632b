"""Human evaluation (paper §4, §5.3.2, Appendix L): ``escbench human export`` writes anonymised
rating sheets, ``escbench human import`` turns filled sheets into means and Fleiss' kappa per
dimension, ``escbench human judge`` has an LLM fill a sheet with the same guideline."""
from escbench.harness import hookimpl


@hookimpl
def register_commands(commands):
    from .commands import configure, run

    commands.add("human", "human evaluation: export rating sheets, import them (means, Fleiss' kappa), LLM judge",
                 configure, run)
