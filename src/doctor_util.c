/* doctor_util.c: what the doctor's modules share: the error-message convention, path
 * arithmetic on the paths Lambda gives files, and what a file name says. */
#define _GNU_SOURCE
#include "doctor_util.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int doctor_err(char *err, size_t len, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, len, fmt, ap);
    va_end(ap);
    return -1;
}

int doctor_ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && !strcmp(s + n - m, suffix);
}

const char *doctor_basename(const char *p)
{
    const char *s = strrchr(p, '/');
    return s ? s + 1 : p;
}

void doctor_dirname(const char *p, char *out, size_t len)
{
    const char *s = strrchr(p, '/');
    size_t n = s ? (size_t)(s - p) : 0;
    if (s == p)
        n = 1;
    if (n >= len)
        n = len - 1;
    memcpy(out, s ? p : ".", s ? n : 1);
    out[s ? n : 1] = '\0';
}

/* Collapse "//", "." and ".." in an absolute path, as the kernel would
 * (without following links: doctor_files_lookup does that). */
int doctor_normalize(const char *in, char *out, size_t len)
{
    size_t o = 0;
    const char *p = in;
    while (*p) {
        while (*p == '/')
            p++;
        const char *c = p;
        while (*p && *p != '/')
            p++;
        size_t n = (size_t)(p - c);
        if (n == 0 || (n == 1 && c[0] == '.'))
            continue;
        if (n == 2 && c[0] == '.' && c[1] == '.') {
            while (o > 0 && out[o - 1] != '/')
                o--;
            if (o > 0)
                o--;
            continue;
        }
        if (o + 1 + n + 1 > len)
            return -1;
        out[o++] = '/';
        memcpy(out + o, c, n);
        o += n;
    }
    if (o == 0)
        out[o++] = '/';
    out[o] = '\0';
    return 0;
}

/* "3.11" from a path component "python3.11" anywhere in rel, else "". */
void doctor_path_python(const char *rel, char *out, size_t len)
{
    out[0] = '\0';
    for (const char *p = rel; p && *p; p = strchr(p, '/') ? strchr(p, '/') + 1 : NULL) {
        size_t n = strcspn(p, "/"), digits = 0;
        if (n < 9 || strncmp(p, "python3.", 8))
            continue;
        while (8 + digits < n && p[8 + digits] >= '0' && p[8 + digits] <= '9')
            digits++;
        if (digits && 8 + digits == n && n - 6 < len) {
            memcpy(out, p + 6, n - 6);
            out[n - 6] = '\0';
        }
    }
}


int doctor_pytag_parse(const char *base, doctor_pytag *t)
{
    char stem[256];
    size_t n = strlen(base);
    memset(t, 0, sizeof *t);
    if (n < 4 || n - 3 >= sizeof stem || !doctor_ends_with(base, ".so"))
        return 0;
    memcpy(stem, base, n - 3);
    stem[n - 3] = '\0';
    char *tag = strrchr(stem, '.');
    if (!tag++)
        return 0;
    if (!strcmp(tag, "abi3"))
        return t->tagged = t->abi3 = 1;
    if (!strncmp(tag, "pypy", 4))
        return t->tagged = t->pypy = 1;
    if (strncmp(tag, "cpython-", 8))
        return 0;
    const char *p = tag + 8;
    size_t d = 0;
    while (p[d] >= '0' && p[d] <= '9')
        d++;
    if (d >= 2 && d <= 4)
        snprintf(t->version, sizeof t->version, "%c.%.*s", p[0], (int)(d - 1), p + 1);
    p += d;
    while (*p >= 'a' && *p <= 'z')
        p++; /* ABI flags: m, d, t */
    if (*p == '-')
        snprintf(t->platform, sizeof t->platform, "%s", p + 1);
    return t->tagged = 1;
}

const char *doctor_platform(unsigned machine)
{
    return machine == EM_AARCH64 ? "aarch64-linux-gnu" : "x86_64-linux-gnu";
}

const char *doctor_wheel_platform(unsigned machine)
{
    return machine == EM_AARCH64 ? "manylinux2014_aarch64" : "manylinux2014_x86_64";
}

const char *doctor_arch(unsigned machine)
{
    char tmp[32];
    const char *name = elf_machine_name(machine, tmp, sizeof tmp);
    return name == tmp ? "an unknown machine" : name; /* no static buffer: keep it reentrant */
}


