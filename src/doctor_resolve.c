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


/* Try NAME in each dir of a ':'-separated list; $ORIGIN is the file's dir.
 * Returns 1 when a file of the right machine and class is there; otherwise
 * remembers a wrong-machine candidate in `wrong`. */
static int doctor_search(doctor_files *f, const doctor_entry *e, const char *list, const char *name,
                         char *wrong, size_t wrong_len)
{
    char origin[DOCTOR_PATH_MAX], dir[DOCTOR_PATH_MAX], cand[DOCTOR_PATH_MAX * 2];
    doctor_dirname(e->vpath, origin, sizeof origin);
    for (const char *p = list; p && *p; p = strchr(p, ':') ? strchr(p, ':') + 1 : NULL) {
        size_t n = strcspn(p, ":");
        snprintf(dir, sizeof dir, "%.*s", (int)n, p);
        const char *rest = !strncmp(dir, "$ORIGIN", 7) ? dir + 7 : !strncmp(dir, "${ORIGIN}", 9) ? dir + 9 : NULL;
        if (rest)
            snprintf(cand, sizeof cand, "%s%s/%s", origin, rest, name);
        else if (dir[0] == '/' && !strchr(dir, '$'))
            snprintf(cand, sizeof cand, "%s/%s", dir, name);
        else
            continue;
        doctor_entry *c = doctor_files_lookup(f, cand);
        if (!c)
            continue;
        doctor_entry_scan(f, c);
        if (c->state != DOCTOR_ELF)
            continue;
        if (c->info.machine == e->info.machine && c->info.elf_class == e->info.elf_class)
            return 1;
        if (!wrong[0])
            snprintf(wrong, wrong_len, "%s (built for %s)", c->rel, doctor_arch(c->info.machine));
    }
    return 0;
}

/* The loader's order: DT_RPATH (without DT_RUNPATH), LD_LIBRARY_PATH as the
 * runtime sets it, DT_RUNPATH, then the system's libraries. */
int doctor_resolve(doctor_files *f, const doctor_target *t, const doctor_entry *e, const char *name,
                   doctor_found *r)
{
    const elf_info *in = &e->info;
    const char *a = doctor_arch(in->machine);
    char ld[512];
    r->in_layer = 1;
    r->wrong[0] = '\0';
    if (strchr(name, '/'))
        return 1;
    snprintf(ld, sizeof ld, "/opt/%s/lib:/opt/lib:/opt/%s/runtime/lib:/var/task:/var/task/lib", a, a);
    if ((in->rpath && !in->runpath && doctor_search(f, e, in->rpath, name, r->wrong, sizeof r->wrong)) ||
        doctor_search(f, e, ld, name, r->wrong, sizeof r->wrong) ||
        (in->runpath && doctor_search(f, e, in->runpath, name, r->wrong, sizeof r->wrong)))
        return 1;
    r->in_layer = 0;
    return doctor_target_has(t, name, in->machine);
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

int doctor_resolve_system(const char *path, const char *name, const elf_info *in, doctor_hit *hit)
{
    char origin[DOCTOR_PATH_MAX], sys[8192] = "";
    if (strchr(name, '/'))
        return access(name, F_OK) == 0;
    void *h = dlopen(name, RTLD_LAZY | RTLD_NOLOAD);
    if (h) {
        dlclose(h);
        return 1; /* already loaded into this process */
    }
    char *real = realpath(path, NULL);
    doctor_dirname(real ? real : path, origin, sizeof origin);
    free(real);
    doctor_ldconf("/etc/ld.so.conf", sys, sizeof sys, 0);
    strncat(sys, in->elf_class == ELFCLASS64 ? ":/lib64:/usr/lib64:/lib:/usr/lib" : ":/lib:/usr/lib",
            sizeof sys - strlen(sys) - 1);
    return (in->rpath && !in->runpath && doctor_dirs_have(in->rpath, origin, name, in, hit)) ||
           doctor_dirs_have(getenv("LD_LIBRARY_PATH"), origin, name, in, hit) ||
           (in->runpath && doctor_dirs_have(in->runpath, origin, name, in, hit)) ||
           doctor_dirs_have(sys, origin, name, in, hit);
}

