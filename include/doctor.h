/* doctor.h: the layer doctor's command line (src/doctor.c).  Finds wrong-arch,
 * wrong-Python, too-new-glibc and unresolvable native files in layers and function
 * packages before deploy.  (The init-time explanation of a failed native import is
 * doctor_explain.h.) */
#ifndef BOOTSTRAP_DOCTOR_H
#define BOOTSTRAP_DOCTOR_H

#include <stddef.h>

/* Exit codes of `bootstrap --check`. */
enum doctor_exit {
    DOCTOR_CLEAN = 0,    /* no problems */
    DOCTOR_PROBLEMS = 1, /* at least one problem was found */
    DOCTOR_USAGE = 2     /* bad arguments, or a PATH that cannot be read */
};

/* `bootstrap --check [--arch x86_64|arm64] [--python 3.X]
 *                    [--target provided.al2|provided.al2023 | --glibc 2.NN] [--json] PATH...`
 * argv is main's argv as given: argv[1] is "--check".  Prints the report on
 * stdout and errors on stderr, returns a doctor_exit code, never calls exit.
 * Reads .zip files through libzip, loaded with dlopen only when a zip is given,
 * so the runtime itself never links it. */
int doctor_main(int argc, char **argv);

#endif
