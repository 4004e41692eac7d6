#!/bin/bash
# Universal neurons as a Slurm job array: each task sums its share of the tokens and writes partial sums to
# $OUT/shard-IIIII-of-NNNNN/ on a shared file system; a dependent job merges them into $OUT/universal.csv.
#
#   jid=$(sbatch --parsable docs/universal/slurm-universal.sh)
#   sbatch --dependency=afterok:$jid --cpus-per-task=4 --mem=32G --wrap "mechanist universal merge --out $OUT"
#
# Sizes (GPT-2 small, five seeds, rotation baseline: 36,864 neurons of model 0 against 8 targets of 36,864):
# each shard writes 8 bytes × 36,864 × 8 × 36,864 ≈ 87 GB of float64 sums (whatever its share of tokens), and the
# merge reads them all once, tile by tile. Fewer shards, or one job per seed pair (--models s0 sK), write less.
#SBATCH --job-name=universal-neurons
#SBATCH --array=0-21
#SBATCH --cpus-per-task=16
#SBATCH --mem=64G
#SBATCH --time=24:00:00
#SBATCH --output=universal-%A_%a.log
set -euo pipefail

SHARDS=${SLURM_ARRAY_TASK_COUNT:-22}   # keep equal to the --array range
OUT=${OUT:-/shared/universal/gpt2-small}
MODELS=${MODELS:-"/shared/models/gpt2-small-a /shared/models/gpt2-small-b /shared/models/gpt2-small-c /shared/models/gpt2-small-d /shared/models/gpt2-small-e"}
DATA=${DATA:-/shared/tokens/pile-test}
TOKENS=${TOKENS:-100_000_000}
MEMORY=${MEMORY:-56GB}
TILE_ROWS=${TILE_ROWS:-4096}

# The same --memory and --tile-rows in every task: shards merge only when they cut the neurons into the same tiles.
mechanist universal neurons \
    --models $MODELS --data "$DATA" --tokens "$TOKENS" \
    --baselines rotation --seed 0 \
    --memory "$MEMORY" --tile-rows "$TILE_ROWS" \
    --shard "${SLURM_ARRAY_TASK_ID}/${SHARDS}" --out "$OUT"
