/*
 * layer: which CPU this is, which layer directory serves it, and the library and package
 * paths that follow from it. Pure path logic (src/loader.c applies the library path).
 *
 *   $BOOTSTRAP_LAYER_ROOT (default /opt)
 *     <arch>/lib                                  -> LD_LIBRARY_PATH, before the system's
 *     <arch>/python/lib/python3.X/site-packages   -> sys.path
 *     <arch>/python                               -> sys.path
 *     <arch>/runtime/lib/libpython3.X.so.1.0      -> the Python that is loaded
 *     lib, python/lib/python3.X/site-packages, python   (arch-neutral, after <arch>/)
 *
 * A root without a runtime for this CPU leaves the choice to the bootstrap's own directory
 * (layer_adopt_runtime): a runtime image keeps its Python in /var/runtime/<arch>/runtime,
 * next to /var/runtime/bootstrap, because Lambda mounts the function's layers over /opt.
 */
#ifndef BOOTSTRAP_LAYER_H
#define BOOTSTRAP_LAYER_H

#include <limits.h>
#include <stddef.h>

#define LAYER_DEFAULT_ROOT "/opt"
#define LAYER_ENV_ROOT "BOOTSTRAP_LAYER_ROOT"
#define LAYER_MAX_SITE_DIRS 4

typedef struct {
    char arch[16];            /* Lambda's name: "x86_64" or "arm64" */
    char root[PATH_MAX];      /* layer root, no trailing '/' */
    char arch_dir[PATH_MAX];  /* root/arch, or "" when there is none */
    char libpython[PATH_MAX]; /* root/arch/runtime/lib/libpython3.X.so.1.0, or "" */
    char runtime_home[PATH_MAX]; /* root/arch/runtime when libpython was found there, or "" */
    char runtime_lib[PATH_MAX];  /* <own dir>/arch/lib of an adopted runtime (if it exists), or "" */
} layer;

/* Maps uname's machine to Lambda's arch name. Returns 0, or -1 with a message for a CPU
 * Lambda does not run. */
int layer_arch_from_machine(const char *machine, char *arch, size_t arch_len, char *msg, size_t msg_len);

/* Fills *l for `root` and `arch`. Fails (-1, message) when the root holds layers for other
 * architectures but not this one, e.g. "no layer for arm64 under /opt (found: x86_64)". */
int layer_resolve(layer *l, const char *root, const char *arch, char *msg, size_t msg_len);

/* When the layer root gave no libpython: the newest one in <own_dir>/<arch>/runtime/lib, with
 * <own_dir>/<arch>/lib for the libraries that runtime needs (libssl, ...). `own_dir` is the
 * bootstrap's directory (layer_exe_dir). Returns 1 when a runtime was adopted, 0 when not
 * (the layer had one, or own_dir has none). */
int layer_adopt_runtime(layer *l, const char *own_dir);

/* The directory of this executable (from /proc/self/exe). Returns 0, or -1 with errno. */
int layer_exe_dir(char *out, size_t out_len);

/* The LD_LIBRARY_PATH this process should run with, given the current one (may be NULL):
 * <arch>/lib first, then an adopted runtime's lib/, then the current value, then the neutral
 * <root>/lib unless already there. Returns 1 when it differs from `current`, 0 when not,
 * -1 when it does not fit in out. */
int layer_library_path(const layer *l, const char *current, char *out, size_t out_len);

/* The layer's package directories for Python 3.<minor>, in sys.path order, existing ones
 * only. Returns how many were written to dirs. */
int layer_site_dirs(const layer *l, int minor, char dirs[][PATH_MAX], int max_dirs);

/* Lists the architecture directories present under root, comma-separated ("" when none). */
void layer_list_arches(const char *root, char *out, size_t out_len);

#endif
