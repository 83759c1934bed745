/* layer: arch detection and the paths that depend on it. */
#define _DEFAULT_SOURCE
#include "layer.h"

#include <dirent.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *const known_arches[] = {"x86_64", "arm64"};

/* snprintf for paths: a path that does not fit is an empty string (it names nothing). */
static int path_format(char *out, size_t len, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(out, len, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= len) {
        out[0] = '\0';
        return -1;
    }
    return 0;
}

static int is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

int layer_arch_from_machine(const char *machine, char *arch, size_t arch_len, char *msg, size_t msg_len)
{
    const char *name = NULL;
    if (strcmp(machine, "x86_64") == 0)
        name = "x86_64";
    else if (strcmp(machine, "aarch64") == 0 || strcmp(machine, "arm64") == 0)
        name = "arm64";
    if (!name) {
        snprintf(msg, msg_len, "unsupported CPU '%s': Lambda runs x86_64 and arm64", machine);
        return -1;
    }
    snprintf(arch, arch_len, "%s", name);
    return 0;
}

void layer_list_arches(const char *root, char *out, size_t out_len)
{
    char path[PATH_MAX];
    size_t used = 0;
    out[0] = '\0';
    for (size_t i = 0; i < sizeof(known_arches) / sizeof(known_arches[0]); i++) {
        path_format(path, sizeof(path), "%s/%s", root, known_arches[i]);
        if (!is_dir(path))
            continue;
        int n = snprintf(out + used, out_len - used, "%s%s", used ? ", " : "", known_arches[i]);
        if (n < 0 || (size_t)n >= out_len - used)
            break;
        used += (size_t)n;
    }
}

/* The highest libpython3.X.so.1.0 in dir, or -1. */
static int find_libpython(const char *dir, char *out, size_t out_len)
{
    DIR *d = opendir(dir);
    if (!d)
        return -1;
    int best = -1;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        int minor = -1, consumed = 0;
        if (sscanf(e->d_name, "libpython3.%d.so.1.0%n", &minor, &consumed) == 1 &&
            e->d_name[consumed] == '\0' && minor > best) {
            best = minor;
            snprintf(out, out_len, "%s/%s", dir, e->d_name);
        }
    }
    closedir(d);
    return best;
}

int layer_resolve(layer *l, const char *root, const char *arch, char *msg, size_t msg_len)
{
    memset(l, 0, sizeof(*l));
    snprintf(l->arch, sizeof(l->arch), "%s", arch);
    size_t root_len = strlen(root);
    while (root_len > 1 && root[root_len - 1] == '/')
        root_len--;
    if (root_len == 0 || root_len >= sizeof(l->root)) {
        snprintf(msg, msg_len, "invalid layer root '%s'", root);
        return -1;
    }
    memcpy(l->root, root, root_len);

    char path[PATH_MAX];
    path_format(path, sizeof(path), "%s/%s", l->root, arch);
    if (!is_dir(path)) {
        char found[64];
        layer_list_arches(l->root, found, sizeof(found));
        if (found[0]) {
            snprintf(msg, msg_len, "no layer for %s under %s (found: %s)", arch, l->root, found);
            return -1;
        }
        return 0; /* no per-arch layers at all: only the neutral directories apply */
    }
    path_format(l->arch_dir, sizeof(l->arch_dir), "%s", path);
    path_format(path, sizeof(path), "%s/runtime/lib", l->arch_dir);
    if (find_libpython(path, l->libpython, sizeof(l->libpython)) >= 0)
        path_format(l->runtime_home, sizeof(l->runtime_home), "%s/runtime", l->arch_dir);
    return 0;
}

int layer_adopt_runtime(layer *l, const char *own_dir)
{
    char lib[PATH_MAX], path[PATH_MAX];
    if (l->libpython[0] || !own_dir || !own_dir[0])
        return 0;
    if (path_format(lib, sizeof(lib), "%s/%s/runtime/lib", own_dir, l->arch) != 0 ||
        find_libpython(lib, l->libpython, sizeof(l->libpython)) < 0)
        return 0;
    path_format(l->runtime_home, sizeof(l->runtime_home), "%s/%s/runtime", own_dir, l->arch);
    path_format(path, sizeof(path), "%s/%s/lib", own_dir, l->arch);
    if (is_dir(path))
        memcpy(l->runtime_lib, path, sizeof(path));
    return 1;
}

int layer_exe_dir(char *out, size_t out_len)
{
    ssize_t n = readlink("/proc/self/exe", out, out_len - 1);
    if (n <= 0 || (size_t)n >= out_len - 1)
        return -1;
    out[n] = '\0';
    char *slash = strrchr(out, '/');
    if (!slash)
        return -1;
    *(slash == out ? slash + 1 : slash) = '\0';
    return 0;
}

/* 1 when `dir` is one of the ':'-separated entries of `list`. */
static int path_list_has(const char *list, const char *dir)
{
    size_t n = strlen(dir);
    for (const char *p = list; p && *p;) {
        const char *end = strchr(p, ':');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len == n && strncmp(p, dir, n) == 0)
            return 1;
        p = end ? end + 1 : NULL;
    }
    return 0;
}

int layer_library_path(const layer *l, const char *current, char *out, size_t out_len)
{
    char arch_lib[PATH_MAX + 8] = "", neutral_lib[PATH_MAX + 8] = "";
    if (l->arch_dir[0]) {
        path_format(arch_lib, sizeof(arch_lib), "%s/lib", l->arch_dir);
        if (!is_dir(arch_lib))
            arch_lib[0] = '\0';
    }
    path_format(neutral_lib, sizeof(neutral_lib), "%s/lib", l->root);
    if (!is_dir(neutral_lib))
        neutral_lib[0] = '\0';
    current = current ? current : "";

    int starts_with_arch_lib = 0;
    if (arch_lib[0]) {
        size_t n = strlen(arch_lib);
        starts_with_arch_lib = strncmp(current, arch_lib, n) == 0 && (current[n] == ':' || current[n] == '\0');
    }
    const char *parts[4];
    int count = 0;
    if (arch_lib[0] && !starts_with_arch_lib)
        parts[count++] = arch_lib;
    if (l->runtime_lib[0] && !path_list_has(current, l->runtime_lib))
        parts[count++] = l->runtime_lib;
    if (current[0])
        parts[count++] = current;
    if (neutral_lib[0] && !path_list_has(current, neutral_lib))
        parts[count++] = neutral_lib;

    size_t used = 0;
    out[0] = '\0';
    for (int i = 0; i < count; i++) {
        int n = snprintf(out + used, out_len - used, "%s%s", i ? ":" : "", parts[i]);
        if (n < 0 || (size_t)n >= out_len - used)
            return -1;
        used += (size_t)n;
    }
    return strcmp(out, current) != 0;
}

int layer_site_dirs(const layer *l, int minor, char dirs[][PATH_MAX], int max_dirs)
{
    char candidates[LAYER_MAX_SITE_DIRS][PATH_MAX];
    int n = 0;
    if (l->arch_dir[0]) {
        path_format(candidates[n++], PATH_MAX, "%s/python/lib/python3.%d/site-packages", l->arch_dir, minor);
        path_format(candidates[n++], PATH_MAX, "%s/python", l->arch_dir);
    }
    path_format(candidates[n++], PATH_MAX, "%s/python/lib/python3.%d/site-packages", l->root, minor);
    path_format(candidates[n++], PATH_MAX, "%s/python", l->root);
    int written = 0;
    for (int i = 0; i < n && written < max_dirs; i++) {
        if (is_dir(candidates[i]))
            memcpy(dirs[written++], candidates[i], PATH_MAX);
    }
    return written;
}
