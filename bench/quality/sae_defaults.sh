#!/usr/bin/env bash
# Does the default SAE learning rate come within 0.02 of the best one? (issue 13, "SAE defaults on short runs")
# On planted features (`sae synth`: d 64, 512 true directions, L0 6, 1 M rows, seed 3) train TopK SAEs (k 6) of
# several widths at once, for each run length, at the default learning rate (--lr 0, set per width and run length)
# and at each rate of a sweep; score every SAE with `sae eval --truth` (fraction of the true directions recovered at
# cosine ≥ 0.9) and print one TSV row per SAE. bench/quality/sae_defaults.md holds a run's table and conclusion.
#
# usage: bench/quality/sae_defaults.sh WORKDIR [WIDTHS] [TOKENS]
#   defaults: widths 512,1024,2048; run lengths "500000 2000000" tokens (batch 4,096: 123 and 489 steps).
# Environment: MECHANIST (the CLI command, default "dotnet src/Mechanist.Cli/bin/Release/net10.0/mechanist.dll"),
#              LRS (the rates, default "default 1e-3 2e-3 4e-3 8e-3 1.6e-2 3.2e-2"; "default" = --lr 0),
#              EXTRA (more `sae train` options, e.g. "--decay 0").
# Output: WORKDIR/sweep.tsv (tokens, width, lr given, lr used, recovered, MMCS); rows already there are not rerun.
set -euo pipefail
WORK=${1:?usage: $0 WORKDIR [WIDTHS] [TOKENS]}
WIDTHS=${2:-512,1024,2048}
RUN_TOKENS=${3:-500000 2000000}
LRS=${LRS:-default 1e-3 2e-3 4e-3 8e-3 1.6e-2 3.2e-2}
EXTRA=${EXTRA:-}
M=${MECHANIST:-dotnet src/Mechanist.Cli/bin/Release/net10.0/mechanist.dll}
mkdir -p "$WORK"
DATA=$WORK/synth.npy
[ -f "$DATA" ] || $M sae synth --d 64 --features 512 --l0 6 --rows 1000000 --seed 3 --out "$DATA"
TSV=$WORK/sweep.tsv
[ -f "$TSV" ] || printf 'tokens\twidth\tlr_given\tlr_used\trecovered\tmmcs\n' > "$TSV"
for TOKENS in $RUN_TOKENS; do
  for LR in $LRS; do
    grep -q "^$TOKENS	[0-9]*	$LR	" "$TSV" && continue
    OUT=$WORK/run-$TOKENS-$LR
    GIVEN=$([ "$LR" = default ] && echo 0 || echo "$LR")
    echo "[$(date -u +%H:%M:%S)] $TOKENS tokens, lr $LR" >&2
    $M sae train --acts "$DATA" --arch topk --k 6 --width "$WIDTHS" --tokens "$TOKENS" --lr "$GIVEN" $EXTRA --out "$OUT" --force > "$OUT.log" 2>&1
    for SAE in "$OUT"/topk-w*-k6; do
      W=${SAE##*-w}; W=${W%-k6}
      USED=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['mechanist']['lr'])" "$SAE/cfg.json")
      $M sae eval --sae "$SAE" --truth "$WORK/synth.truth" > "$SAE.truth.json"
      python3 -c "import json,sys; e=json.load(open(sys.argv[1])); print('\t'.join([sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5], f\"{e['recovered_at_0.9']:.4f}\", f\"{e['mmcs']:.4f}\"]))" \
        "$SAE.truth.json" "$TOKENS" "$W" "$LR" "$USED" >> "$TSV"
    done
  done
done
column -t "$TSV"
