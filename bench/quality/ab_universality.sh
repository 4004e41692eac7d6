#!/usr/bin/env bash
# Towards Monosemanticity's A/B universality and feature splitting at this machine's scale (issue 15 item 7):
#   mini-pile → BPE 8,192 → token store → toy-1l seeds 0 and 1 (models A and B) → A's MLP activations harvested →
#   TopK dictionaries of 512…4,096 latents on A, 4,096 on B (streamed from B) → feature stores with built-in
#   explanations → universal features (A vs B, with the neuron baseline, attached to A's store) → features splits
#   across A's widths (attached to each width's store) → a static site of A's 4,096-latent store.
# usage: bench/quality/ab_universality.sh WORK [MODEL_TOKENS] [ACT_ROWS] [SAE_TOKENS] [CORR_TOKENS] [K] [FEATURE_TOKENS]
#   defaults: 6 M model tokens per seed, 4 M activation rows, 4 M SAE tokens, 4 M correlation tokens, k = 16,
#   300 k feature-store tokens. (The paper: 100 B model tokens, 40.96 M correlation tokens.)
# Environment: MECHANIST (the CLI command), CORPUS (default ../shared/corpus/mini-pile.train.jsonl.gz), STORE_WIDTHS,
#   CHAINS_IN_PARALLEL=1 (A's and B's stages as two one-thread processes side by side until the comparison).
# Each stage skips itself when its output exists, so the script can be rerun after an interruption.
set -euo pipefail
WORK=${1:?usage: $0 WORK [MODEL_TOKENS] [ACT_ROWS] [SAE_TOKENS] [CORR_TOKENS] [K] [FEATURE_TOKENS]}
MODEL_TOKENS=${2:-6000000}
ACT_ROWS=${3:-4000000}
SAE_TOKENS=${4:-4000000}
CORR_TOKENS=${5:-4000000}
K=${6:-16}
FEATURE_TOKENS=${7:-300000}
M=${MECHANIST:-dotnet src/Mechanist.Cli/bin/Release/net10.0/mechanist.dll}
CORPUS=${CORPUS:-../shared/corpus/mini-pile.train.jsonl.gz}
HOOK=blocks.0.mlp.hook_post
WIDTHS="512 1024 2048 4096"
STORE_WIDTHS=${STORE_WIDTHS:-$WIDTHS}   # which of A's widths get a feature store (explanations in the split families)
mkdir -p "$WORK/A/sae" "$WORK/B/sae"
log() { echo "[$(date -u +%H:%M:%S)] $*" | tee -a "$WORK/pipeline.log"; }
log "settings: model $MODEL_TOKENS tok/seed, acts $ACT_ROWS rows, SAE $SAE_TOKENS tok (topk k=$K), correlations $CORR_TOKENS tok"
[ -f "$WORK/tok/tokenizer.json" ] || { log tokenizer; $M tokenizer train --input "$CORPUS" --vocab-size 8192 --out "$WORK/tok" --force; }
[ -f "$WORK/tokens/meta.json" ] || { log corpus; $M corpus prepare --input "$CORPUS" --tokenizer "$WORK/tok" --out "$WORK/tokens" --force; }
train() { # train SEED: one toy-1l model into models/seed-SEED (resumes an interrupted run)
  [ -f "$WORK/models/seed-$1/manifest.json" ] && return   # written last; model.safetensors appears at the first checkpoint
  log "model seed $1 ($MODEL_TOKENS tokens)"
  $M model train --data "$WORK/tokens" --preset toy-1l --seeds "$1" --tokens "$MODEL_TOKENS" --out "$WORK/models"
}
evaluate() { [ -f "$WORK/model-eval-$1.json" ] || $M model eval --model "$WORK/$1/model" --data "$WORK/tokens" --json > "$WORK/model-eval-$1.json"; }
store() { # store RUN WIDTH: a feature store of that dictionary, explained by the built-in explainer
  local dir="$WORK/$1/features-w$2"
  [ -f "$dir/manifest.json" ] || { log "features $1 w$2"; $M features build --sae "$WORK/$1/sae/topk-w$2-k$K" --model "$WORK/$1/model" --data "$WORK/tokens" --tokens "$FEATURE_TOKENS" --neurons "$([ "$2" = 4096 ] && echo true || echo false)" --out "$dir"; }
  [ -f "$dir/explanations.jsonl" ] || { log "explain $1 w$2"; $M explain --features "$dir" | tee "$WORK/explain-$1-w$2.txt"; }
}
ln -sfn ../models/seed-0 "$WORK/A/model"; ln -sfn ../models/seed-1 "$WORK/B/model"
chain_a() { # model A, its activations, its dictionaries of every width and their feature stores
  train 0; evaluate A
  if [ ! -f "$WORK/A/acts/manifest.json" ]; then
    log "harvest A ($ACT_ROWS rows)"
    local resume=""; [ -d "$WORK/A/acts" ] && resume="--resume"
    $M acts harvest --model "$WORK/A/model" --data "$WORK/tokens" --hook $HOOK --tokens "$ACT_ROWS" --per-context 64 --dtype f16 --out "$WORK/A/acts" $resume
  fi
  [ -f "$WORK/A/sae/metrics.json" ] || { log "sae A ${WIDTHS// /,}"; $M sae train --acts "$WORK/A/acts" --arch topk --k "$K" --width "${WIDTHS// /,}" --tokens "$SAE_TOKENS" --out "$WORK/A/sae" --force; }
  for W in $STORE_WIDTHS; do store A "$W"; done
}
chain_b() { # model B and its 4,096-latent dictionary (streamed from the model, no activation store)
  train 1; evaluate B
  [ -f "$WORK/B/sae/metrics.json" ] || { log "sae B 4096 (streamed)"; $M sae train --model "$WORK/B/model" --data "$WORK/tokens" --hook $HOOK --arch topk --k "$K" --width 4096 --tokens "$SAE_TOKENS" --seed 1 --out "$WORK/B/sae" --force; }
  store B 4096
}
if [ "${CHAINS_IN_PARALLEL:-0}" = 1 ]; then
  # On a few cores two one-thread processes beat one two-thread process for these small matrices; A and B are
  # independent until they are compared.
  DOTNET_PROCESSOR_COUNT=1 chain_a & pa=$!
  DOTNET_PROCESSOR_COUNT=1 chain_b & pb=$!
  ra=0; rb=0; wait $pa || ra=$?; wait $pb || rb=$?   # wait for both, so a failed chain leaves no stage running behind
  [ $ra = 0 ] && [ $rb = 0 ] || { log "a chain failed (A: exit $ra, B: exit $rb)"; exit 1; }
else
  chain_a; chain_b
fi
[ -f "$WORK/ab/summary.json" ] || { log "universal features"; $M universal features --a "$WORK/A" --b "$WORK/B" --sae "topk-w4096-k$K" --data "$WORK/tokens" --tokens "$CORR_TOKENS" --features-a "$WORK/A/features-w4096" --features-b "$WORK/B/features-w4096" --out "$WORK/ab" --force | tee "$WORK/ab.txt"; }
[ -f "$WORK/splits/summary.json" ] || { log "features splits"; $M features splits --sae "$WORK/A/sae" --acts "$WORK/A/acts" --features $(for W in $STORE_WIDTHS; do echo "$WORK/A/features-w$W"; done) --top 10 --out "$WORK/splits" --force | tee "$WORK/splits.txt"; }
[ -f "$WORK/site/index.html" ] || { log "static site"; $M export-html --features "$WORK/A/features-w4096" --out "$WORK/site"; }
log "done: $WORK/ab/summary.json, $WORK/splits/summary.json, $WORK/site/index.html"
