#!/usr/bin/env python3
"""Summarises Stryker's JSON reports (one folder per core folder) into bench/quality/mutation.md.

Usage: mutation_report.py RESULTS_DIR OUT.md
Each Stryker report (RESULTS_DIR/<folder>/…/mutation-report.json, large and not committed) is first condensed into
RESULTS_DIR/<folder>.summary.json (counts and survivors, committed); the table is then written from every summary, so
a run of one folder keeps the other folders' last results.
Score = (killed + timed out) / (killed + timed out + survived + no coverage), as Stryker counts it.
Notes written by hand (how each folder was run, what was done about its survivors) live in
bench/quality/mutation-notes.md and are copied in under the table.
Survivors judged equivalent (no test can tell them apart from the original) are listed, with a one-line
reason, in bench/quality/mutation-equivalent.tsv: `file<TAB>line<TAB>mutator<TAB>reason`; they are shown
with their reason and left out of the score's denominator in the "excluding equivalent" column.
"""
import json
import os
import sys
from datetime import datetime, timezone

results, out = sys.argv[1], sys.argv[2]
equivalent = {}
eq_path = os.path.join(os.path.dirname(out), "mutation-equivalent.tsv")
if os.path.exists(eq_path):
    for row in open(eq_path, encoding="utf-8"):
        if row.strip() and not row.startswith("#"):
            f, line, mutator, reason = row.rstrip("\n").split("\t", 3)
            equivalent[(f, int(line), mutator)] = reason

def condense(key, report):
    """Stryker's report → {run, counts, survivors}: what the table needs, small enough to commit."""
    data = json.load(open(report, encoding="utf-8"))
    counts, survivors = {}, []
    for path, f in data["files"].items():
        short = path[path.find("src/Mechanist/"):] if "src/Mechanist/" in path else path
        if all(m["status"] == "Ignored" for m in f["mutants"]):
            continue  # outside this folder's --mutate globs
        for m in f["mutants"]:
            counts[m["status"]] = counts.get(m["status"], 0) + 1
            if m["status"] in ("Survived", "NoCoverage"):
                survivors.append({"file": short, "line": m["location"]["start"]["line"], "mutator": m["mutatorName"],
                                  "replacement": m.get("replacement", ""), "status": m["status"]})
    when = datetime.fromtimestamp(os.path.getmtime(report), timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    return {"folder": key, "run": when, "counts": counts, "survivors": survivors}


for key in sorted(os.listdir(results)):
    folder = os.path.join(results, key)
    if not os.path.isdir(folder):
        continue
    reports = [os.path.join(d, "mutation-report.json") for d, _, files in os.walk(folder) if "mutation-report.json" in files]
    if reports:
        summary = condense(key, max(reports, key=os.path.getmtime))
        tmp = os.path.join(results, key + ".summary.json.tmp")
        with open(tmp, "w", encoding="utf-8") as w:
            json.dump(summary, w, indent=1)
        os.replace(tmp, os.path.join(results, key + ".summary.json"))

rows, survivors = [], []
for name in sorted(os.listdir(results)):
    if not name.endswith(".summary.json"):
        continue
    summary = json.load(open(os.path.join(results, name), encoding="utf-8"))
    key, counts = summary["folder"], summary["counts"]
    eq = 0
    for m in summary["survivors"]:
        reason = equivalent.get((m["file"], m["line"], m["mutator"]))
        if reason:
            eq += 1
        survivors.append((key, m["file"], m["line"], m["mutator"], m["replacement"], m["status"], reason or ""))
    killed = counts.get("Killed", 0) + counts.get("Timeout", 0)
    live = counts.get("Survived", 0) + counts.get("NoCoverage", 0)
    total = killed + live
    score = 100.0 * killed / total if total else float("nan")
    score_eq = 100.0 * killed / (total - eq) if total - eq else float("nan")
    rows.append((key, summary["run"], counts.get("Killed", 0), counts.get("Timeout", 0), counts.get("Survived", 0),
                 counts.get("NoCoverage", 0), counts.get("CompileError", 0), score,
                 100.0 * counts.get("Killed", 0) / total if total else float("nan"), score_eq))

with open(out, "w", encoding="utf-8") as w:
    w.write("# Mutation score of the core (Stryker.NET)\n\n")
    w.write("Written by `scripts/mutation.sh`; each folder's mutants are run against that folder's own tests only.\n")
    w.write("Score = (killed + timed out) / (killed + timed out + survived + no coverage). Folders not listed were not run.\n\n")
    w.write("A timeout counts as killed (the mutant made its tests run past 2 × their normal time + an allowance), which slow\n")
    w.write("instrumented code or a loaded CPU can also cause: runs before 2026-12-04 21:00 had a 10 s allowance, later ones 60 s\n")
    w.write("(see the notes). \"Killed alone\" counts no timeout as a kill.\n\n")
    w.write("| folder | run | killed | timed out | survived | no coverage | compile error (not run) | score | killed alone | score excluding equivalent |\n")
    w.write("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|\n")
    for key, when, k, t, s, n, c, score, alone, score_eq in rows:
        w.write(f"| {key} | {when} | {k} | {t} | {s} | {n} | {c} | {score:.1f}% | {alone:.1f}% | {score_eq:.1f}% |\n")
    notes = os.path.join(os.path.dirname(out), "mutation-notes.md")
    if os.path.exists(notes):  # what was run when, and what was done about the survivors, by hand
        w.write("\n" + open(notes, encoding="utf-8").read().strip() + "\n")
    w.write("\n## Surviving mutants\n\n")
    w.write("Equivalent ones carry their reason (from `mutation-equivalent.tsv`); the others are open: a test should kill them.\n\n")
    w.write("| folder | file | line | mutator | replacement | status | equivalent because |\n|---|---|---:|---|---|---|---|\n")
    for key, f, line, mutator, repl, status, reason in survivors:
        repl = repl.replace("|", "\\|").replace("\n", " ")
        if len(repl) > 60:
            repl = repl[:57] + "..."
        w.write(f"| {key} | {f} | {line} | {mutator} | `{repl}` | {status} | {reason} |\n")
print(f"wrote {out}")
