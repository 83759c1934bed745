/*
 * runtime_api: the Lambda Runtime API client (HTTP over one keep-alive libcurl handle).
 *
 * Endpoints (base http://$AWS_LAMBDA_RUNTIME_API/2018-06-01/runtime):
 *   GET  /invocation/next              -> runtime_api_next
 *   POST /invocation/{id}/response     -> runtime_api_post_response, or runtime_api_post_stream
 *   POST /invocation/{id}/error        -> runtime_api_post_error
 *   POST /init/error                   -> runtime_api_post_init_error
 *
 * Every call returns a runtime_api_status and, unless it is RUNTIME_API_OK, a message in
 * the caller's runtime_api_error. Nothing here exits or prints.
 */
#ifndef BOOTSTRAP_RUNTIME_API_H
#define BOOTSTRAP_RUNTIME_API_H

#include <stddef.h>
#include <stdint.h>

#include "invocation.h"

typedef enum {
    RUNTIME_API_OK = 0,
    RUNTIME_API_REJECTED, /* a 4xx on a post: the platform refused it; log and go on */
    RUNTIME_API_BAD_INVOCATION, /* /next answered with something unusable (e.g. no request id) */
    RUNTIME_API_FATAL,    /* 500, or the connection is gone after retries: the process must end */
    RUNTIME_API_INTERRUPTED, /* the interrupt handler asked to stop waiting (shutdown) */
} runtime_api_status;

/* Called while runtime_api_next waits, whenever the interrupt fd becomes readable (a signal
 * arrived). Returns nonzero to abandon the wait: runtime_api_next then returns
 * RUNTIME_API_INTERRUPTED. Returning 0 keeps waiting on the same request, so an invocation
 * already on its way is never lost. */
typedef int (*runtime_api_interrupt_fn)(void *ctx);

typedef struct {
    char message[1024];
    long http_status; /* 0 when no HTTP answer was received */
} runtime_api_error;

typedef struct runtime_api runtime_api;

/* Names of the headers, as the Runtime API spells them. */
#define RUNTIME_API_HEADER_REQUEST_ID "Lambda-Runtime-Aws-Request-Id"
#define RUNTIME_API_HEADER_DEADLINE "Lambda-Runtime-Deadline-Ms"
#define RUNTIME_API_HEADER_FUNCTION_ARN "Lambda-Runtime-Invoked-Function-Arn"
#define RUNTIME_API_HEADER_TRACE_ID "Lambda-Runtime-Trace-Id"
#define RUNTIME_API_HEADER_CLIENT_CONTEXT "Lambda-Runtime-Client-Context"
#define RUNTIME_API_HEADER_COGNITO_IDENTITY "Lambda-Runtime-Cognito-Identity"
#define RUNTIME_API_HEADER_TENANT_ID "Lambda-Runtime-Aws-Tenant-Id"
#define RUNTIME_API_HEADER_CONTENT_TYPE "Content-Type"
#define RUNTIME_API_HEADER_ERROR_TYPE "Lambda-Runtime-Function-Error-Type"
#define RUNTIME_API_HEADER_XRAY_CAUSE "Lambda-Runtime-Function-XRay-Error-Cause"
#define RUNTIME_API_HEADER_RESPONSE_MODE "Lambda-Runtime-Function-Response-Mode"
#define RUNTIME_API_HEADER_ERROR_BODY "Lambda-Runtime-Function-Error-Body"

/* The largest request id we accept: ids go into URLs, so they are also restricted to
 * [A-Za-z0-9._-]. */
#define RUNTIME_API_MAX_REQUEST_ID 256

/* Creates a client for `address` ("host:port"). Returns NULL and fills err on failure.
 * The caller owns the result and frees it with runtime_api_free. */
runtime_api *runtime_api_new(const char *address, runtime_api_error *err);
void runtime_api_free(runtime_api *api);

/* 1 while the connection's descriptor is still the socket libcurl opened: 0 when the handler
 * closed it or put another file in its place (then nothing may be sent before
 * runtime_api_reconnect). One fstat. */
int runtime_api_intact(const runtime_api *api);

/* Lets the connection go, closing only descriptors that are still the client's, and starts
 * afresh (the next request connects). Returns 0, or -1 with a message when out of memory. */
int runtime_api_reconnect(runtime_api *api, runtime_api_error *err);

/* Makes runtime_api_next watch `fd` (-1: none) and call fn(ctx) when it is readable, or when it
 * is no longer an open descriptor (the callback may then set another one). */
void runtime_api_set_interrupt(runtime_api *api, int fd, runtime_api_interrupt_fn fn, void *ctx);

/* Blocks (no timeout) until the next invocation. On RUNTIME_API_OK *out points into `api` and
 * stays valid until the next call. */
runtime_api_status runtime_api_next(runtime_api *api, const invocation **out, runtime_api_error *err);

/* content_type may be NULL (application/json). */
runtime_api_status runtime_api_post_response(runtime_api *api, const char *request_id, const char *body,
                                             size_t body_len, const char *content_type, runtime_api_error *err);

/* The body of a streamed response, pulled one chunk at a time from inside runtime_api_post_stream
 * (on the caller's thread). Returns 1 with *data and *len set to the next chunk (valid until the
 * next call; an empty one is skipped), or 0 at the end of the stream. When the stream failed, the
 * end also sets *error_type and *error_body (base64 of the error document) for the trailers. */
typedef int (*runtime_api_stream_fn)(void *ctx, const char **data, size_t *len, const char **error_type,
                                     const char **error_body);

/* Posts a response with Lambda-Runtime-Function-Response-Mode: streaming, chunked: each chunk goes
 * out as `next` produces it, and `next` is not asked for another until the previous one is handed
 * to the socket, so a slow reader holds the producer back instead of filling memory. A failure
 * reported at the end goes into the Lambda-Runtime-Function-Error-Type/-Body trailers.
 * content_type may be NULL (application/octet-stream). */
runtime_api_status runtime_api_post_stream(runtime_api *api, const char *request_id, const char *content_type,
                                           runtime_api_stream_fn next, void *ctx, runtime_api_error *err);

/* error_type goes into Lambda-Runtime-Function-Error-Type; xray_cause (may be NULL) into the X-Ray
 * header when it is small enough. body is the error JSON document. */
runtime_api_status runtime_api_post_error(runtime_api *api, const char *request_id, const char *error_type,
                                          const char *body, size_t body_len, const char *xray_cause,
                                          runtime_api_error *err);

runtime_api_status runtime_api_post_init_error(runtime_api *api, const char *error_type, const char *body,
                                               size_t body_len, runtime_api_error *err);

/* 1 when `id` is safe to put in a URL path and not too long. */
int runtime_api_request_id_valid(const char *id, size_t len);

/* Parses a header line ("Name: value\r\n") of a /next answer into inv when it is one of ours;
 * other lines are ignored. Returns 0, or -1 when out of memory. Exposed for tests and the fuzzer. */
int runtime_api_parse_header(invocation *inv, const char *line, size_t len);

#endif
