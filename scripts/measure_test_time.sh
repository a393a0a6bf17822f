#!/usr/bin/env bash
# Test-suite time, as docs/performance.md reports it: a fresh `cargo test` in DIR (a fresh clone,
# empty target/), then again after touching a core file. Run it on an idle machine.
# usage: scripts/measure_test_time.sh DIR LABEL   (writes /tmp/measure_LABEL.txt and the logs)
cd "$1"
{ echo "== $2 fresh cargo test $(git rev-parse --short HEAD) $(date -u)"; 
  /usr/bin/time -f "fresh cargo test wall %e s" cargo test -q > /tmp/measure_$2_fresh.log 2>&1; echo "rc=$?";
  tail -1 /tmp/measure_$2_fresh.log
  touch src/core/tensor.rs
  /usr/bin/time -f "incremental (touch src/core/tensor.rs) cargo test wall %e s" cargo test -q > /tmp/measure_$2_incr.log 2>&1; echo "rc=$?"
  tail -1 /tmp/measure_$2_incr.log
  echo "== done $(date -u)"; } > /tmp/measure_$2.txt 2>&1
