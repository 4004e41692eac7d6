#!/bin/bash
# Universal neurons (issue 16) on five seeds of one 2-layer GELU model, end to end:
#   bash bench/quality/universal_seeds.sh WORK [TOKENS_PER_SEED] [CORR_TOKENS]
# WORK gets: slice.jsonl.gz (the first 6 MB of mini-pile), tokenizer/ (2,048-token BPE), tokens/, seeds/seed-{0..4}/
# (tiny-2l: 2 layers, d 256, MLP 1,024, GELU, context 128) and un/ (universal.csv with statistics, head composition,
# families and roles; neurons-model*.csv; entropy-intervention.csv/.svg; attention-deactivation.csv; summary.json).
set -euo pipefail
WORK=${1:?usage: universal_seeds.sh WORK [TOKENS_PER_SEED] [CORR_TOKENS]}
PER_SEED=${2:-3000000}
CORR=${3:-1000000}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
M=${MECHANIST:-"dotnet run -c Release --project $ROOT/src/Mechanist.Cli --"}  # MECHANIST: a built CLI, e.g. "dotnet /path/mechanist.dll"
mkdir -p "$WORK" && cd "$WORK"
[ -f slice.jsonl.gz ] || PILE=${PILE:-$ROOT/../shared/corpus/mini-pile.train.jsonl.gz} python3 - <<'PY'
import gzip
n = 0
import os
with gzip.open(os.environ.get('PILE', '../shared/corpus/mini-pile.train.jsonl.gz'), 'rt') as f, gzip.open('slice.jsonl.gz', 'wt') as g:
    for line in f:
        g.write(line); n += len(line)
        if n > 6_000_000: break
PY
[ -f tokenizer/vocab.json ] || $M tokenizer train --input slice.jsonl.gz --vocab-size 2048 --out tokenizer
[ -f tokens/meta.json ] || $M corpus prepare --input slice.jsonl.gz --tokenizer tokenizer --out tokens --valid-fraction 0.02
$M model train --data tokens --preset tiny-2l --seeds 0-4 --tokens "$PER_SEED" --context 128 --warmup 50 --out seeds
$M universal neurons --models seeds/seed-0 seeds/seed-1 seeds/seed-2 seeds/seed-3 seeds/seed-4 --data tokens \
    --tokens "$CORR" --baselines rotation,haar,permutation,gaussian --stats-tokens 1000000 \
    --intervention-tokens 16384 --entropy-candidates 4 --ablations 5 --out un --force
