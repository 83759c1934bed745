/* doctor_util.h: what the layer doctor's modules share (src/doctor_util.c): the
 * error-message convention, path arithmetic on the paths Lambda gives files
 * (/opt/..., /var/task/...), and what a file name says (the CPython tag of an
 * extension module, a pythonX.Y directory, the arch names). */
#ifndef BOOTSTRAP_DOCTOR_UTIL_H
#define BOOTSTRAP_DOCTOR_UTIL_H

#include "elf.h"

#include <stddef.h>

#define DOCTOR_PATH_MAX 4096

/* Writes the message into err (truncated to len) and returns -1, so a failing step
 * reads `return doctor_err(err, len, "...", ...);`. */
int doctor_err(char *err, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

int doctor_ends_with(const char *s, const char *suffix);
const char *doctor_basename(const char *p);
/* The directory part of p ("." when there is none, "/" for a file at the root). */
void doctor_dirname(const char *p, char *out, size_t len);
/* Collapse "//", "." and ".." in an absolute path, as the kernel would (without
 * following links); -1 when it does not fit. */
int doctor_normalize(const char *in, char *out, size_t len);
/* "3.11" from a path component "python3.11" anywhere in rel, else "". */
void doctor_path_python(const char *rel, char *out, size_t len);

/* The CPython tag in an extension module's file name. */
typedef struct {
    int tagged, abi3, pypy;
    char version[8];   /* "3.11", "" when the tag has none */
    char platform[48]; /* "x86_64-linux-gnu", "" when the tag has none */
} doctor_pytag;

/* 1 when base ends in a CPython/PyPy tag and ".so" (filling *t), else 0. */
int doctor_pytag_parse(const char *base, doctor_pytag *t);

/* The platform in extension module names for a machine ("aarch64-linux-gnu"). */
const char *doctor_platform(unsigned machine);
/* The wheel platform tag pip is told to fetch for a machine. */
const char *doctor_wheel_platform(unsigned machine);
/* Lambda's name for a machine ("x86_64", "arm64"), or "an unknown machine". */
const char *doctor_arch(unsigned machine);

#endif
