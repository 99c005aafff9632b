"""Built-in splits: every YAML in ``tasks/splits`` (seed, ExTES test, ExTES new scenes, ESConv test)."""
from escbench.harness import hookimpl
from escbench.harness.paths import TASKS_DIR


@hookimpl
def register_splits():
    return [TASKS_DIR / "splits"]
