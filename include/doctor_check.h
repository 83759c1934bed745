/* doctor_check.h: the layer doctor's checks (src/doctor_check.c) over the files read
 * by doctor_tree, against a target runtime: each finding is a problem with a message
 * and a fix, reported by `bootstrap --check` (src/doctor.c). */
#ifndef BOOTSTRAP_DOCTOR_CHECK_H
#define BOOTSTRAP_DOCTOR_CHECK_H

#include "doctor_resolve.h"
#include "doctor_tree.h"

#include <stddef.h>

typedef struct {
    size_t tree, seq; /* which PATH, and the order found (for a stable sort) */
    char *rel;        /* the file, inside its PATH */
    char what[48];    /* "ELF64 arm64", "malformed ELF" or "" */
    const char *kind; /* "wrong-arch", "missing-dependency", ... */
    char *message, *fix;
} doctor_problem;

/* One run of the doctor: what is checked, against what, and what was found. */
typedef struct {
    doctor_files files;
    doctor_target target;
    int glibc_given; /* the target's glibc was replaced by --glibc */
    unsigned arches[2];
    size_t n_arches;
    char arch_source[96]; /* how the arches were chosen, for --json */
    char python[16];      /* "3.11", or "" when unknown */
    char python_source[96];
    doctor_problem *problems;
    size_t n_problems, cap_problems;
    size_t n_files, n_elf; /* files checked, of them ELF */
} doctor_run;

/* The arches and the Python to check for: the given ones (NULL: not given), else
 * what the files show (their <arch>/ directories, the runtime's libpython, ...). */
void doctor_run_choose(doctor_run *d, const char *arch_arg, const char *python_arg);
/* Checks every file; d->problems ends sorted by PATH, file and order found. */
void doctor_run_check(doctor_run *d);
void doctor_run_free(doctor_run *d);

#endif
