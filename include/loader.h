/*
 * loader: a new LD_LIBRARY_PATH for this process, without a restart.
 *
 * The dynamic loader reads LD_LIBRARY_PATH once, when the process starts. Instead of
 * starting over to put a layer's <arch>/lib in front, bootstrap exports a dlopen of its
 * own, which every dlopen in the process reaches (Python's extension imports, ctypes,
 * libraries that load plugins). Before it hands the call on to the C library's dlopen, it
 * opens by full path each library the target needs that only the new directories have,
 * dependencies first; the C library then finds them loaded under their sonames. A bare
 * name that the new path resolves to one of those directories is opened from there.
 * Not covered: what glibc loads by itself (NSS modules, gconv) and names a library finds
 * through its own RUNPATH. Child processes get the new path in LD_LIBRARY_PATH (main).
 */
#ifndef BOOTSTRAP_LOADER_H
#define BOOTSTRAP_LOADER_H

#include <stddef.h>

/* Every later dlopen in this process resolves names as if the process had started with
 * LD_LIBRARY_PATH=`wanted` instead of `started_with` (either may be NULL). Directories of
 * `wanted` that `started_with` lacks are listed now; both strings are copied. Call once,
 * before any other thread exists. Returns 0, or -1 with a message (a new directory cannot
 * be read, out of memory). */
int loader_use_library_path(const char *wanted, const char *started_with, char *msg, size_t msg_len);

/* After an RTLD_NOW load of `path` (the file `handle` came from), the library's relocation
 * tables are never read again: their pages leave this process (they stay in the page cache,
 * and would simply be read back if anything touched them). For libpython 3.11 that is 0.9 MB,
 * a tenth of the runtime's memory. Returns the bytes released (0 when nothing could be). */
size_t loader_release_relocations(void *handle, const char *path);

#endif
