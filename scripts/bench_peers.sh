#!/usr/bin/env bash
# Same-run comparison of one training step against the peers (../shared/peers): stabcheck's bench,
# then the peers' PyTorch and JAX scripts on the same workload, alternated REPEATS times on one
# pinned core, so every tool sees the same machine state. Absolute times on shared machines
# drift; compare the figures of one repeat, and their ratios.
#
#   WORKLOAD=gpt  tiny-gpt: `cargo bench --bench gpt_step`, bench_torch_gpt.py, bench_jax_gpt.py
#   WORKLOAD=mlp  deep-mlp: `cargo bench --bench step`, bench_torch.py, bench_jax.py (SGD, relu)
#
# Needs a Python with torch and jax: python3 -m venv venv && venv/bin/pip install numpy jax torch
# (PyPI's torch wheel brings CUDA libraries, several GB; it runs on the CPU without a GPU).
# Usage: WORKLOAD=gpt PY=venv/bin/python PEERS=../shared/peers CORE=0 REPEATS=3 scripts/bench_peers.sh
set -euo pipefail
cd "$(dirname "$0")/.."
WORKLOAD=${WORKLOAD:-gpt}
PY=${PY:-venv/bin/python}
PEERS=${PEERS:-../shared/peers}
CORE=${CORE:-0}
REPEATS=${REPEATS:-3}
# Absolute, not resolved: a venv's python is a symlink to the base interpreter.
PY="$(cd "$(dirname "$PY")" && pwd)/$(basename "$PY")"

case "$WORKLOAD" in
  gpt)
    bench=gpt_step
    torch_args=(bench_torch_gpt.py 1 "${STEPS:-60}" 10 3 plain,probes,compile)
    jax_args=(bench_jax_gpt.py 1 "${STEPS:-60}" 10 3) ;;
  mlp)
    bench=step
    torch_args=(bench_torch.py 1 f32 relu "${STEPS:-600}" 50 3)
    jax_args=(bench_jax.py 1 f32 relu "${STEPS:-600}" 50 3) ;;
  *) echo "WORKLOAD must be gpt or mlp" >&2; exit 2 ;;
esac
cargo bench --bench "$bench" --no-run 2>/dev/null
bin=$(ls -t target/release/deps/"$bench"-* | grep -v '\.d$' | head -n 1)
summary='
import json, sys
for line in sys.stdin:
    if line.startswith("RESULT "):
        r = json.loads(line[7:])
        fw, mode, ms, n = r["fw"], r["mode"], r["median_ms"], r["n"]
        print(f"  {fw:9} {mode:16} {ms:8.3f} ms/step (median of {n})")
'
for r in $(seq "$REPEATS"); do
  echo "== repeat $r"
  taskset -c "$CORE" "$bin" | sed 's/^/  stabcheck /'
  (cd "$PEERS" && OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 taskset -c "$CORE" "$PY" "${torch_args[@]}") |
    python3 -c "$summary"
  (cd "$PEERS" && taskset -c "$CORE" "$PY" "${jax_args[@]}") | python3 -c "$summary"
done
