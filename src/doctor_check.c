/* doctor_check.c: the layer doctor's checks of every file in the checked trees: the
 * CPU it is built for, the CPython tag of an extension module, the glibc and libstdc++
 * it needs against the target's, and whether each DT_NEEDED resolves
 * (src/doctor_resolve.c); each finding is a problem with a message and a fix.  Also
 * which arch and Python the trees are for, when the command line does not say. */
#define _GNU_SOURCE
#include "doctor_check.h"
#include "doctor_util.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *doctor_vformat(const char *fmt, va_list ap)
{
    char *s = NULL;
    if (vasprintf(&s, fmt, ap) < 0)
        return NULL;
    return s;
}

/* -------------------------------------------------------------- problems */

static void doctor_problem_add(doctor_run *d, doctor_tree *t, const char *rel, const char *what,
                               const char *kind, const char *fix, const char *fmt, ...)
{
    if (d->n_problems == d->cap_problems) {
        size_t cap = d->cap_problems ? d->cap_problems * 2 : 16;
        doctor_problem *p = realloc(d->problems, cap * sizeof *p);
        if (!p)
            return;
        d->problems = p;
        d->cap_problems = cap;
    }
    doctor_problem *p = &d->problems[d->n_problems];
    va_list ap;
    va_start(ap, fmt);
    p->message = doctor_vformat(fmt, ap);
    va_end(ap);
    p->rel = strdup(rel);
    p->fix = strdup(fix);
    if (!p->message || !p->rel || !p->fix) {
        free(p->message), free(p->rel), free(p->fix);
        return;
    }
    p->tree = t->index;
    p->seq = d->n_problems++;
    p->kind = kind;
    snprintf(p->what, sizeof p->what, "%s", what);
}

/* "ELF64 arm64" for the report's file lines. */
static const char *doctor_what(const doctor_entry *e, char *buf, size_t len)
{
    if (e->state == DOCTOR_ELF)
        snprintf(buf, len, "ELF%d %s", e->info.elf_class == ELFCLASS64 ? 64 : 32,
                 doctor_arch(e->info.machine));
    else
        snprintf(buf, len, "%s", e->state == DOCTOR_MALFORMED ? "malformed ELF" : "");
    return buf;
}

#define DOCTOR_PROBLEM(d, e, kind, fix, ...)                                                   \
    do {                                                                                      \
        char what_[48];                                                                       \
        doctor_problem_add((d), (e)->tree, (e)->rel, doctor_what((e), what_, sizeof what_),   \
                           (kind), (fix), __VA_ARGS__);                                       \
    } while (0)

static int doctor_problem_cmp(const void *a, const void *b)
{
    const doctor_problem *x = a, *y = b;
    if (x->tree != y->tree)
        return x->tree < y->tree ? -1 : 1;
    int c = strcmp(x->rel, y->rel);
    if (c)
        return c;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* ------------------------------------------------------------ detection */

static void doctor_arch_add(doctor_run *d, unsigned m)
{
    for (size_t i = 0; i < d->n_arches; i++)
        if (d->arches[i] == m)
            return;
    if (d->n_arches < 2)
        d->arches[d->n_arches++] = m;
}

static int doctor_arches_from_elf(doctor_run *d, int bootstrap_only)
{
    size_t count[2] = {0, 0};
    for (size_t i = 0; i < d->files.n_index; i++) {
        const doctor_entry *e = d->files.index[i];
        if (e->state != DOCTOR_ELF || (bootstrap_only && strcmp(e->rel, "bootstrap")))
            continue;
        count[0] += e->info.machine == EM_X86_64;
        count[1] += e->info.machine == EM_AARCH64;
    }
    if (!count[0] && !count[1])
        return 0;
    doctor_arch_add(d, count[1] > count[0] ? EM_AARCH64 : EM_X86_64);
    return 1;
}

static void doctor_arches_choose(doctor_run *d, const char *arch_arg)
{
    if (arch_arg) {
        doctor_arch_add(d, elf_arch_machine(arch_arg));
        snprintf(d->arch_source, sizeof d->arch_source, "--arch");
        return;
    }
    for (size_t i = 0; i < d->files.n_index; i++)
        if (doctor_arch_dir(d->files.index[i]))
            doctor_arch_add(d, doctor_arch_dir(d->files.index[i]));
    if (d->n_arches)
        snprintf(d->arch_source, sizeof d->arch_source, "the layer's <arch>/ directories");
    else if (doctor_arches_from_elf(d, 1))
        snprintf(d->arch_source, sizeof d->arch_source, "bootstrap");
    else if (doctor_arches_from_elf(d, 0))
        snprintf(d->arch_source, sizeof d->arch_source, "most ELF files");
    else {
        doctor_arch_add(d, EM_X86_64);
        snprintf(d->arch_source, sizeof d->arch_source, "Lambda's default");
    }
}

/* "3.11" from a runtime's libpython3.11.so* name, else "". */
static void doctor_libpython_version(const doctor_entry *e, char *out, size_t len)
{
    const char *b = doctor_basename(e->rel);
    size_t n = 0;
    out[0] = '\0';
    if (strncmp(b, "libpython3.", 11) || !strstr(e->rel, "runtime/lib/"))
        return;
    while (b[11 + n] >= '0' && b[11 + n] <= '9')
        n++;
    if (n && n + 3 < len)
        snprintf(out, len, "3.%.*s", (int)n, b + 11);
}

static void doctor_python_choose(doctor_run *d, const char *python_arg)
{
    char v[16], sp[16] = "";
    int sp_versions = 0;
    if (python_arg) {
        snprintf(d->python, sizeof d->python, "%s", python_arg);
        snprintf(d->python_source, sizeof d->python_source, "--python");
        return;
    }
    for (size_t i = 0; i < d->files.n_index && !d->python[0]; i++) {
        const doctor_entry *e = d->files.index[i];
        doctor_libpython_version(e, v, sizeof v);
        if (v[0]) {
            snprintf(d->python, sizeof d->python, "%s", v);
            snprintf(d->python_source, sizeof d->python_source, "the layer's runtime");
        }
        doctor_path_python(e->rel, v, sizeof v);
        if (v[0] && strstr(e->rel, "python/lib/python3.") && strcmp(v, sp)) {
            sp_versions++;
            snprintf(sp, sizeof sp, "%s", v);
        }
    }
    if (!d->python[0] && sp_versions == 1) {
        snprintf(d->python, sizeof d->python, "%s", sp);
        snprintf(d->python_source, sizeof d->python_source, "python/lib/python%s", sp);
    }
}

/* --------------------------------------------------------------- checks */

/* "python/lib/python3.9/site-packages" when rel lies in a site-packages dir. */
static int doctor_site_packages(const char *rel, char *out, size_t len)
{
    const char *s = strstr(rel, "site-packages/");
    if (!s || (size_t)(s - rel) + 13 >= len)
        return 0;
    memcpy(out, rel, (size_t)(s - rel) + 13);
    out[s - rel + 13] = '\0';
    return 1;
}

/* "numpy-1.26.4.dist-info/RECORD" when r is a RECORD directly in sp, else NULL. */
static const char *doctor_record_name(const doctor_entry *r, const char *sp)
{
    size_t n = strlen(sp);
    if (r->kind != DOCTOR_FILE || strncmp(r->rel, sp, n) || r->rel[n] != '/' || r->size > (1 << 24) ||
        !doctor_ends_with(r->rel, ".dist-info/RECORD"))
        return NULL;
    const char *name = r->rel + n + 1;
    return strchr(name, '/') == strrchr(name, '/') ? name : NULL;
}

/* The distribution that installed site-packages/INNER: the *.dist-info
 * whose RECORD lists it, else a guess. */
static void doctor_dist_name(doctor_run *d, const doctor_entry *e, const char *sp, char *out, size_t len)
{
    const char *inner = e->rel + strlen(sp) + 1;
    /* A package directory is usually named like its distribution; a lone
     * module (_cffi_backend.*.so from cffi) is not, so it gets a placeholder. */
    if (strchr(inner, '/'))
        snprintf(out, len, "%.*s", (int)strcspn(inner, "/"), inner);
    else
        snprintf(out, len, "<package>");
    doctor_tree *t = e->tree;
    for (size_t i = 0; i < t->n; i++) {
        doctor_entry *r = &t->entries[i];
        const char *name = doctor_record_name(r, sp);
        if (!name)
            continue;
        char *buf = calloc(1, r->size + 1);
        int64_t n = buf ? doctor_entry_read(&d->files, r, buf, r->size) : -1;
        size_t il = strlen(inner);
        for (char *p = buf; n > 0 && p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
            if (!strncmp(p, inner, il) && p[il] == ',') {
                snprintf(out, len, "%.*s", (int)strcspn(name, "-"), name);
                free(buf);
                return;
            }
        free(buf);
    }
}

/* The fix for a native file: pip's cross-platform install for site-packages,
 * a rebuild otherwise; `extra` says what the rebuild must change beyond the arch. */
static void doctor_fix_rebuild(doctor_run *d, const doctor_entry *e, unsigned machine, const char *py,
                               const char *extra, char *out, size_t len)
{
    char sp[DOCTOR_PATH_MAX], dist[128];
    if (doctor_site_packages(e->rel, sp, sizeof sp)) {
        char pyv[16];
        doctor_path_python(e->rel, pyv, sizeof pyv);
        if (!pyv[0])
            snprintf(pyv, sizeof pyv, "%s", py && *py ? py : "3.X");
        doctor_dist_name(d, e, sp, dist, sizeof dist);
        snprintf(out, len,
                 "pip install --platform %s --python-version %s --only-binary=:all: --target %s %s",
                 doctor_wheel_platform(machine), pyv, sp, dist);
    } else if (extra[0]) {
        snprintf(out, len, "rebuild it%s", extra);
    } else if (!strcmp(e->rel, "bootstrap")) {
        snprintf(out, len, "build it for %s (make ARCH=%s)", doctor_arch(machine), doctor_arch(machine));
    } else {
        snprintf(out, len, "rebuild it for %s (%s)", doctor_arch(machine),
                 machine == EM_AARCH64 ? "aarch64-linux-gnu-gcc, or on an arm64 machine"
                                       : "x86_64-linux-gnu-gcc, or on an x86_64 machine");
    }
}

static size_t doctor_entry_arches(doctor_run *d, const doctor_entry *e, unsigned out[2])
{
    unsigned own = doctor_arch_dir(e);
    if (own) {
        out[0] = own;
        return 1;
    }
    memcpy(out, d->arches, sizeof d->arches);
    return d->n_arches;
}

static int doctor_wanted(const doctor_run *d, unsigned m)
{
    for (size_t i = 0; i < d->n_arches; i++)
        if (d->arches[i] == m)
            return 1;
    return 0;
}

static int doctor_check_arch(doctor_run *d, doctor_entry *e)
{
    unsigned want[2], m = e->info.machine;
    size_t n = doctor_entry_arches(d, e, want);
    char fix[DOCTOR_PATH_MAX + 256], wants[64];
    snprintf(wants, sizeof wants, "%s%s%s", doctor_arch(want[0]), n > 1 ? " and " : "",
             n > 1 ? doctor_arch(want[1]) : "");
    if (m == want[0] || (n > 1 && m == want[1])) {
        if (n < 2 || e->tree->is_function)
            return 1;
        snprintf(fix, sizeof fix, "move it under %s/ and put an %s build under %s/", doctor_arch(m),
                 doctor_arch(want[0] == m ? want[1] : want[0]),
                 doctor_arch(want[0] == m ? want[1] : want[0]));
        DOCTOR_PROBLEM(d, e, "wrong-arch", fix,
                       "built for %s, but it sits outside the <arch>/ directories of a layer "
                       "that serves %s", doctor_arch(m), wants);
        return 1;
    }
    doctor_fix_rebuild(d, e, want[0], d->python, "", fix, sizeof fix);
    if (!strcmp(e->rel, "bootstrap"))
        DOCTOR_PROBLEM(d, e, "wrong-arch", fix, "bootstrap is built for %s but the function runs on %s",
                       doctor_arch(m), wants);
    else if (doctor_arch_dir(e))
        DOCTOR_PROBLEM(d, e, "wrong-arch", fix, "built for %s, but files under %s/ are loaded on %s",
                       doctor_arch(m), wants, wants);
    else
        DOCTOR_PROBLEM(d, e, "wrong-arch", fix, "built for %s but the function runs on %s",
                       doctor_arch(m), wants);
    return 0;
}

/* fix_machine: the arch the fix should build for; the file's own arch is
 * wrong when check_platform is 0 (wrong-arch was already reported). */
static void doctor_check_pytag(doctor_run *d, doctor_entry *e, unsigned fix_machine, int check_platform)
{
    doctor_pytag tag;
    char dirpy[16], fix[DOCTOR_PATH_MAX + 256];
    unsigned m = e->info.machine;
    if (!doctor_pytag_parse(doctor_basename(e->rel), &tag))
        return;
    doctor_path_python(e->rel, dirpy, sizeof dirpy);
    const char *want = dirpy[0] ? dirpy : d->python;
    doctor_fix_rebuild(d, e, fix_machine, want, "", fix, sizeof fix);
    if (tag.pypy)
        DOCTOR_PROBLEM(d, e, "wrong-python", fix, "extension module built for PyPy, not CPython");
    else if (tag.version[0] && want[0] && strcmp(tag.version, want))
        DOCTOR_PROBLEM(d, e, "wrong-python", fix, "extension module for CPython %s, but %s %s",
                       tag.version, dirpy[0] ? "it sits in the site-packages of Python" : "the layer runs Python",
                       want);
    if (check_platform && tag.platform[0] && strcmp(tag.platform, doctor_platform(m)))
        DOCTOR_PROBLEM(d, e, "wrong-platform", fix,
                       "file name is tagged for %s, so Python on %s will not import it "
                       "(it looks for %s)", tag.platform, doctor_arch(m), doctor_platform(m));
}

static int doctor_needs_system_libstdcxx(doctor_run *d, const doctor_entry *e);

static void doctor_check_glibc(doctor_run *d, doctor_entry *e)
{
    const elf_info *in = &e->info;
    const doctor_target *t = &d->target;
    char fix[DOCTOR_PATH_MAX + 512], extra[256], sym[96] = "";
    if (in->glibc_max[0] && elf_version_cmp(in->glibc_max + 6, t->glibc) > 0) {
        if (in->glibc_sym[0])
            snprintf(sym, sizeof sym, " (for %s)", in->glibc_sym);
        if (d->glibc_given)
            snprintf(extra, sizeof extra, " against glibc %s or older (e.g. in a manylinux2014 "
                     "container)", t->glibc);
        else
            snprintf(extra, sizeof extra, " against glibc %s or older (e.g. in a manylinux2014 "
                     "container or the public.ecr.aws/lambda/provided:%s image)", t->glibc,
                     t->name + strlen("provided."));
        doctor_fix_rebuild(d, e, in->machine, d->python, extra, fix, sizeof fix);
        DOCTOR_PROBLEM(d, e, "glibc-too-new", fix, "needs %s%s but %s has glibc %s", in->glibc_max,
                       sym, d->glibc_given ? "the target" : t->name, t->glibc);
    }
    if (in->glibcxx_max[0] && t->glibcxx[0] && elf_version_cmp(in->glibcxx_max + 8, t->glibcxx) > 0 &&
        doctor_needs_system_libstdcxx(d, e))
        DOCTOR_PROBLEM(d, e, "glibcxx-too-new",
                       "link it with -static-libstdc++, or ship a newer libstdc++.so.6 in lib/",
                       "needs %s but the libstdc++ of %s stops at GLIBCXX_%s", in->glibcxx_max,
                       t->name, t->glibcxx);
}

static int doctor_needs_system_libstdcxx(doctor_run *d, const doctor_entry *e)
{
    doctor_found r;
    for (size_t i = 0; i < e->info.n_needed; i++)
        if (!strcmp(e->info.needed[i], "libstdc++.so.6"))
            return doctor_resolve(&d->files, &d->target, e, "libstdc++.so.6", &r) && !r.in_layer;
    return 0;
}

static void doctor_check_needed(doctor_run *d, doctor_entry *e)
{
    const char *a = doctor_arch(e->info.machine);
    for (size_t i = 0; i < e->info.n_needed; i++) {
        const char *name = e->info.needed[i];
        char fix[1024];
        doctor_found r;
        if (doctor_resolve(&d->files, &d->target, e, name, &r))
            continue;
        if (r.own[0]) /* a wheel's <pkg>.libs/ (or the like) that lost a file */
            snprintf(fix, sizeof fix, "install the package whole, so %s is where its %s points, or add "
                     "%s built for %s to %s/lib/ of a layer", name, e->info.runpath ? "RUNPATH" : "RPATH",
                     name, a, a);
        else
            snprintf(fix, sizeof fix, "add %s built for %s to %s/lib/ of a layer (or lib/ of the function)",
                     name, a, a);
        if (r.wrong[0])
            DOCTOR_PROBLEM(d, e, "missing-dependency", fix,
                           "needs %s: %s, and no %s copy is on the search path", name, r.wrong, a);
        else
            DOCTOR_PROBLEM(d, e, "missing-dependency", fix,
                           "needs %s, which is neither %s%s%son the search path (%s/lib, lib, "
                           "%s/runtime/lib, the function's lib) nor in %s", name, r.own[0] ? "in " : "",
                           r.own[0] ? r.own : "", r.own[0] ? " nor " : "", a, a, d->target.name);
    }
}

static int doctor_looks_shared(const char *base)
{
    const char *so = strstr(base, ".so");
    return so && (so[3] == '\0' || (so[3] == '.' && so[4] >= '0' && so[4] <= '9'));
}

/* A library name that is not ELF: an LFS pointer, an HTML error page... but
 * a GNU ld script (libc.so) is fine: only the link editor reads it. */
static void doctor_check_not_elf(doctor_run *d, doctor_entry *e)
{
    char start[24];
    size_t n = 0;
    if (!doctor_looks_shared(doctor_basename(e->rel)) || e->size == 0)
        return;
    if (strstr((const char *)e->head, "GNU ld script") || !strncmp((const char *)e->head, "INPUT(", 6) ||
        !strncmp((const char *)e->head, "GROUP(", 6) || !strncmp((const char *)e->head, "OUTPUT_FORMAT", 13))
        return;
    for (size_t i = 0; i < e->head_len && n < sizeof start - 1; i++)
        start[n++] = e->head[i] >= 32 && e->head[i] < 127 ? (char)e->head[i] : '.';
    start[n] = '\0';
    DOCTOR_PROBLEM(d, e, "not-elf", "replace it with the real library file",
                   "named like a shared library but is not an ELF file (it starts with \"%s\")", start);
}

static void doctor_check_elf(doctor_run *d, doctor_entry *e)
{
    unsigned want[2];
    d->n_elf++;
    if (e->state == DOCTOR_MALFORMED) {
        DOCTOR_PROBLEM(d, e, "malformed",
                       "replace it with a complete copy (the upload or build may have cut it short)",
                       "not a valid ELF file: %s", e->err);
    } else if (!doctor_check_arch(d, e)) {
        doctor_entry_arches(d, e, want);
        doctor_check_pytag(d, e, want[0], 0);
    } else {
        doctor_check_pytag(d, e, e->info.machine, 1);
        doctor_check_glibc(d, e);
        doctor_check_needed(d, e);
    }
}

static void doctor_check_entry(doctor_run *d, doctor_entry *e)
{
    unsigned own = doctor_arch_dir(e);
    if (e->kind != DOCTOR_FILE || (own && !doctor_wanted(d, own)))
        return; /* the other arch's directory is never loaded by these functions */
    d->n_files++;
    doctor_entry_scan(&d->files, e);
    if (e->state == DOCTOR_NOT_ELF)
        doctor_check_not_elf(d, e);
    else if (e->state == DOCTOR_UNREADABLE)
        DOCTOR_PROBLEM(d, e, "unreadable", "check the file and the archive", "%s", e->err);
    else
        doctor_check_elf(d, e);
}

/* ------------------------------------------------------------------ run */

void doctor_run_choose(doctor_run *d, const char *arch_arg, const char *python_arg)
{
    doctor_arches_choose(d, arch_arg);
    doctor_python_choose(d, python_arg);
}

void doctor_run_check(doctor_run *d)
{
    for (size_t t = 0; t < d->files.n_trees; t++) {
        doctor_tree *tree = &d->files.trees[t];
        for (size_t i = 0; i < tree->n_unsafe; i++)
            doctor_problem_add(d, tree, tree->unsafe[i], "", "unsafe-path",
                               "rebuild the zip with paths relative to its root",
                               "zip entry name is absolute or climbs out with '..'");
        for (size_t i = 0; i < tree->n; i++)
            doctor_check_entry(d, &tree->entries[i]);
    }
    if (d->n_problems)
        qsort(d->problems, d->n_problems, sizeof *d->problems, doctor_problem_cmp);
}

void doctor_run_free(doctor_run *d)
{
    for (size_t i = 0; i < d->n_problems; i++)
        free(d->problems[i].rel), free(d->problems[i].message), free(d->problems[i].fix);
    free(d->problems);
    doctor_files_free(&d->files);
    doctor_target_free(&d->target);
}
