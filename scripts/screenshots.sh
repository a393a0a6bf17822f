#!/usr/bin/env bash
# Regenerates docs/img/report-*.png: the first 1400 x 1800 px of the five report kinds, rendered
# by headless Chromium from reports this script writes into a temporary folder.
#   run      stabcheck scenario deep-mlp
#   nan      stabcheck scenario layer-lr-100x      (goes non-finite; the replay names the op)
#   robust   stabcheck robust deep-mlp --cases 16
#   sweep    stabcheck sweep deep-mlp --x optimizer.lr=1e-4..1e-1 --y model.init_scale=0.5..2 --grid 6x6
#   fix      stabcheck fix layer-lr-100x
# and three more views: the fix page on a laptop (1280 x 720), the gradient histograms over time
# (deep-mlp's histograms.svg) and two runs compared (`stabcheck report --compare`: deep-mlp and
# deep-mlp at 4x its lr, compare-loss.svg).
# Usage: scripts/screenshots.sh   (needs chromium on PATH; ~1 minute on 2 cores)
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet
bin=target/release/stabcheck
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# Exit 1 (a gate failed) is what most of these show; only 2 is an error.
run() { "$bin" "$@" > /dev/null 2>&1 || [ $? -eq 1 ]; }
run scenario deep-mlp --out "$work/run"
run scenario layer-lr-100x --out "$work/nan"
run robust deep-mlp --cases 16 --out "$work/robust"
run sweep deep-mlp --x optimizer.lr=1e-4..1e-1 --y model.init_scale=0.5..2 --grid 6x6 --out "$work/sweep"
run fix layer-lr-100x --out "$work/fix"
run scenario deep-mlp --set optimizer.lr=4e-3 --out "$work/lr4x"
"$bin" report "$work/run" --compare "$work/lr4x" --out "$work/compare" > /dev/null 2>&1
mkdir -p docs/img
shot() { # shot NAME WIDTH,HEIGHT URL
  chromium --headless --no-sandbox --disable-gpu --no-first-run --hide-scrollbars \
    --user-data-dir="$work/profile-$1" --window-size="$2" \
    --screenshot="docs/img/$1.png" "$3" 2> /dev/null
  echo "docs/img/$1.png"
}
for kind in run nan robust sweep fix; do
  shot "report-$kind" 1400,1800 "file://$work/$kind/index.html"
done
shot report-fix-laptop 1280,720 "file://$work/fix/index.html"
shot report-histograms 900,1050 "file://$work/run/histograms.svg"
shot report-compare 900,420 "file://$work/compare/compare-loss.svg"
