/*
 * runtime_api: the Lambda Runtime API client.
 *
 * One libcurl easy handle for the life of the process, so the TCP connection to the
 * Runtime API is reused by every request. Buffers for the event body and the headers
 * are kept between invocations; a warm invocation allocates nothing here.
 */
#define _POSIX_C_SOURCE 200809L
#include "runtime_api.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "sockguard.h"

#define API_VERSION "2018-06-01"
#define USER_AGENT "aws-lambda-bootstrap-c/1.0"
#define CONTENT_TYPE_JSON "application/json"
#define CONTENT_TYPE_ERROR "application/vnd.aws.lambda.error+json"
#define CONTENT_TYPE_STREAM "application/octet-stream"
/* RIE compacts larger causes anyway and awslambdaric drops causes of 1 MiB or more. */
#define XRAY_CAUSE_MAX (64 * 1024)
/* Connection refused or reset: retried this many times, the delay doubling from the first. */
#define TRANSPORT_RETRIES 6
#define TRANSPORT_RETRY_FIRST_DELAY_MS 20
#define MAX_ADDRESS 256

typedef struct {
    char *data;
    size_t len;
    size_t cap;
} buffer;

/* The body of a streamed response: the chunk being sent and where its source is. */
typedef struct {
    runtime_api_stream_fn next;
    void *ctx;
    const char *data;
    size_t len;
    size_t sent;
    unsigned long chunks; /* taken from the source so far */
    int ended;
    const char *error_type; /* set by the source at the end of a failed stream */
    const char *error_body;
    const sockguard *sockets; /* the handler runs between chunks: it may take the socket away */
    int lost;                 /* it did: the transfer was stopped */
} stream_source;

struct runtime_api {
    CURL *curl;
    CURLM *multi; /* drives every transfer, so a wait can also watch the interrupt fd */
    sockguard sockets; /* the connection's descriptor, watched (runtime_api_intact) */
    int interrupt_fd;
    runtime_api_interrupt_fn on_interrupt;
    void *interrupt_ctx;
    int interrupted;
    char next_url[MAX_ADDRESS + 64];
    char init_error_url[MAX_ADDRESS + 64];
    char invocation_url_prefix[MAX_ADDRESS + 64];
    char url[MAX_ADDRESS + 64 + RUNTIME_API_MAX_REQUEST_ID + 16]; /* per-post URL, rebuilt each time */
    buffer body;     /* /next body */
    buffer reply;    /* body of a post's answer, kept for error messages */
    int capture_headers;
    int header_oom;
    stream_source *stream; /* the body being streamed, while runtime_api_post_stream runs */
    int stream_cut; /* the last stream's connection broke mid-body: the platform may not know yet */
    invocation inv;
    char curl_error[CURL_ERROR_SIZE];
};

static void error_set(runtime_api_error *err, long http_status, const char *fmt, ...)
{
    if (!err)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof(err->message), fmt, ap);
    va_end(ap);
    err->http_status = http_status;
}

static int buffer_reserve(buffer *b, size_t extra)
{
    if (b->len + extra + 1 <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < b->len + extra + 1) {
        if (cap > SIZE_MAX / 2)
            return -1;
        cap *= 2;
    }
    char *data = realloc(b->data, cap);
    if (!data)
        return -1;
    b->data = data;
    b->cap = cap;
    return 0;
}

static int buffer_append(buffer *b, const char *data, size_t len)
{
    if (buffer_reserve(b, len) != 0)
        return -1;
    memcpy(b->data + b->len, data, len);
    b->len += len;
    b->data[b->len] = '\0';
    return 0;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

/* ---- headers ------------------------------------------------------------------------ */

static invocation_field *header_slot(invocation *inv, const char *name, size_t len)
{
    static const struct {
        const char *name;
        size_t offset;
    } known[] = {
        {RUNTIME_API_HEADER_REQUEST_ID, offsetof(invocation, request_id)},
        {RUNTIME_API_HEADER_DEADLINE, offsetof(invocation, deadline_ms)},
        {RUNTIME_API_HEADER_FUNCTION_ARN, offsetof(invocation, function_arn)},
        {RUNTIME_API_HEADER_TRACE_ID, offsetof(invocation, trace_id)},
        {RUNTIME_API_HEADER_CLIENT_CONTEXT, offsetof(invocation, client_context)},
        {RUNTIME_API_HEADER_COGNITO_IDENTITY, offsetof(invocation, cognito_identity)},
        {RUNTIME_API_HEADER_TENANT_ID, offsetof(invocation, tenant_id)},
        {RUNTIME_API_HEADER_CONTENT_TYPE, offsetof(invocation, content_type)},
    };
    for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
        if (strlen(known[i].name) == len && strncasecmp(known[i].name, name, len) == 0)
            return (invocation_field *)((char *)inv + known[i].offset);
    }
    return NULL;
}

static int is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

int runtime_api_parse_header(invocation *inv, const char *line, size_t len)
{
    const char *colon = memchr(line, ':', len);
    if (!colon || colon == line)
        return 0; /* the status line, the blank line, or junk: not a header of ours */
    invocation_field *slot = header_slot(inv, line, (size_t)(colon - line));
    if (!slot)
        return 0;
    const char *value = colon + 1;
    const char *end = line + len;
    while (value < end && is_space(*value))
        value++;
    while (end > value && is_space(end[-1]))
        end--;
    return invocation_field_set(slot, value, (size_t)(end - value));
}

int runtime_api_request_id_valid(const char *id, size_t len)
{
    if (len == 0 || len > RUNTIME_API_MAX_REQUEST_ID)
        return 0;
    for (size_t i = 0; i < len; i++) {
        char c = id[i];
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                 c == '-' || c == '_' || c == '.';
        if (!ok)
            return 0;
    }
    return !(len <= 2 && id[0] == '.'); /* "." and ".." would change the path */
}

/* Deadline-Ms is epoch milliseconds; anything else is treated as "no deadline". */
static int64_t parse_deadline(const invocation_field *h)
{
    if (!h->present || h->len == 0 || h->len > 18)
        return 0;
    int64_t v = 0;
    for (size_t i = 0; i < h->len; i++) {
        if (h->value[i] < '0' || h->value[i] > '9')
            return 0;
        v = v * 10 + (h->value[i] - '0');
    }
    return v;
}

/* ---- libcurl callbacks --------------------------------------------------------------- */

static size_t on_body(char *data, size_t size, size_t nmemb, void *userdata)
{
    buffer *b = userdata;
    size_t len = size * nmemb;
    return buffer_append(b, data, len) == 0 ? len : 0; /* 0 makes curl fail the transfer */
}

static size_t on_header(char *data, size_t size, size_t nmemb, void *userdata)
{
    runtime_api *api = userdata;
    size_t len = size * nmemb;
    if (!api->capture_headers)
        return len;
    /* A new status line means a new response (e.g. after a redirect or 100): start over. */
    if (len >= 5 && strncmp(data, "HTTP/", 5) == 0)
        invocation_reset(&api->inv);
    else if (runtime_api_parse_header(&api->inv, data, len) != 0)
        api->header_oom = 1;
    return len;
}

/* ---- requests ---------------------------------------------------------------------- */

static int transport_error_is_retryable(CURLcode rc)
{
    switch (rc) {
    case CURLE_COULDNT_CONNECT:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_OPERATION_TIMEDOUT:
        return 1;
    default:
        return 0;
    }
}

/* One transfer of the prepared request through the multi handle. When `interruptible`, the
 * interrupt fd is watched too and the handler decides whether to give up the wait. */
static CURLcode transfer(runtime_api *api, int interruptible)
{
    CURLcode rc = CURLE_OK;
    if (curl_multi_add_handle(api->multi, api->curl) != CURLM_OK)
        return CURLE_FAILED_INIT;
    int running = 1;
    while (running) {
        if (curl_multi_perform(api->multi, &running) != CURLM_OK) {
            rc = CURLE_FAILED_INIT;
            break;
        }
        if (!running)
            break;
        struct curl_waitfd extra = {.fd = api->interrupt_fd, .events = CURL_WAIT_POLLIN, .revents = 0};
        int watch = interruptible && api->interrupt_fd >= 0;
        int ready = 0;
        if (curl_multi_poll(api->multi, watch ? &extra : NULL, watch ? 1 : 0, 1000, &ready) != CURLM_OK) {
            rc = CURLE_FAILED_INIT;
            break;
        }
        /* A closed interrupt fd (the handler's doing) makes poll return at once with POLLNVAL,
         * which libcurl does not pass on: without this the wait would spin. The callback is asked
         * as for a signal; it can replace the fd. */
        int lost = watch && !extra.revents && ready > 0 && fcntl(api->interrupt_fd, F_GETFD) < 0;
        if (watch && ((extra.revents & CURL_WAIT_POLLIN) || lost) && api->on_interrupt(api->interrupt_ctx)) {
            api->interrupted = 1;
            rc = CURLE_ABORTED_BY_CALLBACK;
            break;
        }
    }
    int left = 0;
    for (CURLMsg *m; (m = curl_multi_info_read(api->multi, &left));)
        if (m->msg == CURLMSG_DONE && m->easy_handle == api->curl && rc == CURLE_OK)
            rc = m->data.result;
    curl_multi_remove_handle(api->multi, api->curl);
    return rc;
}

/* Runs the prepared request, retrying transport failures. Returns the curl code of the
 * last attempt and the HTTP status in *status. */
static CURLcode perform(runtime_api *api, buffer *into, long *status, int interruptible)
{
    CURLcode rc = CURLE_OK;
    long delay = TRANSPORT_RETRY_FIRST_DELAY_MS;
    api->interrupted = 0;
    *status = 0;
    if (!api->curl || !api->multi)
        return CURLE_FAILED_INIT; /* runtime_api_reconnect failed: nothing to send with */
    for (int attempt = 0; attempt <= TRANSPORT_RETRIES; attempt++) {
        if (attempt > 0) {
            sleep_ms(delay);
            delay *= 2;
        }
        into->len = 0;
        if (into->data)
            into->data[0] = '\0';
        api->curl_error[0] = '\0';
        api->header_oom = 0;
        rc = transfer(api, interruptible);
        *status = 0;
        curl_easy_getinfo(api->curl, CURLINFO_RESPONSE_CODE, status);
        if (rc == CURLE_OK || api->interrupted || !transport_error_is_retryable(rc))
            break;
        /* A stream cannot be taken back from its source: retried only when nothing left. */
        if (api->stream && rc != CURLE_COULDNT_CONNECT)
            break;
    }
    return rc;
}

static const char *curl_message(runtime_api *api, CURLcode rc)
{
    return api->curl_error[0] ? api->curl_error : curl_easy_strerror(rc);
}

/* The libcurl handles: one easy handle (its options set once) driven by one multi handle. */
static int handles_create(runtime_api *api)
{
    api->curl = curl_easy_init();
    api->multi = curl_multi_init();
    if (!api->curl || !api->multi) {
        curl_multi_cleanup(api->multi);
        curl_easy_cleanup(api->curl);
        api->curl = NULL;
        api->multi = NULL;
        return -1;
    }
    CURL *c = api->curl;
    sockguard_attach(&api->sockets, c);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, api->curl_error);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 0L); /* the process may be frozen between invocations */
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 1000L);
    curl_easy_setopt(c, CURLOPT_TCP_NODELAY, 1L);
    curl_easy_setopt(c, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
    curl_easy_setopt(c, CURLOPT_PROXY, ""); /* never route the Runtime API through a proxy */
    curl_easy_setopt(c, CURLOPT_USERAGENT, USER_AGENT);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, api);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    return 0;
}

/* Lets the connections go: through sockguard, so only descriptors still ours are closed. */
static void handles_release(runtime_api *api)
{
    curl_multi_cleanup(api->multi);
    curl_easy_cleanup(api->curl);
    api->multi = NULL;
    api->curl = NULL;
}

runtime_api *runtime_api_new(const char *address, runtime_api_error *err)
{
    size_t len = address ? strlen(address) : 0;
    if (len == 0 || len >= MAX_ADDRESS || strpbrk(address, "/ \t\r\n?#@")) {
        error_set(err, 0, "invalid Runtime API address '%s': expected host:port", address ? address : "");
        return NULL;
    }
    if (curl_global_init(CURL_GLOBAL_NOTHING) != CURLE_OK) {
        error_set(err, 0, "libcurl failed to initialise");
        return NULL;
    }
    runtime_api *api = calloc(1, sizeof(*api));
    if (!api) {
        error_set(err, 0, "out of memory creating the Runtime API client");
        return NULL;
    }
    sockguard_init(&api->sockets);
    if (handles_create(api) != 0) {
        free(api);
        error_set(err, 0, "out of memory creating the Runtime API client");
        return NULL;
    }
    snprintf(api->next_url, sizeof(api->next_url), "http://%s/" API_VERSION "/runtime/invocation/next", address);
    snprintf(api->init_error_url, sizeof(api->init_error_url), "http://%s/" API_VERSION "/runtime/init/error",
             address);
    snprintf(api->invocation_url_prefix, sizeof(api->invocation_url_prefix),
             "http://%s/" API_VERSION "/runtime/invocation/", address);

    api->interrupt_fd = -1;
    return api;
}

int runtime_api_intact(const runtime_api *api)
{
    return sockguard_intact(&api->sockets);
}

int runtime_api_reconnect(runtime_api *api, runtime_api_error *err)
{
    /* The lost sockets are forgotten before their connections are let go (nothing of theirs is
     * closed), and before a new socket can take one of their numbers. */
    sockguard_drop_lost(&api->sockets);
    handles_release(api);
    if (handles_create(api) != 0) {
        error_set(err, 0, "out of memory recreating the Runtime API client");
        return -1;
    }
    return 0;
}

void runtime_api_free(runtime_api *api)
{
    if (!api)
        return;
    handles_release(api);
    free(api->body.data);
    free(api->reply.data);
    invocation_free(&api->inv);
    free(api);
}

void runtime_api_set_interrupt(runtime_api *api, int fd, runtime_api_interrupt_fn fn, void *ctx)
{
    api->interrupt_fd = fn ? fd : -1;
    api->on_interrupt = fn;
    api->interrupt_ctx = ctx;
}

runtime_api_status runtime_api_next(runtime_api *api, const invocation **out, runtime_api_error *err)
{
    CURL *c = api->curl;
    curl_easy_setopt(c, CURLOPT_URL, api->next_url);
    curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, NULL);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &api->body);

    invocation_reset(&api->inv);
    long status = 0;
    for (int attempt = 0;; attempt++) {
        api->capture_headers = 1;
        CURLcode rc = perform(api, &api->body, &status, 1);
        api->capture_headers = 0;
        if (api->interrupted) {
            error_set(err, 0, "stopped waiting for the next invocation: shutting down");
            return RUNTIME_API_INTERRUPTED;
        }
        if (rc != CURLE_OK) {
            error_set(err, status, "GET %s failed: %s", api->next_url, curl_message(api, rc));
            return RUNTIME_API_FATAL;
        }
        if (api->header_oom) {
            error_set(err, status, "GET %s: out of memory storing the headers", api->next_url);
            return RUNTIME_API_FATAL;
        }
        /* 500 is "non-recoverable, exit promptly" in the spec; other 5xx are worth a retry. So is
         * a 403 right after a stream whose connection broke on our side: the platform may not
         * have noticed yet that the invocation is over. */
        int retry = (status >= 501 && status <= 599) || (status == 403 && api->stream_cut);
        if (retry && attempt < TRANSPORT_RETRIES) {
            sleep_ms(TRANSPORT_RETRY_FIRST_DELAY_MS << attempt);
            continue;
        }
        break;
    }
    api->stream_cut = 0;
    if (status != 200) {
        error_set(err, status, "GET %s answered HTTP %ld: %.300s", api->next_url, status,
                  api->body.data ? api->body.data : "");
        return RUNTIME_API_FATAL;
    }
    invocation *inv = &api->inv;
    inv->body = api->body.data ? api->body.data : "";
    inv->body_len = api->body.len;
    inv->deadline = parse_deadline(&inv->deadline_ms);
    if (!inv->request_id.present) {
        error_set(err, status, "GET /next answered without a " RUNTIME_API_HEADER_REQUEST_ID " header");
        return RUNTIME_API_BAD_INVOCATION;
    }
    if (!runtime_api_request_id_valid(inv->request_id.value, inv->request_id.len)) {
        error_set(err, status, "GET /next answered with an unusable request id '%.300s'", inv->request_id.value);
        return RUNTIME_API_BAD_INVOCATION;
    }
    *out = inv;
    return RUNTIME_API_OK;
}

/* Sends a POST with the given extra headers and classifies the answer. */
static runtime_api_status post(runtime_api *api, const char *url, const char *body, size_t body_len,
                               struct curl_slist *headers, runtime_api_error *err)
{
    CURL *c = api->curl;
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_POST, 1L);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &api->reply);

    long status = 0;
    CURLcode rc = perform(api, &api->reply, &status, 0);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, NULL);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, NULL);
    if (rc != CURLE_OK) {
        error_set(err, status, "POST %s failed: %s", url, curl_message(api, rc));
        return RUNTIME_API_FATAL;
    }
    if (status >= 200 && status < 300)
        return RUNTIME_API_OK;
    error_set(err, status, "POST %s answered HTTP %ld: %.300s", url, status, api->reply.data ? api->reply.data : "");
    return (status >= 400 && status < 500) ? RUNTIME_API_REJECTED : RUNTIME_API_FATAL;
}

/* Header values must not carry line breaks: they would end the header. */
static int header_value_safe(const char *v)
{
    return v && !strpbrk(v, "\r\n");
}

static struct curl_slist *headers_add(struct curl_slist *list, int *failed, const char *name, const char *value)
{
    char line[XRAY_CAUSE_MAX + 128];
    snprintf(line, sizeof(line), "%s: %s", name, value);
    struct curl_slist *next = curl_slist_append(list, line);
    if (!next)
        *failed = 1;
    return next ? next : list;
}

static int post_url(runtime_api *api, const char *request_id, const char *what, runtime_api_error *err)
{
    if (!runtime_api_request_id_valid(request_id, strlen(request_id))) {
        error_set(err, 0, "refusing to post for an unusable request id '%.300s'", request_id);
        return -1;
    }
    snprintf(api->url, sizeof(api->url), "%s%s/%s", api->invocation_url_prefix, request_id, what);
    return 0;
}

runtime_api_status runtime_api_post_response(runtime_api *api, const char *request_id, const char *body,
                                             size_t body_len, const char *content_type, runtime_api_error *err)
{
    if (post_url(api, request_id, "response", err) != 0)
        return RUNTIME_API_REJECTED;
    int failed = 0;
    struct curl_slist *h = NULL;
    h = headers_add(h, &failed, "Content-Type",
                    header_value_safe(content_type) ? content_type : CONTENT_TYPE_JSON);
    h = headers_add(h, &failed, "Expect", "");
    runtime_api_status st = RUNTIME_API_FATAL;
    if (failed)
        error_set(err, 0, "out of memory building the response headers");
    else
        st = post(api, api->url, body, body_len, h, err);
    curl_slist_free_all(h);
    return st;
}

static runtime_api_status post_error_document(runtime_api *api, const char *url, const char *error_type,
                                              const char *body, size_t body_len, const char *xray_cause,
                                              runtime_api_error *err)
{
    int failed = 0;
    struct curl_slist *h = NULL;
    h = headers_add(h, &failed, "Content-Type", CONTENT_TYPE_ERROR);
    h = headers_add(h, &failed, "Expect", "");
    if (header_value_safe(error_type))
        h = headers_add(h, &failed, RUNTIME_API_HEADER_ERROR_TYPE, error_type);
    if (header_value_safe(xray_cause) && strlen(xray_cause) < XRAY_CAUSE_MAX)
        h = headers_add(h, &failed, RUNTIME_API_HEADER_XRAY_CAUSE, xray_cause);
    runtime_api_status st = RUNTIME_API_FATAL;
    if (failed)
        error_set(err, 0, "out of memory building the error headers");
    else
        st = post(api, url, body, body_len, h, err);
    curl_slist_free_all(h);
    return st;
}

runtime_api_status runtime_api_post_error(runtime_api *api, const char *request_id, const char *error_type,
                                          const char *body, size_t body_len, const char *xray_cause,
                                          runtime_api_error *err)
{
    if (post_url(api, request_id, "error", err) != 0)
        return RUNTIME_API_REJECTED;
    return post_error_document(api, api->url, error_type, body, body_len, xray_cause, err);
}

runtime_api_status runtime_api_post_init_error(runtime_api *api, const char *error_type, const char *body,
                                               size_t body_len, runtime_api_error *err)
{
    return post_error_document(api, api->init_error_url, error_type, body, body_len, NULL, err);
}

/* ---- streamed responses -------------------------------------------------------------- */

/* CURLOPT_READFUNCTION: the next piece of the stream. The source is asked for a chunk only
 * when the previous one is all in curl's hands, so nothing beyond one chunk waits here. */
static size_t on_stream_read(char *out, size_t size, size_t nitems, void *userdata)
{
    stream_source *s = userdata;
    while (s->sent == s->len) {
        if (s->ended)
            return 0; /* the last chunk: curl ends the body and asks for the trailers */
        const char *data = NULL;
        size_t len = 0;
        if (!s->next(s->ctx, &data, &len, &s->error_type, &s->error_body)) {
            s->ended = 1;
            s->data = NULL;
            s->len = s->sent = 0;
            return 0;
        }
        s->data = data;
        s->len = data ? len : 0;
        s->sent = 0;
        s->chunks++;
        if (!sockguard_intact(s->sockets)) {
            s->lost = 1; /* not one more byte to a descriptor that is not ours */
            return CURL_READFUNC_ABORT;
        }
    }
    size_t n = size * nitems;
    if (n > s->len - s->sent)
        n = s->len - s->sent;
    memcpy(out, s->data + s->sent, n);
    s->sent += n;
    return n;
}

/* CURLOPT_SEEKFUNCTION: curl rewinds the body when it resends the request on a fresh
 * connection (the kept-alive one was closed under it). Possible while the first chunk is the
 * only one taken and still valid. */
static int on_stream_seek(void *userdata, curl_off_t offset, int origin)
{
    stream_source *s = userdata;
    if (origin != SEEK_SET || offset != 0 || s->chunks > 1 || (s->ended && s->chunks > 0))
        return CURL_SEEKFUNC_CANTSEEK;
    s->sent = 0;
    if (s->chunks == 0)
        s->len = 0;
    return CURL_SEEKFUNC_OK;
}

/* CURLOPT_TRAILERFUNCTION: after the last chunk, the error of a stream that failed. */
static int on_stream_trailers(struct curl_slist **list, void *userdata)
{
    stream_source *s = userdata;
    if (!s->error_type || !header_value_safe(s->error_type))
        return CURL_TRAILERFUNC_OK;
    int failed = 0;
    struct curl_slist *t = headers_add(*list, &failed, RUNTIME_API_HEADER_ERROR_TYPE, s->error_type);
    if (s->error_body && header_value_safe(s->error_body) && strlen(s->error_body) < XRAY_CAUSE_MAX)
        t = headers_add(t, &failed, RUNTIME_API_HEADER_ERROR_BODY, s->error_body);
    *list = t;
    return failed ? CURL_TRAILERFUNC_ABORT : CURL_TRAILERFUNC_OK;
}

runtime_api_status runtime_api_post_stream(runtime_api *api, const char *request_id, const char *content_type,
                                           runtime_api_stream_fn next, void *ctx, runtime_api_error *err)
{
    if (post_url(api, request_id, "response", err) != 0)
        return RUNTIME_API_REJECTED;
    int failed = 0;
    struct curl_slist *h = NULL;
    h = headers_add(h, &failed, "Content-Type", header_value_safe(content_type) ? content_type : CONTENT_TYPE_STREAM);
    h = headers_add(h, &failed, RUNTIME_API_HEADER_RESPONSE_MODE, "streaming");
    h = headers_add(h, &failed, "Transfer-Encoding", "chunked");
    h = headers_add(h, &failed, "Trailer", RUNTIME_API_HEADER_ERROR_TYPE ", " RUNTIME_API_HEADER_ERROR_BODY);
    h = headers_add(h, &failed, "Expect", "");
    if (failed) {
        curl_slist_free_all(h);
        error_set(err, 0, "out of memory building the response headers");
        return RUNTIME_API_FATAL;
    }

    /* A handle of its own for each stream: libcurl 7.88 never resets a handle's trailer state,
     * so a second chunked upload with trailers on the same handle writes its chunk-size line in
     * front of the upload buffer (heap corruption). Driven through the same multi handle, it
     * still reuses the kept-alive connection. */
    CURL *c = curl_easy_duphandle(api->curl);
    if (!c) {
        curl_slist_free_all(h);
        error_set(err, 0, "out of memory creating the streaming request");
        return RUNTIME_API_FATAL;
    }
    stream_source source = {.next = next, .ctx = ctx, .sockets = &api->sockets};
    curl_easy_setopt(c, CURLOPT_URL, api->url);
    curl_easy_setopt(c, CURLOPT_POST, 1L);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, NULL);
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)-1);
    curl_easy_setopt(c, CURLOPT_READFUNCTION, on_stream_read);
    curl_easy_setopt(c, CURLOPT_READDATA, &source);
    curl_easy_setopt(c, CURLOPT_SEEKFUNCTION, on_stream_seek);
    curl_easy_setopt(c, CURLOPT_SEEKDATA, &source);
    curl_easy_setopt(c, CURLOPT_TRAILERFUNCTION, on_stream_trailers);
    curl_easy_setopt(c, CURLOPT_TRAILERDATA, &source);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &api->reply);

    long status = 0;
    CURL *main_handle = api->curl;
    api->curl = c;
    api->stream = &source;
    CURLcode rc = perform(api, &api->reply, &status, 0);
    api->stream = NULL;
    api->curl = main_handle;
    curl_easy_cleanup(c);
    curl_slist_free_all(h);
    api->stream_cut = source.lost || ((rc == CURLE_SEND_ERROR || rc == CURLE_RECV_ERROR) && source.chunks > 0);
    if (source.lost) {
        error_set(err, status, "POST %s (streamed): the handler closed or replaced the connection's descriptor "
                  "after %lu chunks; the stream was cut there", api->url, source.chunks);
        return RUNTIME_API_REJECTED;
    }
    /* A connection that breaks mid-stream is the platform ending the stream (over the size
     * limit, or the client gone): the invocation is over, the runtime goes on; /next tells
     * whether the Runtime API is still there. */
    if ((rc == CURLE_SEND_ERROR || rc == CURLE_RECV_ERROR) && source.chunks > 0) {
        error_set(err, status, "POST %s (streamed) broke off after %lu chunks: %s", api->url, source.chunks,
                  curl_message(api, rc));
        return RUNTIME_API_REJECTED;
    }
    if (rc != CURLE_OK) {
        error_set(err, status, "POST %s (streamed) failed: %s", api->url, curl_message(api, rc));
        return RUNTIME_API_FATAL;
    }
    if (status >= 200 && status < 300)
        return RUNTIME_API_OK;
    error_set(err, status, "POST %s (streamed) answered HTTP %ld: %.300s", api->url, status,
              api->reply.data ? api->reply.data : "");
    return (status >= 400 && status < 500) ? RUNTIME_API_REJECTED : RUNTIME_API_FATAL;
}
