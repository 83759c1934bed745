/* doctor_explain.h: why a native import failed, in one sentence (src/doctor_explain.c). */
#ifndef BOOTSTRAP_DOCTOR_EXPLAIN_H
#define BOOTSTRAP_DOCTOR_EXPLAIN_H

#include <stddef.h>

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
