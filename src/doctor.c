/* doctor.c: the layer doctor (`bootstrap --check`) and the init-time
 * explanation of a native import failure (doctor_explain_file).
 *
 * `--check` reads layers and function packages (directories or .zip files),
 * parses every ELF file with src/elf.c and reports what would stop it from
 * loading on Lambda: the wrong CPU, the wrong CPython tag, a newer glibc than
 * the target's, and DT_NEEDED libraries that resolve nowhere on the search path
 * the runtime sets up.  The target runtimes' libraries are compiled in from
 * data/targets/ (see scripts/targets/README.md). */
#define _GNU_SOURCE
#include "doctor.h"
#include "elf.h"

#include <cjson/cJSON.h>
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <glob.h>
#include <gnu/libc-version.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#if defined(__has_include)
#if __has_include(<zip.h>)
#include <zip.h>
#define DOCTOR_HAVE_ZIP 1
#endif
#endif

#include "../data/targets/targets.inc"

#define DOCTOR_DEFAULT_TARGET "provided.al2023"
#define DOCTOR_PATH_MAX 4096
#define DOCTOR_MAX_ENTRIES 1000000
#define DOCTOR_MAX_DEPTH 64
#define DOCTOR_MAX_HOPS 32
#define DOCTOR_ERR 512
#define DOCTOR_MAX_FILE ((uint64_t)250 << 20)

/* ------------------------------------------------------------------ types */

enum doctor_kind { DOCTOR_FILE, DOCTOR_LINK, DOCTOR_DIR };
enum doctor_state { DOCTOR_UNSCANNED, DOCTOR_NOT_ELF, DOCTOR_ELF, DOCTOR_MALFORMED, DOCTOR_UNREADABLE };

struct doctor_tree;

typedef struct doctor_entry {
    char *rel;   /* path inside the tree, without a leading '/' */
    char *vpath; /* where Lambda puts it: /opt/REL or /var/task/REL */
    char *link;  /* symlink target */
    int kind, state;
    uint64_t size;
    int64_t zindex;
    unsigned char head[64];
    size_t head_len;
    elf_info info;
    char err[160];
    struct doctor_tree *tree;
} doctor_entry;

typedef struct doctor_tree {
    const char *arg;  /* PATH as given */
    char *root;       /* directory to read from (dirs and single files) */
    int is_zip, is_function;
    const char *mount;
    void *zip;
    doctor_entry *entries;
    size_t n, cap, index;
} doctor_tree;

typedef struct {
    size_t tree, seq;
    char *rel;
    char what[48];
    const char *kind;
    char *message, *fix;
} doctor_problem;

typedef struct {
    char name[32];
    char glibc[16];
    char glibcxx[24];
    char **libs;
    unsigned *lib_machine; /* 0: every arch */
    size_t n_libs;
} doctor_target;

#ifdef DOCTOR_HAVE_ZIP
/* libzip is loaded only for --check with a zip: the runtime must not pay for
 * its dependencies at every cold start. */
typedef struct {
    void *handle;
    zip_t *(*open)(const char *, int, int *);
    zip_int64_t (*get_num_entries)(zip_t *, zip_flags_t);
    int (*stat_index)(zip_t *, zip_uint64_t, zip_flags_t, zip_stat_t *);
    zip_file_t *(*fopen_index)(zip_t *, zip_uint64_t, zip_flags_t);
    zip_int64_t (*fread)(zip_file_t *, void *, zip_uint64_t);
    int (*fclose)(zip_file_t *);
    int (*get_attrs)(zip_t *, zip_uint64_t, zip_flags_t, zip_uint8_t *, zip_uint32_t *);
    void (*discard)(zip_t *);
    void (*error_init)(zip_error_t *, int);
    const char *(*error_str)(zip_error_t *);
    void (*error_fini)(zip_error_t *);
} doctor_zip_api;
#endif

typedef struct {
    /* arguments */
    const char *arch_arg, *python_arg, *target_arg, *glibc_arg;
    int json, help;
    const char **paths;
    size_t n_paths;
    /* what is checked */
    doctor_tree *trees;
    size_t n_trees;
    doctor_target target;
    unsigned arches[2];
    size_t n_arches;
    char arch_source[96];
    char python[16];
    char python_source[96];
    doctor_entry **index;
    size_t n_index;
    /* findings */
    doctor_problem *problems;
    size_t n_problems, cap_problems;
    size_t n_files, n_elf;
#ifdef DOCTOR_HAVE_ZIP
    doctor_zip_api zip;
#endif
} doctor;

/* ---------------------------------------------------------------- helpers */

static int doctor_err(char *err, size_t len, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, len, fmt, ap);
    va_end(ap);
    return -1;
}

static char *doctor_vformat(const char *fmt, va_list ap)
{
    char *s = NULL;
    if (vasprintf(&s, fmt, ap) < 0)
        return NULL;
    return s;
}

static int doctor_ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && !strcmp(s + n - m, suffix);
}

static const char *doctor_basename(const char *p)
{
    const char *s = strrchr(p, '/');
    return s ? s + 1 : p;
}

static void doctor_dirname(const char *p, char *out, size_t len)
{
    const char *s = strrchr(p, '/');
    size_t n = s ? (size_t)(s - p) : 0;
    if (s == p)
        n = 1;
    if (n >= len)
        n = len - 1;
    memcpy(out, s ? p : ".", s ? n : 1);
    out[s ? n : 1] = '\0';
}

/* Collapse "//", "." and ".." in an absolute path, as the kernel would
 * (without following links: doctor_lookup does that). */
static int doctor_normalize(const char *in, char *out, size_t len)
{
    size_t o = 0;
    const char *p = in;
    while (*p) {
        while (*p == '/')
            p++;
        const char *c = p;
        while (*p && *p != '/')
            p++;
        size_t n = (size_t)(p - c);
        if (n == 0 || (n == 1 && c[0] == '.'))
            continue;
        if (n == 2 && c[0] == '.' && c[1] == '.') {
            while (o > 0 && out[o - 1] != '/')
                o--;
            if (o > 0)
                o--;
            continue;
        }
        if (o + 1 + n + 1 > len)
            return -1;
        out[o++] = '/';
        memcpy(out + o, c, n);
        o += n;
    }
    if (o == 0)
        out[o++] = '/';
    out[o] = '\0';
    return 0;
}

/* "3.11" from a path component "python3.11" anywhere in rel, else "". */
static void doctor_path_python(const char *rel, char *out, size_t len)
{
    out[0] = '\0';
    for (const char *p = rel; p && *p; p = strchr(p, '/') ? strchr(p, '/') + 1 : NULL) {
        size_t n = strcspn(p, "/"), digits = 0;
        if (n < 9 || strncmp(p, "python3.", 8))
            continue;
        while (8 + digits < n && p[8 + digits] >= '0' && p[8 + digits] <= '9')
            digits++;
        if (digits && 8 + digits == n && n - 6 < len) {
            memcpy(out, p + 6, n - 6);
            out[n - 6] = '\0';
        }
    }
}

/* The CPython tag in an extension module's file name. */
typedef struct {
    int tagged, abi3, pypy;
    char version[8];   /* "3.11", "" when the tag has none */
    char platform[48]; /* "x86_64-linux-gnu", "" when the tag has none */
} doctor_pytag;

static int doctor_pytag_parse(const char *base, doctor_pytag *t)
{
    char stem[256];
    size_t n = strlen(base);
    memset(t, 0, sizeof *t);
    if (n < 4 || n - 3 >= sizeof stem || !doctor_ends_with(base, ".so"))
        return 0;
    memcpy(stem, base, n - 3);
    stem[n - 3] = '\0';
    char *tag = strrchr(stem, '.');
    if (!tag++)
        return 0;
    if (!strcmp(tag, "abi3"))
        return t->tagged = t->abi3 = 1;
    if (!strncmp(tag, "pypy", 4))
        return t->tagged = t->pypy = 1;
    if (strncmp(tag, "cpython-", 8))
        return 0;
    const char *p = tag + 8;
    size_t d = 0;
    while (p[d] >= '0' && p[d] <= '9')
        d++;
    if (d >= 2 && d <= 4)
        snprintf(t->version, sizeof t->version, "%c.%.*s", p[0], (int)(d - 1), p + 1);
    p += d;
    while (*p >= 'a' && *p <= 'z')
        p++; /* ABI flags: m, d, t */
    if (*p == '-')
        snprintf(t->platform, sizeof t->platform, "%s", p + 1);
    return t->tagged = 1;
}

static const char *doctor_platform(unsigned machine)
{
    return machine == EM_AARCH64 ? "aarch64-linux-gnu" : "x86_64-linux-gnu";
}

static const char *doctor_wheel_platform(unsigned machine)
{
    return machine == EM_AARCH64 ? "manylinux2014_aarch64" : "manylinux2014_x86_64";
}

static const char *doctor_arch(unsigned machine)
{
    char tmp[32];
    const char *name = elf_machine_name(machine, tmp, sizeof tmp);
    return name == tmp ? "an unknown machine" : name; /* no static buffer: keep it reentrant */
}

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

static int doctor_target_load(doctor_target *t, const char *name, char *err, size_t len)
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

static void doctor_target_free(doctor_target *t)
{
    for (size_t i = 0; i < t->n_libs; i++)
        free(t->libs[i]);
    free(t->libs);
    free(t->lib_machine);
}

/* -------------------------------------------------------------- problems */

static void doctor_problem_add(doctor *d, doctor_tree *t, const char *rel, const char *what,
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

/* ------------------------------------------------------------ tree input */

static doctor_entry *doctor_entry_new(doctor_tree *t, const char *rel, int kind, char *err,
                                      size_t len)
{
    if (t->n >= DOCTOR_MAX_ENTRIES)
        return doctor_err(err, len, "%s holds more than %d files", t->arg, DOCTOR_MAX_ENTRIES),
               NULL;
    if (t->n == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 256;
        doctor_entry *e = realloc(t->entries, cap * sizeof *e);
        if (!e)
            return doctor_err(err, len, "out of memory"), NULL;
        t->entries = e;
        t->cap = cap;
    }
    doctor_entry *e = &t->entries[t->n];
    memset(e, 0, sizeof *e);
    e->rel = strdup(rel);
    if (!e->rel)
        return doctor_err(err, len, "out of memory"), NULL;
    e->kind = kind;
    e->zindex = -1;
    t->n++;
    return e;
}

static int doctor_walk(doctor_tree *t, const char *rel, int depth, char *err, size_t len);

static int doctor_walk_one(doctor_tree *t, const char *dir, const char *rel, const char *name,
                           int depth, char *err, size_t len)
{
    char full[DOCTOR_PATH_MAX], child[DOCTOR_PATH_MAX];
    struct stat st;
    if (snprintf(full, sizeof full, "%s/%s", dir, name) >= (int)sizeof full ||
        snprintf(child, sizeof child, "%s%s%s", rel, *rel ? "/" : "", name) >= (int)sizeof child)
        return doctor_err(err, len, "path too long under %s", t->arg);
    if (lstat(full, &st) < 0)
        return doctor_err(err, len, "cannot read %s: %s", full, strerror(errno));
    int kind = S_ISDIR(st.st_mode) ? DOCTOR_DIR : S_ISLNK(st.st_mode) ? DOCTOR_LINK : DOCTOR_FILE;
    if (kind == DOCTOR_FILE && !S_ISREG(st.st_mode))
        return 0; /* sockets, fifos and devices are no library */
    doctor_entry *e = doctor_entry_new(t, child, kind, err, len);
    if (!e)
        return -1;
    e->size = (uint64_t)st.st_size;
    if (kind == DOCTOR_LINK) {
        char target[DOCTOR_PATH_MAX];
        ssize_t n = readlink(full, target, sizeof target - 1);
        target[n > 0 ? n : 0] = '\0';
        e->link = strdup(target);
    }
    return kind == DOCTOR_DIR ? doctor_walk(t, child, depth + 1, err, len) : 0;
}

static int doctor_walk(doctor_tree *t, const char *rel, int depth, char *err, size_t len)
{
    char dir[DOCTOR_PATH_MAX];
    if (depth > DOCTOR_MAX_DEPTH)
        return doctor_err(err, len, "%s is nested more than %d directories deep", t->arg,
                          DOCTOR_MAX_DEPTH);
    snprintf(dir, sizeof dir, "%s%s%s", t->root, *rel ? "/" : "", rel);
    DIR *dp = opendir(dir);
    if (!dp)
        return doctor_err(err, len, "cannot read %s: %s", dir, strerror(errno));
    struct dirent *de;
    int rc = 0;
    while (!rc && (de = readdir(dp)))
        if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
            rc = doctor_walk_one(t, dir, rel, de->d_name, depth, err, len);
    closedir(dp);
    return rc;
}

#ifdef DOCTOR_HAVE_ZIP
#define DOCTOR_ZIP_SYM(api, field, name)                                                       \
    do {                                                                                      \
        void *sym_ = dlsym((api)->handle, name);                                              \
        if (!sym_)                                                                            \
            missing = name;                                                                   \
        memcpy(&(api)->field, &sym_, sizeof sym_);                                            \
    } while (0)

static int doctor_zip_api_load(doctor_zip_api *z, char *err, size_t len)
{
    const char *missing = NULL;
    if (z->handle)
        return 0;
    z->handle = dlopen("libzip.so.4", RTLD_NOW | RTLD_LOCAL);
    if (!z->handle)
        return doctor_err(err, len,
                          "reading .zip files needs libzip (%s); install libzip4 (Debian, "
                          "Ubuntu) or libzip (Amazon Linux), or unzip it and check the directory",
                          dlerror());
    DOCTOR_ZIP_SYM(z, open, "zip_open");
    DOCTOR_ZIP_SYM(z, get_num_entries, "zip_get_num_entries");
    DOCTOR_ZIP_SYM(z, stat_index, "zip_stat_index");
    DOCTOR_ZIP_SYM(z, fopen_index, "zip_fopen_index");
    DOCTOR_ZIP_SYM(z, fread, "zip_fread");
    DOCTOR_ZIP_SYM(z, fclose, "zip_fclose");
    DOCTOR_ZIP_SYM(z, get_attrs, "zip_file_get_external_attributes");
    DOCTOR_ZIP_SYM(z, discard, "zip_discard");
    DOCTOR_ZIP_SYM(z, error_init, "zip_error_init_with_code");
    DOCTOR_ZIP_SYM(z, error_str, "zip_error_strerror");
    DOCTOR_ZIP_SYM(z, error_fini, "zip_error_fini");
    if (missing) {
        dlclose(z->handle);
        z->handle = NULL;
        return doctor_err(err, len, "libzip.so.4 lacks %s; install libzip 1.2 or newer", missing);
    }
    return 0;
}

/* Read up to `len` bytes of entry `index`; returns the count or -1. */
static int64_t doctor_zip_read(doctor_zip_api *z, zip_t *za, int64_t index, void *buf, uint64_t len)
{
    zip_file_t *f = z->fopen_index(za, (zip_uint64_t)index, 0);
    if (!f)
        return -1;
    uint64_t got = 0;
    while (got < len) {
        zip_int64_t n = z->fread(f, (char *)buf + got, len - got);
        if (n < 0) {
            z->fclose(f);
            return -1;
        }
        if (n == 0)
            break;
        got += (uint64_t)n;
    }
    z->fclose(f);
    return (int64_t)got;
}

/* Zip names are untrusted: "./a" becomes "a"; absolute or ".." names would
 * land outside the mount point, so they are refused. */
static int doctor_zip_name(const char *name, char *out, size_t len, int *is_dir)
{
    while (name[0] == '.' && name[1] == '/')
        name += 2;
    size_t n = strlen(name);
    *is_dir = n > 0 && name[n - 1] == '/';
    if (*is_dir)
        n--;
    if (n == 0 || n >= len || name[0] == '/')
        return -1;
    memcpy(out, name, n);
    out[n] = '\0';
    for (char *p = out; p; p = strchr(p, '/') ? strchr(p, '/') + 1 : NULL)
        if (!strncmp(p, "..", 2) && (p[2] == '/' || p[2] == '\0'))
            return -1;
    return 0;
}

static int doctor_zip_entry(doctor *d, doctor_tree *t, zip_int64_t i, char *err, size_t len)
{
    zip_stat_t st;
    zip_uint8_t os = 0;
    zip_uint32_t attr = 0;
    char rel[DOCTOR_PATH_MAX];
    int is_dir;
    if (d->zip.stat_index(t->zip, (zip_uint64_t)i, 0, &st) || !(st.valid & ZIP_STAT_NAME))
        return doctor_err(err, len, "%s: cannot read zip entry %lld", t->arg, (long long)i);
    if (doctor_zip_name(st.name, rel, sizeof rel, &is_dir)) {
        doctor_problem_add(d, t, st.name, "", "unsafe-path",
                           "rebuild the zip with paths relative to its root",
                           "zip entry name is absolute or climbs out with '..'");
        return 0;
    }
    d->zip.get_attrs(t->zip, (zip_uint64_t)i, 0, &os, &attr);
    int link = os == ZIP_OPSYS_UNIX && ((attr >> 16) & S_IFMT) == S_IFLNK;
    doctor_entry *e = doctor_entry_new(t, rel, is_dir ? DOCTOR_DIR : link ? DOCTOR_LINK : DOCTOR_FILE,
                                       err, len);
    if (!e)
        return -1;
    e->zindex = i;
    e->size = (st.valid & ZIP_STAT_SIZE) ? st.size : 0;
    if (link) {
        char target[1024];
        int64_t n = doctor_zip_read(&d->zip, t->zip, i, target, sizeof target - 1);
        target[n > 0 ? n : 0] = '\0';
        e->link = strdup(target);
    }
    return 0;
}

static int doctor_zip_load(doctor *d, doctor_tree *t, char *err, size_t len)
{
    int code = 0;
    if (doctor_zip_api_load(&d->zip, err, len))
        return -1;
    t->zip = d->zip.open(t->arg, ZIP_RDONLY, &code);
    if (!t->zip) {
        zip_error_t ze;
        d->zip.error_init(&ze, code);
        doctor_err(err, len, "cannot read %s as a zip file: %s", t->arg, d->zip.error_str(&ze));
        d->zip.error_fini(&ze);
        return -1;
    }
    zip_int64_t n = d->zip.get_num_entries(t->zip, 0);
    for (zip_int64_t i = 0; i < n; i++)
        if (doctor_zip_entry(d, t, i, err, len))
            return -1;
    return 0;
}
#else
static int doctor_zip_load(doctor *d, doctor_tree *t, char *err, size_t len)
{
    (void)d;
    return doctor_err(err, len, "%s: this bootstrap was built without zip support; unzip it "
                      "and check the directory", t->arg);
}
#endif

static int doctor_is_zip(const char *path)
{
    unsigned char m[4] = {0};
    FILE *f = fopen(path, "rb");
    size_t n = f ? fread(m, 1, sizeof m, f) : 0;
    if (f)
        fclose(f);
    return (n == 4 && m[0] == 'P' && m[1] == 'K' && (m[2] == 3 || m[2] == 5)) ||
           doctor_ends_with(path, ".zip");
}

static int doctor_tree_read(doctor *d, doctor_tree *t, char *err, size_t len)
{
    struct stat st;
    if (stat(t->arg, &st) < 0)
        return doctor_err(err, len, "cannot read %s: %s", t->arg, strerror(errno));
    if (S_ISDIR(st.st_mode)) {
        t->root = strdup(t->arg);
        return t->root ? doctor_walk(t, "", 0, err, len) : -1;
    }
    if (!S_ISREG(st.st_mode))
        return doctor_err(err, len, "%s is not a directory, .zip or file", t->arg);
    if (doctor_is_zip(t->arg)) {
        t->is_zip = 1;
        return doctor_zip_load(d, t, err, len);
    }
    /* A single file is checked as if it sat at the root of a function package. */
    char dir[DOCTOR_PATH_MAX];
    doctor_dirname(t->arg, dir, sizeof dir);
    t->root = strdup(dir);
    doctor_entry *e = t->root ? doctor_entry_new(t, doctor_basename(t->arg), DOCTOR_FILE, err, len) : NULL;
    if (!e)
        return -1;
    e->size = (uint64_t)st.st_size;
    t->is_function = 1;
    return 0;
}

static int doctor_entry_cmp(const void *a, const void *b)
{
    return strcmp(((const doctor_entry *)a)->rel, ((const doctor_entry *)b)->rel);
}

static int doctor_top_is(const doctor_entry *e, const char *name)
{
    size_t n = strlen(name);
    return !strncmp(e->rel, name, n) && (e->rel[n] == '/' || e->rel[n] == '\0');
}

/* Lambda unpacks layers into /opt and the function into /var/task.  A package
 * with handler code or a bootstrap at its root, and none of the layer
 * directories, is a function. */
static void doctor_tree_classify(doctor_tree *t)
{
    int layer_dirs = 0, function_files = 0;
    for (size_t i = 0; i < t->n; i++) {
        const doctor_entry *e = &t->entries[i];
        layer_dirs |= doctor_top_is(e, "python") || doctor_top_is(e, "x86_64") ||
                      doctor_top_is(e, "arm64") || doctor_top_is(e, "runtime");
        function_files |= !strchr(e->rel, '/') &&
                          (doctor_ends_with(e->rel, ".py") || !strcmp(e->rel, "bootstrap"));
    }
    if (!t->is_function)
        t->is_function = function_files && !layer_dirs;
    t->mount = t->is_function ? "/var/task" : "/opt";
}

static int doctor_tree_open(doctor *d, const char *arg, char *err, size_t len)
{
    doctor_tree *t = &d->trees[d->n_trees];
    memset(t, 0, sizeof *t);
    t->arg = arg;
    t->index = d->n_trees++;
    if (doctor_tree_read(d, t, err, len))
        return -1;
    if (t->n)
        qsort(t->entries, t->n, sizeof *t->entries, doctor_entry_cmp);
    doctor_tree_classify(t);
    for (size_t i = 0; i < t->n; i++) {
        doctor_entry *e = &t->entries[i];
        e->tree = t;
        if (asprintf(&e->vpath, "%s/%s", t->mount, e->rel) < 0)
            return doctor_err(err, len, "out of memory");
    }
    return 0;
}

static void doctor_tree_free(doctor *d, doctor_tree *t)
{
    for (size_t i = 0; i < t->n; i++) {
        doctor_entry *e = &t->entries[i];
        free(e->rel), free(e->vpath), free(e->link);
        elf_info_free(&e->info);
    }
    free(t->entries);
    free(t->root);
#ifdef DOCTOR_HAVE_ZIP
    if (t->zip)
        d->zip.discard(t->zip);
#else
    (void)d;
#endif
}

/* ------------------------------------------------------------- scanning */

static int64_t doctor_entry_read(doctor *d, doctor_entry *e, void *buf, uint64_t len)
{
    doctor_tree *t = e->tree;
#ifdef DOCTOR_HAVE_ZIP
    if (t->is_zip)
        return doctor_zip_read(&d->zip, t->zip, e->zindex, buf, len);
#else
    (void)d;
#endif
    char full[DOCTOR_PATH_MAX];
    snprintf(full, sizeof full, "%s/%s", t->root, e->rel);
    FILE *f = fopen(full, "rb");
    if (!f)
        return -1;
    size_t n = fread(buf, 1, len, f);
    int bad = ferror(f);
    fclose(f);
    return bad ? -1 : (int64_t)n;
}

static void doctor_entry_parse(doctor *d, doctor_entry *e)
{
    /* Nothing larger deploys (Lambda's unzipped limit is 250 MB), and a zip
     * entry's declared size must not make us allocate without bound. */
    if (e->size > DOCTOR_MAX_FILE) {
        e->state = DOCTOR_UNREADABLE;
        snprintf(e->err, sizeof e->err, "%llu bytes: larger than Lambda's 250 MB unzipped limit",
                 (unsigned long long)e->size);
        return;
    }
    void *buf = malloc(e->size ? e->size : 1);
    int64_t n = buf ? doctor_entry_read(d, e, buf, e->size) : -1;
    if (n < 0) {
        e->state = DOCTOR_UNREADABLE;
        snprintf(e->err, sizeof e->err, "cannot be read");
    } else {
        int rc = elf_parse(buf, (size_t)n, &e->info, e->err, sizeof e->err);
        e->state = rc == ELF_OK ? DOCTOR_ELF : DOCTOR_MALFORMED;
    }
    free(buf);
}

static void doctor_entry_scan(doctor *d, doctor_entry *e)
{
    if (e->kind != DOCTOR_FILE || e->state != DOCTOR_UNSCANNED)
        return;
    int64_t n = doctor_entry_read(d, e, e->head, sizeof e->head);
    if (n < 0) {
        e->state = DOCTOR_UNREADABLE;
        snprintf(e->err, sizeof e->err, "cannot be read");
        return;
    }
    e->head_len = (size_t)n;
    if (!elf_is_elf(e->head, e->head_len)) {
        e->state = DOCTOR_NOT_ELF;
        return;
    }
    doctor_entry_parse(d, e);
}

/* --------------------------------------------------------------- lookup */

static int doctor_index_cmp(const void *a, const void *b)
{
    const doctor_entry *x = *(doctor_entry *const *)a, *y = *(doctor_entry *const *)b;
    int c = strcmp(x->vpath, y->vpath);
    if (c)
        return c;
    return x->tree->index < y->tree->index ? -1 : x->tree->index > y->tree->index;
}

static int doctor_index_build(doctor *d)
{
    size_t n = 0;
    for (size_t i = 0; i < d->n_trees; i++)
        n += d->trees[i].n;
    d->index = calloc(n ? n : 1, sizeof *d->index);
    if (!d->index)
        return -1;
    for (size_t i = 0; i < d->n_trees; i++)
        for (size_t j = 0; j < d->trees[i].n; j++)
            d->index[d->n_index++] = &d->trees[i].entries[j];
    qsort(d->index, d->n_index, sizeof *d->index, doctor_index_cmp);
    return 0;
}

/* The entry at vpath; layers unpacked later win, as on Lambda. */
static doctor_entry *doctor_index_find(doctor *d, const char *vpath)
{
    size_t lo = 0, hi = d->n_index;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (strcmp(d->index[mid]->vpath, vpath) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == d->n_index || strcmp(d->index[lo]->vpath, vpath))
        return NULL;
    while (lo + 1 < d->n_index && !strcmp(d->index[lo + 1]->vpath, vpath))
        lo++;
    return d->index[lo];
}

/* Replace the symlink prefix path[0..cut) by its target; 0 on success. */
static int doctor_follow(const doctor_entry *link, char *path, size_t cut, size_t len)
{
    char dir[DOCTOR_PATH_MAX], joined[DOCTOR_PATH_MAX * 2];
    doctor_dirname(link->vpath, dir, sizeof dir);
    int n = link->link[0] == '/'
                ? snprintf(joined, sizeof joined, "%s%s", link->link, path + cut)
                : snprintf(joined, sizeof joined, "%s/%s%s", dir, link->link, path + cut);
    if (n < 0 || (size_t)n >= sizeof joined)
        return -1;
    return doctor_normalize(joined, path, len);
}

/* Find the file at vpath, following symlinks in any component (bounded, so
 * link loops end). */
static doctor_entry *doctor_lookup(doctor *d, const char *vpath)
{
    char path[DOCTOR_PATH_MAX];
    if (doctor_normalize(vpath, path, sizeof path))
        return NULL;
    for (int hop = 0; hop < DOCTOR_MAX_HOPS; hop++) {
        size_t len = strlen(path), i;
        doctor_entry *e = NULL;
        for (i = 1; i <= len; i++) {
            if (path[i] != '/' && path[i] != '\0')
                continue;
            char save = path[i];
            path[i] = '\0';
            e = doctor_index_find(d, path);
            path[i] = save;
            if (e && e->kind == DOCTOR_LINK && e->link)
                break;
        }
        if (i > len)
            return e && e->kind == DOCTOR_FILE ? e : NULL;
        if (doctor_follow(e, path, i, sizeof path))
            return NULL;
    }
    return NULL;
}

/* ------------------------------------------------------------ detection */

static unsigned doctor_arch_dir(const doctor_entry *e)
{
    if (e->tree->is_function)
        return 0;
    if (doctor_top_is(e, "x86_64"))
        return EM_X86_64;
    if (doctor_top_is(e, "arm64"))
        return EM_AARCH64;
    return 0;
}

static void doctor_arch_add(doctor *d, unsigned m)
{
    for (size_t i = 0; i < d->n_arches; i++)
        if (d->arches[i] == m)
            return;
    if (d->n_arches < 2)
        d->arches[d->n_arches++] = m;
}

static int doctor_arches_from_elf(doctor *d, int bootstrap_only)
{
    size_t count[2] = {0, 0};
    for (size_t i = 0; i < d->n_index; i++) {
        const doctor_entry *e = d->index[i];
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

static void doctor_arches_choose(doctor *d)
{
    if (d->arch_arg) {
        doctor_arch_add(d, elf_arch_machine(d->arch_arg));
        snprintf(d->arch_source, sizeof d->arch_source, "--arch");
        return;
    }
    for (size_t i = 0; i < d->n_index; i++)
        if (doctor_arch_dir(d->index[i]))
            doctor_arch_add(d, doctor_arch_dir(d->index[i]));
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

static void doctor_python_choose(doctor *d)
{
    char v[16], sp[16] = "";
    int sp_versions = 0;
    if (d->python_arg) {
        snprintf(d->python, sizeof d->python, "%s", d->python_arg);
        snprintf(d->python_source, sizeof d->python_source, "--python");
        return;
    }
    for (size_t i = 0; i < d->n_index && !d->python[0]; i++) {
        const doctor_entry *e = d->index[i];
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
static void doctor_dist_name(doctor *d, const doctor_entry *e, const char *sp, char *out, size_t len)
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
        int64_t n = buf ? doctor_entry_read(d, r, buf, r->size) : -1;
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
static void doctor_fix_rebuild(doctor *d, const doctor_entry *e, unsigned machine, const char *py,
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

static size_t doctor_entry_arches(doctor *d, const doctor_entry *e, unsigned out[2])
{
    unsigned own = doctor_arch_dir(e);
    if (own) {
        out[0] = own;
        return 1;
    }
    memcpy(out, d->arches, sizeof d->arches);
    return d->n_arches;
}

static int doctor_wanted(const doctor *d, unsigned m)
{
    for (size_t i = 0; i < d->n_arches; i++)
        if (d->arches[i] == m)
            return 1;
    return 0;
}

static int doctor_check_arch(doctor *d, doctor_entry *e)
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
static void doctor_check_pytag(doctor *d, doctor_entry *e, unsigned fix_machine, int check_platform)
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

static int doctor_needs_system_libstdcxx(doctor *d, const doctor_entry *e);

static void doctor_check_glibc(doctor *d, doctor_entry *e)
{
    const elf_info *in = &e->info;
    const doctor_target *t = &d->target;
    char fix[DOCTOR_PATH_MAX + 512], extra[256], sym[96] = "";
    if (in->glibc_max[0] && elf_version_cmp(in->glibc_max + 6, t->glibc) > 0) {
        if (in->glibc_sym[0])
            snprintf(sym, sizeof sym, " (for %s)", in->glibc_sym);
        if (d->glibc_arg)
            snprintf(extra, sizeof extra, " against glibc %s or older (e.g. in a manylinux2014 "
                     "container)", t->glibc);
        else
            snprintf(extra, sizeof extra, " against glibc %s or older (e.g. in a manylinux2014 "
                     "container or the public.ecr.aws/lambda/provided:%s image)", t->glibc,
                     t->name + strlen("provided."));
        doctor_fix_rebuild(d, e, in->machine, d->python, extra, fix, sizeof fix);
        DOCTOR_PROBLEM(d, e, "glibc-too-new", fix, "needs %s%s but %s has glibc %s", in->glibc_max,
                       sym, d->glibc_arg ? "the target" : t->name, t->glibc);
    }
    if (in->glibcxx_max[0] && t->glibcxx[0] && elf_version_cmp(in->glibcxx_max + 8, t->glibcxx) > 0 &&
        doctor_needs_system_libstdcxx(d, e))
        DOCTOR_PROBLEM(d, e, "glibcxx-too-new",
                       "link it with -static-libstdc++, or ship a newer libstdc++.so.6 in lib/",
                       "needs %s but the libstdc++ of %s stops at GLIBCXX_%s", in->glibcxx_max,
                       t->name, t->glibcxx);
}

/* Try NAME in each dir of a ':'-separated list; $ORIGIN is the file's dir.
 * Returns 1 when a file of the right machine and class is there; otherwise
 * remembers a wrong-machine candidate in `wrong`. */
static int doctor_search(doctor *d, const doctor_entry *e, const char *list, const char *name,
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
        doctor_entry *f = doctor_lookup(d, cand);
        if (!f)
            continue;
        doctor_entry_scan(d, f);
        if (f->state != DOCTOR_ELF)
            continue;
        if (f->info.machine == e->info.machine && f->info.elf_class == e->info.elf_class)
            return 1;
        if (!wrong[0])
            snprintf(wrong, wrong_len, "%s (built for %s)", f->rel, doctor_arch(f->info.machine));
    }
    return 0;
}

/* The loader's order: DT_RPATH (without DT_RUNPATH), LD_LIBRARY_PATH as the
 * runtime sets it, DT_RUNPATH, then the system's libraries. */
static int doctor_resolve(doctor *d, const doctor_entry *e, const char *name, int *in_layer,
                          char *wrong, size_t wrong_len)
{
    const elf_info *in = &e->info;
    const char *a = doctor_arch(in->machine);
    char ld[512];
    *in_layer = 1;
    if (strchr(name, '/'))
        return 1;
    snprintf(ld, sizeof ld, "/opt/%s/lib:/opt/lib:/opt/%s/runtime/lib:/var/task:/var/task/lib", a, a);
    if ((in->rpath && !in->runpath && doctor_search(d, e, in->rpath, name, wrong, wrong_len)) ||
        doctor_search(d, e, ld, name, wrong, wrong_len) ||
        (in->runpath && doctor_search(d, e, in->runpath, name, wrong, wrong_len)))
        return 1;
    *in_layer = 0;
    return doctor_target_has(&d->target, name, in->machine);
}

static int doctor_needs_system_libstdcxx(doctor *d, const doctor_entry *e)
{
    char wrong[8] = "";
    int in_layer = 0;
    for (size_t i = 0; i < e->info.n_needed; i++)
        if (!strcmp(e->info.needed[i], "libstdc++.so.6"))
            return doctor_resolve(d, e, "libstdc++.so.6", &in_layer, wrong, sizeof wrong) && !in_layer;
    return 0;
}

static void doctor_check_needed(doctor *d, doctor_entry *e)
{
    const char *a = doctor_arch(e->info.machine);
    for (size_t i = 0; i < e->info.n_needed; i++) {
        const char *name = e->info.needed[i];
        char wrong[DOCTOR_PATH_MAX] = "", fix[512];
        int in_layer;
        if (doctor_resolve(d, e, name, &in_layer, wrong, sizeof wrong))
            continue;
        snprintf(fix, sizeof fix, "add %s built for %s to %s/lib/ of a layer (or lib/ of the function)",
                 name, a, a);
        if (wrong[0])
            DOCTOR_PROBLEM(d, e, "missing-dependency", fix,
                           "needs %s: %s, and no %s copy is on the search path", name, wrong, a);
        else
            DOCTOR_PROBLEM(d, e, "missing-dependency", fix,
                           "needs %s, which is neither on the search path (%s/lib, lib, "
                           "%s/runtime/lib, the function's lib) nor in %s", name, a, a, d->target.name);
    }
}

static int doctor_looks_shared(const char *base)
{
    const char *so = strstr(base, ".so");
    return so && (so[3] == '\0' || (so[3] == '.' && so[4] >= '0' && so[4] <= '9'));
}

/* A library name that is not ELF: an LFS pointer, an HTML error page... but
 * a GNU ld script (libc.so) is fine: only the link editor reads it. */
static void doctor_check_not_elf(doctor *d, doctor_entry *e)
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

static void doctor_check_elf(doctor *d, doctor_entry *e)
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

static void doctor_check_entry(doctor *d, doctor_entry *e)
{
    unsigned own = doctor_arch_dir(e);
    if (e->kind != DOCTOR_FILE || (own && !doctor_wanted(d, own)))
        return; /* the other arch's directory is never loaded by these functions */
    d->n_files++;
    doctor_entry_scan(d, e);
    if (e->state == DOCTOR_NOT_ELF)
        doctor_check_not_elf(d, e);
    else if (e->state == DOCTOR_UNREADABLE)
        DOCTOR_PROBLEM(d, e, "unreadable", "check the file and the archive", "%s", e->err);
    else
        doctor_check_elf(d, e);
}

/* --------------------------------------------------------------- output */

static void doctor_print_text(doctor *d)
{
    const char *last_rel = NULL;
    size_t last_tree = (size_t)-1, files = 0;
    for (size_t i = 0; i < d->n_problems; i++) {
        const doctor_problem *p = &d->problems[i];
        if (p->tree != last_tree || !last_rel || strcmp(p->rel, last_rel)) {
            printf("%s: %s%s%s%s\n", d->trees[p->tree].arg, p->rel, p->what[0] ? " (" : "", p->what,
                   p->what[0] ? ")" : "");
            last_tree = p->tree;
            last_rel = p->rel;
            files++;
        }
        printf("  %s: %s. Fix: %s\n", p->kind, p->message, p->fix);
    }
    char arches[64];
    snprintf(arches, sizeof arches, "%s%s%s", doctor_arch(d->arches[0]), d->n_arches > 1 ? "+" : "",
             d->n_arches > 1 ? doctor_arch(d->arches[1]) : "");
    if (d->n_problems)
        printf("doctor: %zu problem%s in %zu file%s", d->n_problems, d->n_problems == 1 ? "" : "s",
               files, files == 1 ? "" : "s");
    else
        printf("doctor: no problems");
    printf(" (%zu ELF of %zu files checked; target %s, glibc %s, %s, Python %s)\n", d->n_elf,
           d->n_files, d->target.name, d->target.glibc, arches, d->python[0] ? d->python : "unknown");
}

static cJSON *doctor_json_target(doctor *d)
{
    cJSON *t = cJSON_CreateObject(), *arches = cJSON_AddArrayToObject(t, "arch");
    cJSON_AddStringToObject(t, "name", d->target.name);
    cJSON_AddStringToObject(t, "glibc", d->target.glibc);
    cJSON_AddStringToObject(t, "glibcxx", d->target.glibcxx);
    for (size_t i = 0; i < d->n_arches; i++)
        cJSON_AddItemToArray(arches, cJSON_CreateString(doctor_arch(d->arches[i])));
    cJSON_AddStringToObject(t, "arch_source", d->arch_source);
    if (d->python[0]) {
        cJSON_AddStringToObject(t, "python", d->python);
        cJSON_AddStringToObject(t, "python_source", d->python_source);
    } else {
        cJSON_AddNullToObject(t, "python");
    }
    return t;
}

static cJSON *doctor_json_files(doctor *d, size_t *files)
{
    cJSON *arr = cJSON_CreateArray(), *file = NULL, *problems = NULL;
    const char *last_rel = NULL;
    size_t last_tree = (size_t)-1;
    for (size_t i = 0; i < d->n_problems; i++) {
        const doctor_problem *p = &d->problems[i];
        if (p->tree != last_tree || !last_rel || strcmp(p->rel, last_rel)) {
            file = cJSON_CreateObject();
            cJSON_AddStringToObject(file, "path", d->trees[p->tree].arg);
            cJSON_AddStringToObject(file, "file", p->rel);
            cJSON_AddStringToObject(file, "elf", p->what);
            problems = cJSON_AddArrayToObject(file, "problems");
            cJSON_AddItemToArray(arr, file);
            last_tree = p->tree;
            last_rel = p->rel;
            (*files)++;
        }
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "kind", p->kind);
        cJSON_AddStringToObject(o, "message", p->message);
        cJSON_AddStringToObject(o, "fix", p->fix);
        cJSON_AddItemToArray(problems, o);
    }
    return arr;
}

static void doctor_print_json(doctor *d)
{
    cJSON *root = cJSON_CreateObject(), *paths = cJSON_CreateArray(), *sum = cJSON_CreateObject();
    size_t files = 0;
    cJSON_AddItemToObject(root, "target", doctor_json_target(d));
    for (size_t i = 0; i < d->n_trees; i++) {
        cJSON *p = cJSON_CreateObject();
        cJSON_AddStringToObject(p, "path", d->trees[i].arg);
        cJSON_AddStringToObject(p, "kind", d->trees[i].is_function ? "function" : "layer");
        cJSON_AddStringToObject(p, "format", d->trees[i].is_zip ? "zip" : "directory");
        cJSON_AddItemToArray(paths, p);
    }
    cJSON_AddItemToObject(root, "paths", paths);
    cJSON_AddItemToObject(root, "files", doctor_json_files(d, &files));
    cJSON_AddNumberToObject(sum, "files_checked", (double)d->n_files);
    cJSON_AddNumberToObject(sum, "elf_files", (double)d->n_elf);
    cJSON_AddNumberToObject(sum, "problems", (double)d->n_problems);
    cJSON_AddNumberToObject(sum, "files_with_problems", (double)files);
    cJSON_AddItemToObject(root, "summary", sum);
    cJSON_AddNumberToObject(root, "exit_code", d->n_problems ? DOCTOR_PROBLEMS : DOCTOR_CLEAN);
    char *s = cJSON_Print(root);
    if (s)
        puts(s);
    free(s);
    cJSON_Delete(root);
}

/* ------------------------------------------------------------ arguments */

static const char doctor_usage[] =
    "usage: bootstrap --check [--arch x86_64|arm64] [--python 3.X]\n"
    "                         [--target provided.al2|provided.al2023 | --glibc 2.NN] [--json] PATH...\n"
    "Checks Lambda layers and function packages (directories or .zip files) for native files\n"
    "that will not load: built for the other CPU or another Python, needing a newer glibc than\n"
    "the target has, or needing a library that no directory on the search path holds.\n"
    "Defaults: arch and Python from what the layer holds, target " DOCTOR_DEFAULT_TARGET ".\n"
    "Exit status: 0 no problems, 1 problems found, 2 usage error or unreadable PATH.\n";

/* "--opt VALUE" or "--opt=VALUE"; 1 when argv[*i] is that option. */
static int doctor_opt(int argc, char **argv, int *i, const char *opt, const char **val, int *missing)
{
    size_t n = strlen(opt);
    if (strncmp(argv[*i], opt, n))
        return 0;
    if (argv[*i][n] == '=') {
        *val = argv[*i] + n + 1;
        return 1;
    }
    if (argv[*i][n] != '\0')
        return 0;
    if (*i + 1 >= argc)
        *missing = 1;
    else
        *val = argv[++*i];
    return 1;
}

static int doctor_is_version(const char *s, const char *major)
{
    size_t n = strlen(major), digits = strspn(s + (strncmp(s, major, n) ? 0 : n), "0123456789");
    return !strncmp(s, major, n) && digits > 0 && digits < 4 && s[n + digits] == '\0';
}

static int doctor_validate(doctor *d, char *err, size_t len)
{
    if (d->arch_arg && !elf_arch_machine(d->arch_arg))
        return doctor_err(err, len, "--arch must be x86_64 or arm64, not '%s'", d->arch_arg);
    if (d->python_arg && !doctor_is_version(d->python_arg, "3."))
        return doctor_err(err, len, "--python must look like 3.11, not '%s'", d->python_arg);
    if (d->glibc_arg && !doctor_is_version(d->glibc_arg, "2."))
        return doctor_err(err, len, "--glibc must look like 2.26, not '%s'", d->glibc_arg);
    if (d->glibc_arg && d->target_arg)
        return doctor_err(err, len, "give --target or --glibc, not both");
    if (!d->n_paths && !d->help)
        return doctor_err(err, len, "no PATH to check");
    return 0;
}

static int doctor_args(doctor *d, int argc, char **argv, char *err, size_t len)
{
    int only_paths = 0;
    d->paths = calloc(argc > 0 ? (size_t)argc : 1, sizeof *d->paths);
    if (!d->paths)
        return doctor_err(err, len, "out of memory");
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        int missing = 0;
        if (only_paths || a[0] != '-' || !a[1])
            d->paths[d->n_paths++] = a;
        else if (!strcmp(a, "--"))
            only_paths = 1;
        else if (!strcmp(a, "--json"))
            d->json = 1;
        else if (!strcmp(a, "--help") || !strcmp(a, "-h"))
            d->help = 1;
        else if (!doctor_opt(argc, argv, &i, "--arch", &d->arch_arg, &missing) &&
                 !doctor_opt(argc, argv, &i, "--python", &d->python_arg, &missing) &&
                 !doctor_opt(argc, argv, &i, "--target", &d->target_arg, &missing) &&
                 !doctor_opt(argc, argv, &i, "--glibc", &d->glibc_arg, &missing))
            return doctor_err(err, len, "unknown option '%s'", a);
        if (missing)
            return doctor_err(err, len, "%s needs a value", a);
    }
    return doctor_validate(d, err, len);
}

/* ----------------------------------------------------------------- main */

static int doctor_prepare(doctor *d, char *err, size_t len)
{
    if (doctor_target_load(&d->target, d->target_arg ? d->target_arg : DOCTOR_DEFAULT_TARGET, err, len))
        return -1;
    if (d->glibc_arg)
        snprintf(d->target.glibc, sizeof d->target.glibc, "%s", d->glibc_arg);
    d->trees = calloc(d->n_paths, sizeof *d->trees);
    if (!d->trees)
        return doctor_err(err, len, "out of memory");
    for (size_t i = 0; i < d->n_paths; i++)
        if (doctor_tree_open(d, d->paths[i], err, len))
            return -1;
    if (doctor_index_build(d))
        return doctor_err(err, len, "out of memory");
    for (size_t i = 0; i < d->n_index; i++)
        doctor_entry_scan(d, d->index[i]);
    doctor_arches_choose(d);
    doctor_python_choose(d);
    return 0;
}

static void doctor_free(doctor *d)
{
    for (size_t i = 0; i < d->n_trees; i++)
        doctor_tree_free(d, &d->trees[i]);
    for (size_t i = 0; i < d->n_problems; i++)
        free(d->problems[i].rel), free(d->problems[i].message), free(d->problems[i].fix);
    free(d->problems);
    free(d->trees);
    free(d->index);
    free(d->paths);
    doctor_target_free(&d->target);
#ifdef DOCTOR_HAVE_ZIP
    if (d->zip.handle)
        dlclose(d->zip.handle);
#endif
}

int doctor_main(int argc, char **argv)
{
    doctor d;
    char err[DOCTOR_ERR];
    int rc = DOCTOR_USAGE;
    memset(&d, 0, sizeof d);
    if (doctor_args(&d, argc, argv, err, sizeof err)) {
        fprintf(stderr, "bootstrap --check: %s\n%s", err, doctor_usage);
    } else if (d.help) {
        fputs(doctor_usage, stdout);
        rc = DOCTOR_CLEAN;
    } else if (doctor_prepare(&d, err, sizeof err)) {
        fprintf(stderr, "bootstrap --check: %s\n", err);
    } else {
        for (size_t t = 0; t < d.n_trees; t++)
            for (size_t i = 0; i < d.trees[t].n; i++)
                doctor_check_entry(&d, &d.trees[t].entries[i]);
        if (d.n_problems)
            qsort(d.problems, d.n_problems, sizeof *d.problems, doctor_problem_cmp);
        if (d.json)
            doctor_print_json(&d);
        else
            doctor_print_text(&d);
        rc = d.n_problems ? DOCTOR_PROBLEMS : DOCTOR_CLEAN;
    }
    fflush(stdout);
    doctor_free(&d);
    return rc;
}

/* ------------------------------------------------ init-time explanation */

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
typedef struct {
    char wrong[DOCTOR_PATH_MAX + 64];
    char found[DOCTOR_PATH_MAX];
} doctor_hit;

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

static int doctor_runtime_find(const char *path, const char *name, const elf_info *in, doctor_hit *hit)
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

static int doctor_explain_dep(const char *path, const char *name, const char *found, int depth,
                              char *out, size_t len);

static int doctor_explain_elf(const char *path, const elf_info *in, const char *host_arch,
                              const char *python, int depth, char *out, size_t len)
{
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
        if (!doctor_runtime_find(path, in->needed[i], in, &hit))
            return snprintf(out, len, "%s needs %s, which is not on the library search path%s%s%s",
                            path, in->needed[i], hit.wrong[0] ? " (" : "", hit.wrong,
                            hit.wrong[0] ? ")" : ""), 1;
        if (hit.found[0] && depth < 2 && doctor_explain_dep(path, in->needed[i], hit.found, depth, out, len))
            return 1;
    }
    return 0;
}

/* The import often fails one level down: a library that needs a newer glibc,
 * or a library of its own that is missing.  Depth-limited, so cycles end. */
static int doctor_explain_dep(const char *path, const char *name, const char *found, int depth,
                              char *out, size_t len)
{
    elf_info dep;
    char err[160], inner[DOCTOR_PATH_MAX * 2];
    int rc = elf_load(found, &dep, err, sizeof err), bad = 0;
    if (rc == ELF_MALFORMED) {
        snprintf(inner, sizeof inner, "%s is not a valid ELF file: %s", found, err);
        bad = 1;
    } else if (rc == ELF_OK) {
        bad = doctor_explain_elf(found, &dep, NULL, NULL, depth + 1, inner, sizeof inner);
        elf_info_free(&dep);
    }
    if (bad)
        snprintf(out, len, "%s needs %s, and %s", path, name, inner);
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
    int found = doctor_explain_elf(path, &in, host_arch, python_version, 0, out, out_len);
    elf_info_free(&in);
    return found;
}
