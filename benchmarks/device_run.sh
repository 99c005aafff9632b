#!/usr/bin/env bash
# One GPU run that records issue #16 part 3's figures: benchmarks/train_gpu.py with the DRI
# configs (unpacked and packed) next to escbench's and the plain baseline's bf16 configs, on a
# random-weight 1B-class LLaMA (nothing is downloaded). Meant to finish within about 8 minutes
# on one H100/H200 (not yet timed on one); a hard limit of LIMIT_S seconds (default 480) stops it otherwise.
#
# Run from the repository root of a fresh clone, on a CUDA machine whose python3 has torch,
# transformers 5, peft, accelerate, pyyaml, rich and pluggy (escbench itself need not be
# installed: the repository root is the `escbench` package and is put on PYTHONPATH):
#
#     benchmarks/device_run.sh TOKENIZER_DIR [OUT_DIR]
#
# TOKENIZER_DIR: a folder with SmolLM2's config.json and tokenizer files (tokenizer.json,
# tokenizer_config.json, chat_template.jinja; the weights are not needed), e.g. a copy of
# ~/.cache/escbench/models/SmolLM2-135M-Instruct without model.safetensors; "smollm2" uses the
# embedded model where escbench is set up. OUT_DIR (default: $OUT, else .) receives gpu.txt,
# train_gpu.log and train_gpu.json. CONFIGS overrides the configs (comma-separated), PYTHON the
# interpreter, EXTRA_ARGS adds arguments (e.g. "--allow-cpu --tiny" to check this script without a GPU).
set -euo pipefail

tokenizer=${1:?usage: benchmarks/device_run.sh TOKENIZER_DIR [OUT_DIR]}
out=${2:-${OUT:-.}}
configs=${CONFIGS:-escbench-bf16-dri,escbench-bf16-dri-packed,escbench-bf16,baseline-bf16}
mkdir -p "$out"

python=${PYTHON:-python3}
if ! "$python" -c "import escbench.harness" 2>/dev/null; then
    site=$(mktemp -d)
    ln -s "$PWD" "$site/escbench"
    export PYTHONPATH="$site${PYTHONPATH:+:$PYTHONPATH}"
fi
{
    nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true
    "$python" -c 'import torch, transformers, peft; print("torch", torch.__version__, "transformers",
transformers.__version__, "peft", peft.__version__, "cuda", torch.cuda.is_available())'
    git rev-parse HEAD 2>/dev/null || true
} | tee "$out/gpu.txt"

set -o pipefail
PYTHONUNBUFFERED=1 timeout "${LIMIT_S:-480}" "$python" benchmarks/train_gpu.py --tokenizer "$tokenizer" \
    --configs "$configs" ${EXTRA_ARGS:-} --json "$out/train_gpu.json" 2>&1 | tee "$out/train_gpu.log"
