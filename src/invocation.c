/* invocation: the record of one invocation (see include/invocation.h). */
#include "invocation.h"

#include <stdlib.h>
#include <string.h>

int invocation_field_set(invocation_field *f, const char *value, size_t len)
{
    if (len + 1 > f->cap) {
        char *v = realloc(f->value, len + 1);
        if (!v)
            return -1;
        f->value = v;
        f->cap = len + 1;
    }
    memcpy(f->value, value, len);
    f->value[len] = '\0';
    f->len = len;
    f->present = 1;
    return 0;
}

/* The record's fields, for the loops below. */
#define FIELD_COUNT 8
static void fields_of(invocation *inv, invocation_field *out[FIELD_COUNT])
{
    out[0] = &inv->request_id;
    out[1] = &inv->deadline_ms;
    out[2] = &inv->function_arn;
    out[3] = &inv->trace_id;
    out[4] = &inv->client_context;
    out[5] = &inv->cognito_identity;
    out[6] = &inv->tenant_id;
    out[7] = &inv->content_type;
}

void invocation_reset(invocation *inv)
{
    invocation_field *all[FIELD_COUNT];
    fields_of(inv, all);
    for (size_t i = 0; i < FIELD_COUNT; i++) {
        all[i]->present = 0;
        all[i]->len = 0;
        if (all[i]->value)
            all[i]->value[0] = '\0';
    }
    inv->deadline = 0;
    inv->body = NULL;
    inv->body_len = 0;
}

void invocation_free(invocation *inv)
{
    invocation_field *all[FIELD_COUNT];
    fields_of(inv, all);
    for (size_t i = 0; i < FIELD_COUNT; i++) {
        free(all[i]->value);
        memset(all[i], 0, sizeof(*all[i]));
    }
    inv->deadline = 0;
    inv->body = NULL;
    inv->body_len = 0;
}
