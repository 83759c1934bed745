/*
 * crash: the report a fatal signal leaves behind (see include/crash.h).
 *
 * Everything the signal handler touches is prepared beforehand and static: the address, the
 * request head (per invocation, in one of two buffers published with an atomic store), and the
 * buffers the report is assembled in (zero pages in .bss until a crash writes them). The handler
 * itself calls only async-signal-safe functions (pread, write, socket, connect, setsockopt, read,
 * close, clock_gettime, getpid, sigaction, sigprocmask, raise, _exit) and string code of its own.
 */
#define _GNU_SOURCE
#include "crash.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "fdguard.h"
#include "python.h"

#define API_VERSION "2018-06-01"
#define USER_AGENT "aws-lambda-bootstrap-c/1.0"
#define MAX_ADDRESS 256
/* faulthandler writes at most 100 frames of at most ~1 KB each (names cut at 500 characters). */
#define TRACE_MAX (128 * 1024)
#define MAX_FRAMES 128
/* A JSON-escaped entry can be up to 6 times its raw size (\u00XX); the frames are ASCII. */
#define BODY_MAX (4 * TRACE_MAX)
#define LOG_MAX (4 * TRACE_MAX)
#define HEAD_MAX (MAX_ADDRESS + CRASH_MAX_REQUEST_ID + 512)
/* How long the handler waits for the Runtime API to take the report. */
#define POST_TIMEOUT_S 2

static const int fatal_signals[] = {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT};

/* ---- state prepared before any crash ---------------------------------------------------- */

typedef enum { ADDRESS_NONE, ADDRESS_READY, ADDRESS_TO_RESOLVE } address_state;

static struct {
    int installed;
    int log_json;
    pid_t owner; /* the process whose invocations are armed; its forks report nothing */
    crash_reported_fn reported;
    fdguard trace; /* the file faulthandler writes into */
    address_state address;
    char host[MAX_ADDRESS];
    char port[16];
    struct sockaddr_storage addr;
    socklen_t addr_len;
    char head_rest[MAX_ADDRESS + 256]; /* " HTTP/1.1\r\nHost: ...\r\n...Content-Length: " */
    size_t head_rest_len;
} crash;

/* What a fatal signal posts: the request head up to the Content-Length value, and the id. */
typedef struct {
    char head[HEAD_MAX];
    size_t head_len;
    char request_id[CRASH_MAX_REQUEST_ID + 1];
} report_target;

static report_target targets[2];
static report_target *armed; /* read and written with __atomic builtins */
static int next_target;

/* The handler's working memory (one crash per process). */
static char trace_text[TRACE_MAX];
static char message_text[512 + CRASH_MAX_REQUEST_ID];
static char body_text[BODY_MAX];
static char log_text[LOG_MAX];
static char answer_text[512];
static int handling;

/* ---- bounded string building, async-signal-safe ------------------------------------------- */

typedef struct {
    char *data;
    size_t len;
    size_t cap; /* data[cap - 1] is kept for the NUL */
} text;

static size_t length_of(const char *s)
{
    size_t n = 0;
    while (s[n])
        n++;
    return n;
}

static void text_put(text *t, const char *s, size_t n)
{
    for (size_t i = 0; i < n && t->len + 1 < t->cap; i++)
        t->data[t->len++] = s[i];
    t->data[t->len] = '\0';
}

static void text_add(text *t, const char *s)
{
    text_put(t, s, length_of(s));
}

static void text_number(text *t, unsigned long v, int min_digits)
{
    char digits[24];
    int n = 0;
    do {
        digits[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v && n < (int)sizeof(digits));
    while (n < min_digits && n < (int)sizeof(digits))
        digits[n++] = '0';
    while (n > 0)
        text_put(t, &digits[--n], 1);
}

/* A JSON string (quotes included). The input is ASCII here (faulthandler escapes the rest), but
 * any byte is written validly: control characters and non-ASCII bytes as \u00XX. */
static void text_json_string(text *t, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    text_put(t, "\"", 1);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\') {
            char esc[2] = {'\\', (char)c};
            text_put(t, esc, 2);
        } else if (c == '\n') {
            text_put(t, "\\n", 2);
        } else if (c < 0x20 || c >= 0x7f) {
            char esc[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
            text_put(t, esc, 6);
        } else {
            text_put(t, (const char *)&c, 1);
        }
    }
    text_put(t, "\"", 1);
}

static int starts_with(const char *s, size_t n, const char *prefix)
{
    size_t p = length_of(prefix);
    if (n < p)
        return 0;
    for (size_t i = 0; i < p; i++)
        if (s[i] != prefix[i])
            return 0;
    return 1;
}

static const char *find(const char *s, size_t n, const char *needle)
{
    size_t k = length_of(needle);
    for (size_t i = 0; k <= n && i <= n - k; i++)
        if (starts_with(s + i, n - i, needle))
            return s + i;
    return NULL;
}

/* ---- faulthandler's text -> frames ------------------------------------------------------- */

/* One frame line: `  File "<file>", line <n> in <function>` (the file may be ??? unquoted and
 * the line ???). */
typedef struct {
    const char *file, *line, *function;
    size_t file_len, line_len, function_len;
} frame;

static int frame_parse(const char *s, size_t n, frame *f)
{
    static const char lead[] = "  File ";
    if (!starts_with(s, n, lead))
        return 0;
    s += sizeof(lead) - 1;
    n -= sizeof(lead) - 1;
    int quoted = n > 0 && s[0] == '"';
    const char *file_end = find(s, n, quoted ? "\", line " : ", line ");
    if (!file_end)
        return 0;
    f->file = s + quoted;
    f->file_len = (size_t)(file_end - f->file);
    const char *rest = file_end + (quoted ? 8 : 7);
    size_t rest_len = n - (size_t)(rest - s);
    const char *in = find(rest, rest_len, " in ");
    if (!in)
        return 0;
    f->line = rest;
    f->line_len = (size_t)(in - rest);
    f->function = in + 4;
    f->function_len = rest_len - (size_t)(f->function - rest);
    return 1;
}

static int frame_is_runtime(const frame *f)
{
    return starts_with(f->file, f->file_len, PYTHON_RUNTIME_DIR);
}

/* The user's frames of the traceback, oldest first (faulthandler writes the newest first). */
static int frames_of(const char *s, size_t n, frame *out, int max)
{
    static frame newest_first[MAX_FRAMES]; /* static: the handler may run on a small signal stack */
    int count = 0;
    size_t start = 0;
    for (size_t i = 0; i <= n && count < MAX_FRAMES; i++) {
        if (i < n && s[i] != '\n')
            continue;
        frame f;
        if (frame_parse(s + start, i - start, &f) && !frame_is_runtime(&f))
            newest_first[count++] = f;
        start = i + 1;
    }
    int kept = count < max ? count : max;
    for (int i = 0; i < kept; i++)
        out[i] = newest_first[count - 1 - i];
    return kept;
}

/* `  File "<file>", line <n>, in <function>\n`, as traceback.format_list writes an entry. */
static void text_frame(text *t, const frame *f, const char *indent)
{
    text_add(t, indent);
    text_add(t, indent);
    text_add(t, "File \"");
    text_put(t, f->file, f->file_len);
    text_add(t, "\", line ");
    text_put(t, f->line, f->line_len);
    text_add(t, ", in ");
    text_put(t, f->function, f->function_len);
}

static void text_stack_json(text *t, const frame *frames, int count)
{
    static char entry[2048 + 64];
    text_add(t, "[");
    for (int i = 0; i < count; i++) {
        text e = {entry, 0, sizeof(entry)};
        text_frame(&e, &frames[i], " ");
        text_add(&e, "\n");
        if (i > 0)
            text_add(t, ", ");
        text_json_string(t, e.data, e.len);
    }
    text_add(t, "]");
}

size_t crash_format_stack(const char *faulthandler_text, size_t text_len, char *out, size_t out_len)
{
    if (out_len == 0)
        return 0;
    static frame frames[MAX_FRAMES];
    int count = frames_of(faulthandler_text, text_len, frames, MAX_FRAMES);
    text t = {out, 0, out_len};
    out[0] = '\0';
    text_stack_json(&t, frames, count);
    return t.len;
}

/* ---- the report ------------------------------------------------------------------------- */

static const char *signal_description(int sig, const char **name)
{
    switch (sig) {
    case SIGSEGV: *name = "SIGSEGV"; return "segmentation fault";
    case SIGBUS: *name = "SIGBUS"; return "bus error";
    case SIGILL: *name = "SIGILL"; return "illegal instruction";
    case SIGFPE: *name = "SIGFPE"; return "floating point exception";
    case SIGABRT: *name = "SIGABRT"; return "aborted";
    default: *name = "SIG?"; return "fatal signal";
    }
}

/* "YYYY-MM-DDTHH:MM:SS" in UTC, as runtime.py's error records carry it. */
static void text_timestamp(text *t)
{
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    long days = (long)(now.tv_sec / 86400), secs = (long)(now.tv_sec % 86400);
    /* civil date from days since 1970-01-01 (Howard Hinnant's algorithm) */
    long z = days + 719468, era = z / 146097;
    long doe = z - era * 146097;
    long yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    long doy = doe - (365 * yoe + yoe / 4 - yoe / 100), mp = (5 * doy + 2) / 153;
    long d = doy - (153 * mp + 2) / 5 + 1, m = mp < 10 ? mp + 3 : mp - 9, y = yoe + era * 400 + (m <= 2);
    text_number(t, (unsigned long)y, 4);
    text_add(t, "-");
    text_number(t, (unsigned long)m, 2);
    text_add(t, "-");
    text_number(t, (unsigned long)d, 2);
    text_add(t, "T");
    text_number(t, (unsigned long)(secs / 3600), 2);
    text_add(t, ":");
    text_number(t, (unsigned long)(secs / 60 % 60), 2);
    text_add(t, ":");
    text_number(t, (unsigned long)(secs % 60), 2);
}

/* The error document's fields after the opening brace (shared by the body and the JSON log). */
static void text_error_fields(text *t, const char *message, const char *request_id, const frame *frames, int count)
{
    text_add(t, "\"errorMessage\": ");
    text_json_string(t, message, length_of(message));
    text_add(t, ", \"errorType\": \"" CRASH_ERROR_TYPE "\", \"requestId\": ");
    text_json_string(t, request_id, length_of(request_id));
    text_add(t, ", \"stackTrace\": ");
    text_stack_json(t, frames, count);
    text_add(t, "}");
}

/* One log event: runtime.py's format for errors (lines joined with \r, indentation as
 * no-break spaces) or its JSON record. */
static void text_log_event(text *t, const char *message, const char *request_id, const frame *frames, int count)
{
    if (crash.log_json) {
        text_add(t, "{\"timestamp\": \"");
        text_timestamp(t);
        text_add(t, "\", \"level\": \"ERROR\", ");
        text_error_fields(t, message, request_id, frames, count);
    } else {
        text_add(t, "[ERROR] " CRASH_ERROR_TYPE ": ");
        text_add(t, message);
        text_add(t, "\rTraceback (most recent call last):");
        for (int i = 0; i < count; i++) {
            text_add(t, "\r");
            text_frame(t, &frames[i], "\xc2\xa0");
        }
    }
    /* cut short, the event still ends its line */
    if (t->len + 1 >= t->cap && t->len > 0)
        t->len--;
    text_add(t, "\n");
}

static void write_all(int fd, const char *data, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, data, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return;
        data += n;
        len -= (size_t)n;
    }
}

/* "bootstrap: could not post the crash report: <what> failed (errno N)", or with the answer's
 * status line when the Runtime API refused the report. */
static void log_failure(const char *what, int err, const char *answer, size_t answer_len)
{
    static char line[512];
    text t = {line, 0, sizeof(line)};
    text_add(&t, "bootstrap: could not post the crash report: ");
    if (answer) {
        const char *end = find(answer, answer_len, "\r\n");
        text_add(&t, "the Runtime API answered ");
        text_put(&t, answer, end ? (size_t)(end - answer) : answer_len);
    } else {
        text_add(&t, what);
        text_add(&t, " failed (errno ");
        text_number(&t, (unsigned long)err, 1);
        text_add(&t, ")");
    }
    text_add(&t, "\n");
    write_all(2, t.data, t.len);
}

/* A raw HTTP/1.1 POST on a connection of its own; waits (bounded) for the status line so that
 * the Runtime API has the report before the process is gone. */
static void post_report(const report_target *target, const char *body, size_t body_len)
{
    int s = socket(crash.addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (s < 0) {
        log_failure("socket", errno, NULL, 0);
        return;
    }
    struct timeval timeout = {POST_TIMEOUT_S, 0};
    setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof(timeout)); /* also bounds connect */
    setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
    if (connect(s, (const struct sockaddr *)&crash.addr, crash.addr_len) != 0) {
        log_failure("connect", errno, NULL, 0);
        close(s);
        return;
    }
    static char length_line[32];
    text t = {length_line, 0, sizeof(length_line)};
    text_number(&t, (unsigned long)body_len, 1);
    text_add(&t, "\r\n\r\n");
    write_all(s, target->head, target->head_len);
    write_all(s, t.data, t.len);
    write_all(s, body, body_len);
    size_t got = 0;
    while (got + 1 < sizeof(answer_text)) {
        ssize_t n = read(s, answer_text + got, sizeof(answer_text) - 1 - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        got += (size_t)n;
        if (find(answer_text, got, "\r\n"))
            break;
    }
    if (got == 0)
        log_failure("waiting for the answer", errno, NULL, 0);
    else if (!starts_with(answer_text, got, "HTTP/1.1 2") && !starts_with(answer_text, got, "HTTP/1.0 2"))
        log_failure(NULL, 0, answer_text, got);
    close(s);
}

static void report(int sig)
{
    ssize_t n = crash.trace.fd >= 0 ? pread(crash.trace.fd, trace_text, sizeof(trace_text) - 1, 0) : -1;
    size_t trace_len = n > 0 ? (size_t)n : 0;
    static frame frames[MAX_FRAMES];
    int count = frames_of(trace_text, trace_len, frames, MAX_FRAMES);

    report_target *target = getpid() == crash.owner ? __atomic_load_n(&armed, __ATOMIC_ACQUIRE) : NULL;
    const char *request_id = target ? target->request_id : "";
    const char *name;
    const char *description = signal_description(sig, &name);
    text message = {message_text, 0, sizeof(message_text)};
    if (request_id[0]) {
        text_add(&message, "RequestId: ");
        text_add(&message, request_id);
        text_add(&message, " Error: ");
    }
    text_add(&message, "Runtime exited with error: signal: ");
    text_add(&message, description);
    text_add(&message, " (");
    text_add(&message, name);
    text_add(&message, ")");

    text log = {log_text, 0, sizeof(log_text)};
    text_log_event(&log, message.data, request_id, frames, count);
    write_all(2, log.data, log.len);

    if (!target || crash.address != ADDRESS_READY)
        return;
    if (crash.reported)
        crash.reported(request_id);
    text body = {body_text, 0, sizeof(body_text)};
    text_add(&body, "{");
    text_error_fields(&body, message.data, request_id, frames, count);
    post_report(target, body.data, body.len);
}

/* Ends the process with the signal, as it would have ended without us. */
static void die(int sig)
{
    struct sigaction dfl;
    memset(&dfl, 0, sizeof(dfl));
    dfl.sa_handler = SIG_DFL;
    sigemptyset(&dfl.sa_mask);
    sigaction(sig, &dfl, NULL);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, sig);
    sigprocmask(SIG_UNBLOCK, &set, NULL);
    raise(sig);
    _exit(128 + sig);
}

static void on_fatal_signal(int sig, siginfo_t *info, void *context)
{
    (void)info;
    (void)context;
    int saved = errno;
    /* One report per process: a second thread crashing meanwhile waits for the first to end it. */
    if (__atomic_exchange_n(&handling, 1, __ATOMIC_ACQ_REL)) {
        for (;;)
            pause();
    }
    report(sig);
    errno = saved;
    die(sig);
}

/* ---- setup, outside any signal handler ------------------------------------------------------ */

/* An anonymous file: memfd_create (through syscall: glibc has the wrapper only from 2.27), else an
 * unnamed file in /tmp. */
static int traceback_file(void)
{
    int fd = -1;
#ifdef SYS_memfd_create
    fd = (int)syscall(SYS_memfd_create, "bootstrap-crash-traceback", 1U /* MFD_CLOEXEC */);
#endif
#ifdef O_TMPFILE
    if (fd < 0)
        fd = open("/tmp", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
#endif
    return fd;
}

/* host:port, with [v6]:port; a numeric host is ready at once, a name is resolved later. */
static void address_parse(const char *address)
{
    const char *colon = strrchr(address, ':');
    if (!colon || colon == address || strlen(colon + 1) >= sizeof(crash.port) || strlen(address) >= MAX_ADDRESS)
        return;
    size_t host_len = (size_t)(colon - address);
    const char *host = address;
    if (host[0] == '[' && host_len >= 2 && host[host_len - 1] == ']') {
        host++;
        host_len -= 2;
    }
    memcpy(crash.host, host, host_len);
    crash.host[host_len] = '\0';
    snprintf(crash.port, sizeof(crash.port), "%s", colon + 1);
    char *end = NULL;
    long port = strtol(crash.port, &end, 10);
    if (!end || *end || port <= 0 || port > 65535)
        return;
    struct sockaddr_in *v4 = (struct sockaddr_in *)&crash.addr;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&crash.addr;
    if (inet_pton(AF_INET, crash.host, &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons((unsigned short)port);
        crash.addr_len = sizeof(*v4);
        crash.address = ADDRESS_READY;
    } else if (inet_pton(AF_INET6, crash.host, &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons((unsigned short)port);
        crash.addr_len = sizeof(*v6);
        crash.address = ADDRESS_READY;
    } else {
        crash.address = ADDRESS_TO_RESOLVE;
    }
}

static void address_resolve(void)
{
    struct addrinfo hints, *found = NULL;
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV;
    crash.address = ADDRESS_NONE;
    if (getaddrinfo(crash.host, crash.port, &hints, &found) != 0 || !found)
        return;
    if (found->ai_addrlen <= sizeof(crash.addr)) {
        memcpy(&crash.addr, found->ai_addr, found->ai_addrlen);
        crash.addr_len = found->ai_addrlen;
        crash.address = ADDRESS_READY;
    }
    freeaddrinfo(found);
}

int crash_install(const char *address, int log_json, char *msg, size_t msg_len)
{
    crash.log_json = log_json;
    crash.owner = getpid();
    fdguard_forget(&crash.trace);
    if (address)
        address_parse(address);
    int n = snprintf(crash.head_rest, sizeof(crash.head_rest),
                     " HTTP/1.1\r\nHost: %s\r\nUser-Agent: " USER_AGENT "\r\n"
                     "Content-Type: application/vnd.aws.lambda.error+json\r\n"
                     "Lambda-Runtime-Function-Error-Type: " CRASH_ERROR_TYPE "\r\n"
                     "Connection: close\r\nContent-Length: ",
                     address ? address : "");
    crash.head_rest_len = n > 0 && (size_t)n < sizeof(crash.head_rest) ? (size_t)n : 0;

    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_sigaction = on_fatal_signal;
    sigemptyset(&sa.sa_mask);
    /* RESETHAND: a fault inside the handler ends the process at once; NODEFER: faulthandler
     * raises the signal again from inside its own handler and expects it delivered. */
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_RESETHAND | SA_NODEFER;
    for (size_t i = 0; i < sizeof(fatal_signals) / sizeof(fatal_signals[0]); i++)
        sigaction(fatal_signals[i], &sa, NULL);
    crash.installed = 1;

    if (crash_renew_traceback_fd() < 0) {
        snprintf(msg, msg_len, "no file for crash tracebacks (memfd_create and O_TMPFILE in /tmp failed: %s); "
                 "crash reports will carry no Python traceback", strerror(errno));
        return -1;
    }
    return 0;
}

int crash_traceback_fd(void)
{
    return crash.trace.fd;
}

int crash_traceback_fd_intact(void)
{
    return fdguard_intact(&crash.trace);
}

int crash_renew_traceback_fd(void)
{
    fdguard_close(&crash.trace);
    int fd = traceback_file();
    if (fd >= 0 && fdguard_take(&crash.trace, fd) != 0)
        close(fd);
    return crash.trace.fd;
}

/* Fills the spare target and publishes it. */
static void arm(const char *path_head, const char *request_id, const char *path_tail)
{
    if (!crash.installed || crash.head_rest_len == 0)
        return;
    report_target *t = &targets[next_target];
    next_target ^= 1;
    size_t id_len = strlen(request_id);
    size_t a = strlen(path_head), c = strlen(path_tail);
    if (id_len > CRASH_MAX_REQUEST_ID || 5 + a + id_len + c + crash.head_rest_len > sizeof(t->head)) {
        crash_disarm();
        return;
    }
    char *p = t->head;
    memcpy(p, "POST ", 5);
    memcpy(p += 5, path_head, a);
    memcpy(p += a, request_id, id_len);
    memcpy(p += id_len, path_tail, c);
    memcpy(p += c, crash.head_rest, crash.head_rest_len);
    t->head_len = (size_t)(p - t->head) + crash.head_rest_len;
    memcpy(t->request_id, request_id, id_len + 1);
    __atomic_store_n(&armed, t, __ATOMIC_RELEASE);
}

void crash_arm_init(void)
{
    arm("/" API_VERSION "/runtime/init/error", "", "");
}

void crash_arm_invocation(const char *request_id)
{
    if (crash.address == ADDRESS_TO_RESOLVE)
        address_resolve(); /* once: a name (not an IP) in AWS_LAMBDA_RUNTIME_API */
    arm("/" API_VERSION "/runtime/invocation/", request_id, "/error");
}

void crash_adopt_process(crash_reported_fn reported)
{
    crash.owner = getpid();
    crash.reported = reported;
}

void crash_disarm(void)
{
    __atomic_store_n(&armed, NULL, __ATOMIC_RELEASE);
}
