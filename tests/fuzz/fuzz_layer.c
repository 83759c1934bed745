/* libFuzzer target for the environment/path setup (src/layer.c): layer_arch_from_machine,
 * layer_resolve, layer_library_path, layer_site_dirs and layer_list_arches on a layer tree
 * made at start-up, with the layer root, the CPU name, the current LD_LIBRARY_PATH, the
 * Python minor and the output sizes taken from the input. Every path written must be
 * NUL-terminated in bounds, and LD_LIBRARY_PATH must keep what it was given.
 * Built and run by `make fuzz` (mk/reliability.mk). */
#define _GNU_SOURCE
#include "layer.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ftw.h>
#include <sys/stat.h>
#include <unistd.h>

static char tree[PATH_MAX];

static void make(const char *rel, int file)
{
    char path[PATH_MAX * 2];
    snprintf(path, sizeof(path), "%s/%s", tree, rel);
    for (char *p = path + strlen(tree) + 1; (p = strchr(p, '/')); p++) {
        *p = '\0';
        mkdir(path, 0755);
        *p = '/';
    }
    if (file) {
        FILE *f = fopen(path, "w");
        if (f)
            fclose(f);
    } else {
        mkdir(path, 0755);
    }
}

static int remove_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    (void)st;
    (void)type;
    (void)ftw;
    return remove(path);
}

static void remove_tree(void)
{
    nftw(tree, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    snprintf(tree, sizeof(tree), "/tmp/fuzz-layer-XXXXXX");
    if (!mkdtemp(tree))
        abort();
    atexit(remove_tree);
    make("opt/x86_64/lib", 0);
    make("opt/x86_64/python/lib/python3.11/site-packages", 0);
    make("opt/x86_64/runtime/lib/libpython3.11.so.1.0", 1);
    make("opt/x86_64/runtime/lib/libpython3.9.so.1.0", 1);
    make("opt/x86_64/runtime/lib/libpython3.x.so.1.0", 1);
    make("opt/arm64/python", 0);
    make("opt/lib", 0);
    make("opt/python/lib/python3.9/site-packages", 0);
    make("only-arm/arm64/lib", 0);
    make("empty", 0);
    return 0;
}

/* Takes a NUL-terminated piece of the input (up to the next 0xFF byte). */
static char *take(const uint8_t **data, size_t *size)
{
    size_t n = 0;
    while (n < *size && (*data)[n] != 0xFF)
        n++;
    char *s = malloc(n + 1);
    if (!s)
        abort();
    memcpy(s, *data, n);
    s[n] = '\0';
    *data += n < *size ? n + 1 : n;
    *size -= n < *size ? n + 1 : n;
    return s;
}

static void check_string(const char *s, size_t cap)
{
    if (!memchr(s, '\0', cap))
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 4)
        return 0;
    uint8_t root_kind = data[0], minor = data[1], out_small = data[2], flags = data[3];
    data += 4;
    size -= 4;
    char *root_tail = take(&data, &size);
    char *machine = take(&data, &size);
    char *current = take(&data, &size);

    static const char *const bases[] = {"opt", "only-arm", "empty", "missing", ""};
    char root[PATH_MAX * 2];
    if (root_kind & 0x80)
        snprintf(root, sizeof(root), "%s", root_tail); /* the setting as given, anything */
    else
        snprintf(root, sizeof(root), "%s/%s%s", tree, bases[root_kind % 5], root_tail);

    char arch[16], msg[512];
    if (layer_arch_from_machine(machine, arch, sizeof(arch), msg, sizeof(msg)) != 0) {
        check_string(msg, sizeof(msg));
        snprintf(arch, sizeof(arch), "%s", (flags & 1) ? "arm64" : "x86_64");
    }
    layer *l = malloc(sizeof(*l));
    if (!l)
        abort();
    if (layer_resolve(l, root, arch, msg, sizeof(msg)) != 0) {
        check_string(msg, sizeof(msg));
    } else {
        check_string(l->root, sizeof(l->root));
        check_string(l->arch_dir, sizeof(l->arch_dir));
        check_string(l->libpython, sizeof(l->libpython));
        check_string(l->runtime_home, sizeof(l->runtime_home));
        if (l->arch_dir[0] && strncmp(l->arch_dir, l->root, strlen(l->root)) != 0)
            abort(); /* the arch dir is under the root */
        if (l->libpython[0] && strncmp(l->libpython, l->arch_dir, strlen(l->arch_dir)) != 0)
            abort();

        size_t out_len = (flags & 2) ? (size_t)out_small + 1 : 16384;
        char *out = malloc(out_len);
        if (!out)
            abort();
        int rc = layer_library_path(l, (flags & 4) ? NULL : current, out, out_len);
        if (rc < -1 || rc > 1)
            abort();
        if (rc >= 0) {
            check_string(out, out_len);
            const char *cur = (flags & 4) ? "" : current;
            if (cur[0] && !strstr(out, cur))
                abort(); /* what Lambda set is kept */
            if (rc == 0 && strcmp(out, cur) != 0)
                abort();
        }
        free(out);

        char(*dirs)[PATH_MAX] = malloc(LAYER_MAX_SITE_DIRS * PATH_MAX);
        if (!dirs)
            abort();
        int max = (flags >> 3) % (LAYER_MAX_SITE_DIRS + 1);
        int n = layer_site_dirs(l, minor, dirs, max);
        if (n < 0 || n > max)
            abort();
        for (int i = 0; i < n; i++) {
            check_string(dirs[i], PATH_MAX);
            struct stat st;
            if (strncmp(dirs[i], l->root, strlen(l->root)) != 0 || stat(dirs[i], &st) != 0 || !S_ISDIR(st.st_mode))
                abort(); /* only existing directories under the root */
        }
        free(dirs);
    }
    char found[64];
    size_t found_len = (flags & 0x40) ? (size_t)(out_small % 64) + 1 : sizeof(found);
    layer_list_arches(root, found, found_len);
    check_string(found, found_len);
    free(l);
    free(root_tail);
    free(machine);
    free(current);
    return 0;
}
