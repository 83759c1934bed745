/* loader.c: see include/loader.h. Everything after setup runs inside dlopen, on any
 * thread: it only reads the tables built at setup and keeps its scratch paths per thread. */
#define _GNU_SOURCE
#include "loader.h"

#include <dirent.h>
#include <dlfcn.h>
#include <link.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "elf.h"

/* Dependency chains deeper than this are left to the C library's loader. */
#define LOADER_MAX_DEPTH 8
#define LOADER_MAX_DIRS 32

typedef void *(*dlopen_fn)(const char *, int);

typedef struct {
    const char *path;
    int added;    /* not in the path the process started with: only we know it */
    char **names; /* added directories: their entries, sorted */
    size_t n_names;
} loader_dir;

static struct {
    int active;
    char *copy; /* `wanted`, split in place */
    loader_dir dirs[LOADER_MAX_DIRS];
    size_t n_dirs;
} loader;

static dlopen_fn loader_next_dlopen;
/* The rewritten name of a bare dlopen: it must outlive our frame, which the C library's
 * dlopen takes over (tail call). */
static __thread char loader_target[PATH_MAX];

/* The dlopen after ours: the C library's (or a sanitizer's, which then calls the C library's). */
static dlopen_fn loader_next(void)
{
    dlopen_fn next = __atomic_load_n(&loader_next_dlopen, __ATOMIC_ACQUIRE);
    if (!next) {
        next = (dlopen_fn)dlsym(RTLD_NEXT, "dlopen");
        __atomic_store_n(&loader_next_dlopen, next, __ATOMIC_RELEASE);
    }
    return next;
}

static int loader_name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int loader_join(char *out, const char *dir, const char *name)
{
    return snprintf(out, PATH_MAX, "%s/%s", dir, name) < PATH_MAX;
}

/* Is `name` among an added directory's entries? (An empty directory has no table at all.) */
static int loader_listed(const loader_dir *d, const char *name)
{
    return d->n_names && bsearch(&name, d->names, d->n_names, sizeof *d->names, loader_name_cmp);
}

static int loader_dir_has(const loader_dir *d, const char *name, char *path)
{
    struct stat st;
    if (d->added)
        return loader_listed(d, name) && loader_join(path, d->path, name);
    return loader_join(path, d->path, name) && stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* Where the new path finds `name`: 1 and the file in `path` when that is a directory only
 * we know of; 0 otherwise (`path` is then the file an original directory has, or ""). */
static int loader_find(const char *name, char *path)
{
    path[0] = '\0';
    for (size_t i = 0; i < loader.n_dirs; i++)
        if (loader_dir_has(&loader.dirs[i], name, path))
            return loader.dirs[i].added;
    path[0] = '\0';
    return 0;
}

/* Could an added directory supply `name`? (Only then is a search worth its stat calls.) */
static int loader_may_supply(const char *name)
{
    for (size_t i = 0; i < loader.n_dirs; i++) {
        const loader_dir *d = &loader.dirs[i];
        if (d->added && loader_listed(d, name))
            return 1;
    }
    return 0;
}

/* Is a library of this soname or name loaded? The C library matches loaded objects first,
 * so this touches no file when it is. */
static int loader_is_loaded(const char *name)
{
    void *handle = loader_next()(name, RTLD_LAZY | RTLD_NOLOAD);
    if (!handle) {
        dlerror(); /* not an error anyone should see */
        return 0;
    }
    dlclose(handle);
    return 1;
}

/* Opens what `path` needs that only an added directory has and is not loaded yet, their
 * own needs first. A failure is left for the real dlopen to report under the name it knows. */
static void loader_preload_needs(const char *path, int mode, int depth)
{
    elf_info info;
    if (depth > LOADER_MAX_DEPTH || elf_load_needed(path, &info, NULL, 0) != ELF_OK)
        return;
    for (size_t i = 0; i < info.n_needed; i++) {
        const char *name = info.needed[i];
        char found[PATH_MAX];
        if (strchr(name, '/') || !loader_may_supply(name) || loader_is_loaded(name) || !loader_find(name, found))
            continue;
        loader_preload_needs(found, mode, depth + 1);
        if (!loader_next()(found, mode)) /* kept open, as its dependent would keep it */
            dlerror();
    }
    elf_info_free(&info);
}

/* What the real dlopen should open, once the target's needs are loaded. Never inlined: its
 * path buffer in dlopen's own frame would keep clang from making dlopen's last call a tail call. */
__attribute__((noinline)) static const char *loader_prepare(const char *file, int mode)
{
    int link_mode = mode & (RTLD_LAZY | RTLD_NOW | RTLD_GLOBAL);
    if (strchr(file, '/')) {
        loader_preload_needs(file, link_mode, 0);
        return file;
    }
    if (loader_is_loaded(file))
        return file;
    char found[PATH_MAX];
    int ours = loader_find(file, found);
    if (found[0])
        loader_preload_needs(found, link_mode, 0);
    if (!ours)
        return file;
    memcpy(loader_target, found, strlen(found) + 1);
    return loader_target;
}

/* The last call must be a tail call (a jump): clang (the release build's zig cc) is made to;
 * gcc makes it at -O2 (test_layers.py checks both builds). */
#if defined(__clang__)
#define LOADER_TAIL_CALL __attribute__((musttail))
#else
#define LOADER_TAIL_CALL
#endif

/* Every dlopen in the process lands here: the executable exports it (mk/bootstrap.mk).
 * The last call is a tail call, so the C library still sees the original caller (it takes
 * the caller from the return address), whose RUNPATH and $ORIGIN apply as they would
 * without us. */
__attribute__((visibility("default"))) void *dlopen(const char *file, int mode)
{
    const char *target = file;
    if (loader.active && file && *file && !(mode & RTLD_NOLOAD))
        target = loader_prepare(file, mode);
    LOADER_TAIL_CALL return loader_next()(target, mode);
}

static int loader_list(loader_dir *d, char *msg, size_t msg_len)
{
    DIR *dir = opendir(d->path);
    if (!dir) {
        if (errno == ENOENT || errno == ENOTDIR)
            return 0; /* as the loader skips a directory that is not there */
        snprintf(msg, msg_len, "cannot read %s: %s", d->path, strerror(errno));
        return -1;
    }
    size_t cap = 0;
    struct dirent *e;
    int failed = 0;
    while (!failed && (e = readdir(dir))) {
        if (e->d_name[0] == '.')
            continue;
        if (d->n_names == cap) {
            size_t bigger = cap ? cap * 2 : 64;
            char **grown = realloc(d->names, bigger * sizeof *grown);
            failed = !grown;
            if (failed)
                break;
            d->names = grown;
            cap = bigger;
        }
        failed = !(d->names[d->n_names] = strdup(e->d_name));
        d->n_names += !failed;
    }
    closedir(dir);
    if (failed) {
        snprintf(msg, msg_len, "cannot list %s: out of memory", d->path);
        return -1;
    }
    if (d->n_names)
        qsort(d->names, d->n_names, sizeof *d->names, loader_name_cmp);
    return 0;
}

static int loader_path_has(const char *list, const char *dir)
{
    size_t n = strlen(dir);
    for (const char *p = list; p && *p; p = strchr(p, ':') ? strchr(p, ':') + 1 : NULL)
        if (strncmp(p, dir, n) == 0 && (p[n] == ':' || p[n] == '\0'))
            return 1;
    return 0;
}

int loader_use_library_path(const char *wanted, const char *started_with, char *msg, size_t msg_len)
{
    loader_next();
    if (!wanted || !*wanted)
        return 0;
    if (!(loader.copy = strdup(wanted))) {
        snprintf(msg, msg_len, "out of memory");
        return -1;
    }
    char *save = NULL;
    for (char *p = strtok_r(loader.copy, ":", &save); p && loader.n_dirs < LOADER_MAX_DIRS;
         p = strtok_r(NULL, ":", &save)) {
        if (*p != '/')
            continue; /* relative entries would depend on the working directory: skipped */
        loader_dir *d = &loader.dirs[loader.n_dirs++];
        d->path = p;
        d->added = !loader_path_has(started_with, p);
        if (d->added && loader_list(d, msg, msg_len) < 0)
            return -1;
        loader.active |= d->n_names > 0;
    }
    return 0;
}

size_t loader_release_relocations(void *handle, const char *path)
{
    struct link_map *map = NULL;
    elf_info info;
    if (!handle || dlinfo(handle, RTLD_DI_LINKMAP, &map) != 0 || !map || elf_load_needed(path, &info, NULL, 0) != ELF_OK)
        return 0;
    uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
    size_t released = 0;
    for (int i = 0; i < 4; i++) {
        if (!info.relocs[i].size)
            continue;
        /* whole pages only: the tables share their first and last page with other data */
        uintptr_t start = (map->l_addr + (uintptr_t)info.relocs[i].vaddr + page - 1) & ~(page - 1);
        uintptr_t end = (map->l_addr + (uintptr_t)(info.relocs[i].vaddr + info.relocs[i].size)) & ~(page - 1);
        if (end > start && madvise((void *)start, end - start, MADV_DONTNEED) == 0)
            released += end - start;
    }
    elf_info_free(&info);
    return released;
}
