/* test_quant.c - placeholder suite, filled by its issue's work. */
#include "../uniql.h"
#include "uq_test.h"

SUITE(quant_suite)
{
}
