/* floor: the Runtime API loop in C with no Python at all.
 *
 * It does what the bootstrap's loop does on the wire (one reused libcurl
 * easy handle, one keep-alive connection, GET /next then POST /response)
 * and its "handler" echoes the event body. Whatever the bootstrap costs on
 * top of this is the price of Python and of the glue, which is the number
 * the benchmark targets are written against.
 *
 * It stops on the first transport error or non-2xx answer; the driver ends
 * it with SIGKILL, like Lambda ends a runtime. */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct floor_buf {
    char *p;
    size_t len, cap;
};

struct floor {
    CURL *h;
    struct curl_slist *post_headers;
    struct floor_buf body;    /* the event of the current invocation */
    struct floor_buf scratch; /* bodies of the 202 answers, ignored */
    char id[128];
    char next_url[256];
    char base[200];
};

static size_t floor_on_body(char *data, size_t size, size_t n, void *ud)
{
    struct floor_buf *b = ud;
    size_t len = size * n;
    if (b->cap - b->len < len + 1) {
        size_t cap = b->cap ? b->cap : 65536;
        while (cap - b->len < len + 1)
            cap *= 2;
        char *p = realloc(b->p, cap);
        if (!p)
            return 0; /* makes curl fail the transfer: an error value, not a crash */
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, data, len);
    b->len += len;
    return len;
}

static size_t floor_on_header(char *line, size_t size, size_t n, void *ud)
{
    struct floor *f = ud;
    size_t len = size * n;
    static const char key[] = "Lambda-Runtime-Aws-Request-Id:";
    size_t kl = sizeof(key) - 1;
    if (len > kl && strncasecmp(line, key, kl) == 0) {
        const char *v = line + kl;
        size_t vl = len - kl;
        while (vl && (*v == ' ' || *v == '\t'))
            v++, vl--;
        while (vl && (v[vl - 1] == '\r' || v[vl - 1] == '\n' || v[vl - 1] == ' '))
            vl--;
        if (vl >= sizeof(f->id))
            return 0;
        memcpy(f->id, v, vl);
        f->id[vl] = '\0';
    }
    return len;
}

static int floor_init(struct floor *f, const char *api)
{
    memset(f, 0, sizeof(*f));
    snprintf(f->base, sizeof(f->base), "http://%s/2018-06-01/runtime", api);
    snprintf(f->next_url, sizeof(f->next_url), "%s/invocation/next", f->base);
    if (curl_global_init(CURL_GLOBAL_NOTHING))
        return -1;
    f->h = curl_easy_init();
    if (!f->h)
        return -1;
    /* The settings every serious runtime client uses: no timeout on /next
     * (the sandbox may be frozen between invokes), no proxy, no signals,
     * Nagle off, no "Expect: 100-continue" round trip on large bodies. */
    curl_easy_setopt(f->h, CURLOPT_TIMEOUT, 0L);
    curl_easy_setopt(f->h, CURLOPT_CONNECTTIMEOUT_MS, 1000L);
    curl_easy_setopt(f->h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(f->h, CURLOPT_TCP_NODELAY, 1L);
    curl_easy_setopt(f->h, CURLOPT_PROXY, "");
    curl_easy_setopt(f->h, CURLOPT_WRITEFUNCTION, floor_on_body);
    curl_easy_setopt(f->h, CURLOPT_HEADERFUNCTION, floor_on_header);
    curl_easy_setopt(f->h, CURLOPT_HEADERDATA, f);
    f->post_headers = curl_slist_append(NULL, "Content-Type: application/json");
    f->post_headers = curl_slist_append(f->post_headers, "Expect:");
    return f->post_headers ? 0 : -1;
}

static int floor_status_ok(struct floor *f, CURLcode rc, const char *what)
{
    long code = 0;
    curl_easy_getinfo(f->h, CURLINFO_RESPONSE_CODE, &code);
    if (rc == CURLE_OK && code >= 200 && code < 300)
        return 0;
    fprintf(stderr, "floor: %s: %s (HTTP %ld)\n", what, curl_easy_strerror(rc), code);
    return -1;
}

static int floor_next(struct floor *f)
{
    f->body.len = 0;
    f->id[0] = '\0';
    curl_easy_setopt(f->h, CURLOPT_URL, f->next_url);
    curl_easy_setopt(f->h, CURLOPT_WRITEDATA, &f->body);
    curl_easy_setopt(f->h, CURLOPT_HTTPGET, 1L);
    curl_easy_setopt(f->h, CURLOPT_HTTPHEADER, NULL);
    if (floor_status_ok(f, curl_easy_perform(f->h), "GET /next"))
        return -1;
    return f->id[0] ? 0 : -1;
}

/* The "handler": answer with the event body, unchanged. curl writes the
 * answer to the POST into a separate scratch buffer, so the event can be sent
 * straight from the buffer it arrived in; both are reused across invokes. */
static int floor_respond(struct floor *f)
{
    char url[512];
    snprintf(url, sizeof(url), "%s/invocation/%s/response", f->base, f->id);
    f->scratch.len = 0;
    curl_easy_setopt(f->h, CURLOPT_URL, url);
    curl_easy_setopt(f->h, CURLOPT_WRITEDATA, &f->scratch);
    curl_easy_setopt(f->h, CURLOPT_POSTFIELDS, f->body.p ? f->body.p : "");
    curl_easy_setopt(f->h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)f->body.len);
    curl_easy_setopt(f->h, CURLOPT_HTTPHEADER, f->post_headers);
    return floor_status_ok(f, curl_easy_perform(f->h), "POST /response");
}

int main(int argc, char **argv)
{
    if (argc > 1 && !strcmp(argv[1], "--version")) {
        printf("%s\n", curl_version());
        return 0;
    }
    const char *api = getenv("AWS_LAMBDA_RUNTIME_API");
    struct floor f;
    if (floor_init(&f, api ? api : "127.0.0.1:9001")) {
        fprintf(stderr, "floor: libcurl init failed\n");
        return 1;
    }
    /* Ends on the first failure (the driver going away is one). */
    while (floor_next(&f) == 0 && floor_respond(&f) == 0)
        ;
    return 1;
}
