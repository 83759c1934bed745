/*
 * invocation: one invocation as the platform handed it over: the request id, the context that
 * came with it and the event. runtime_api fills it from the /next answer; python reads it to
 * call the handler; neither needs the other's header for it.
 *
 * Each field keeps its buffer between invocations (reset marks it absent without freeing), so a
 * warm invocation allocates nothing here.
 */
#ifndef BOOTSTRAP_INVOCATION_H
#define BOOTSTRAP_INVOCATION_H

#include <stddef.h>
#include <stdint.h>

/* A text field; `present` is 0 when the platform did not send it. */
typedef struct {
    char *value; /* NUL-terminated; owned by the record, valid until the record is reset */
    size_t len;
    size_t cap;
    int present;
} invocation_field;

/* Only request_id is guaranteed present once the record is handed out. */
typedef struct {
    invocation_field request_id;
    invocation_field deadline_ms;
    invocation_field function_arn;
    invocation_field trace_id;
    invocation_field client_context;
    invocation_field cognito_identity;
    invocation_field tenant_id;
    invocation_field content_type;
    int64_t deadline; /* deadline_ms parsed (epoch ms); 0 when absent or not a number */
    const char *body; /* the event; not NUL-terminated, owned by whoever filled the record */
    size_t body_len;
} invocation;

/* Stores a copy of value[0..len) in the field and marks it present. Returns 0, or -1 when out
 * of memory (the field is left as it was). */
int invocation_field_set(invocation_field *f, const char *value, size_t len);

/* Marks every field absent and forgets the body, keeping the buffers for reuse. */
void invocation_reset(invocation *inv);

/* Frees the buffers; the record is empty afterwards and may be reused. */
void invocation_free(invocation *inv);

#endif
