/* doctor.h: the layer doctor.  Finds wrong-arch, wrong-Python, too-new-glibc
 * and unresolvable native files in layers and function packages before deploy
 * (`bootstrap --check`), and explains a failed native import at init. */
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

/* Called by the Python glue when importing a handler fails on a shared object.
 * Checks `path` against the running system: ELF machine vs host_arch
 * ("x86_64"|"arm64"), the CPython tag in the file name vs python_version
 * ("3.11"), the highest GLIBC_x.y it needs vs gnu_get_libc_version(), and each
 * DT_NEEDED against the current search path (RPATH, LD_LIBRARY_PATH, RUNPATH,
 * ld.so.conf and the default directories).  Returns 1 and writes one sentence
 * to out (NUL-terminated, truncated to out_len) when it finds a problem,
 * 0 when it finds nothing or cannot read the file.  NULL host_arch or
 * python_version skips that check.  Thread-compatible, no global state. */
int doctor_explain_file(const char *path, const char *host_arch, const char *python_version,
                        char *out, size_t out_len);

#endif
