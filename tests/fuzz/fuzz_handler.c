/* libFuzzer target for the handler-name parser (src/handler.c): any setting either parses to
 * a module path that stays inside LAMBDA_TASK_ROOT (no empty component, no '..', no absolute
 * path, no control character or backslash, within Lambda's 128 characters) or is refused with
 * a bounded, printable "Bad handler" message. The first input byte picks the message buffer's
 * size, to exercise truncation; a NUL in the rest ends the setting, as it would in execve.
 * Built and run by `make fuzz` (mk/reliability.mk). */
#include "handler.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void check_module(const char *spec, const handler_name *h)
{
    size_t len = strlen(h->module);
    if (len == 0 || len > HANDLER_MAX || strlen(h->function) > HANDLER_MAX)
        abort();
    if (spec[0] == '/' || h->module[0] == '.' || h->module[len - 1] == '.' || strstr(h->module, ".."))
        abort(); /* an empty component would be a way out (or up) */
    for (const char *p = h->module; *p; p++) {
        unsigned char c = (unsigned char)*p;
        if (c < 0x20 || c == 0x7f || c == '/' || c == '\\')
            abort();
    }
    for (const char *p = h->function; *p; p++) {
        unsigned char c = (unsigned char)*p;
        if (c < 0x20 || c == 0x7f || c == '\\')
            abort();
    }
    /* module + '.' + function is the setting, with '/' read as '.' */
    if (len + 1 + strlen(h->function) != strlen(spec))
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    size_t msg_len = data[0] % 2 ? 512 : (size_t)(data[0] / 2) + 1; /* 1..128, or the real 512 */
    char *spec = malloc(size);
    char *msg = malloc(msg_len);
    if (!spec || !msg)
        abort();
    memcpy(spec, data + 1, size - 1);
    spec[size - 1] = '\0';
    memset(msg, 'Z', msg_len);
    handler_name h;
    memset(&h, 0xA5, sizeof(h));
    if (handler_parse(spec, &h, msg, msg_len) == 0) {
        check_module(spec, &h);
    } else {
        if (!memchr(msg, '\0', msg_len))
            abort(); /* always terminated within the buffer */
        if (msg_len > 13 && strncmp(msg, "Bad handler '", 13) != 0)
            abort();
        for (const char *p = msg; *p; p++)
            if ((unsigned char)*p < 0x20 || *p == 0x7f)
                abort(); /* the setting is shown sanitised */
        if (msg_len >= 512 && strlen(msg) > 400)
            abort();
    }
    free(spec);
    free(msg);
    return 0;
}
