"""Built-in metrics plugin: METEOR, BLEU, ROUGE-L, Vector Extrema, Distinct-n, toxicity,
strategy accuracy (plus Java METEOR 1.5), registered like any third-party plugin.

Default metrics (``default = True``, run when no ``--metrics`` is given) are the offline
ones: meteor, bleu, rouge-l, extrema, distinct, toxicity-lexicon, strategy. The
Perspective (``toxicity``), Detoxify (``toxicity-detoxify``) and Java ``meteor-1.5``
metrics need a key, a checkpoint or Java and are run only when named. Fleiss' kappa
(:mod:`.kappa`) and the bootstrap (:mod:`.bootstrap`) are functions, not metrics.

Importing this package is cheap: heavy libraries load inside ``score``.
"""
from __future__ import annotations

from escbench.harness import hookimpl



@hookimpl
def register_metrics():
    # Imported here so that loading the plugin (e.g. for `escbench --help`) stays cheap.
    from .bleu import Bleu
    from .distinct import Distinct
    from .extrema import Extrema
    from .meteor import Meteor
    from .meteor15 import Meteor15
    from .rouge import RougeL
    from .strategy import StrategyAccuracy
    from .toxicity import DetoxifyToxicity, LexiconToxicity, PerspectiveToxicity

    return [Meteor, Bleu, RougeL, Extrema, Distinct, LexiconToxicity, StrategyAccuracy,
            PerspectiveToxicity, DetoxifyToxicity, Meteor15]


@hookimpl
def setup_resources(force):
    """Arrange WordNet and compile METEOR's tables and GloVe for Extrema (memory-mapped
    caches, :mod:`.compiled`); report on Java (which needs no arranging)."""
    import importlib.util
    import shutil

    from .vectors import GLOVE_HINT, GLOVE_PACKAGE, setup_glove
    from .wordnet import arrange_wordnet
    from .wordnet_tables import setup as setup_meteor_tables

    done = []
    if importlib.util.find_spec(GLOVE_PACKAGE) is not None:
        done.append(("GloVe 6B 50d", setup_glove(force=bool(force))))
    else:
        done.append(("GloVe 6B 50d", f"missing: {GLOVE_HINT} (metric extrema)"))
    java = shutil.which("java")
    done.append(("Java (meteor-1.5)", f"found {java}" if java else
                 "not found: meteor-1.5 unavailable (apt-get install -y default-jre-headless)"))
    arranged = arrange_wordnet(force=bool(force))
    done.append(("WordNet (meteor)", f"{arranged}; {setup_meteor_tables(force=bool(force))}"))
    return done
