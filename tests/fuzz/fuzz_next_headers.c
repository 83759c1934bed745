/* libFuzzer target for the /next answer's header handling (src/runtime_api.c):
 * runtime_api_parse_header on single lines, the libcurl header callback on a whole
 * header block (status lines reset the invocation), the deadline parser and the request id
 * check. Any input must leave NUL-terminated, trimmed values and no sanitizer report.
 * The source is included so its static helpers (parse_deadline, on_header) can be reached.
 * Built and run by `make fuzz` (mk/reliability.mk). */
#include "../../src/runtime_api.c"

#include <stdint.h>

static void check_header(const invocation_field *h)
{
    if (!h->present) {
        if (h->len != 0)
            abort();
        return;
    }
    if (!h->value || h->len + 1 > h->cap || h->value[h->len] != '\0')
        abort();
    if (h->len > 0 && (is_space(h->value[0]) || is_space(h->value[h->len - 1])))
        abort(); /* values are trimmed */
}

static void check_invocation(const invocation *inv)
{
    const invocation_field *all[] = {&inv->request_id, &inv->deadline_ms, &inv->function_arn,
                                       &inv->trace_id, &inv->client_context, &inv->cognito_identity,
                                       &inv->tenant_id, &inv->content_type};
    for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
        check_header(all[i]);
    int64_t deadline = parse_deadline(&inv->deadline_ms);
    if (deadline < 0)
        abort();
    if (inv->request_id.present &&
        runtime_api_request_id_valid(inv->request_id.value, inv->request_id.len)) {
        /* a valid id is safe in a URL path */
        if (strpbrk(inv->request_id.value, "/?#% \r\n") || strcmp(inv->request_id.value, "..") == 0 ||
            strcmp(inv->request_id.value, ".") == 0 || inv->request_id.len > RUNTIME_API_MAX_REQUEST_ID)
            abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* 1. The whole input as one header line, as libcurl hands it over (not NUL-terminated:
     *    copied to an exact-size buffer so ASan sees any overread). */
    invocation inv = {0};
    char *line = malloc(size ? size : 1);
    if (!line)
        return 0;
    memcpy(line, data, size);
    if (runtime_api_parse_header(&inv, line, size) != 0)
        abort();
    check_invocation(&inv);
    free(line);

    /* 2. The input as a header block, line by line through the libcurl callback. */
    runtime_api api;
    memset(&api, 0, sizeof(api));
    api.capture_headers = 1;
    size_t start = 0;
    for (size_t i = 0; i <= size; i++) {
        if (i == size || data[i] == '\n') {
            size_t end = i < size ? i + 1 : i;
            if (end > start) {
                size_t n = end - start;
                char *piece = malloc(n);
                if (!piece)
                    break;
                memcpy(piece, data + start, n);
                if (on_header(piece, 1, n, &api) != n)
                    abort();
                free(piece);
                check_invocation(&api.inv);
            }
            start = end;
        }
    }
    invocation_reset(&api.inv);
    check_invocation(&api.inv);
    invocation_free(&api.inv);
    invocation_free(&inv);
    return 0;
}
