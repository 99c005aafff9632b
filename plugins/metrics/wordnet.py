"""WordNet for METEOR, offline: arranged once from Debian's packages, loaded once per process.

NLTK reads WordNet only from a ``corpora/wordnet`` folder under a directory on
``nltk.data.path``. ``escbench setup`` (:func:`arrange_wordnet`) copies the WordNet 3.0
database that Debian's ``wordnet-base`` and ``wordnet-sense-index`` packages install under
``/usr/share/wordnet`` into ``<cache>/nltk_data/corpora/wordnet`` and writes the
``lexnames`` file Debian lacks; :func:`load_wordnet` puts that folder on ``nltk.data.path``
and returns the reader.
"""
from __future__ import annotations

import os
import shutil
import warnings
from pathlib import Path

from escbench.harness.errors import MetricUnavailableError
from escbench.harness.paths import cache_dir

DEBIAN_WORDNET = Path("/usr/share/wordnet")
INSTALL_HINT = ("run `apt-get install -y wordnet-base wordnet-sense-index` and then "
                "`escbench setup`")
_DATABASE_FILES = ("adj.exc", "adv.exc", "noun.exc", "verb.exc", "cntlist.rev", "index.sense",
                   "data.adj", "data.adv", "data.noun", "data.verb",
                   "index.adj", "index.adv", "index.noun", "index.verb")
# The 45 lexicographer files of WordNet 3.0 in number order (see the lexnames(5WN) manual);
# the trailing number is the syntactic category: 1 noun, 2 verb, 3 adjective, 4 adverb.
_LEXICOGRAPHER_FILES = (
    ["adj.all", "adj.pert", "adv.all", "noun.Tops"]
    + [f"noun.{topic}" for topic in (
        "act animal artifact attribute body cognition communication event feeling food group "
        "location motive object person phenomenon plant possession process quantity relation "
        "shape state substance time").split()]
    + [f"verb.{topic}" for topic in (
        "body change cognition communication competition consumption contact creation emotion "
        "motion perception possession social stative weather").split()]
    + ["adj.ppl"])
_CATEGORY = {"noun": 1, "verb": 2, "adj": 3, "adv": 4}
_reader = None


def nltk_data_dir() -> Path:
    """The NLTK data folder escbench owns: ``<cache>/nltk_data``."""
    return cache_dir() / "nltk_data"


def wordnet_dir() -> Path:
    return nltk_data_dir() / "corpora" / "wordnet"


def lexnames_text() -> str:
    """Contents of WordNet's ``lexnames`` file: ``NN<TAB>name<TAB>category`` per line."""
    return "".join(f"{number:02d}\t{name}\t{_CATEGORY[name.split('.')[0]]}\n"
                   for number, name in enumerate(_LEXICOGRAPHER_FILES))


def is_arranged() -> bool:
    target = wordnet_dir()
    return all((target / name).is_file() for name in (*_DATABASE_FILES, "lexnames"))


def arrange_wordnet(force: bool = False, source: Path = DEBIAN_WORDNET) -> str:
    """Copy the Debian WordNet files into escbench's NLTK data folder (idempotent).

    Returns a one-line description of what was done; raises MetricUnavailableError naming
    the missing files and the install command when the Debian packages are absent.
    """
    target = wordnet_dir()
    if is_arranged() and not force:
        return f"WordNet already arranged in {target}"
    missing = [name for name in _DATABASE_FILES if not (source / name).is_file()]
    if missing:
        raise MetricUnavailableError(
            "meteor", f"WordNet database files missing from {source} ({', '.join(missing)}); "
                      f"{INSTALL_HINT}")
    target.mkdir(parents=True, exist_ok=True)
    for name in _DATABASE_FILES:
        # Copies, not links: NLTK resolves links and refuses files outside its data path.
        shutil.copyfile(source / name, target / name)
    (target / "lexnames").write_text(lexnames_text(), encoding="utf-8")
    return f"WordNet 3.0 copied from {source} into {target}"


def load_wordnet():
    """The NLTK WordNet reader over escbench's folder, loaded once per process.

    Arranges the folder on first use when the Debian files are present; raises
    MetricUnavailableError with the set-up step otherwise.
    """
    global _reader
    if _reader is not None:
        return _reader
    if not is_arranged():
        arrange_wordnet()
    import nltk
    from nltk.corpus.reader.wordnet import WordNetCorpusReader

    data_dir = str(nltk_data_dir())
    if data_dir not in nltk.data.path:
        nltk.data.path.insert(0, data_dir)
    try:
        with warnings.catch_warnings():
            # Without the Open Multilingual Wordnet NLTK warns; METEOR needs English only.
            warnings.simplefilter("ignore", UserWarning)
            _reader = WordNetCorpusReader(os.fspath(nltk.data.find("corpora/wordnet")), None)
    except (LookupError, OSError, ValueError) as error:
        raise MetricUnavailableError(
            "meteor", f"cannot read WordNet from {wordnet_dir()} ({error}); {INSTALL_HINT}"
        ) from None
    return _reader
