#!/usr/bin/env python3
"""Summarises Stryker's JSON reports (one folder per core folder) into bench/quality/mutation.md.

Usage: mutation_report.py RESULTS_DIR OUT.md
Score = (killed + timed out) / (killed + timed out + survived + no coverage), as Stryker counts it.
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

rows, survivors = [], []
for key in sorted(os.listdir(results)):
    report = None
    for dirpath, _, files in os.walk(os.path.join(results, key)):
        if "mutation-report.json" in files:
            report = os.path.join(dirpath, "mutation-report.json")
    if report is None:
        continue
    data = json.load(open(report, encoding="utf-8"))
    counts = {}
    eq = 0
    for path, f in data["files"].items():
        short = path[path.find("src/Mechanist/"):] if "src/Mechanist/" in path else path
        if all(m["status"] == "Ignored" for m in f["mutants"]):
            continue  # outside this folder's --mutate globs
        for m in f["mutants"]:
            status = m["status"]
            counts[status] = counts.get(status, 0) + 1
            if status in ("Survived", "NoCoverage"):
                line = m["location"]["start"]["line"]
                reason = equivalent.get((short, line, m["mutatorName"]))
                if reason:
                    eq += 1
                survivors.append((key, short, line, m["mutatorName"], m.get("replacement", ""), status, reason or ""))
    killed = counts.get("Killed", 0) + counts.get("Timeout", 0)
    live = counts.get("Survived", 0) + counts.get("NoCoverage", 0)
    total = killed + live
    when = datetime.fromtimestamp(os.path.getmtime(report), timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    score = 100.0 * killed / total if total else float("nan")
    score_eq = 100.0 * killed / (total - eq) if total - eq else float("nan")
    rows.append((key, when, killed, counts.get("Survived", 0), counts.get("NoCoverage", 0),
                 counts.get("CompileError", 0), score, score_eq))

with open(out, "w", encoding="utf-8") as w:
    w.write("# Mutation score of the core (Stryker.NET)\n\n")
    w.write("Written by `scripts/mutation.sh`; each folder's mutants are run against that folder's own tests only.\n")
    w.write("Score = (killed + timed out) / (killed + timed out + survived + no coverage). Folders not listed were not run.\n\n")
    w.write("| folder | run | killed | survived | no coverage | compile error (not run) | score | score excluding equivalent |\n")
    w.write("|---|---|---:|---:|---:|---:|---:|---:|\n")
    for key, when, k, s, n, c, score, score_eq in rows:
        w.write(f"| {key} | {when} | {k} | {s} | {n} | {c} | {score:.1f}% | {score_eq:.1f}% |\n")
    w.write("\n## Surviving mutants\n\n")
    w.write("Equivalent ones carry their reason (from `mutation-equivalent.tsv`); the others are open: a test should kill them.\n\n")
    w.write("| folder | file | line | mutator | replacement | status | equivalent because |\n|---|---|---:|---|---|---|---|\n")
    for key, f, line, mutator, repl, status, reason in survivors:
        repl = repl.replace("|", "\\|").replace("\n", " ")
        if len(repl) > 60:
            repl = repl[:57] + "..."
        w.write(f"| {key} | {f} | {line} | {mutator} | `{repl}` | {status} | {reason} |\n")
print(f"wrote {out}")
