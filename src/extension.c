/*
 * extension: registration as an internal Lambda extension, on a thread of its own, so that
 * Lambda delivers SIGTERM at shutdown (see include/extension.h).
 */
#define _POSIX_C_SOURCE 200809L
#include "extension.h"

#include <curl/curl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "sockguard.h"

#define USER_AGENT "aws-lambda-bootstrap-c/1.0"
#define MAX_ADDRESS 256
#define MAX_ID 256
/* curl needs little of it; the default 8 MiB would only cost address space. */
#define THREAD_STACK (256 * 1024)
/* A broken /event/next (the handler closed the connection's descriptor, say) is asked again on a
 * new connection, this many times in a row at most, the delay doubling from the first. */
#define NEXT_RETRIES 6
#define NEXT_RETRY_FIRST_DELAY_MS 20

typedef enum { PENDING, REGISTERED, FAILED } registration;

struct extension {
    pthread_mutex_t lock;
    pthread_cond_t answered;
    registration state;
    char message[512];
    char name[64];
    char register_url[MAX_ADDRESS + 64];
    char next_url[MAX_ADDRESS + 64];
    char id[MAX_ID];
    char reply[512]; /* the start of an answer's body, for messages */
    size_t reply_len;
    char curl_error[CURL_ERROR_SIZE];
    sockguard sockets; /* the connection's descriptor: never closed once it is not ours */
};

static void finish(extension *ext, registration state)
{
    pthread_mutex_lock(&ext->lock);
    ext->state = state;
    pthread_cond_broadcast(&ext->answered);
    pthread_mutex_unlock(&ext->lock);
}

/* Keeps the start of the body (for a message), drops the rest. */
static size_t on_body(char *data, size_t size, size_t nmemb, void *userdata)
{
    extension *ext = userdata;
    size_t len = size * nmemb;
    size_t room = sizeof(ext->reply) - 1 - ext->reply_len;
    size_t take = len < room ? len : room;
    memcpy(ext->reply + ext->reply_len, data, take);
    ext->reply_len += take;
    ext->reply[ext->reply_len] = '\0';
    return len;
}

static size_t on_header(char *data, size_t size, size_t nmemb, void *userdata)
{
    extension *ext = userdata;
    size_t len = size * nmemb;
    size_t name_len = strlen(EXTENSION_HEADER_ID);
    if (len > name_len + 1 && strncasecmp(data, EXTENSION_HEADER_ID, name_len) == 0 && data[name_len] == ':') {
        const char *v = data + name_len + 1, *end = data + len;
        while (v < end && (*v == ' ' || *v == '\t'))
            v++;
        while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' ' || end[-1] == '\t'))
            end--;
        size_t n = (size_t)(end - v);
        if (n > 0 && n < sizeof(ext->id) && !memchr(v, '\0', n)) {
            memcpy(ext->id, v, n);
            ext->id[n] = '\0';
        }
    }
    return len;
}

static long perform(extension *ext, CURL *c, CURLcode *rc)
{
    long status = 0;
    ext->reply_len = 0;
    ext->reply[0] = '\0';
    ext->curl_error[0] = '\0';
    *rc = curl_easy_perform(c);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    return status;
}

/* POST /extension/register. Returns 0 with ext->id set, or -1 with ext->message. */
static int do_register(extension *ext, CURL *c)
{
    char name_header[sizeof(ext->name) + 64];
    snprintf(name_header, sizeof(name_header), EXTENSION_HEADER_NAME ": %s", ext->name);
    struct curl_slist *h = NULL, *t;
    const char *lines[] = {name_header, "Content-Type: application/json", "Expect:"};
    for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
        if (!(t = curl_slist_append(h, lines[i]))) {
            curl_slist_free_all(h);
            snprintf(ext->message, sizeof(ext->message), "out of memory");
            return -1;
        }
        h = t;
    }
    static const char body[] = "{\"events\": []}";
    curl_easy_setopt(c, CURLOPT_URL, ext->register_url);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)(sizeof(body) - 1));
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    CURLcode rc;
    long status = perform(ext, c, &rc);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, NULL);
    curl_slist_free_all(h);
    if (rc != CURLE_OK) {
        snprintf(ext->message, sizeof(ext->message), "POST %s failed: %s", ext->register_url,
                 ext->curl_error[0] ? ext->curl_error : curl_easy_strerror(rc));
        return -1;
    }
    if (status != 200 || !ext->id[0]) {
        snprintf(ext->message, sizeof(ext->message), "POST %s answered HTTP %ld%s: %.200s", ext->register_url, status,
                 status == 200 ? " without " EXTENSION_HEADER_ID : "", ext->reply);
        return -1;
    }
    return 0;
}

static void *run(void *arg)
{
    extension *ext = arg;
    CURL *c = curl_easy_init();
    if (!c) {
        snprintf(ext->message, sizeof(ext->message), "out of memory creating the Extensions API client");
        finish(ext, FAILED);
        return NULL;
    }
    sockguard_attach(&ext->sockets, c);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, ext->curl_error);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 0L); /* event/next waits as long as the process lives */
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 1000L);
    curl_easy_setopt(c, CURLOPT_TCP_NODELAY, 1L);
    curl_easy_setopt(c, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
    curl_easy_setopt(c, CURLOPT_PROXY, "");
    curl_easy_setopt(c, CURLOPT_USERAGENT, USER_AGENT);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, ext);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, ext);

    if (do_register(ext, c) != 0) {
        curl_easy_cleanup(c);
        finish(ext, FAILED);
        return NULL;
    }
    finish(ext, REGISTERED);

    /* Parked here until the process ends. With no events subscribed, none should come; one
     * that does is acknowledged by asking for the next. Lambda counts an invocation as done when
     * the runtime and every extension wait in their next, so a broken connection (the handler
     * may have closed its descriptor) is replaced; an answer other than 200, or the platform gone,
     * ends the thread: the registration stands, and SIGTERM still comes. */
    char id_header[MAX_ID + 64];
    snprintf(id_header, sizeof(id_header), EXTENSION_HEADER_ID ": %s", ext->id);
    struct curl_slist *h = curl_slist_append(NULL, id_header);
    curl_easy_setopt(c, CURLOPT_URL, ext->next_url);
    curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    for (int failures = 0; h && failures <= NEXT_RETRIES;) {
        CURLcode rc;
        long status = perform(ext, c, &rc);
        if (rc == CURLE_OK && status != 200)
            break;
        if (rc == CURLE_OK) {
            failures = 0;
            continue;
        }
        struct timespec delay = {0, (NEXT_RETRY_FIRST_DELAY_MS * 1000000L) << failures};
        while (delay.tv_nsec >= 1000000000L) {
            delay.tv_sec++;
            delay.tv_nsec -= 1000000000L;
        }
        nanosleep(&delay, NULL);
        failures++;
    }
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, NULL);
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    return NULL;
}

/* The extension lives as long as the process, even when its thread has ended (registration
 * refused): this keeps it reachable, so leak checkers do not report it at exit. */
static extension *volatile the_extension;

extension *extension_start(const char *address, const char *name, char *msg, size_t msg_len)
{
    if (!address || !*address || strlen(address) >= MAX_ADDRESS || strpbrk(address, "/ \t\r\n?#@")) {
        snprintf(msg, msg_len, "invalid Runtime API address '%s'", address ? address : "");
        return NULL;
    }
    extension *ext = calloc(1, sizeof(*ext));
    if (!ext) {
        snprintf(msg, msg_len, "out of memory");
        return NULL;
    }
    sockguard_init(&ext->sockets);
    snprintf(ext->name, sizeof(ext->name), "%s", name);
    snprintf(ext->register_url, sizeof(ext->register_url), "http://%s/" EXTENSION_API_VERSION "/extension/register",
             address);
    snprintf(ext->next_url, sizeof(ext->next_url), "http://%s/" EXTENSION_API_VERSION "/extension/event/next",
             address);
    pthread_condattr_t cattr;
    pthread_condattr_init(&cattr);
    pthread_condattr_setclock(&cattr, CLOCK_MONOTONIC);
    pthread_mutex_init(&ext->lock, NULL);
    pthread_cond_init(&ext->answered, &cattr);
    pthread_condattr_destroy(&cattr);

    /* Signals are the main thread's business (Python runs its handlers there): the new
     * thread starts with all of them blocked. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, THREAD_STACK);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    pthread_t thread;
    int rc = pthread_create(&thread, &attr, run, ext);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    pthread_attr_destroy(&attr);
    if (rc != 0) {
        snprintf(msg, msg_len, "cannot start a thread: %s", strerror(rc));
        free(ext);
        return NULL;
    }
    the_extension = ext;
    return ext;
}

void extension_close_inherited(extension *ext)
{
    sockguard_close_all(&ext->sockets);
}

int extension_wait_registered(extension *ext, long timeout_ms, char *msg, size_t msg_len)
{
    struct timespec until;
    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_sec += timeout_ms / 1000;
    until.tv_nsec += (timeout_ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&ext->lock);
    while (ext->state == PENDING)
        if (pthread_cond_timedwait(&ext->answered, &ext->lock, &until) != 0)
            break;
    registration state = ext->state;
    if (state == FAILED)
        snprintf(msg, msg_len, "%s", ext->message);
    else if (state == PENDING)
        snprintf(msg, msg_len, "no answer from %s within %ld ms", ext->register_url, timeout_ms);
    pthread_mutex_unlock(&ext->lock);
    return state == REGISTERED ? 0 : -1;
}
