#!/usr/bin/env bash
# Circuit sizes of a dense and a weight-sparse model at equal pretraining loss (issue 17 item 8; METHODS.md §6.4-6.6):
# each task is pruned on both models to the SAME target task loss, and the edges compared, with every report's seven
# controls. The models come from bench/quality/sparse_dense.sh (pick the dense leg nearest the sparse model's loss).
#
# usage: bench/quality/sparse_dense_circuits.sh DENSE_MODEL SPARSE_MODEL OUTDIR
# Environment: MECHANIST (default "dotnet src/Mechanist.Cli/bin/Release/net10.0/mechanist.dll"), TOKENIZER (default: the
#   model folders' own tokenizer files), DATA (token store for the ablation means; default each model's manifest),
#   TASKS (default: the tasks both models answer above chance, ACCURACY (0.6) on the train prompts), TARGET (default per
#   task: the larger of the two unpruned losses, so both full models reach it), PRUNE_ARGS (extra `circuit prune` options).
# Output: OUTDIR/tasks-{dense,sparse}.json, OUTDIR/{dense,sparse}-TASK/report.json (+ loss-vs-k.svg), OUTDIR/circuits.tsv
# with nodes, edges and losses per task and model, and the geometric mean of the dense/sparse edge ratios at the end.
set -euo pipefail
DENSE=${1:?usage: $0 DENSE_MODEL SPARSE_MODEL OUTDIR}
SPARSE=${2:?usage: $0 DENSE_MODEL SPARSE_MODEL OUTDIR}
OUT=${3:?usage: $0 DENSE_MODEL SPARSE_MODEL OUTDIR}
M=${MECHANIST:-dotnet src/Mechanist.Cli/bin/Release/net10.0/mechanist.dll}
ACCURACY=${ACCURACY:-0.6}
mkdir -p "$OUT"
tok=(); [ -n "${TOKENIZER:-}" ] && tok=(--tokenizer "$TOKENIZER")
data=(); [ -n "${DATA:-}" ] && data=(--data "$DATA")

for name in dense sparse; do
  model=$DENSE; [ "$name" = sparse ] && model=$SPARSE
  [ -f "$OUT/tasks-$name.json" ] || $M circuit tasks --model "$model" "${tok[@]}" --json > "$OUT/tasks-$name.json"
done

# Per task: each model's unpruned train loss and accuracy; the tasks both do above chance; the shared target.
plan=$(python3 - "$OUT" "$ACCURACY" "${TASKS:-}" "${TARGET:-}" <<'EOF'
import json, sys
out, need, tasks, target = sys.argv[1], float(sys.argv[2]), sys.argv[3].split(), sys.argv[4]
def scores(name):
    return {t["task"]: t for t in json.load(open(f"{out}/tasks-{name}.json"))}
d, s = scores("dense"), scores("sparse")
for task in d:
    dm, sm = d[task], s.get(task, {})
    if "loss" not in dm or "loss" not in sm: print(f"# {task}: not representable", file=sys.stderr); continue
    ok = dm["accuracy"] >= need and sm["accuracy"] >= need
    if tasks and task not in tasks: continue
    if not tasks and not ok:
        print(f"# {task}: left out (train accuracy dense {dm['accuracy']:.2f}, sparse {sm['accuracy']:.2f} < {need})", file=sys.stderr); continue
    t = float(target) if target else max(dm["loss"], sm["loss"])
    print(task, f"{t:.6f}", f"{dm['loss']:.4f}", f"{dm['accuracy']:.3f}", f"{sm['loss']:.4f}", f"{sm['accuracy']:.3f}")
EOF
)
echo "$plan"
printf 'task\ttarget\tmodel\taccuracy_unpruned\tloss_unpruned\treached\tnodes\tnodes_total\tedges\tloss_pruned\tloss_held_out\tloss_without_circuit\trandom_model_reached\tnonsense_reached\tzero_ablation_edges\tprune_seconds\n' > "$OUT/circuits.tsv"
while read -r task target _; do
  [ -z "$task" ] && continue
  for name in dense sparse; do
    model=$DENSE; [ "$name" = sparse ] && model=$SPARSE
    dir=$OUT/$name-$task
    if [ ! -f "$dir/report.json" ]; then
      start=$(date +%s)
      # shellcheck disable=SC2086
      $M circuit prune --model "$model" --task "$task" --target-loss "$target" "${tok[@]}" "${data[@]}" --out "$dir" ${PRUNE_ARGS:-}
      echo $(( $(date +%s) - start )) > "$dir/seconds"
    fi
    python3 - "$dir" "$task" "$target" "$name" >> "$OUT/circuits.tsv" <<'EOF'
import json, sys
d, task, target, name = sys.argv[1:]
r = json.load(open(f"{d}/report.json")); c = r["controls"]
secs = open(f"{d}/seconds").read().strip() if __import__("os").path.exists(f"{d}/seconds") else ""
print("\t".join(str(x) for x in [task, target, name, round(r["accuracy_unpruned"], 3), round(r["loss_unpruned"], 4), r["reached_target"],
    r["nodes"], r["nodes_total"], r["edges"], round(r["loss_pruned"], 4), round(c["held_out"]["loss_pruned"], 4),
    round(c["completeness"]["loss_without_circuit"], 4), c["random_model"]["reached_target"], c["nonsense_task"]["reached_target"],
    c["ablation"]["zero"]["edges"], secs]))
EOF
  done
done <<< "$plan"

column -t -s $'\t' "$OUT/circuits.tsv"
python3 - "$OUT/circuits.tsv" <<'EOF'
import csv, math, sys
rows = list(csv.DictReader(open(sys.argv[1]), delimiter="\t"))
ratios = []
for task in dict.fromkeys(r["task"] for r in rows):
    d = next(r for r in rows if r["task"] == task and r["model"] == "dense")
    s = next(r for r in rows if r["task"] == task and r["model"] == "sparse")
    both = d["reached"] == "True" and s["reached"] == "True"
    ratio = int(d["edges"]) / max(1, int(s["edges"]))
    print(f"{task}: dense {d['edges']} edges, sparse {s['edges']} edges, ratio {ratio:.2f}" + ("" if both else " (target not reached by both: left out of the mean)"))
    if both: ratios.append(ratio)
if ratios: print(f"geometric mean of dense/sparse edge ratios over {len(ratios)} task(s): {math.exp(sum(map(math.log, ratios)) / len(ratios)):.2f}")
else: print("no task reached the target on both models: no ratio")
EOF
