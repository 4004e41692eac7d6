#!/usr/bin/env bash
# The Towards Monosemanticity A/1 setup end to end, with the budgets as arguments:
#   mini-pile → BPE 8,192 → token store → toy-1l (d 128, MLP 512, ReLU) → harvest blocks.0.mlp.hook_post
#   (K positions per context, shuffled) → relu SAE 4,096 latents (L1 + resampling) → sae eval spliced into the model.
# Each stage skips itself when its output is already complete, so the script can be rerun after an interruption
# (model and SAE training resume from their checkpoints).
#
# usage: bench/quality/toy1l_relu_a1.sh WORKDIR [MODEL_TOKENS] [ACT_ROWS] [SAE_TOKENS] [L1] [EVAL_WINDOWS] [PER_CONTEXT]
#   defaults: 20M model tokens, 20M activation rows (≈ 40 GiB at f32 for d = 512: use f16 to halve it),
#             400M SAE tokens (≈ 20 passes), λ 0.05 (inputs scaled to E‖x‖² = 1), 2,000 eval windows, K = 250.
# The paper: 100 B model tokens, 8.2 B SAE vectors from a pool of 10 B (40 M contexts × 250), batch 8,192.
# Environment: MECHANIST (the CLI command, default "dotnet src/Mechanist.Cli/bin/Release/net10.0/mechanist.dll"),
#              CORPUS (default ../shared/corpus/mini-pile.train.jsonl.gz), DTYPE (default f16), SAE_BATCH (default 4096),
#              RESAMPLE (relu resampling steps, default the paper's 25k,50k,75k,100k of 1M steps) and RESAMPLE_WINDOW
#              (steps a latent must have been silent to be resampled, default the paper's 12,500): scale both down for
#              shorter runs, e.g. RESAMPLE=1000,2000,3000,4000 RESAMPLE_WINDOW=500 for ~9k steps;
#              SAE_LR (default 0.0004), SAE_WARMUP (learning-rate warm-up steps, default 200), L1_WARMUP (fraction of
#              the run over which λ rises, default 0.05; 0, the paper's, silenced half the dictionary at short budgets),
#              SHUFFLE_MB (harvest shuffle buffer, default 2048), DENSITY_ROWS (stored rows the densities are counted
#              over, default 5M). L1 may list several λ (comma-separated): one SAE each from the same stream, each evaluated.
set -euo pipefail
WORK=${1:?usage: $0 WORKDIR [MODEL_TOKENS] [ACT_ROWS] [SAE_TOKENS] [L1] [EVAL_WINDOWS] [PER_CONTEXT]}
MODEL_TOKENS=${2:-20000000}
ACT_ROWS=${3:-20000000}
SAE_TOKENS=${4:-400000000}
L1=${5:-0.05}
EVAL_WINDOWS=${6:-2000}
PER_CONTEXT=${7:-250}
M=${MECHANIST:-dotnet src/Mechanist.Cli/bin/Release/net10.0/mechanist.dll}
CORPUS=${CORPUS:-../shared/corpus/mini-pile.train.jsonl.gz}
DTYPE=${DTYPE:-f16}
SAE_BATCH=${SAE_BATCH:-4096}
STEPS=$(( (SAE_TOKENS + SAE_BATCH - 1) / SAE_BATCH ))
RESAMPLE=${RESAMPLE:-25000,50000,75000,100000}
RESAMPLE_WINDOW=${RESAMPLE_WINDOW:-12500}
SAE_LR=${SAE_LR:-0.0004}
SAE_WARMUP=${SAE_WARMUP:-200}
L1_WARMUP=${L1_WARMUP:-0.05}
SHUFFLE_MB=${SHUFFLE_MB:-2048}
DENSITY_ROWS=${DENSITY_ROWS:-5000000}
mkdir -p "$WORK"
log() { echo "[$(date -u +%H:%M:%S)] $*" | tee -a "$WORK/pipeline.log"; }

log "settings: model $MODEL_TOKENS tok, acts $ACT_ROWS rows (K=$PER_CONTEXT, $DTYPE), SAE $SAE_TOKENS tok (batch $SAE_BATCH, $STEPS steps, lr $SAE_LR, λ $L1, λ warm-up $L1_WARMUP, resample at $RESAMPLE with window $RESAMPLE_WINDOW), eval $EVAL_WINDOWS windows"
[ -f "$WORK/tok/tokenizer.json" ] || { log tokenizer; $M tokenizer train --input "$CORPUS" --vocab-size 8192 --out "$WORK/tok" --force; }
[ -f "$WORK/tokens/meta.json" ] || { log corpus; $M corpus prepare --input "$CORPUS" --tokenizer "$WORK/tok" --out "$WORK/tokens" --force; }
if [ ! -f "$WORK/model/model.safetensors" ]; then
  log "model ($MODEL_TOKENS tokens)"
  if [ -d "$WORK/model/checkpoint" ]; then $M model train --data "$WORK/tokens" --out "$WORK/model" --resume
  else $M model train --data "$WORK/tokens" --preset toy-1l --tokens "$MODEL_TOKENS" --out "$WORK/model"; fi
fi
$M model eval --model "$WORK/model" --data "$WORK/tokens" --json | tee "$WORK/model-eval.json"
if [ ! -f "$WORK/acts/manifest.json" ]; then
  log "harvest ($ACT_ROWS rows)"
  RESUME=""; [ -d "$WORK/acts" ] && RESUME="--resume"
  $M acts harvest --model "$WORK/model" --data "$WORK/tokens" --hook blocks.0.mlp.hook_post --tokens "$ACT_ROWS" \
     --per-context "$PER_CONTEXT" --dtype "$DTYPE" --shuffle-mb "$SHUFFLE_MB" --out "$WORK/acts" $RESUME
fi
if [ ! -f "$WORK/sae/metrics.json" ]; then
  log "sae train ($SAE_TOKENS tokens)"
  RESUME=""; [ -d "$WORK/sae/checkpoint" ] && RESUME="--resume"
  $M sae train --acts "$WORK/acts" --arch relu --width 4096 --l1 "$L1" --l1-warmup "$L1_WARMUP" --lr "$SAE_LR" \
     --tokens "$SAE_TOKENS" --batch-size "$SAE_BATCH" --warmup-steps "$SAE_WARMUP" \
     --resample-steps "$RESAMPLE" --resample-window "$RESAMPLE_WINDOW" --out "$WORK/sae" $RESUME
fi
for SAE_DIR in $(find "$WORK/sae" -mindepth 1 -maxdepth 1 -type d ! -name checkpoint | sort); do
  NAME=$(basename "$SAE_DIR")
  log "sae eval $NAME (valid split, $EVAL_WINDOWS windows)"
  $M sae eval --sae "$SAE_DIR" --model "$WORK/model" --data "$WORK/tokens" --windows "$EVAL_WINDOWS" --json > "$WORK/eval-$NAME.json"
  # Densities down to 1e-6 need millions of tokens, more than the valid split holds: count them over the last
  # DENSITY_ROWS stored rows (the held-out rows plus training rows; density is not a fitted quantity).
  log "sae eval $NAME (densities over ${DENSITY_ROWS} stored rows)"
  $M sae eval --sae "$SAE_DIR" --acts "$WORK/acts" --rows "$DENSITY_ROWS" --out "$WORK/density-$NAME.json" > /dev/null
done
log "done: $WORK/eval-*.json, $WORK/density-*.json (also each SAE folder's eval.json, eval.density.svg)"
