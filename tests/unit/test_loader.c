/* Unit tests of src/loader.c that need no fixture libraries (the integration suite's
 * test_layers.py loads real ones through the bootstrap). */
#define _GNU_SOURCE
#include <ctype.h>
#include <dlfcn.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <link.h>

#include <cmocka.h>

#include "loader.h"

#define LIBPYTHON "libpython3.11.so.1.0"

/* Resident KB of the mappings of `path` (from /proc/self/smaps: a mapping's line starts
 * with its hex address range, its fields with a capitalised name). */
static long resident_kb(const char *path)
{
    FILE *f = fopen("/proc/self/smaps", "r");
    char line[PATH_MAX + 128];
    long kb = 0, v;
    int ours = 0;
    while (f && fgets(line, sizeof line, f)) {
        if (isxdigit((unsigned char)line[0]) && strchr(line, '-'))
            ours = strstr(line, path) != NULL;
        else if (ours && sscanf(line, "Rss: %ld kB", &v) == 1)
            kb += v;
    }
    if (f)
        fclose(f);
    return kb;
}

static void test_release_relocations(void **state)
{
    (void)state;
    void *handle = dlopen(LIBPYTHON, RTLD_NOW | RTLD_GLOBAL);
    assert_non_null(handle);
    struct link_map *map = NULL;
    assert_int_equal(dlinfo(handle, RTLD_DI_LINKMAP, &map), 0);
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s", map->l_name);
    long before = resident_kb(path);
    size_t released = loader_release_relocations(handle, path);
    long after = resident_kb(path);
    assert_true(released >= 256 * 1024); /* 3.11: ~0.9 MB of relocations */
    assert_true(before - after >= 200);   /* and they left this process */
    /* the library still works: symbols resolve and code runs */
    const char *(*version)(void) = (const char *(*)(void))dlsym(handle, "Py_GetVersion");
    assert_non_null(version);
    assert_memory_equal(version(), "3.11", 4);
    assert_int_equal(loader_release_relocations(NULL, path), 0);
    assert_int_equal(loader_release_relocations(handle, "/nonexistent/lib.so"), 0);
}

static void test_path_the_process_started_with_changes_nothing(void **state)
{
    (void)state;
    char msg[256] = "";
    assert_int_equal(loader_use_library_path(NULL, "/lib", msg, sizeof msg), 0);
    assert_int_equal(loader_use_library_path("/nonexistent/lib:/lib", "/lib", msg, sizeof msg), 0);
    assert_string_equal(msg, "");
    /* and dlopen goes on as before: a loaded library by soname, a missing one fails */
    void *libc = dlopen("libc.so.6", RTLD_NOW);
    assert_non_null(libc);
    dlclose(libc);
    assert_null(dlopen("libbootstrap-no-such.so.1", RTLD_NOW));
    assert_non_null(strstr(dlerror(), "libbootstrap-no-such.so.1"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_release_relocations),
        cmocka_unit_test(test_path_the_process_started_with_changes_nothing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
