/* handler: parse and vet the handler setting. */
#include "handler.h"

#include <stdio.h>
#include <string.h>

static int fail(char *msg, size_t msg_len, const char *spec, const char *why)
{
    /* The message quotes the setting, so keep it printable and bounded. */
    char shown[HANDLER_MAX + 4];
    size_t n = 0;
    for (const char *p = spec; *p && n < HANDLER_MAX; p++)
        shown[n++] = ((unsigned char)*p < 0x20 || *p == 0x7f) ? '?' : *p;
    if (strlen(spec) > HANDLER_MAX) {
        memcpy(shown + n, "...", 3);
        n += 3;
    }
    shown[n] = '\0';
    snprintf(msg, msg_len, "Bad handler '%s': %s", shown, why);
    return -1;
}

int handler_parse(const char *spec, handler_name *out, char *msg, size_t msg_len)
{
    if (!spec || !*spec)
        return fail(msg, msg_len, spec ? spec : "", "empty handler setting");
    size_t len = strlen(spec);
    if (len > HANDLER_MAX)
        return fail(msg, msg_len, spec, "longer than 128 characters");
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)spec[i];
        if (c < 0x20 || c == 0x7f || c == '\\')
            return fail(msg, msg_len, spec, "contains a control character or backslash");
    }
    const char *dot = strrchr(spec, '.');
    if (!dot)
        return fail(msg, msg_len, spec, "not enough values to unpack (expected 2, got 1)");
    if (spec[0] == '/')
        return fail(msg, msg_len, spec, "the module must be a path relative to LAMBDA_TASK_ROOT");

    /* Separators are '/' and '.', so "..", "./x", "a//b" and a leading or trailing
     * separator all show up as an empty component. */
    size_t mod_len = (size_t)(dot - spec);
    const char *start = spec;
    for (size_t i = 0; i <= mod_len; i++) {
        if (i == mod_len || spec[i] == '/' || spec[i] == '.') {
            if (spec + i == start)
                return fail(msg, msg_len, spec, "empty module path component (no '..', './', '//' or trailing '/')");
            start = spec + i + 1;
        }
    }
    for (size_t i = 0; i < mod_len; i++)
        out->module[i] = spec[i] == '/' ? '.' : spec[i];
    out->module[mod_len] = '\0';
    memcpy(out->function, dot + 1, len - mod_len - 1);
    out->function[len - mod_len - 1] = '\0';
    return 0;
}
