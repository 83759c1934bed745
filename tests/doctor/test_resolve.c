/* Unit tests of the doctor's path helpers (src/doctor_util.c) and of where a DT_NEEDED
 * name resolves in checked trees (src/doctor_resolve.c), on the fixtures that
 * tests/doctor/make-fixtures.sh builds (the auditwheel layout and its variants).
 *   test_resolve FIXTURES_DIR */
#define _GNU_SOURCE
#include "doctor_resolve.h"
#include "doctor_tree.h"
#include "doctor_util.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static const char *fixtures;

/* ------------------------------------------------------------ doctor_util */

static void test_normalize(void **state)
{
    char out[64];
    (void)state;
    assert_int_equal(doctor_normalize("/opt/x86_64/python/pkg/../pkg.libs/./liba.so", out, sizeof out), 0);
    assert_string_equal(out, "/opt/x86_64/python/pkg.libs/liba.so");
    assert_int_equal(doctor_normalize("//opt/../../..", out, sizeof out), 0);
    assert_string_equal(out, "/");
    assert_int_equal(doctor_normalize("/a/very/long/path/that/does/not/fit/in/sixteen", out, 16), -1);
}

static void test_dirname_and_basename(void **state)
{
    char out[32];
    (void)state;
    doctor_dirname("/opt/lib/libz.so.1", out, sizeof out);
    assert_string_equal(out, "/opt/lib");
    doctor_dirname("/bootstrap", out, sizeof out);
    assert_string_equal(out, "/");
    doctor_dirname("bootstrap", out, sizeof out);
    assert_string_equal(out, ".");
    assert_string_equal(doctor_basename("x86_64/lib/libz.so.1"), "libz.so.1");
}

static void test_pytag(void **state)
{
    doctor_pytag t;
    (void)state;
    assert_int_equal(doctor_pytag_parse("_mysql.cpython-39-aarch64-linux-gnu.so", &t), 1);
    assert_string_equal(t.version, "3.9");
    assert_string_equal(t.platform, "aarch64-linux-gnu");
    assert_int_equal(doctor_pytag_parse("_m.cpython-313t-x86_64-linux-gnu.so", &t), 1);
    assert_string_equal(t.version, "3.13");
    assert_int_equal(doctor_pytag_parse("_rust.abi3.so", &t), 1);
    assert_true(t.abi3);
    assert_int_equal(doctor_pytag_parse("libfoo.so.1", &t), 0);
}

/* ------------------------------------------------------------ resolution */

typedef struct {
    doctor_files files;
    doctor_target target;
} checked;

static void open_layer(checked *c, const char *name)
{
    char path[4096], err[512];
    const char *paths[] = {path};
    memset(c, 0, sizeof *c);
    snprintf(path, sizeof path, "%s/%s", fixtures, name);
    if (doctor_target_load(&c->target, "provided.al2023", err, sizeof err) ||
        doctor_files_open(&c->files, paths, 1, err, sizeof err))
        fail_msg("%s: %s", name, err);
}

static void close_layer(checked *c)
{
    doctor_files_free(&c->files);
    doctor_target_free(&c->target);
}

static doctor_entry *entry(checked *c, const char *rel)
{
    char vpath[512];
    snprintf(vpath, sizeof vpath, "/opt/%s", rel);
    doctor_entry *e = doctor_files_lookup(&c->files, vpath);
    if (!e || e->state != DOCTOR_ELF)
        fail_msg("no ELF file %s", rel);
    return e;
}

#define EXT "x86_64/python/pkg/_ext.cpython-39-x86_64-linux-gnu.so"
#define LIBS "x86_64/python/pkg.libs/"

static void test_own_rpath_with_origin(void **state)
{
    checked c;
    doctor_found r;
    (void)state;
    open_layer(&c, "wheel-rpath");
    assert_int_equal(doctor_resolve(&c.files, &c.target, entry(&c, EXT), "libwa-1a1a1a1a.so.1", &r), 1);
    assert_int_equal(r.in_layer, 1);
    /* from the target, not the layer */
    assert_int_equal(doctor_resolve(&c.files, &c.target, entry(&c, EXT), "libc.so.6", &r), 1);
    assert_int_equal(r.in_layer, 0);
    close_layer(&c);
}

static void test_siblings_resolve_through_the_loaders_rpath(void **state)
{
    checked c;
    doctor_found r;
    (void)state;
    open_layer(&c, "wheel-rpath");
    /* libwa -> libwb: libwa has no RPATH; the extension's serves it */
    assert_int_equal(doctor_resolve(&c.files, &c.target, entry(&c, LIBS "libwa-1a1a1a1a.so.1"),
                                    "libwb-2b2b2b2b.so.1", &r), 1);
    assert_int_equal(r.in_layer, 1);
    /* two loaders up: libwb -> libwc through libwa, then the extension */
    assert_int_equal(doctor_resolve(&c.files, &c.target, entry(&c, LIBS "libwb-2b2b2b2b.so.1"),
                                    "libwc-3c3c3c3c.so.1", &r), 1);
    /* a name no loader has anywhere */
    assert_int_equal(doctor_resolve(&c.files, &c.target, entry(&c, LIBS "libwb-2b2b2b2b.so.1"),
                                    "libnowhere.so.9", &r), 0);
    assert_string_equal(r.own, "");
    close_layer(&c);
}

static void test_a_runpath_does_not_serve_the_libraries_it_loads(void **state)
{
    checked c;
    doctor_found r;
    (void)state;
    open_layer(&c, "wheel-runpath");
    assert_int_equal(doctor_resolve(&c.files, &c.target, entry(&c, EXT), "libwa-1a1a1a1a.so.1", &r), 1);
    assert_int_equal(doctor_resolve(&c.files, &c.target, entry(&c, LIBS "libwa-1a1a1a1a.so.1"),
                                    "libwb-2b2b2b2b.so.1", &r), 0);
    close_layer(&c);
    /* unless the extension needs them itself: they are loaded first */
    open_layer(&c, "wheel-runpath-all");
    assert_int_equal(doctor_resolve(&c.files, &c.target, entry(&c, LIBS "libwa-1a1a1a1a.so.1"),
                                    "libwb-2b2b2b2b.so.1", &r), 1);
    close_layer(&c);
}

static void test_a_missing_rpath_target_says_where_it_looked(void **state)
{
    checked c;
    doctor_found r;
    (void)state;
    open_layer(&c, "wheel-nolibs");
    assert_int_equal(doctor_resolve(&c.files, &c.target, entry(&c, EXT), "libwa-1a1a1a1a.so.1", &r), 0);
    assert_string_equal(r.own, "its RPATH ($ORIGIN/../pkg.libs = /opt/x86_64/python/pkg.libs)");
    close_layer(&c);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fputs("usage: test_resolve FIXTURES_DIR (tests/doctor/make-fixtures.sh)\n", stderr);
        return 2;
    }
    fixtures = argv[1];
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_normalize),
        cmocka_unit_test(test_dirname_and_basename),
        cmocka_unit_test(test_pytag),
        cmocka_unit_test(test_own_rpath_with_origin),
        cmocka_unit_test(test_siblings_resolve_through_the_loaders_rpath),
        cmocka_unit_test(test_a_runpath_does_not_serve_the_libraries_it_loads),
        cmocka_unit_test(test_a_missing_rpath_target_says_where_it_looked),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
