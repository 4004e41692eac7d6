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
#              RESAMPLE (relu resampling steps, default the paper's 25k,50k,75k,100k; the trainer resamples latents
#              silent for 12,500 steps, so runs shorter than ~40k steps get no resampling).
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
mkdir -p "$WORK"
log() { echo "[$(date -u +%H:%M:%S)] $*" | tee -a "$WORK/pipeline.log"; }

log "settings: model $MODEL_TOKENS tok, acts $ACT_ROWS rows (K=$PER_CONTEXT, $DTYPE), SAE $SAE_TOKENS tok (batch $SAE_BATCH, $STEPS steps, λ $L1, resample at $RESAMPLE), eval $EVAL_WINDOWS windows"
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
     --per-context "$PER_CONTEXT" --dtype "$DTYPE" --out "$WORK/acts" $RESUME
fi
if [ ! -f "$WORK/sae/metrics.json" ]; then
  log "sae train ($SAE_TOKENS tokens)"
  RESUME=""; [ -d "$WORK/sae/checkpoint" ] && RESUME="--resume"
  $M sae train --acts "$WORK/acts" --arch relu --width 4096 --l1 "$L1" --tokens "$SAE_TOKENS" --batch-size "$SAE_BATCH" \
     --resample-steps "$RESAMPLE" --out "$WORK/sae" $RESUME
fi
SAE_DIR=$(find "$WORK/sae" -mindepth 1 -maxdepth 1 -type d ! -name checkpoint | head -1)
log "sae eval ($SAE_DIR)"
$M sae eval --sae "$SAE_DIR" --model "$WORK/model" --data "$WORK/tokens" --windows "$EVAL_WINDOWS" --json | tee "$WORK/eval.json"
log "done: $WORK/eval.json (also $SAE_DIR/eval.json, eval.density.svg)"
