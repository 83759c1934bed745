/* Unit tests: /next header parsing and request id checks (src/runtime_api.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "runtime_api.h"

static void parse(invocation *inv, const char *line)
{
    assert_int_equal(runtime_api_parse_header(inv, line, strlen(line)), 0);
}

static void test_headers_case_insensitive_and_trimmed(void **state)
{
    (void)state;
    invocation inv = {0};
    parse(&inv, "HTTP/1.1 200 OK\r\n");
    parse(&inv, "lambda-runtime-aws-request-id:   8476a536-e9f4-11e8-9739-2dfe598c3fcd \r\n");
    parse(&inv, "Lambda-Runtime-Deadline-Ms: 1542409706888\r\n");
    parse(&inv, "Lambda-Runtime-Invoked-Function-Arn: arn:aws:lambda:us-east-1:012345678912:function:f\r\n");
    parse(&inv, "Lambda-Runtime-Trace-Id: Root=1-5bef4de7-ad49b0e87f6ef6c87fc2e700;Parent=9a9197af755a6419;Sampled=1\r\n");
    parse(&inv, "Lambda-Runtime-Client-Context: {\"custom\": {\"a\": \"b:c\"}}\r\n");
    parse(&inv, "Lambda-Runtime-Cognito-Identity: {\"cognitoIdentityId\": \"id\"}\r\n");
    parse(&inv, "Lambda-Runtime-Aws-Tenant-Id: tenant-1\r\n");
    parse(&inv, "Content-Type: application/json\r\n");
    parse(&inv, "X-Other: ignored\r\n");
    parse(&inv, "\r\n");
    assert_true(inv.request_id.present);
    assert_string_equal(inv.request_id.value, "8476a536-e9f4-11e8-9739-2dfe598c3fcd");
    assert_string_equal(inv.deadline_ms.value, "1542409706888");
    assert_string_equal(inv.function_arn.value, "arn:aws:lambda:us-east-1:012345678912:function:f");
    assert_string_equal(inv.trace_id.value,
                        "Root=1-5bef4de7-ad49b0e87f6ef6c87fc2e700;Parent=9a9197af755a6419;Sampled=1");
    assert_string_equal(inv.client_context.value, "{\"custom\": {\"a\": \"b:c\"}}");
    assert_string_equal(inv.cognito_identity.value, "{\"cognitoIdentityId\": \"id\"}");
    assert_string_equal(inv.tenant_id.value, "tenant-1");
    assert_string_equal(inv.content_type.value, "application/json");

    invocation_reset(&inv);
    assert_false(inv.request_id.present);
    assert_false(inv.tenant_id.present);
    parse(&inv, "Lambda-Runtime-Aws-Request-Id: second\r\n");
    assert_string_equal(inv.request_id.value, "second");
    invocation_free(&inv);
}

static void test_junk_lines_ignored(void **state)
{
    (void)state;
    invocation inv = {0};
    parse(&inv, ": no name\r\n");
    parse(&inv, "no colon at all\r\n");
    parse(&inv, "Lambda-Runtime-Aws-Request-Id\r\n");
    assert_false(inv.request_id.present);
    parse(&inv, "Lambda-Runtime-Aws-Request-Id:\r\n"); /* present but empty */
    assert_true(inv.request_id.present);
    assert_int_equal(inv.request_id.len, 0);
    invocation_free(&inv);
}

static void test_large_header_value(void **state)
{
    (void)state;
    invocation inv = {0};
    static char line[70000];
    const char *name = "Lambda-Runtime-Client-Context: ";
    size_t n = strlen(name);
    memcpy(line, name, n);
    memset(line + n, 'x', 65536);
    memcpy(line + n + 65536, "\r\n", 3);
    parse(&inv, line);
    assert_int_equal(inv.client_context.len, 65536);
    invocation_free(&inv);
}

static void test_request_id_validation(void **state)
{
    (void)state;
    assert_true(runtime_api_request_id_valid("8476a536-e9f4-11e8-9739-2dfe598c3fcd", 36));
    assert_true(runtime_api_request_id_valid("a.b_c", 5));
    assert_false(runtime_api_request_id_valid("", 0));
    assert_false(runtime_api_request_id_valid("..", 2));
    assert_false(runtime_api_request_id_valid(".", 1));
    assert_false(runtime_api_request_id_valid("a/b", 3));
    assert_false(runtime_api_request_id_valid("a?b", 3));
    assert_false(runtime_api_request_id_valid("a b", 3));
    char long_id[RUNTIME_API_MAX_REQUEST_ID + 1];
    memset(long_id, 'a', sizeof(long_id));
    assert_true(runtime_api_request_id_valid(long_id, RUNTIME_API_MAX_REQUEST_ID));
    assert_false(runtime_api_request_id_valid(long_id, RUNTIME_API_MAX_REQUEST_ID + 1));
}

static void test_bad_address(void **state)
{
    (void)state;
    runtime_api_error err = {0};
    assert_null(runtime_api_new("", &err));
    assert_non_null(strstr(err.message, "invalid Runtime API address"));
    assert_null(runtime_api_new("127.0.0.1:9001/evil", &err));
    runtime_api *api = runtime_api_new("127.0.0.1:9001", &err);
    assert_non_null(api);
    runtime_api_free(api);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_headers_case_insensitive_and_trimmed),
        cmocka_unit_test(test_junk_lines_ignored),
        cmocka_unit_test(test_large_header_value),
        cmocka_unit_test(test_request_id_validation),
        cmocka_unit_test(test_bad_address),
    };
    return cmocka_run_group_tests_name("runtime_api", tests, NULL, NULL);
}
