/* Unit tests: handler setting parsing (src/handler.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "handler.h"

static void assert_parses(const char *spec, const char *module, const char *function)
{
    handler_name h;
    char msg[512] = "";
    assert_int_equal(handler_parse(spec, &h, msg, sizeof(msg)), 0);
    assert_string_equal(h.module, module);
    assert_string_equal(h.function, function);
}

static void assert_malformed(const char *spec, const char *expected_message)
{
    handler_name h;
    char msg[512] = "";
    assert_int_equal(handler_parse(spec, &h, msg, sizeof(msg)), -1);
    assert_string_equal(msg, expected_message);
}

static void test_simple(void **state)
{
    (void)state;
    assert_parses("app.handler", "app", "handler");
    assert_parses("pkg.mod.func", "pkg.mod", "func");
    assert_parses("dir/mod.func", "dir.mod", "func");
    assert_parses("a/b/c.d.e", "a.b.c.d", "e");
    assert_parses("my-module.handler", "my-module", "handler");
    assert_parses("app.", "app", ""); /* reported later as a missing handler, as the managed runtime does */
}

static void test_no_dot(void **state)
{
    (void)state;
    assert_malformed("bad_handler", "Bad handler 'bad_handler': not enough values to unpack (expected 2, got 1)");
    assert_malformed("", "Bad handler '': empty handler setting");
}

static void test_escapes_task_root(void **state)
{
    (void)state;
    const char *empty = "empty module path component (no '..', './', '//' or trailing '/')";
    char expected[512];
    const char *bad[] = {"../x.h", "a/../b.h", "./a.h", "a//b.h", ".h", "a..b.h", "a/.h"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        snprintf(expected, sizeof(expected), "Bad handler '%s': %s", bad[i], empty);
        assert_malformed(bad[i], expected);
    }
    assert_malformed("/etc/passwd.h", "Bad handler '/etc/passwd.h': the module must be a path relative to LAMBDA_TASK_ROOT");
    assert_malformed("a\\b.h", "Bad handler 'a\\b.h': contains a control character or backslash");
    assert_malformed("a\nb.h", "Bad handler 'a?b.h': contains a control character or backslash");
}

static void test_too_long(void **state)
{
    (void)state;
    char spec[HANDLER_MAX + 2];
    memset(spec, 'a', sizeof(spec) - 1);
    spec[sizeof(spec) - 1] = '\0';
    spec[10] = '.';
    handler_name h;
    char msg[512];
    assert_int_equal(handler_parse(spec, &h, msg, sizeof(msg)), -1);
    assert_non_null(strstr(msg, "longer than 128 characters"));
    spec[HANDLER_MAX] = '\0'; /* exactly the limit is fine */
    assert_int_equal(handler_parse(spec, &h, msg, sizeof(msg)), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_simple),
        cmocka_unit_test(test_no_dot),
        cmocka_unit_test(test_escapes_task_root),
        cmocka_unit_test(test_too_long),
    };
    return cmocka_run_group_tests_name("handler", tests, NULL, NULL);
}
