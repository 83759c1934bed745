/* Unit tests: faulthandler's traceback text -> the crash report's stackTrace (src/crash.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "crash.h"

static char out[65536];

static const char *format(const char *text)
{
    size_t n = crash_format_stack(text, strlen(text), out, sizeof(out));
    assert_int_equal(n, strlen(out));
    return out;
}

/* Every file of the runtime's is left out (<bootstrap>/runtime.py and the modules it imports). */
static void test_frames_oldest_first_without_the_runtime(void **state)
{
    (void)state;
    const char *text = "Fatal Python error: Segmentation fault\n\n"
                       "Stack (most recent call first):\n"
                       "  File \"/usr/lib/python3.11/ctypes/__init__.py\", line 519 in string_at\n"
                       "  File \"<bootstrap>/runtime_logging.py\", line 104 in log\n"
                       "  File \"/var/task/app.py\", line 5 in inner\n"
                       "  File \"/var/task/app.py\", line 9 in handler\n"
                       "  File \"<bootstrap>/runtime.py\", line 940 in invoke\n";
    assert_string_equal(format(text),
                        "[\"  File \\\"/var/task/app.py\\\", line 9, in handler\\n\", "
                        "\"  File \\\"/var/task/app.py\\\", line 5, in inner\\n\", "
                        "\"  File \\\"/usr/lib/python3.11/ctypes/__init__.py\\\", line 519, in string_at\\n\"]");
}

static void test_current_thread_header_and_unknowns(void **state)
{
    (void)state;
    /* all_threads=True's header, an unknown line number and a file name that is not a str */
    const char *text = "Current thread 0x00007f00 (most recent call first):\n"
                       "  File \"/var/task/a.py\", line ??? in f\n"
                       "  File ???, line 3 in <module>\n"
                       "  ...\n";
    assert_string_equal(format(text), "[\"  File \\\"???\\\", line 3, in <module>\\n\", "
                                      "\"  File \\\"/var/task/a.py\\\", line ???, in f\\n\"]");
}

static void test_no_frames(void **state)
{
    (void)state;
    assert_string_equal(format(""), "[]");
    assert_string_equal(format("Fatal Python error: Aborted\n\n<no Python frame>\n"), "[]");
    assert_string_equal(format("  File \"/x.py\", line 1\n  File \"/y.py\" no line\n"), "[]"); /* malformed */
}

static void test_odd_characters_are_escaped(void **state)
{
    (void)state;
    const char *text = "  File \"/tmp/a\\\"b\x01.py\", line 2 in h\xc3\xa9\n";
    assert_string_equal(format(text), "[\"  File \\\"/tmp/a\\\\\\\"b\\u0001.py\\\", line 2, in h\\u00c3\\u00a9\\n\"]");
}

static void test_output_is_bounded(void **state)
{
    (void)state;
    char small[24];
    const char *text = "  File \"/var/task/app.py\", line 5 in inner\n";
    size_t n = crash_format_stack(text, strlen(text), small, sizeof(small));
    assert_int_equal(n, sizeof(small) - 1);
    assert_int_equal(small[n], '\0');
    assert_int_equal(crash_format_stack(text, strlen(text), small, 0), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_frames_oldest_first_without_the_runtime),
        cmocka_unit_test(test_current_thread_header_and_unknowns),
        cmocka_unit_test(test_no_frames),
        cmocka_unit_test(test_odd_characters_are_escaped),
        cmocka_unit_test(test_output_is_bounded),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
