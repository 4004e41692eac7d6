#!/usr/bin/env bash
# A dense and a weight-sparse model of one architecture (PRESET, by default sparse-2l: 2 layers, d 128, context 128,
# RMSNorm, bigram, sink, AbsTopK 0.25) on one Python token store, for issue 17 item 8 (circuits of equal-loss models;
# METHODS.md §6). The sparse model (final hidden density DENSITY) trains on TOKENS_SPARSE tokens; the dense baseline
# (density 1, the same recipe) trains on fewer tokens so that the two end near the same validation loss (the paper
# compares circuits at equal pretraining loss). TOKENS_DENSE may list several budgets ("400000 700000"): one dense leg
# each (WORKDIR/dense-T), so the table printed at the end brackets the sparse model's loss and the nearest leg is the
# equal-loss partner. bench/quality/sparse_dense_circuits.sh then prunes both; bench/quality/sparse_dense.md holds runs.
#
# usage: bench/quality/sparse_dense.sh WORKDIR
# Environment: MECHANIST (default "dotnet src/Mechanist.Cli/bin/Release/net10.0/mechanist.dll"), CORPUS (default: the
#   Python standard library found here), PRESET (sparse-2l), DENSITY (0.0625), TOKENS_SPARSE (3000000),
#   TOKENS_DENSE (750000; a space-separated list is allowed), BATCH (16 windows per step), SEED (0).
# Output: WORKDIR/python-data (tokenizer + tokens), WORKDIR/sparse and WORKDIR/dense-T (model folders), WORKDIR/summary.tsv.
# Finished legs are skipped (manifest.json present); an interrupted leg resumes from its checkpoint.
set -euo pipefail
WORK=${1:?usage: $0 WORKDIR}
M=${MECHANIST:-dotnet src/Mechanist.Cli/bin/Release/net10.0/mechanist.dll}
PRESET=${PRESET:-sparse-2l}
DENSITY=${DENSITY:-0.0625}
TOKENS_SPARSE=${TOKENS_SPARSE:-3000000}
TOKENS_DENSE=${TOKENS_DENSE:-750000}
BATCH=${BATCH:-16}
SEED=${SEED:-0}
mkdir -p "$WORK"
DATA=$WORK/python-data
if [ -f "$DATA/data.json" ]; then echo "python-data: made earlier"
elif [ -n "${CORPUS:-}" ]; then $M sparse data --corpus "$CORPUS" --out "$DATA"; else $M sparse data --out "$DATA"; fi

leg() { # name density tokens
  local out=$WORK/$1
  if [ -f "$out/manifest.json" ]; then echo "$1: done earlier"; return; fi
  local resume=""; [ -f "$out/checkpoint/state.json" ] && resume="--resume"
  /usr/bin/time -f "$1: %e s wall" $M sparse train --data "$DATA" --weight-density "$2" --tokens "$3" --preset "$PRESET" --batch "$BATCH" --seed "$SEED" --out "$out" $resume
}
leg sparse "$DENSITY" "$TOKENS_SPARSE"
for t in $TOKENS_DENSE; do leg "dense-$t" 1 "$t"; done

printf 'model\tdensity_target\ttokens\tval_loss_whole_split\thidden_density_measured\n' > "$WORK/summary.tsv"
for name in sparse $(for t in $TOKENS_DENSE; do echo "dense-$t"; done); do
  loss=$($M model eval --model "$WORK/$name" --data "$DATA/tokens" --windows 100000 --json | sed 's/.*"loss":\([0-9.eE+-]*\).*/\1/')
  hidden=$($M sparse info --model "$WORK/$name" --json 2>/dev/null | sed 's/.*"hidden_density":\([0-9.eE+-]*\).*/\1/' || echo 1)
  if [ "$name" = sparse ]; then target=$DENSITY; tokens=$TOKENS_SPARSE; else target=1; tokens=${name#dense-}; fi
  printf '%s\t%s\t%s\t%s\t%s\n' "$name" "$target" "$tokens" "$loss" "${hidden:-1}" >> "$WORK/summary.tsv"
done
column -t "$WORK/summary.tsv"
