/* fuzz_cli.c - libFuzzer harness: fz_cli of tests/fuzz/fuzz_cli.h, the programs' option
   parser (tools/cli.h) against an independent oracle (see there). Built by `make fuzz` with
   clang -fsanitize=fuzzer,address,undefined; `make fuzz-replay` replays tests/data/bad/cli. */
#define _POSIX_C_SOURCE 200809L
#define UNIQL_IMPLEMENTATION
#include "fuzz_drive.h"
#include "../../tools/cli.h"
#include "fuzz_cli.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);
int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    (void)fz_cli(data, size);
    return 0;
}
