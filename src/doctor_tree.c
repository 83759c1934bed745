/* doctor_tree.c: what the doctor checks, read into memory: layers and function
 * packages given as directories, .zip files or single files, each entry placed where
 * Lambda would unpack it (/opt or /var/task), and the lookup of a path across all of
 * them with symlinks followed, as the loader would see the unpacked result.
 * ELF files are parsed lazily (doctor_entry_scan): only the head of every file is read
 * up front, the rest when a check needs it. */
#define _GNU_SOURCE
#include "doctor_tree.h"
#include "doctor_util.h"

#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
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

#define DOCTOR_MAX_ENTRIES 1000000
#define DOCTOR_MAX_DEPTH 64
#define DOCTOR_MAX_HOPS 32
#define DOCTOR_MAX_FILE ((uint64_t)250 << 20)

#ifdef DOCTOR_HAVE_ZIP
/* libzip is loaded only for --check with a zip: the runtime must not pay for
 * its dependencies at every cold start. */
struct doctor_zip_api {
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
};
#else
struct doctor_zip_api {
    void *handle;
};
#endif

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

static int doctor_zip_api_load(struct doctor_zip_api *z, char *err, size_t len)
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
static int64_t doctor_zip_read(struct doctor_zip_api *z, zip_t *za, int64_t index, void *buf, uint64_t len)
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

static int doctor_zip_entry(doctor_files *f, doctor_tree *t, zip_int64_t i, char *err, size_t len)
{
    zip_stat_t st;
    zip_uint8_t os = 0;
    zip_uint32_t attr = 0;
    char rel[DOCTOR_PATH_MAX];
    int is_dir;
    if (f->zip->stat_index(t->zip, (zip_uint64_t)i, 0, &st) || !(st.valid & ZIP_STAT_NAME))
        return doctor_err(err, len, "%s: cannot read zip entry %lld", t->arg, (long long)i);
    if (doctor_zip_name(st.name, rel, sizeof rel, &is_dir)) {
        /* reported by the checks (unsafe-path); never read */
        char **u = realloc(t->unsafe, (t->n_unsafe + 1) * sizeof *u);
        if (!u || !(u[t->n_unsafe] = strdup(st.name)))
            return t->unsafe = u ? u : t->unsafe, doctor_err(err, len, "out of memory");
        t->unsafe = u;
        t->n_unsafe++;
        return 0;
    }
    f->zip->get_attrs(t->zip, (zip_uint64_t)i, 0, &os, &attr);
    int link = os == ZIP_OPSYS_UNIX && ((attr >> 16) & S_IFMT) == S_IFLNK;
    doctor_entry *e = doctor_entry_new(t, rel, is_dir ? DOCTOR_DIR : link ? DOCTOR_LINK : DOCTOR_FILE,
                                       err, len);
    if (!e)
        return -1;
    e->zindex = i;
    e->size = (st.valid & ZIP_STAT_SIZE) ? st.size : 0;
    if (link) {
        char target[1024];
        int64_t n = doctor_zip_read(f->zip, t->zip, i, target, sizeof target - 1);
        target[n > 0 ? n : 0] = '\0';
        e->link = strdup(target);
    }
    return 0;
}

static int doctor_zip_load(doctor_files *f, doctor_tree *t, char *err, size_t len)
{
    int code = 0;
    if (doctor_zip_api_load(f->zip, err, len))
        return -1;
    t->zip = f->zip->open(t->arg, ZIP_RDONLY, &code);
    if (!t->zip) {
        zip_error_t ze;
        f->zip->error_init(&ze, code);
        doctor_err(err, len, "cannot read %s as a zip file: %s", t->arg, f->zip->error_str(&ze));
        f->zip->error_fini(&ze);
        return -1;
    }
    zip_int64_t n = f->zip->get_num_entries(t->zip, 0);
    for (zip_int64_t i = 0; i < n; i++)
        if (doctor_zip_entry(f, t, i, err, len))
            return -1;
    return 0;
}
#else
static int doctor_zip_load(doctor_files *f, doctor_tree *t, char *err, size_t len)
{
    (void)f;
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

static int doctor_tree_read(doctor_files *f, doctor_tree *t, char *err, size_t len)
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
        return doctor_zip_load(f, t, err, len);
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

int doctor_top_is(const doctor_entry *e, const char *name)
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

static int doctor_tree_open(doctor_files *f, const char *arg, char *err, size_t len)
{
    doctor_tree *t = &f->trees[f->n_trees];
    memset(t, 0, sizeof *t);
    t->arg = arg;
    t->index = f->n_trees++;
    if (doctor_tree_read(f, t, err, len))
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

static void doctor_tree_free(doctor_files *f, doctor_tree *t)
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
        f->zip->discard(t->zip);
#else
    (void)f;
#endif
    for (size_t i = 0; i < t->n_unsafe; i++)
        free(t->unsafe[i]);
    free(t->unsafe);
}

/* ------------------------------------------------------------- scanning */

int64_t doctor_entry_read(doctor_files *f, doctor_entry *e, void *buf, uint64_t len)
{
    doctor_tree *t = e->tree;
#ifdef DOCTOR_HAVE_ZIP
    if (t->is_zip)
        return doctor_zip_read(f->zip, t->zip, e->zindex, buf, len);
#else
    (void)f;
#endif
    char full[DOCTOR_PATH_MAX];
    snprintf(full, sizeof full, "%s/%s", t->root, e->rel);
    FILE *fp = fopen(full, "rb");
    if (!fp)
        return -1;
    size_t n = fread(buf, 1, len, fp);
    int bad = ferror(fp);
    fclose(fp);
    return bad ? -1 : (int64_t)n;
}

static void doctor_entry_parse(doctor_files *f, doctor_entry *e)
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
    int64_t n = buf ? doctor_entry_read(f, e, buf, e->size) : -1;
    if (n < 0) {
        e->state = DOCTOR_UNREADABLE;
        snprintf(e->err, sizeof e->err, "cannot be read");
    } else {
        int rc = elf_parse(buf, (size_t)n, &e->info, e->err, sizeof e->err);
        e->state = rc == ELF_OK ? DOCTOR_ELF : DOCTOR_MALFORMED;
    }
    free(buf);
}

void doctor_entry_scan(doctor_files *f, doctor_entry *e)
{
    if (e->kind != DOCTOR_FILE || e->state != DOCTOR_UNSCANNED)
        return;
    int64_t n = doctor_entry_read(f, e, e->head, sizeof e->head);
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
    doctor_entry_parse(f, e);
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

static int doctor_index_build(doctor_files *f)
{
    size_t n = 0;
    for (size_t i = 0; i < f->n_trees; i++)
        n += f->trees[i].n;
    f->index = calloc(n ? n : 1, sizeof *f->index);
    if (!f->index)
        return -1;
    for (size_t i = 0; i < f->n_trees; i++)
        for (size_t j = 0; j < f->trees[i].n; j++)
            f->index[f->n_index++] = &f->trees[i].entries[j];
    qsort(f->index, f->n_index, sizeof *f->index, doctor_index_cmp);
    return 0;
}

/* The entry at vpath; layers unpacked later win, as on Lambda. */
static doctor_entry *doctor_index_find(doctor_files *f, const char *vpath)
{
    size_t lo = 0, hi = f->n_index;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (strcmp(f->index[mid]->vpath, vpath) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == f->n_index || strcmp(f->index[lo]->vpath, vpath))
        return NULL;
    while (lo + 1 < f->n_index && !strcmp(f->index[lo + 1]->vpath, vpath))
        lo++;
    return f->index[lo];
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

/* Symlinks are followed in any component, a bounded number of times, so link
 * loops end. */
doctor_entry *doctor_files_lookup(doctor_files *f, const char *vpath)
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
            e = doctor_index_find(f, path);
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

unsigned doctor_arch_dir(const doctor_entry *e)
{
    if (e->tree->is_function)
        return 0;
    if (doctor_top_is(e, "x86_64"))
        return EM_X86_64;
    if (doctor_top_is(e, "arm64"))
        return EM_AARCH64;
    return 0;
}

/* ----------------------------------------------------------------- files */

int doctor_files_open(doctor_files *f, const char *const *paths, size_t n, char *err, size_t len)
{
    f->trees = calloc(n ? n : 1, sizeof *f->trees);
    f->zip = calloc(1, sizeof *f->zip);
    if (!f->trees || !f->zip)
        return doctor_err(err, len, "out of memory");
    for (size_t i = 0; i < n; i++)
        if (doctor_tree_open(f, paths[i], err, len))
            return -1;
    if (doctor_index_build(f))
        return doctor_err(err, len, "out of memory");
    for (size_t i = 0; i < f->n_index; i++)
        doctor_entry_scan(f, f->index[i]);
    return 0;
}

void doctor_files_free(doctor_files *f)
{
    for (size_t i = 0; i < f->n_trees; i++)
        doctor_tree_free(f, &f->trees[i]);
    free(f->trees);
    free(f->index);
    if (f->zip && f->zip->handle)
        dlclose(f->zip->handle);
    free(f->zip);
}
