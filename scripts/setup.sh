#!/usr/bin/env bash
# Everything a fresh machine needs before Mechanist builds, runs and tests: idempotent, quiet when done.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
# Headless Chromium drives the browser tests (Playwright for .NET uses it; it never downloads its own).
command -v chromium >/dev/null 2>&1 || need_apt+=(chromium)
# oneDNN's bf16 matmul (--precision bf16 on CPUs with avx512_bf16); without it bf16 falls back to fp32 and its tests skip.
[ -e /usr/lib/x86_64-linux-gnu/libdnnl.so.2 ] || [ "$(uname -m)" != x86_64 ] || need_apt+=(libdnnl2)
if [ ${#need_apt[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
  echo "setup: installing ${need_apt[*]}" >&2
  $SUDO apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
fi

dotnet restore Mechanist.slnx --verbosity quiet
