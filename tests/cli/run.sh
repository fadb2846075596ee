#!/bin/sh
# tests/cli/run.sh BINDIR - the programs as a user runs them (make test-cli builds them
# under -fsanitize=address,undefined into BINDIR, and `make asan` runs this): every bad
# numeric value is exit 2 naming the option, tools/pack never loses or unlinks an output,
# non-regular inputs are refused without blocking, a failing forward is exit 1 with the
# library's code. Prints one line per check; exit 1 at the first failure.
set -u
B=${1:?bin dir}
T=$(mktemp -d /tmp/uniql_cli.XXXXXX)
trap 'rm -rf "$T"' EXIT
M=tests/data/ref/llama
n=0
fail() { echo "FAIL: $*"; exit 1; }
ok() { n=$((n + 1)); }
# expect CODE MESSAGE-SUBSTRING command...: exit code and a stderr line
expect() {
    code=$1; msg=$2; shift 2
    timeout 60 "$@" >"$T/out" 2>"$T/err"; rc=$?
    [ "$rc" = "$code" ] || fail "$* -> exit $rc, want $code: $(head -c 300 "$T/err")"
    [ -z "$msg" ] || grep -q -- "$msg" "$T/err" || fail "$* -> stderr lacks '$msg': $(head -c 300 "$T/err")"
    ok
}

# ---- numeric options: strict, range-checked, exit 2 naming the option ----
for v in 4294967312 -1 abc 16abc 0x10 1e3 ""; do expect 2 "--calib-tokens" "$B/pack" --calib-tokens "$v" $M "$T/a.uniql"; done
for v in -1 nan inf abc 0.25abc 0.9 0.3,0.2 0.1,,0.2; do expect 2 "--rates" "$B/pack" --rates "$v" $M "$T/a.uniql"; done
expect 2 "--bits-budget-mb" "$B/pack" --bits-budget-mb 1e30 $M "$T/a.uniql"
expect 2 "--group" "$B/pack" --group 96 $M "$T/a.uniql"
expect 2 "--group-transposed" "$B/pack" --group-transposed 48 $M "$T/a.uniql"
expect 2 "--group" "$B/bench_quant_diag" --group 96 $M
expect 2 "--group-transposed" "$B/bench_uniql" --group-transposed 33 $M
expect 2 "--seq-len" "$B/pack" --seq-len 1 $M "$T/a.uniql"
for v in -1 0 nan inf abc 1e3 ""; do expect 2 "--damp" "$B/pack" --quantizer gptq --damp "$v" $M "$T/a.uniql"; done
expect 2 "--quantizer" "$B/pack" --quantizer foo $M "$T/a.uniql"
expect 2 "needs calibration tokens" "$B/pack" --order tests/data/recover/llama/order.json --quantizer gptq tests/data/recover/llama "$T/a.uniql"
expect 2 "--threads" "$B/pack" --threads 0 $M "$T/a.uniql"
for v in nan -1 0 abc 1e7 ""; do expect 2 "--alpha" "$B/merge_lora" --alpha "$v" tests/data/recover/llama x "$T/ml"; done
expect 2 "usage" "$B/merge_lora" tests/data/recover/llama
expect 1 "merge_lora" "$B/merge_lora" tests/data/recover/llama tests/data/recover/llama/config.json "$T/ml"
expect 1 "merge_lora" "$B/merge_lora" "$T/none" tests/data/recover/llama/model.safetensors "$T/ml"
expect 1 "not a LoRA tensor" "$B/merge_lora" tests/data/recover/llama tests/data/recover/llama/model.safetensors "$T/ml"
[ ! -e "$T/ml" ] || fail "a refused merge_lora run created its output folder"
expect 2 "--max-state-mb" "$B/pack" --max-state-mb nan $M "$T/a.uniql"
expect 2 "needs a value" "$B/pack" $M "$T/a.uniql" --rates
[ ! -e "$T/a.uniql" ] || fail "a refused pack run created its output"
expect 0 "" "$B/pack" -q --calib-tokens 512 --seq-len 64 --bits-budget-mb 0.5 $M "$T/good.uniql"
for v in -1 nan abc 0.25abc 1; do expect 2 "--rate" "$B/run_uniql" "$T/good.uniql" --rate "$v"; done
for v in -5 1e30 abc; do expect 2 "--mem-mb" "$B/run_uniql" "$T/good.uniql" --mem-mb "$v"; done
expect 2 "--tokens" "$B/run_uniql" "$T/good.uniql" --tokens 2147483647
expect 2 "--importance" "$B/run_uniql" "$T/good.uniql" --importance bogus
expect 0 "" "$B/run_uniql" "$T/good.uniql" --rate 0.25 --tokens 8 --quiet
expect 0 "" "$B/run_uniql" "$T/good.uniql" --mem-mb 0.1 --tokens 8 --quiet
expect 0 "" "$B/run_uniql" "$T/good.uniql" --rate 0.1 --bits-budget-mb 0.2 --tokens 8 --quiet
expect 1 "no rate table" "$B/run_uniql" "$T/good.uniql" --rate 0.123
expect 2 "N_TOKENS" "$B/generate" $M "The " 2147483647
expect 2 "--top-p" "$B/generate" $M "The " 4 --top-p nan
expect 2 "--temp" "$B/generate" $M "The " 4 --temp -1
expect 2 "--seed" "$B/generate" $M "The " 4 --seed -1
expect 0 "" "$B/generate" $M "The " 8
expect 2 "REPS" "$B/bench_gemv" 1e3
expect 2 "MAX_D" "$B/bench_linalg" abc
expect 2 "--ppl-windows" "$B/bench_pack" --ppl-windows -4 $M "$T/good.uniql"
expect 2 "--windows" "$B/bench_uniql" --windows 0
expect 2 "--windows" "$B/bench_recover" --windows 0
for v in 513 " 5" +5x 0; do expect 2 "--layers" "$B/gen_checkpoint" --layers "$v" tinyllama-1.1b "$T/gc"; done
[ ! -e "$T/gc" ] || fail "a refused gen_checkpoint run created its output"

# ---- tools/pack output: never truncated, never unlinked ----
cp "$T/good.uniql" "$T/keep.uniql"
expect 2 "not a regular file" "$B/pack" -q --calib-tokens 512 $M /dev/full
[ -c /dev/full ] || fail "/dev/full is gone"
mkfifo "$T/fifo"
expect 2 "not a regular file" "$B/pack" -q --calib-tokens 512 $M "$T/fifo"
[ -p "$T/fifo" ] || fail "the FIFO output path was removed"
ln -s "$T/keep.uniql" "$T/link.uniql"
expect 2 "not a regular file" "$B/pack" -q --calib-tokens 512 $M "$T/link.uniql"
expect 2 "one of the inputs" "$B/pack" -q --calib-tokens 512 $M $M/config.json
expect 1 "cannot create" "$B/pack" -q --calib-tokens 512 $M "$T/no/such/dir.uniql"
# a write that fails half way (file-size limit: 64 KB of a 130 KB file) leaves the old file
# (--whole-model writes OUT in one piece; the layer-by-layer default fails earlier, on its
# OUT.partial/ store, and must leave OUT alone as well)
(ulimit -f 128; exec "$B/pack" -q --whole-model --calib-tokens 512 --seq-len 64 --rates 0.2 $M "$T/keep.uniql") >/dev/null 2>"$T/err"; rc=$?
[ "$rc" = 1 ] || fail "pack under ulimit -f: exit $rc: $(head -c 300 "$T/err")"
grep -q "left unchanged" "$T/err" || fail "pack under ulimit -f: $(head -c 300 "$T/err")"
cmp -s "$T/good.uniql" "$T/keep.uniql" || fail "a failed write changed the existing output"
(ulimit -f 128; exec "$B/pack" -q --calib-tokens 512 --seq-len 64 --rates 0.2 $M "$T/keep.uniql") >/dev/null 2>"$T/err"; rc=$?
[ "$rc" = 1 ] || fail "layer-by-layer pack under ulimit -f: exit $rc: $(head -c 300 "$T/err")"
grep -q "left unchanged" "$T/err" || fail "layer-by-layer pack under ulimit -f: $(head -c 300 "$T/err")"
cmp -s "$T/good.uniql" "$T/keep.uniql" || fail "a failed layer-by-layer pack changed the existing output"
rm -rf "$T/keep.uniql.partial"
ls "$T" | grep -q '\.tmp\.' && fail "a temporary file was left behind"
ok

# ---- non-regular inputs: refused at once, never waited on ----
mkfifo "$T/calib.fifo"
expect 1 "not a regular file" "$B/pack" -q --calib "$T/calib.fifo" $M "$T/b.uniql"
mkdir "$T/m"; cp $M/* "$T/m/"; rm "$T/m/config.json"; mkfifo "$T/m/config.json"
expect 1 "not a regular file" "$B/generate" "$T/m" "The " 4
expect 1 "not a regular file" "$B/run_uniql" "$T/calib.fifo"

# ---- a forward that fails: exit 1 with the library's code, no speed line ----
mkdir "$T/ovf"
"$B/mk_overflow" "$T/ovf" || fail "mk_overflow"
expect 1 "forward failed.*NaN or Inf" "$B/generate" "$T/ovf" "The " 8
grep -q "tok/s" "$T/out" && fail "generate printed a speed line after a failed forward"
expect 1 "runtime state" "$B/generate" $M "The " 8 --max-state-mb 0.001

echo "cli: $n checks passed ($B)"
