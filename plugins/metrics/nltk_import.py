"""Import NLTK without the optional libraries the metrics never use (about 7x faster).

``import nltk`` (which any ``nltk.*`` submodule import runs first) also imports
``scipy.stats`` (for ``nltk.metrics.association.fisher_exact``) and scikit-learn (for
``nltk.classify.scikitlearn``); NLTK guards both with ``try/except ImportError``. Those two
take most of NLTK's import time (about 1.2 s of 1.7 s on a 2-core machine) and no metric
needs them. :func:`import_nltk` imports NLTK with them marked unavailable, if NLTK is not
imported yet and they are not imported yet either, then unmarks them, so that code
importing ``scipy`` or ``sklearn`` later gets them as usual. Only NLTK's collocation
statistics and its scikit-learn classifier wrapper then lack their optional backends.
"""
from __future__ import annotations

import sys
import threading

_SKIPPED = ("scipy", "sklearn", "pandas")
_lock = threading.Lock()


def import_nltk():
    """The ``nltk`` package, imported once with the optional libraries left out."""
    with _lock:
        if "nltk" in sys.modules:
            return sys.modules["nltk"]
        marked = [name for name in _SKIPPED if name not in sys.modules]
        for name in marked:
            sys.modules[name] = None  # makes `import name` raise ImportError
        try:
            import nltk
        finally:
            for name in marked:
                if sys.modules.get(name, ...) is None:
                    del sys.modules[name]
        return nltk
