/* doctor_resolve.c: where a DT_NEEDED name resolves, as the dynamic loader would
 * resolve it, in two settings:
 *  - in the checked layers and function (`bootstrap --check`), as Lambda unpacks them:
 *    the file's DT_RPATH, the LD_LIBRARY_PATH the runtime sets up, its DT_RUNPATH, then
 *    the target runtime's own libraries (compiled in from data/targets/, see
 *    scripts/targets/README.md);
 *  - on the running system (the init-time explanation of a failed import): RPATH,
 *    LD_LIBRARY_PATH, RUNPATH, ld.so.conf and the default directories. */
#define _GNU_SOURCE
#include "doctor_resolve.h"
#include "doctor_util.h"

#include <dlfcn.h>
#include <glob.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../data/targets/targets.inc"

/* --------------------------------------------------------------- targets */
static int doctor_target_line(doctor_target *t, char *line)
{
    char *kw = strtok(line, " \t"), *a = strtok(NULL, " \t"), *b = strtok(NULL, " \t");
    if (!kw || kw[0] == '#')
        return 0;
    if (!strcmp(kw, "glibc") && a)
        snprintf(t->glibc, sizeof t->glibc, "%s", a);
    else if (!strcmp(kw, "glibcxx") && a)
        snprintf(t->glibcxx, sizeof t->glibcxx, "%s", a);
    else if (!strcmp(kw, "lib") && a) {
        t->libs[t->n_libs] = strdup(a);
        t->lib_machine[t->n_libs] = b ? elf_arch_machine(b) : 0;
        if (!t->libs[t->n_libs])
            return -1;
        t->n_libs++;
    }
    return 0;
}

int doctor_target_load(doctor_target *t, const char *name, char *err, size_t len)
{
    const char *text = NULL;
    for (size_t i = 0; i < sizeof doctor_targets_builtin / sizeof doctor_targets_builtin[0]; i++)
        if (!strcmp(doctor_targets_builtin[i].name, name))
            text = doctor_targets_builtin[i].text;
    if (!text)
        return doctor_err(err, len, "unknown target '%s' (known: provided.al2, provided.al2023)", name);
    snprintf(t->name, sizeof t->name, "%s", name);
    char *copy = strdup(text), *save = NULL;
    size_t lines = 1;
    for (const char *p = text; *p; p++)
        lines += *p == '\n';
    t->libs = calloc(lines, sizeof *t->libs);
    t->lib_machine = calloc(lines, sizeof *t->lib_machine);
    if (!copy || !t->libs || !t->lib_machine) {
        free(copy);
        return doctor_err(err, len, "out of memory");
    }
    for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
        if (doctor_target_line(t, line))
            break;
    free(copy);
    return 0;
}

static int doctor_target_has(const doctor_target *t, const char *name, unsigned machine)
{
    for (size_t i = 0; i < t->n_libs; i++)
        if (!strcmp(t->libs[i], name) && (!t->lib_machine[i] || t->lib_machine[i] == machine))
            return 1;
    return 0;
}

void doctor_target_free(doctor_target *t)
{
    for (size_t i = 0; i < t->n_libs; i++)
        free(t->libs[i]);
    free(t->libs);
    free(t->lib_machine);
}


/* How far up the objects that load a library the doctor looks (its users, their users,
 * ...), and how many resolutions one name may cost: a layer is untrusted input. */
#define DOCTOR_MAX_CHAIN 8
#define DOCTOR_MAX_STEPS 1000

/* One resolution of a name: where wrong-CPU candidates are noted, and the cost so far. */
typedef struct {
    doctor_files *f;
    char *wrong;
    size_t wrong_len, steps;
} doctor_chase;

/* One entry of an RPATH or RUNPATH as the path Lambda would see: $ORIGIN is the
 * directory of e.  -1 for what the doctor cannot place (relative, $LIB, $PLATFORM). */
static int doctor_expand_dir(const doctor_entry *e, const char *dir, size_t n, char *out, size_t len)
{
    char origin[DOCTOR_PATH_MAX], joined[DOCTOR_PATH_MAX * 2];
    size_t skip = n >= 7 && !strncmp(dir, "$ORIGIN", 7) ? 7 : n >= 9 && !strncmp(dir, "${ORIGIN}", 9) ? 9 : 0;
    if (skip) {
        doctor_dirname(e->vpath, origin, sizeof origin);
        snprintf(joined, sizeof joined, "%s%.*s", origin, (int)(n - skip), dir + skip);
    } else if (n && dir[0] == '/' && !memchr(dir, '$', n)) {
        snprintf(joined, sizeof joined, "%.*s", (int)n, dir);
    } else {
        return -1;
    }
    return doctor_normalize(joined, out, len);
}

/* NAME in the first dir of a ':'-separated list that has it for e's machine and class,
 * or NULL; the first wrong-machine candidate is noted in c->wrong. */
static doctor_entry *doctor_search(doctor_chase *c, const doctor_entry *e, const char *list,
                                   const char *name)
{
    char dir[DOCTOR_PATH_MAX], cand[DOCTOR_PATH_MAX * 2];
    for (const char *p = list; p && *p; p = strchr(p, ':') ? strchr(p, ':') + 1 : NULL) {
        size_t n = strcspn(p, ":");
        if (doctor_expand_dir(e, p, n, dir, sizeof dir))
            continue;
        snprintf(cand, sizeof cand, "%s/%s", dir, name);
        doctor_entry *hit = doctor_files_lookup(c->f, cand);
        if (!hit)
            continue;
        doctor_entry_scan(c->f, hit);
        if (hit->state != DOCTOR_ELF)
            continue;
        if (hit->info.machine == e->info.machine && hit->info.elf_class == e->info.elf_class)
            return hit;
        if (!c->wrong[0])
            snprintf(c->wrong, c->wrong_len, "%s (built for %s)", hit->rel, doctor_arch(hit->info.machine));
    }
    return NULL;
}

/* What e finds by itself, in the loader's order: DT_RPATH (without DT_RUNPATH),
 * LD_LIBRARY_PATH as the runtime sets it, DT_RUNPATH. */
static doctor_entry *doctor_find_own(doctor_chase *c, const doctor_entry *e, const char *name)
{
    const elf_info *in = &e->info;
    const char *a = doctor_arch(in->machine);
    char ld[512];
    doctor_entry *hit = NULL;
    snprintf(ld, sizeof ld, "/opt/%s/lib:/opt/lib:/opt/%s/runtime/lib:/var/task:/var/task/lib", a, a);
    if (in->rpath && !in->runpath)
        hit = doctor_search(c, e, in->rpath, name);
    if (!hit)
        hit = doctor_search(c, e, ld, name);
    if (!hit && in->runpath)
        hit = doctor_search(c, e, in->runpath, name);
    return hit;
}

static doctor_entry *doctor_find(doctor_chase *c, const doctor_entry *e, const char *name, int depth);
static doctor_entry *doctor_find_via_loaders(doctor_chase *c, const doctor_entry *l, const char *name,
                                             int rpath_ok, int depth);

/* NAME as the loader finds it for a library that u loads: what u needs itself is
 * loaded before (the loader maps dependencies breadth first), then u's DT_RPATH
 * serves its libraries too (unless u has a DT_RUNPATH, or the library has one:
 * rpath_ok), then whatever loads u. */
static doctor_entry *doctor_loaded_by(doctor_chase *c, const doctor_entry *u, const char *name, int rpath_ok,
                                      int depth)
{
    doctor_entry *hit = NULL;
    for (size_t k = 0; k < u->info.n_needed && !hit; k++)
        if (!strcmp(u->info.needed[k], name))
            hit = doctor_find(c, u, name, depth + 1);
    if (!hit && rpath_ok && u->info.rpath && !u->info.runpath)
        hit = doctor_search(c, u, u->info.rpath, name);
    return hit ? hit : doctor_find_via_loaders(c, u, name, rpath_ok, depth + 1);
}

/* 1 when a DT_NEEDED entry `m` could name the library l. */
static int doctor_names(const doctor_entry *l, const char *m)
{
    return (l->info.soname && !strcmp(l->info.soname, m)) || !strcmp(doctor_basename(l->rel), m);
}

/* Libraries that auditwheel bundles into <pkg>.libs/ often need each other with no
 * RPATH of their own (only the extension module has $ORIGIN/../<pkg>.libs): the
 * loader finds them all the same, through the objects that load them.  So NAME,
 * which l cannot find by itself, is looked for through every file in the trees that
 * loads l (needs it by name, and finds this very file).  Any one such file is enough: the
 * loader follows whichever loaded l first, and the doctor cannot know which that is
 * (auditwheel gives every extension module of a package the same RPATH). */
static doctor_entry *doctor_find_via_loaders(doctor_chase *c, const doctor_entry *l, const char *name,
                                             int rpath_ok, int depth)
{
    if (depth >= DOCTOR_MAX_CHAIN || ++c->steps > DOCTOR_MAX_STEPS)
        return NULL;
    for (size_t i = 0; i < c->f->n_index; i++) {
        const doctor_entry *u = c->f->index[i];
        if (u == l || u->state != DOCTOR_ELF || u->info.machine != l->info.machine ||
            u->info.elf_class != l->info.elf_class)
            continue;
        for (size_t k = 0; k < u->info.n_needed; k++) {
            if (!doctor_names(l, u->info.needed[k]) || doctor_find(c, u, u->info.needed[k], depth + 1) != l)
                continue;
            doctor_entry *hit = doctor_loaded_by(c, u, name, rpath_ok, depth);
            if (hit)
                return hit;
            break;
        }
    }
    return NULL;
}

static doctor_entry *doctor_find(doctor_chase *c, const doctor_entry *e, const char *name, int depth)
{
    doctor_entry *hit = doctor_find_own(c, e, name);
    /* the loaders' DT_RPATH serves only a library without a DT_RUNPATH of its own */
    return hit ? hit : doctor_find_via_loaders(c, e, name, !e->info.runpath, depth);
}

/* "its RPATH ($ORIGIN/../x.libs = /opt/x86_64/python/x.libs) " for the message. */
static void doctor_describe_own(const doctor_entry *e, char *out, size_t len)
{
    const char *list = e->info.runpath ? e->info.runpath : e->info.rpath;
    char dir[DOCTOR_PATH_MAX];
    size_t o;
    out[0] = '\0';
    if (!list || !*list)
        return;
    o = (size_t)snprintf(out, len, "its %s (", e->info.runpath ? "RUNPATH" : "RPATH");
    for (const char *p = list; *p && o < len; p = strchr(p, ':') ? strchr(p, ':') + 1 : "") {
        size_t n = strcspn(p, ":");
        int placed = !doctor_expand_dir(e, p, n, dir, sizeof dir) && strncmp(p, dir, n);
        o += (size_t)snprintf(out + o, len - o, "%s%.*s%s%s", p == list ? "" : ", ", (int)n, p,
                              placed ? " = " : "", placed ? dir : "");
    }
    if (o < len)
        snprintf(out + o, len - o, ")");
}

/* The loader's order: the file's own paths, then the system's libraries, then the
 * paths of the objects that load it. */
int doctor_resolve(doctor_files *f, const doctor_target *t, const doctor_entry *e, const char *name,
                   doctor_found *r)
{
    doctor_chase c = {f, r->wrong, sizeof r->wrong, 0};
    r->in_layer = 1;
    r->wrong[0] = r->own[0] = '\0';
    if (strchr(name, '/') || doctor_find_own(&c, e, name))
        return 1;
    r->in_layer = 0;
    if (doctor_target_has(t, name, e->info.machine))
        return 1;
    r->in_layer = 1;
    if (doctor_find_via_loaders(&c, e, name, !e->info.runpath, 0))
        return 1;
    r->in_layer = 0;
    doctor_describe_own(e, r->own, sizeof r->own);
    return 0;
}

/* ------------------------------------------------------ the running system */

/* Machine and class from a file's ELF header; 0 on success. */
static int doctor_file_machine(const char *path, unsigned *machine, int *cls)
{
    unsigned char h[sizeof(Elf64_Ehdr)];
    FILE *f = fopen(path, "rb");
    size_t n = f ? fread(h, 1, sizeof h, f) : 0;
    if (f)
        fclose(f);
    if (n < EI_NIDENT + 4 || !elf_is_elf(h, n))
        return -1;
    /* e_machine sits at the same offset in ELF32 and ELF64 headers */
    size_t off = offsetof(Elf64_Ehdr, e_machine);
    *machine = h[EI_DATA] == ELFDATA2MSB ? (unsigned)(h[off] << 8 | h[off + 1])
                                         : (unsigned)(h[off] | h[off + 1] << 8);
    *cls = h[EI_CLASS];
    return 0;
}

/* Where a dependency was found: the path, for following it one level down. */
static int doctor_dir_has(const char *dir, size_t dir_len, const char *name, const elf_info *in,
                          doctor_hit *hit)
{
    char cand[DOCTOR_PATH_MAX];
    unsigned m;
    int cls;
    if (snprintf(cand, sizeof cand, "%.*s/%s", (int)dir_len, dir, name) >= (int)sizeof cand ||
        doctor_file_machine(cand, &m, &cls))
        return 0;
    if (m == in->machine && cls == in->elf_class)
        return snprintf(hit->found, sizeof hit->found, "%s", cand), 1;
    if (!hit->wrong[0])
        snprintf(hit->wrong, sizeof hit->wrong, "%s is built for %s", cand, doctor_arch(m));
    return 0;
}

static int doctor_dirs_have(const char *list, const char *origin, const char *name,
                            const elf_info *in, doctor_hit *hit)
{
    char dir[DOCTOR_PATH_MAX];
    for (const char *p = list; p && *p; p = strchr(p, ':') ? strchr(p, ':') + 1 : NULL) {
        size_t n = strcspn(p, ":");
        const char *rest = NULL;
        if (n >= 7 && !strncmp(p, "$ORIGIN", 7))
            rest = p + 7;
        else if (n >= 9 && !strncmp(p, "${ORIGIN}", 9))
            rest = p + 9;
        if (rest)
            snprintf(dir, sizeof dir, "%s%.*s", origin, (int)(n - (size_t)(rest - p)), rest);
        else
            snprintf(dir, sizeof dir, "%.*s", (int)n, p);
        if (dir[0] && doctor_dir_has(dir, strlen(dir), name, in, hit))
            return 1;
    }
    return 0;
}

/* The directory of path with symlinks resolved: what $ORIGIN means to the loader. */
static void doctor_real_dirname(const char *path, char *out, size_t len)
{
    char *real = realpath(path, NULL);
    doctor_dirname(real ? real : path, out, len);
    free(real);
}

static void doctor_ldconf(const char *path, char *list, size_t len, int depth);

static void doctor_ldconf_include(const char *pattern, char *list, size_t len, int depth)
{
    char pat[DOCTOR_PATH_MAX];
    glob_t gl;
    snprintf(pat, sizeof pat, "%s%s", pattern[0] == '/' ? "" : "/etc/", pattern);
    if (!glob(pat, 0, NULL, &gl))
        for (size_t i = 0; i < gl.gl_pathc; i++)
            doctor_ldconf(gl.gl_pathv[i], list, len, depth + 1);
    globfree(&gl);
}

/* Append the directories of an ld.so.conf file (and its includes) to list:
 * what ld.so.cache holds, without parsing the cache's binary format. */
static void doctor_ldconf(const char *path, char *list, size_t len, int depth)
{
    char line[DOCTOR_PATH_MAX];
    FILE *f = depth < 4 ? fopen(path, "r") : NULL;
    if (!f)
        return;
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "#\r\n")] = '\0';
        char *s = line + strspn(line, " \t");
        size_t n = strlen(s);
        while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
            s[--n] = '\0';
        if (!strncmp(s, "include", 7) && (s[7] == ' ' || s[7] == '\t'))
            doctor_ldconf_include(s + 8 + strspn(s + 8, " \t"), list, len, depth);
        else if (s[0] == '/' && strlen(list) + n + 2 < len) {
            strcat(list, ":");
            strcat(list, s);
        }
    }
    fclose(f);
}

int doctor_resolve_system(const char *path, const char *name, const elf_info *in,
                          const doctor_loader *loaders, doctor_hit *hit)
{
    char origin[DOCTOR_PATH_MAX], sys[8192] = "";
    if (strchr(name, '/'))
        return access(name, F_OK) == 0;
    void *h = dlopen(name, RTLD_LAZY | RTLD_NOLOAD);
    if (h) {
        dlclose(h);
        return 1; /* already loaded into this process */
    }
    doctor_real_dirname(path, origin, sizeof origin);
    if (in->rpath && !in->runpath && doctor_dirs_have(in->rpath, origin, name, in, hit))
        return 1;
    /* As in a layer (doctor_resolve): what loads this file serves its dependencies too. */
    for (const doctor_loader *l = loaders; l; l = l->up) {
        char lorigin[DOCTOR_PATH_MAX];
        doctor_real_dirname(l->path, lorigin, sizeof lorigin);
        for (size_t i = 0; i < l->info->n_needed; i++)
            if (!strcmp(l->info->needed[i], name) &&
                doctor_resolve_system(l->path, name, l->info, l->up, hit))
                return 1;
        if (!in->runpath && l->info->rpath && !l->info->runpath &&
            doctor_dirs_have(l->info->rpath, lorigin, name, in, hit))
            return 1;
    }
    doctor_ldconf("/etc/ld.so.conf", sys, sizeof sys, 0);
    strncat(sys, in->elf_class == ELFCLASS64 ? ":/lib64:/usr/lib64:/lib:/usr/lib" : ":/lib:/usr/lib",
            sizeof sys - strlen(sys) - 1);
    return doctor_dirs_have(getenv("LD_LIBRARY_PATH"), origin, name, in, hit) ||
           (in->runpath && doctor_dirs_have(in->runpath, origin, name, in, hit)) ||
           doctor_dirs_have(sys, origin, name, in, hit);
}
