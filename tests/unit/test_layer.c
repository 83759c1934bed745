/* Unit tests: arch detection and layer paths (src/layer.c), on a layer tree made here. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "layer.h"

static char root[PATH_MAX];

static void make_dir(const char *rel)
{
    char path[PATH_MAX * 2], *p;
    snprintf(path, sizeof(path), "%s/%s", root, rel);
    for (p = path + strlen(root) + 1; (p = strchr(p, '/')); p++) {
        *p = '\0';
        mkdir(path, 0755);
        *p = '/';
    }
    mkdir(path, 0755);
}

static void make_file(const char *rel)
{
    char path[PATH_MAX * 2];
    snprintf(path, sizeof(path), "%s/%s", root, rel);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fclose(f);
}

static int setup(void **state)
{
    (void)state;
    snprintf(root, sizeof(root), "/tmp/bootstrap-layer-test-XXXXXX");
    return mkdtemp(root) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[PATH_MAX + 16];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
    return system(cmd) == 0 ? 0 : -1;
}

static void test_arch_names(void **state)
{
    (void)state;
    char arch[16], msg[256];
    assert_int_equal(layer_arch_from_machine("x86_64", arch, sizeof(arch), msg, sizeof(msg)), 0);
    assert_string_equal(arch, "x86_64");
    assert_int_equal(layer_arch_from_machine("aarch64", arch, sizeof(arch), msg, sizeof(msg)), 0);
    assert_string_equal(arch, "arm64");
    assert_int_equal(layer_arch_from_machine("ppc64le", arch, sizeof(arch), msg, sizeof(msg)), -1);
    assert_string_equal(msg, "unsupported CPU 'ppc64le': Lambda runs x86_64 and arm64");
}

static void test_no_layers_is_fine(void **state)
{
    (void)state;
    layer l;
    char msg[512] = "";
    assert_int_equal(layer_resolve(&l, root, "arm64", msg, sizeof(msg)), 0);
    assert_string_equal(l.arch_dir, "");
    assert_string_equal(l.libpython, "");
}

static void test_wrong_arch_named(void **state)
{
    (void)state;
    make_dir("x86_64/lib");
    layer l;
    char msg[PATH_MAX + 256] = "", expected[PATH_MAX + 256];
    assert_int_equal(layer_resolve(&l, root, "arm64", msg, sizeof(msg)), -1);
    snprintf(expected, sizeof(expected), "no layer for arm64 under %s (found: x86_64)", root);
    assert_string_equal(msg, expected);
}

static void test_finds_newest_libpython(void **state)
{
    (void)state;
    make_dir("x86_64/runtime/lib");
    make_file("x86_64/runtime/lib/libpython3.9.so.1.0");
    make_file("x86_64/runtime/lib/libpython3.11.so.1.0");
    make_file("x86_64/runtime/lib/libpython3.12.so.1.0.bak");
    layer l;
    char msg[512], expected[PATH_MAX * 2];
    assert_int_equal(layer_resolve(&l, root, "x86_64", msg, sizeof(msg)), 0);
    snprintf(expected, sizeof(expected), "%s/x86_64/runtime/lib/libpython3.11.so.1.0", root);
    assert_string_equal(l.libpython, expected);
    snprintf(expected, sizeof(expected), "%s/x86_64/runtime", root);
    assert_string_equal(l.runtime_home, expected);
}

static void test_library_path(void **state)
{
    (void)state;
    make_dir("x86_64/lib");
    make_dir("lib");
    layer l;
    char msg[512], out[PATH_MAX * 4], expected[PATH_MAX * 4];
    assert_int_equal(layer_resolve(&l, root, "x86_64", msg, sizeof(msg)), 0);

    /* Lambda's default already ends with the neutral lib: only the arch lib goes in front. */
    char current[PATH_MAX * 2];
    snprintf(current, sizeof(current), "/lib64:/usr/lib64:%s/lib", root);
    assert_int_equal(layer_library_path(&l, current, out, sizeof(out)), 1);
    snprintf(expected, sizeof(expected), "%s/x86_64/lib:%s", root, current);
    assert_string_equal(out, expected);

    /* Already in place: nothing to change. */
    char again[PATH_MAX * 4];
    assert_int_equal(layer_library_path(&l, out, again, sizeof(again)), 0);
    assert_string_equal(again, out);

    /* Nothing set: the arch lib, then the neutral one. */
    assert_int_equal(layer_library_path(&l, NULL, out, sizeof(out)), 1);
    snprintf(expected, sizeof(expected), "%s/x86_64/lib:%s/lib", root, root);
    assert_string_equal(out, expected);

    /* Too small a buffer is an error, not a truncated path. */
    assert_int_equal(layer_library_path(&l, NULL, out, 8), -1);
}

static void test_site_dirs_order(void **state)
{
    (void)state;
    make_dir("arm64/python/lib/python3.9/site-packages");
    make_dir("arm64/python/lib/python3.11/site-packages");
    make_dir("python/lib/python3.11/site-packages");
    make_dir("python");
    layer l;
    char msg[512], expected[PATH_MAX * 2];
    assert_int_equal(layer_resolve(&l, root, "arm64", msg, sizeof(msg)), 0);
    char dirs[LAYER_MAX_SITE_DIRS][PATH_MAX];
    assert_int_equal(layer_site_dirs(&l, 11, dirs, LAYER_MAX_SITE_DIRS), 4);
    snprintf(expected, sizeof(expected), "%s/arm64/python/lib/python3.11/site-packages", root);
    assert_string_equal(dirs[0], expected);
    snprintf(expected, sizeof(expected), "%s/arm64/python", root);
    assert_string_equal(dirs[1], expected);
    snprintf(expected, sizeof(expected), "%s/python/lib/python3.11/site-packages", root);
    assert_string_equal(dirs[2], expected);
    snprintf(expected, sizeof(expected), "%s/python", root);
    assert_string_equal(dirs[3], expected);
    /* Another Python version's dirs are not used. */
    assert_int_equal(layer_site_dirs(&l, 12, dirs, LAYER_MAX_SITE_DIRS), 2);
}

/* A runtime image: layers (here only a dependency layer) under the layer root, the Python
 * runtime and its libraries next to the bootstrap. */
static void test_adopts_the_runtime_next_to_the_bootstrap(void **state)
{
    (void)state;
    make_dir("opt/arm64/lib");
    make_dir("var/runtime/arm64/runtime/lib");
    make_dir("var/runtime/arm64/lib");
    make_file("var/runtime/arm64/runtime/lib/libpython3.13.so.1.0");
    char opt[PATH_MAX * 2], own[PATH_MAX * 2], expected[PATH_MAX * 4], out[PATH_MAX * 4], msg[512];
    snprintf(opt, sizeof(opt), "%s/opt", root);
    snprintf(own, sizeof(own), "%s/var/runtime", root);
    layer l;
    assert_int_equal(layer_resolve(&l, opt, "arm64", msg, sizeof(msg)), 0);
    assert_string_equal(l.libpython, "");
    assert_int_equal(layer_adopt_runtime(&l, own), 1);
    snprintf(expected, sizeof(expected), "%s/arm64/runtime/lib/libpython3.13.so.1.0", own);
    assert_string_equal(l.libpython, expected);
    snprintf(expected, sizeof(expected), "%s/arm64/runtime", own);
    assert_string_equal(l.runtime_home, expected);
    snprintf(expected, sizeof(expected), "%s/arm64/lib", own);
    assert_string_equal(l.runtime_lib, expected);

    /* The layers' libraries first, then the runtime's, then what Lambda set; idempotent. */
    assert_int_equal(layer_library_path(&l, "/lib64", out, sizeof(out)), 1);
    snprintf(expected, sizeof(expected), "%s/arm64/lib:%s/arm64/lib:/lib64", opt, own);
    assert_string_equal(out, expected);
    char again[PATH_MAX * 4];
    assert_int_equal(layer_library_path(&l, out, again, sizeof(again)), 0);
    assert_string_equal(again, out);
}

/* A runtime in the layers wins: the one next to the bootstrap is not taken, nor is a
 * directory without a libpython. */
static void test_layer_runtime_wins_over_its_own(void **state)
{
    (void)state;
    make_dir("opt/x86_64/runtime/lib");
    make_file("opt/x86_64/runtime/lib/libpython3.9.so.1.0");
    make_dir("var/runtime/x86_64/runtime/lib");
    make_file("var/runtime/x86_64/runtime/lib/libpython3.13.so.1.0");
    make_dir("empty/x86_64/runtime/lib");
    char opt[PATH_MAX * 2], own[PATH_MAX * 2], expected[PATH_MAX * 2], msg[512];
    snprintf(opt, sizeof(opt), "%s/opt", root);
    snprintf(own, sizeof(own), "%s/var/runtime", root);
    layer l;
    assert_int_equal(layer_resolve(&l, opt, "x86_64", msg, sizeof(msg)), 0);
    assert_int_equal(layer_adopt_runtime(&l, own), 0);
    snprintf(expected, sizeof(expected), "%s/x86_64/runtime/lib/libpython3.9.so.1.0", opt);
    assert_string_equal(l.libpython, expected);
    assert_string_equal(l.runtime_lib, "");

    char empty_root[PATH_MAX * 2], empty[PATH_MAX * 2];
    snprintf(empty_root, sizeof(empty_root), "%s/nothing", root);
    snprintf(empty, sizeof(empty), "%s/empty", root);
    assert_int_equal(layer_resolve(&l, empty_root, "x86_64", msg, sizeof(msg)), 0);
    assert_int_equal(layer_adopt_runtime(&l, empty), 0);
    assert_string_equal(l.libpython, "");
    assert_string_equal(l.runtime_home, "");
}

static void test_exe_dir(void **state)
{
    (void)state;
    char dir[PATH_MAX], expected[PATH_MAX];
    assert_int_equal(layer_exe_dir(dir, sizeof(dir)), 0);
    ssize_t n = readlink("/proc/self/exe", expected, sizeof(expected) - 1);
    assert_true(n > 0);
    expected[n] = '\0';
    *strrchr(expected, '/') = '\0';
    assert_string_equal(dir, expected);
    assert_int_equal(layer_exe_dir(dir, 4), -1); /* too small: an error, not a cut path */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_arch_names),
        cmocka_unit_test_setup_teardown(test_no_layers_is_fine, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wrong_arch_named, setup, teardown),
        cmocka_unit_test_setup_teardown(test_finds_newest_libpython, setup, teardown),
        cmocka_unit_test_setup_teardown(test_library_path, setup, teardown),
        cmocka_unit_test_setup_teardown(test_site_dirs_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_adopts_the_runtime_next_to_the_bootstrap, setup, teardown),
        cmocka_unit_test_setup_teardown(test_layer_runtime_wins_over_its_own, setup, teardown),
        cmocka_unit_test(test_exe_dir),
    };
    return cmocka_run_group_tests_name("layer", tests, NULL, NULL);
}
