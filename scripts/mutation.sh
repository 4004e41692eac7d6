#!/usr/bin/env bash
# Mutation testing of the numeric and data core with Stryker.NET (pinned in .config/dotnet-tools.json).
#
#   scripts/mutation.sh [FOLDER...]     FOLDER is a key below (default: all of them), e.g. scripts/mutation.sh io autograd
#
# Each folder's source files are mutated and only that folder's tests run against the mutants (a mutant that
# only some other folder's test would kill counts as survived here: the score says how well a folder's own tests
# guard it). Per-folder results go to bench/quality/mutation/<folder>/ (Stryker's JSON and HTML reports) and the
# scores table to bench/quality/mutation.md. A benchmark-style run (tens of minutes per folder on 2 cores), not
# part of CI. The dots reporter prints a character per mutant tested, so a redirected log shows how far a run is.
# Stryker builds Release (a Debug build runs the numeric tests several times slower) into the usual bin/ folders,
# so run it in a clone if you are building beside it.
#
# Timeouts: Stryker compiles every file's mutants into the assembly (the --mutate globs only choose which ones get
# tested), so each mutated expression becomes a call to its mutant switch, also in the GEMM micro-kernels the other
# folders' tests run through: under Stryker the GEMM tests take about 6x their normal time (4 s -> 25 s). Stryker's
# limit per mutant is 2x the covering tests' normal time plus an additional allowance; with its default allowance
# slow-but-correct runs were reported as timeouts (counted as kills). MUTATION_ADDITIONAL_TIMEOUT_MS (default 60000)
# sets the allowance.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

# key | files to mutate (globs relative to src/Mechanist) | tests that guard them (xunit FullyQualifiedName prefixes;
# an entry starting with ! names tests left out).
# GEMM is guarded by GemmPathTests (each branch point of the GEMM by its smallest product, exact against the class's
# own float64 loop, about 0.3 s) and the bf16 tests but their large every-form product (which GemmPathTests' bf16
# cases cover): its mutants that run outside any test (the bf16 detection, at test discovery) go against every test of
# the filter, and under Stryker the GEMM runs several times slower, so the filter must stay small. GemmTests (the
# larger shapes, the oracle there being Gemm.Reference, itself mutated) and SparseGemmTests run in CI.
# The kernels are guarded by their own float64-reference tests in Numerics (*KernelTests); adding the Autograd tests
# that also run them made one run longer than a sitting (over 50 minutes of testing). The SAE code (about 3,100 mutants) is split in three runs of under an
# hour or two each: the training kernel and architectures, the trainer and its data, the model, formats and evaluation.
# The SAE runs leave out the long training tests (recovery, bf16, streamed training, checkpoint resume): under
# Stryker's coverage capture, which takes a lock and searches a list at every mutant switch an instrumented loop
# passes, they run hundreds of times slower than normal (the ReLU recovery test, 1 s normally, had not finished after
# 300 s), while the other 92 SAE tests take 73 s there instead of 2 s.
sae_long='!SyntheticRecoveryTests|!SaeBFloat16TrainingTests|!StreamTrainingTests|!Training_resumes_exactly_from_a_checkpoint'
folders=(
  "io|IO/**/*.cs|Mechanist.Tests.IO"
  "autograd|Autograd/**/*.cs|Mechanist.Tests.Autograd"
  "kernels|Numerics/Kernels/**/*.cs|Mechanist.Tests.Numerics"
  "gemm|Numerics/Gemm/**/*.cs|Mechanist.Tests.Numerics.GemmPathTests|Mechanist.Tests.Numerics.GemmContractTests|Mechanist.Tests.Numerics.BFloat16GemmTests|!Bf16_scope_matches_the_rounded_product_in_every_transpose_form"
  "sae-kernel|Sae/Kernel/**/*.cs,Sae/Architectures/**/*.cs|Mechanist.Tests.Sae|$sae_long"
  "sae-training|Sae/Training/**/*.cs|Mechanist.Tests.Sae|$sae_long"
  "sae-model|Sae/*.cs|Mechanist.Tests.Sae|$sae_long"
  "models|Models/**/*.cs|Mechanist.Tests.Models"
  "bpe|Text/Bpe*.cs,Text/PairTable.cs,Text/PreTokenizer.cs,Text/WordEncoder.cs,Text/ByteUnicode.cs|Mechanist.Tests.Text"
  "readers|Text/CorpusReader.cs,Text/TokenStore.cs,Activations/ActivationStore.cs,Activations/ActivationRowStream.cs|Mechanist.Tests.Text|Mechanist.Tests.Activations"
  "statistics|Features/Statistics/**/*.cs|Mechanist.Tests.Features"
  "scoring|Explain/Scoring.cs,Explain/Correlation.cs,Explain/TopTokenBaseline.cs|Mechanist.Tests.Explain"
)

wanted=("$@")
if [ ${#wanted[@]} -eq 0 ]; then for f in "${folders[@]}"; do wanted+=("${f%%|*}"); done; fi

dotnet tool restore >/dev/null
dotnet restore tests/Mechanist.Tests >/dev/null   # Stryker analyses a restored project ("Could not find build environment" in a fresh clone otherwise)
out="$root/bench/quality/mutation"
mkdir -p "$out"

for key in "${wanted[@]}"; do
  line=$(printf '%s\n' "${folders[@]}" | grep "^$key|" || true)
  if [ -z "$line" ]; then echo "unknown folder '$key'; use one of: $(printf '%s ' "${folders[@]%%|*}")" >&2; exit 1; fi
  IFS='|' read -r _ globs filters <<<"$line"
  mutate=()
  IFS=',' read -ra parts <<<"$globs"
  for g in "${parts[@]}"; do mutate+=(--mutate "**/src/Mechanist/$g"); done
  filter=""
  IFS='|' read -ra fs <<<"$filters"
  excluded=""
  for f in "${fs[@]}"; do
    if [[ $f == !* ]]; then excluded+="&FullyQualifiedName!~${f#!}"; else filter+="${filter:+|}FullyQualifiedName~$f."; fi
  done
  [ -n "$excluded" ] && filter="($filter)$excluded"
  echo "== $key: mutating ${globs}; tests ${filter}"
  mkdir -p "$out/$key"
  config="$out/$key/stryker-config.json"   # the allowance has no command-line option
  printf '{ "stryker-config": { "additional-timeout": %d } }\n' "${MUTATION_ADDITIONAL_TIMEOUT_MS:-60000}" > "$config"
  (cd tests/Mechanist.Tests && dotnet dotnet-stryker --project Mechanist.csproj "${mutate[@]}" \
      --config-file "$config" --test-case-filter "$filter" --reporter json --reporter html --reporter dots \
      --output "$out/$key" --skip-version-check --configuration Release --concurrency "${MUTATION_CONCURRENCY:-1}") || echo "stryker failed for $key" >&2
done

python3 "$root/scripts/mutation_report.py" "$out" "$root/bench/quality/mutation.md"
