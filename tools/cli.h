/* cli.h - what the command-line programs of the project (tools/, examples/, bench/) share,
   so that each of them checks its input the same way. Not part of the library: uniql.h
   never prints or touches argv; this file does both, for programs only.

     Numeric option values. cli_int / cli_ll / cli_u64 / cli_double / cli_double_list parse
     the WHOLE string strictly (no leading blanks, no trailing text, no hex, no "nan" or
     "inf", no overflow, a range given by the caller). On a bad value they print one line
     to stderr naming the program, the option and the reason, and return 0; the program
     then exits with status 2 (usage error). Why strict: atoi("4294967312") is 16,
     atof("abc") is 0, atof("0.25abc") is 0.25 - each silently ran something else.

     Output files (POSIX; a plain fopen fallback elsewhere). cli_out_open creates a
     temporary file next to the destination at once (so a read-only directory is found
     before hours of work), cli_out_commit writes, fsyncs and renames it over the
     destination, cli_out_abort removes it. The destination is never truncated or
     unlinked: an existing good file survives a failed write (disk full, file-size limit),
     and a path that exists but is not a regular file (a device such as /dev/full, a FIFO,
     a directory, a symbolic link) is refused up front.

   Include it after the system headers' feature macro (_POSIX_C_SOURCE 200809L), as the
   programs do. Every function is static: one copy per program. */
#ifndef UNIQL_CLI_H
#define UNIQL_CLI_H

#include <errno.h>
#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(__unix__) || defined(__APPLE__)
#define CLI_POSIX 1
#include <dirent.h>
#include <signal.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>
#endif

#if defined(__GNUC__) || defined(__clang__)
#define CLI_UNUSED __attribute__((unused))
#else
#define CLI_UNUSED
#endif

/* the program name used in messages ("pack: --rate 'abc': not a number") */
static const char *cli_prog = "uniql";
/* the last message, also kept here (the tests read it); cli_quiet = 1 stops the printing */
static char cli_last_error[512];
static int cli_quiet;

/* interval ends for cli_double / cli_double_list: closed unless flagged open */
#define CLI_OPEN_LO 1u
#define CLI_OPEN_HI 2u

/* print "PROG: message" to stderr (and keep it in cli_last_error); returns 0 */
CLI_UNUSED static int cli_msg(const char *fmt, ...)
{
    va_list ap;
    size_t k;
    snprintf(cli_last_error, sizeof cli_last_error, "%s: ", cli_prog);
    k = strlen(cli_last_error);
    va_start(ap, fmt);
    vsnprintf(cli_last_error + k, sizeof cli_last_error - k, fmt, ap);
    va_end(ap);
    if (!cli_quiet) fprintf(stderr, "%s\n", cli_last_error);
    return 0;
}

CLI_UNUSED static int cli_bad(const char *opt, const char *s, const char *why)
{
    return cli_msg("%s '%.80s': %s", opt, s ? s : "", why);
}

/* decimal integer: [+-]digits, the whole string, |value| <= LLONG_MAX */
CLI_UNUSED static int cli_ll(const char *opt, const char *s, long long lo, long long hi, long long *out)
{
    const char *p = s;
    int neg = 0;
    unsigned long long v = 0, lim;
    char why[96];
    if (!s || !*s) return cli_bad(opt, s, "empty value");
    if (*p == '+' || *p == '-') neg = *p++ == '-';
    if (*p < '0' || *p > '9') return cli_bad(opt, s, "not an integer");
    lim = neg ? (unsigned long long)LLONG_MAX + 1u : (unsigned long long)LLONG_MAX;
    for (; *p >= '0' && *p <= '9'; p++) {
        unsigned d = (unsigned)(*p - '0');
        if (v > (lim - d) / 10u) return cli_bad(opt, s, "integer too large");
        v = v * 10u + d;
    }
    if (*p) return cli_bad(opt, s, "not an integer (trailing characters)");
    {
        long long x = neg ? (v == (unsigned long long)LLONG_MAX + 1u ? LLONG_MIN : -(long long)v) : (long long)v;
        if (x < lo || x > hi) {
            snprintf(why, sizeof why, "must be an integer in [%lld, %lld]", lo, hi);
            return cli_bad(opt, s, why);
        }
        *out = x;
    }
    return 1;
}

CLI_UNUSED static int cli_int(const char *opt, const char *s, int lo, int hi, int *out)
{
    long long v = 0;
    if (!cli_ll(opt, s, lo, hi, &v)) return 0;
    *out = (int)v;
    return 1;
}

/* an int4 group size (--group, --group-transposed): 32, 64 or 128 */
CLI_UNUSED static int cli_group(const char *opt, const char *s, int *out)
{
    int g = 0;
    if (!cli_int(opt, s, 32, 128, &g)) return 0;
    if (g != 32 && g != 64 && g != 128) return cli_bad(opt, s, "must be 32, 64 or 128");
    *out = g;
    return 1;
}

/* unsigned 64-bit (seeds): digits only, no sign */
CLI_UNUSED static int cli_u64(const char *opt, const char *s, uint64_t *out)
{
    const char *p = s;
    uint64_t v = 0;
    if (!s || !*s) return cli_bad(opt, s, "empty value");
    if (*p < '0' || *p > '9') return cli_bad(opt, s, "not an unsigned integer");
    for (; *p >= '0' && *p <= '9'; p++) {
        unsigned d = (unsigned)(*p - '0');
        if (v > (UINT64_MAX - d) / 10u) return cli_bad(opt, s, "integer larger than 2^64 - 1");
        v = v * 10u + d;
    }
    if (*p) return cli_bad(opt, s, "not an unsigned integer (trailing characters)");
    *out = v;
    return 1;
}

/* length of a decimal number [+-]digits[.digits][e[+-]digits] at s (at least one digit
   in the mantissa), 0 if there is none */
CLI_UNUSED static size_t cli_decimal_len(const char *s)
{
    size_t i = 0, digits = 0;
    if (s[i] == '+' || s[i] == '-') i++;
    while (s[i] >= '0' && s[i] <= '9') { i++; digits++; }
    if (s[i] == '.') {
        i++;
        while (s[i] >= '0' && s[i] <= '9') { i++; digits++; }
    }
    if (!digits) return 0;
    if (s[i] == 'e' || s[i] == 'E') {
        size_t j = i + 1, ed = 0;
        if (s[j] == '+' || s[j] == '-') j++;
        while (s[j] >= '0' && s[j] <= '9') { j++; ed++; }
        if (!ed) return 0;   /* "1e" is not a number */
        i = j;
    }
    return i;
}

/* one decimal number of n characters at s, checked finite and in range */
CLI_UNUSED static int cli_double_n(const char *opt, const char *whole, const char *s, size_t n, double lo, double hi,
                                   unsigned open, double *out)
{
    char buf[128], why[128];
    double v;
    if (n == 0 || n >= sizeof buf) return cli_bad(opt, whole, n ? "number too long" : "not a number");
    memcpy(buf, s, n);
    buf[n] = 0;
    errno = 0;
    v = strtod(buf, NULL);   /* the C locale of a program that never calls setlocale */
    if (!isfinite(v)) return cli_bad(opt, whole, "number outside the double range");
    if (errno == ERANGE) return cli_bad(opt, whole, "number too small to represent (underflow)");
    {
        int bad_lo = (open & CLI_OPEN_LO) ? !(v > lo) : !(v >= lo);
        int bad_hi = (open & CLI_OPEN_HI) ? !(v < hi) : !(v <= hi);
        if (bad_lo || bad_hi) {
            snprintf(why, sizeof why, "must be a number in %c%g, %g%c", (open & CLI_OPEN_LO) ? '(' : '[', lo, hi,
                     (open & CLI_OPEN_HI) ? ')' : ']');
            return cli_bad(opt, whole, why);
        }
    }
    *out = v;
    return 1;
}

/* a finite decimal number in the interval lo..hi (ends closed unless CLI_OPEN_LO / HI) */
CLI_UNUSED static int cli_double(const char *opt, const char *s, double lo, double hi, unsigned open, double *out)
{
    size_t n;
    if (!s || !*s) return cli_bad(opt, s, "empty value");
    n = cli_decimal_len(s);
    if (!n) return cli_bad(opt, s, "not a number");
    if (s[n]) return cli_bad(opt, s, "not a number (trailing characters)");
    return cli_double_n(opt, s, s, n, lo, hi, open, out);
}

/* a comma-separated list of 1..cap such numbers, strictly ascending if `ascending` */
CLI_UNUSED static int cli_double_list(const char *opt, const char *s, double lo, double hi, unsigned open, int ascending,
                                      double *out, int cap, int *n_out)
{
    const char *p = s;
    int n = 0;
    char why[64];
    if (!s || !*s) return cli_bad(opt, s, "empty list");
    for (;;) {
        size_t k = cli_decimal_len(p);
        if (!k) return cli_bad(opt, s, "not a comma-separated list of numbers");
        if (n == cap) {
            snprintf(why, sizeof why, "more than %d values", cap);
            return cli_bad(opt, s, why);
        }
        if (!cli_double_n(opt, s, p, k, lo, hi, open, &out[n])) return 0;
        if (ascending && n > 0 && !(out[n] > out[n - 1])) return cli_bad(opt, s, "values must ascend strictly");
        n++;
        p += k;
        if (!*p) break;
        if (*p != ',') return cli_bad(opt, s, "not a comma-separated list of numbers");
        p++;
    }
    *n_out = n;
    return 1;
}

/* MB (a finite, non-negative number) to bytes, refused above max_mb: the float-to-integer
   conversion is defined only for values that fit */
CLI_UNUSED static int cli_mb(const char *opt, const char *s, double max_mb, double *mb, uint64_t *bytes)
{
    if (!cli_double(opt, s, 0.0, max_mb, 0, mb)) return 0;
    *bytes = (uint64_t)(*mb * 1048576.0);
    return 1;
}

/* ---- output files ---- */

typedef struct cli_out {
    char path[4096];     /* destination */
    char tmp[4096 + 32]; /* the temporary file beside it */
    int open;
#ifdef CLI_POSIX
    int fd;
#else
    FILE *f;
#endif
} cli_out;

#ifdef CLI_POSIX
/* 1 if a and b name the same existing file (device and inode) */
CLI_UNUSED static int cli_same_file(const char *a, const char *b)
{
    struct stat x, y;
    return stat(a, &x) == 0 && stat(b, &y) == 0 && x.st_dev == y.st_dev && x.st_ino == y.st_ino;
}

/* 1 if `path` exists and is one of the files directly inside directory `dir` */
CLI_UNUSED static int cli_file_in_dir(const char *path, const char *dir)
{
    struct stat p;
    DIR *d;
    struct dirent *e;
    int hit = 0;
    char q[4096];
    if (stat(path, &p) != 0 || !(d = opendir(dir))) return 0;
    while (!hit && (e = readdir(d)) != NULL) {
        struct stat s;
        int k = snprintf(q, sizeof q, "%s/%s", dir, e->d_name);
        if (k > 0 && (size_t)k < sizeof q && stat(q, &s) == 0 && S_ISREG(s.st_mode) && s.st_dev == p.st_dev &&
            s.st_ino == p.st_ino)
            hit = 1;
    }
    closedir(d);
    return hit;
}
#endif

/* Refuse a destination that exists and is not a regular file (returns -1: a usage error);
   create the temporary file `path`.tmp.XXXXXX beside it (returns 0 if that fails, with
   the reason printed). Returns 1 when ready. SIGXFSZ is ignored from here on, so that a
   file-size limit makes the write fail (and the temporary file go) instead of killing
   the program half way. */
CLI_UNUSED static int cli_out_open(cli_out *o, const char *path)
{
    int k;
    memset(o, 0, sizeof *o);
    if (!path || !*path || strlen(path) >= sizeof o->path) {
        cli_msg("output path empty or too long");
        return 0;
    }
    memcpy(o->path, path, strlen(path) + 1);
    k = snprintf(o->tmp, sizeof o->tmp, "%s.tmp.XXXXXX", path);
    if (k < 0 || (size_t)k >= sizeof o->tmp) return 0;
#ifdef CLI_POSIX
    {
        struct stat st;
        mode_t mode, mask;
        if (lstat(path, &st) == 0) {
            if (!S_ISREG(st.st_mode)) {
                cli_msg("%s exists and is not a regular file (device, FIFO, directory or link): refused", path);
                return -1;
            }
            mode = st.st_mode & 07777;
        } else if (errno != ENOENT) {
            cli_msg("%s: %s", path, strerror(errno));
            return 0;
        } else {
            mask = umask(0);
            umask(mask);
            mode = 0666 & ~mask;
        }
        signal(SIGXFSZ, SIG_IGN);
        o->fd = mkstemp(o->tmp);
        if (o->fd < 0) {
            cli_msg("cannot create a file next to %s: %s", path, strerror(errno));
            return 0;
        }
        (void)fchmod(o->fd, mode);
    }
#else
    {
        memcpy(o->tmp + k - 6, "000000", 6);
        o->f = fopen(o->tmp, "wb");
        if (!o->f) {
            cli_msg("cannot create %s", o->tmp);
            return 0;
        }
    }
#endif
    o->open = 1;
    return 1;
}

/* Remove the temporary file (the destination is left as it was). */
CLI_UNUSED static void cli_out_abort(cli_out *o)
{
    if (!o->open) return;
#ifdef CLI_POSIX
    close(o->fd);
    unlink(o->tmp);
#else
    fclose(o->f);
    remove(o->tmp);
#endif
    o->open = 0;
}

/* Write n bytes to the temporary file, flush them to the disk, and rename it over the
   destination. On any failure the temporary file is removed and the destination is
   untouched. Returns 1, or prints why and returns 0. */
CLI_UNUSED static int cli_out_commit(cli_out *o, const void *data, size_t n)
{
    const unsigned char *p = (const unsigned char *)data;
    if (!o->open) return 0;
#ifdef CLI_POSIX
    while (n > 0) {
        ssize_t w = write(o->fd, p, n > ((size_t)1 << 30) ? ((size_t)1 << 30) : n);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) {
            cli_msg("writing %s failed: %s (%s left unchanged)", o->tmp,
                    w < 0 ? strerror(errno) : "no progress", o->path);
            cli_out_abort(o);
            return 0;
        }
        p += w;
        n -= (size_t)w;
    }
    if (fsync(o->fd) != 0 || close(o->fd) != 0) {
        cli_msg("flushing %s failed: %s (%s left unchanged)", o->tmp, strerror(errno), o->path);
        o->fd = -1;
        unlink(o->tmp);
        o->open = 0;
        return 0;
    }
    o->open = 0;
    if (rename(o->tmp, o->path) != 0) {
        cli_msg("cannot rename %s to %s: %s", o->tmp, o->path, strerror(errno));
        unlink(o->tmp);
        return 0;
    }
    {
        /* make the rename itself durable: fsync the directory (best effort) */
        char dir[4096];
        char *slash;
        int dfd;
        memcpy(dir, o->path, strlen(o->path) + 1);
        slash = strrchr(dir, '/');
        if (slash == dir) dir[1] = 0;
        else if (slash) *slash = 0;
        else { dir[0] = '.'; dir[1] = 0; }
        dfd = open(dir, O_RDONLY);
        if (dfd >= 0) { (void)fsync(dfd); close(dfd); }
    }
#else
    if (fwrite(p, 1, n, o->f) != n || fclose(o->f) != 0) {
        cli_msg("writing %s failed (%s left unchanged)", o->tmp, o->path);
        remove(o->tmp);
        o->open = 0;
        return 0;
    }
    o->open = 0;
    remove(o->path);
    if (rename(o->tmp, o->path) != 0) {
        cli_msg("cannot rename %s to %s", o->tmp, o->path);
        remove(o->tmp);
        return 0;
    }
#endif
    return 1;
}

#endif /* UNIQL_CLI_H */
