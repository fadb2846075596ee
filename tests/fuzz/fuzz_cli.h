/* fuzz_cli.h - the driver of the fuzz_cli harness (tests/fuzz/fuzz_cli.c) and of the
   cli cases of the bad-corpus replay (tests/test_bad.c): the programs' option parser (tools/cli.h): every
   numeric option of tools/pack and of the programs in examples/ and bench/ goes through cli_ll / cli_int /
   cli_u64 / cli_double / cli_double_list / cli_mb. Input: byte 0 picks the parser, the
   rest (up to the first NUL, at most 300 bytes) is the option value.
   Properties, against an independent oracle (POSIX regex for the grammar, strtoll /
   strtoull / strtod for the value):
   - a value is accepted exactly when it is the whole of a plain decimal number (no blanks,
     hex, "nan", "inf", trailing text), representable without overflow or underflow, and in
     the caller's range; the accepted value is the one strtod / strtoll gives;
   - a refused value leaves a message "PROG: OPTION 'value': reason" (the program exits 2);
   - cli_mb's byte count is a defined conversion (UBSan checks the float-to-integer cast).
   A violated property goes to FZ_FAIL (fuzz_drive.h: abort; the unit replay: recorded).
   Include after fuzz_drive.h and tools/cli.h (POSIX: regex.h). */
#ifndef FUZZ_CLI_H
#define FUZZ_CLI_H
#ifdef CLI_POSIX
#include <regex.h>


#define fz_cli_fail(what, s) FZ_FAIL("cli: %s on '%.300s'", what, s)

FZ_UNUSED static int fz_cli_match(const char *re, const char *s)
{
    static regex_t rx[3];
    static const char *src[3];
    int k;
    for (k = 0; k < 3 && src[k] && src[k] != re; k++) {}
    if (k == 3) abort();
    if (!src[k]) {
        if (regcomp(&rx[k], re, REG_EXTENDED | REG_NOSUB)) abort();
        src[k] = re;
    }
    return regexec(&rx[k], s, 0, NULL, 0) == 0;
}

#define FZ_RE_INT "^[+-]?[0-9]+$"
#define FZ_RE_UINT "^[0-9]+$"
#define FZ_RE_DEC "^[+-]?([0-9]+(\\.[0-9]*)?|\\.[0-9]+)([eE][+-]?[0-9]+)?$"

/* what strtod makes of one number of the list grammar: 1 and *v when accepted */
FZ_UNUSED static int fz_cli_ref_double(const char *s, double lo, double hi, double *v)
{
    if (!fz_cli_match(FZ_RE_DEC, s) || strlen(s) >= 128) return 0;
    errno = 0;
    *v = strtod(s, NULL);
    return isfinite(*v) && errno != ERANGE && *v >= lo && *v <= hi;
}

FZ_UNUSED static void fz_cli_refused(int ok, const char *s)
{
    if (ok) return;
    if (strncmp(cli_last_error, "fuzz: --opt '", 13) != 0) fz_cli_fail("message does not name the program and option", s);
}

/* UNIQL_OK when the value was accepted, UNIQL_ERR_INVALID_ARG when refused (exit 2) */
FZ_UNUSED static uniql_result fz_cli(const unsigned char *data, size_t size)
{
    char s[301];
    size_t n = 0;
    int which, ok, ref;
    if (size < 1) return UNIQL_ERR_INVALID_ARG;
    which = data[0] % 6;
    while (n + 1 < size && n < 300 && data[n + 1]) { s[n] = (char)data[n + 1]; n++; }
    s[n] = 0;
    cli_prog = "fuzz";
    cli_quiet = 1;
    cli_last_error[0] = 0;
    switch (which) {
    case 0: case 1: {   /* cli_ll in [-1000, 10^15], cli_int in [0, INT_MAX] */
        long long v = 0, lo = which ? 0 : -1000, hi = which ? INT_MAX : 1000000000000000LL, rv;
        int iv = 0;
        if (which) { ok = cli_int("--opt", s, 0, INT_MAX, &iv); v = iv; }
        else ok = cli_ll("--opt", s, lo, hi, &v);
        errno = 0;
        rv = strtoll(s, NULL, 10);
        ref = fz_cli_match(FZ_RE_INT, s) && errno != ERANGE && rv >= lo && rv <= hi;
        if (ok != ref) fz_cli_fail(ok ? "integer accepted, oracle refuses" : "integer refused, oracle accepts", s);
        if (ok && v != rv) fz_cli_fail("integer value differs from strtoll", s);
        fz_cli_refused(ok, s);
        break;
    }
    case 2: {
        uint64_t v = 0;
        unsigned long long rv;
        ok = cli_u64("--opt", s, &v);
        errno = 0;
        rv = strtoull(s, NULL, 10);
        ref = fz_cli_match(FZ_RE_UINT, s) && errno != ERANGE;
        if (ok != ref) fz_cli_fail(ok ? "u64 accepted, oracle refuses" : "u64 refused, oracle accepts", s);
        if (ok && v != (uint64_t)rv) fz_cli_fail("u64 value differs from strtoull", s);
        fz_cli_refused(ok, s);
        break;
    }
    case 3: case 4: {   /* cli_double in [-1e300, 1e300]; cli_mb up to 1e12 MB (2^60 bytes < 2^64) */
        double v = 0, rv = 0, lo = which == 3 ? -1e300 : 0, hi = which == 3 ? 1e300 : 1e12;
        uint64_t bytes = 0;
        ok = which == 3 ? cli_double("--opt", s, lo, hi, 0, &v) : cli_mb("--opt", s, hi, &v, &bytes);
        ref = fz_cli_ref_double(s, lo, hi, &rv);
        if (ok != ref) fz_cli_fail(ok ? "number accepted, oracle refuses" : "number refused, oracle accepts", s);
        if (ok && !(v == rv)) fz_cli_fail("number differs from strtod", s);
        if (ok && which == 4 && bytes != (uint64_t)(rv * 1048576.0)) fz_cli_fail("MB to bytes", s);
        fz_cli_refused(ok, s);
        break;
    }
    default: {   /* cli_double_list: up to 8 strictly ascending numbers in (0, 1) */
        double v[8], rv[8];
        char t[301], *p = t, *c;
        int k = 0, cnt = 0, i;
        ok = cli_double_list("--opt", s, 0.0, 1.0, CLI_OPEN_LO | CLI_OPEN_HI, 1, v, 8, &cnt);
        memcpy(t, s, n + 1);
        ref = n > 0;
        for (;;) {
            c = strchr(p, ',');
            if (c) *c = 0;
            if (k == 8 || !fz_cli_ref_double(p, 0.0, 1.0, &rv[k]) || rv[k] == 0.0 || rv[k] == 1.0 ||
                (k > 0 && !(rv[k] > rv[k - 1]))) { ref = 0; break; }
            k++;
            if (!c) break;
            p = c + 1;
        }
        if (ok != ref) fz_cli_fail(ok ? "list accepted, oracle refuses" : "list refused, oracle accepts", s);
        if (ok && cnt != k) fz_cli_fail("list length", s);
        for (i = 0; ok && i < cnt; i++)
            if (!(v[i] == rv[i])) fz_cli_fail("list value differs from strtod", s);
        fz_cli_refused(ok, s);
        break;
    }
    }
    return ok ? UNIQL_OK : UNIQL_ERR_INVALID_ARG;
}
#endif /* CLI_POSIX */
#endif /* FUZZ_CLI_H */
