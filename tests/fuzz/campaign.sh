#!/bin/sh
# campaign.sh HARNESS RUNS|SECONDSs - one recorded fuzzing run (what tests/fuzz/RESULTS.md lists):
# `make fuzz-one` with an exec budget, at nice 10, the libFuzzer log plus start/end time
# and wall seconds in build/fuzz/HARNESS-HHMMSS.log. Run from the repository root, one
# campaign at a time (the fuzzers are single-process and CPU-bound).
set -u
h=${1:?harness: json config safetensors model uniql}
runs=${2:?number of executions, or seconds with an s suffix (1800s)}
log=build/fuzz/$h-$(date -u +%H%M%S).log
mkdir -p build/fuzz
echo "start $(date -u +%Y-%m-%dT%H:%M:%SZ) runs=$runs" > "$log"
s0=$(date +%s)
case $runs in
*s) make -s fuzz-one FUZZ_HARNESS="$h" FUZZ_RUNS=-1 FUZZ_SECONDS="${runs%s}" >> "$log" 2>&1 ;;
*) make -s fuzz-one FUZZ_HARNESS="$h" FUZZ_RUNS="$runs" >> "$log" 2>&1 ;;
esac
rc=$?
s1=$(date +%s)
echo "end $(date -u +%Y-%m-%dT%H:%M:%SZ) rc=$rc wall_s=$((s1 - s0))" >> "$log"
grep -E "^stat::(number_of_executed_units|average_exec_per_sec)" "$log"
echo "$log: rc=$rc, $((s1 - s0)) s"
