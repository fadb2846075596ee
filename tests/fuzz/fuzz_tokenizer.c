/* fuzz_tokenizer.c - libFuzzer harness: fz_tokenizer of tests/fuzz/fuzz_drive.h (see there for
   the input layout and the properties checked). Built by `make fuzz` with clang
   -fsanitize=fuzzer,address,undefined. */
#define UNIQL_IMPLEMENTATION
#include "fuzz_drive.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);
int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    (void)fz_tokenizer(data, size);
    return 0;
}
