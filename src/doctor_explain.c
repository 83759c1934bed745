/* doctor_explain.c: the init-time explanation of a failed native import.  When
 * importing the handler fails on a shared object, the Python glue asks for one
 * sentence about it: the wrong CPU, the wrong Python, a glibc newer than this
 * system's, or a DT_NEEDED library that resolves nowhere, looking one level into
 * the dependencies it does find (src/doctor_resolve.c). */
#define _GNU_SOURCE
#include "doctor_explain.h"
#include "doctor_resolve.h"
#include "doctor_util.h"

#include <gnu/libc-version.h>
#include <stdio.h>
#include <string.h>

static int doctor_explain_dep(const doctor_loader *loader, const char *name, const char *found, int depth,
                              char *out, size_t len);

/* loaders: the files that load this one (NULL for the module Python imports). */
static int doctor_explain_elf(const char *path, const elf_info *in, const doctor_loader *loaders,
                              const char *host_arch, const char *python, int depth, char *out, size_t len)
{
    doctor_loader self = {path, in, loaders};
    unsigned want = elf_arch_machine(host_arch);
    doctor_pytag tag;
    const char *libc = gnu_get_libc_version();
    if (want && in->machine != want)
        return snprintf(out, len, "%s is built for %s but this function runs on %s", path,
                        doctor_arch(in->machine), doctor_arch(want)), 1;
    if (doctor_pytag_parse(doctor_basename(path), &tag)) {
        if (tag.pypy)
            return snprintf(out, len, "%s is built for PyPy, not CPython", path), 1;
        if (python && tag.version[0] && strcmp(tag.version, python))
            return snprintf(out, len, "%s is an extension module for Python %s but this function runs Python %s",
                            path, tag.version, python), 1;
        if (tag.platform[0] && strcmp(tag.platform, doctor_platform(in->machine)))
            return snprintf(out, len, "%s is tagged for %s but this function runs on %s", path,
                            tag.platform, doctor_platform(in->machine)), 1;
    }
    if (in->glibc_max[0] && libc && elf_version_cmp(in->glibc_max + 6, libc) > 0)
        return snprintf(out, len, "%s needs %s%s%s%s but this system has glibc %s", path, in->glibc_max,
                        in->glibc_sym[0] ? " (for " : "", in->glibc_sym, in->glibc_sym[0] ? ")" : "",
                        libc), 1;
    for (size_t i = 0; i < in->n_needed; i++) {
        doctor_hit hit = {"", ""};
        if (!doctor_resolve_system(path, in->needed[i], in, loaders, &hit))
            return snprintf(out, len, "%s needs %s, which is not on the library search path%s%s%s",
                            path, in->needed[i], hit.wrong[0] ? " (" : "", hit.wrong,
                            hit.wrong[0] ? ")" : ""), 1;
        if (hit.found[0] && depth < 2 && doctor_explain_dep(&self, in->needed[i], hit.found, depth, out, len))
            return 1;
    }
    return 0;
}

/* The import often fails one level down: a library that needs a newer glibc,
 * or a library of its own that is missing.  Depth-limited, so cycles end. */
static int doctor_explain_dep(const doctor_loader *loader, const char *name, const char *found, int depth,
                              char *out, size_t len)
{
    elf_info dep;
    char err[160], inner[DOCTOR_PATH_MAX * 2];
    int rc = elf_load(found, &dep, err, sizeof err), bad = 0;
    if (rc == ELF_MALFORMED) {
        snprintf(inner, sizeof inner, "%s is not a valid ELF file: %s", found, err);
        bad = 1;
    } else if (rc == ELF_OK) {
        bad = doctor_explain_elf(found, &dep, loader, NULL, NULL, depth + 1, inner, sizeof inner);
        elf_info_free(&dep);
    }
    if (bad)
        snprintf(out, len, "%s needs %s, and %s", loader->path, name, inner);
    return bad;
}

int doctor_explain_file(const char *path, const char *host_arch, const char *python_version,
                        char *out, size_t out_len)
{
    elf_info in;
    char err[160];
    if (!path || !out || !out_len)
        return 0;
    out[0] = '\0';
    int rc = elf_load(path, &in, err, sizeof err);
    if (rc == ELF_MALFORMED)
        return snprintf(out, out_len, "%s is not a valid ELF file: %s", path, err), 1;
    if (rc != ELF_OK)
        return 0;
    int found = doctor_explain_elf(path, &in, NULL, host_arch, python_version, 0, out, out_len);
    elf_info_free(&in);
    return found;
}

