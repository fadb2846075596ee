/* test_ppl.c - placeholder suite, filled by its issue's work. */
#include "../uniql.h"
#include "uq_test.h"

SUITE(ppl_suite)
{
}
