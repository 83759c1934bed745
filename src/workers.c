/*
 * workers: Managed Instances' N workers forked after init, and their supervisor (see
 * include/workers.h).
 *
 * What the supervisor must know of each worker lives in memory shared with it (one slot each):
 * the invocation it serves, and whether that invocation has been answered or reported. The
 * supervisor learns of a worker's end (SIGCHLD) and of SIGTERM or SIGINT through handlers of its
 * own that write a byte on a pipe, and waits on it with poll.
 */
#define _GNU_SOURCE
#include "workers.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_REQUEST_ID 256
/* A worker that ends sooner than this after its start is replaced after a delay that doubles
 * (from the first to the last), so a worker that cannot start does not spin the CPU. */
#define QUICK_END_MS 1000
#define RESTART_FIRST_DELAY_MS 10
#define RESTART_MAX_DELAY_MS 1000

typedef enum { SLOT_IDLE, SLOT_BUSY, SLOT_REPORTED } slot_state;

/* One worker's record, shared with the supervisor; state and api_lost go through __atomic. */
typedef struct {
    int state;
    int api_lost;
    char request_id[MAX_REQUEST_ID + 1];
} slot;

/* The supervisor's own view of a worker. */
typedef struct {
    pid_t pid; /* 0: none (waiting to be replaced) */
    long long started_ms;
    long long restart_at_ms;
    long restart_delay_ms;
    /* The invocation it left unanswered, reported once its replacement is on its way (the
     * platform can route to it sooner). */
    int lost;
    char lost_id[MAX_REQUEST_ID + 1];
    char lost_reason[128];
} worker;

static slot *slots;
static slot *mine; /* in a worker: its own slot */
static int wake_pipe[2] = {-1, -1};
static volatile sig_atomic_t stop_signal; /* SIGTERM or SIGINT, once received */
static struct sigaction python_term, python_int; /* Python's handlers, given back to each worker */

/* ---- in a worker ------------------------------------------------------------------------- */

void workers_busy(const char *request_id)
{
    if (!mine)
        return;
    size_t n = strlen(request_id);
    n = n > MAX_REQUEST_ID ? MAX_REQUEST_ID : n;
    memcpy(mine->request_id, request_id, n);
    mine->request_id[n] = '\0';
    __atomic_store_n(&mine->state, SLOT_BUSY, __ATOMIC_RELEASE);
}

void workers_idle(void)
{
    if (mine)
        __atomic_store_n(&mine->state, SLOT_IDLE, __ATOMIC_RELEASE);
}

void workers_api_lost(void)
{
    if (mine)
        __atomic_store_n(&mine->api_lost, 1, __ATOMIC_RELEASE);
}

void workers_crash_reported(const char *request_id)
{
    (void)request_id; /* the slot already holds it */
    if (mine)
        __atomic_store_n(&mine->state, SLOT_REPORTED, __ATOMIC_RELEASE);
}

/* ---- the supervisor ---------------------------------------------------------------------- */

int workers_count(const char *setting, char *msg, size_t msg_len)
{
    if (!setting || !*setting)
        return 0;
    char *end = NULL;
    errno = 0;
    long n = strtol(setting, &end, 10);
    if (errno || !end || *end || setting[0] == '+' || setting[0] == '-' || n < 1 || n > WORKERS_MAX) {
        snprintf(msg, msg_len, WORKERS_ENV "='%.64s': expected a whole number from 1 to %d", setting, WORKERS_MAX);
        return -1;
    }
    return n == 1 ? 0 : (int)n;
}

static long long now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* SIGCHLD, SIGTERM, SIGINT in the supervisor: remember a stop, wake the loop. */
static void on_supervisor_signal(int sig)
{
    int saved = errno;
    if (sig != SIGCHLD)
        stop_signal = sig;
    char byte = 0;
    if (write(wake_pipe[1], &byte, 1) < 0) {
        /* full: the supervisor has a wake-up pending anyway */
    }
    errno = saved;
}

/* How the platform words a process's end: "exit status 3", "signal: segmentation fault". */
static void describe_end(int status, char *out, size_t out_len)
{
    if (WIFSIGNALED(status)) {
        snprintf(out, out_len, "signal: %s", strsignal(WTERMSIG(status)));
        for (char *p = out; *p; p++)
            *p = (char)(*p >= 'A' && *p <= 'Z' ? *p - 'A' + 'a' : *p);
    } else {
        snprintf(out, out_len, "exit status %d", WEXITSTATUS(status));
    }
}

/* Forks worker i. Returns 1 in the child (ready to serve), 0 in the supervisor, -1 when fork
 * failed (retried later). */
static int spawn(const workers_config *cfg, worker *w, int i)
{
    pid_t supervisor = getpid();
    memset(&slots[i], 0, sizeof(slots[i]));
    pid_t pid = cfg->fork_process(cfg->ctx);
    if (pid < 0) {
        fprintf(stderr, "bootstrap: cannot start worker %d: fork: %s; trying again in %d ms\n", i, strerror(errno),
                RESTART_MAX_DELAY_MS);
        w[i].pid = 0;
        w[i].restart_at_ms = now_ms() + RESTART_MAX_DELAY_MS;
        return -1;
    }
    if (pid > 0) {
        w[i].pid = pid;
        w[i].started_ms = now_ms();
        return 0;
    }
    /* the worker: it ends with its supervisor, keeps none of the supervisor's plumbing */
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != supervisor)
        _exit(1);
    struct sigaction dfl = {.sa_handler = SIG_DFL};
    sigemptyset(&dfl.sa_mask);
    sigaction(SIGCHLD, &dfl, NULL);
    sigaction(SIGTERM, &python_term, NULL);
    sigaction(SIGINT, &python_int, NULL);
    if (stop_signal) /* arrived between the fork and now: the supervisor passes it on, too late */
        _exit(0);
    close(wake_pipe[0]);
    close(wake_pipe[1]);
    wake_pipe[0] = wake_pipe[1] = -1;
    mine = &slots[i];
    char msg[512];
    if (cfg->start_worker(cfg->ctx, msg, sizeof(msg)) != 0) {
        fprintf(stderr, "bootstrap: worker %d cannot start: %s\n", i, msg);
        _exit(1);
    }
    return 1;
}

/* A worker ended: report the invocation it left unanswered, and say when to replace it.
 * Returns 1 when the whole runtime must end (the worker lost the Runtime API). */
static int worker_ended(worker *w, int i, int status, int stopping)
{
    char reason[128];
    describe_end(status, reason, sizeof(reason));
    slot *s = &slots[i];
    int state = __atomic_load_n(&s->state, __ATOMIC_ACQUIRE);
    if (state == SLOT_BUSY) {
        fprintf(stderr, "bootstrap: worker %d (pid %d) ended (%s) while serving %s: reporting it as Runtime.ExitError\n",
                i, (int)w[i].pid, reason, s->request_id);
        w[i].lost = 1;
        snprintf(w[i].lost_id, sizeof(w[i].lost_id), "%s", s->request_id);
        snprintf(w[i].lost_reason, sizeof(w[i].lost_reason), "%s", reason);
    } else if (state == SLOT_REPORTED) {
        fprintf(stderr, "bootstrap: worker %d (pid %d) ended (%s) while serving %s, after posting its crash report\n",
                i, (int)w[i].pid, reason, s->request_id);
    } else if (!stopping) {
        fprintf(stderr, "bootstrap: worker %d (pid %d) ended (%s)\n", i, (int)w[i].pid, reason);
    }
    int api_lost = __atomic_load_n(&s->api_lost, __ATOMIC_ACQUIRE);
    long long now = now_ms();
    long delay = 0;
    if (now - w[i].started_ms < QUICK_END_MS) {
        delay = w[i].restart_delay_ms ? w[i].restart_delay_ms * 2 : RESTART_FIRST_DELAY_MS;
        delay = delay > RESTART_MAX_DELAY_MS ? RESTART_MAX_DELAY_MS : delay;
    }
    w[i].pid = 0;
    w[i].restart_delay_ms = delay;
    w[i].restart_at_ms = now + delay;
    return api_lost;
}

static void signal_workers(const worker *w, int count, int sig)
{
    for (int i = 0; i < count; i++)
        if (w[i].pid > 0)
            kill(w[i].pid, sig);
}

/* The supervisor's loop. Returns only in a freshly forked worker (1). */
static int supervise(const workers_config *cfg, worker *w)
{
    int stopping = 0, exit_code = 0;
    for (;;) {
        int live = 0;
        long long now = now_ms(), next_restart = -1;
        for (int i = 0; i < cfg->count; i++) {
            if (w[i].pid == 0 && !stopping && w[i].restart_at_ms <= now && spawn(cfg, w, i) == 1)
                return 1;
            live += w[i].pid > 0;
            if (w[i].pid == 0 && !stopping && (next_restart < 0 || w[i].restart_at_ms < next_restart))
                next_restart = w[i].restart_at_ms;
        }
        for (int i = 0; i < cfg->count; i++) {
            if (w[i].lost) {
                w[i].lost = 0;
                cfg->report_lost(cfg->ctx, w[i].lost_id, w[i].lost_reason);
            }
        }
        if (stopping && live == 0)
            _exit(exit_code);

        struct pollfd wake = {.fd = wake_pipe[0], .events = POLLIN};
        int timeout = next_restart < 0 ? -1 : (int)(next_restart > now ? next_restart - now : 0);
        if (!stop_signal || stopping)
            poll(&wake, 1, timeout);
        unsigned char buf[64];
        while (read(wake_pipe[0], buf, sizeof(buf)) > 0)
            ;
        if (stop_signal && !stopping) {
            stopping = 1;
            signal_workers(w, cfg->count, stop_signal);
        }
        int status;
        for (pid_t pid; (pid = waitpid(-1, &status, WNOHANG)) > 0;) {
            for (int i = 0; i < cfg->count; i++) {
                if (w[i].pid != pid)
                    continue;
                if (worker_ended(w, i, status, stopping) && !stopping) {
                    fprintf(stderr, "bootstrap: exiting: worker %d lost the Runtime API\n", i);
                    stopping = 1;
                    exit_code = 1;
                    signal_workers(w, cfg->count, SIGTERM);
                }
            }
        }
    }
}

int workers_start(const workers_config *cfg)
{
    slots = mmap(NULL, sizeof(slot) * (size_t)cfg->count, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    static worker w[WORKERS_MAX];
    if (slots == MAP_FAILED || pipe2(wake_pipe, O_NONBLOCK | O_CLOEXEC) != 0) {
        fprintf(stderr, "bootstrap: exiting: cannot set up %d workers: %s\n", cfg->count, strerror(errno));
        _exit(1);
    }
    struct sigaction sa = {.sa_handler = on_supervisor_signal, .sa_flags = SA_RESTART | SA_NOCLDSTOP};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGCHLD, &sa, NULL);
    sigaction(SIGTERM, &sa, &python_term);
    sigaction(SIGINT, &sa, &python_int);
    int threads = cfg->init_threads;
    if (threads > 0)
        fprintf(stderr, "bootstrap: warning: the function started %d thread%s during init; the workers, forked "
                        "after init, do not have %s\n", threads, threads == 1 ? "" : "s", threads == 1 ? "it" : "them");
    fprintf(stderr, "bootstrap: " WORKERS_ENV "=%d: %d workers forked after init\n", cfg->count, cfg->count);
    if (supervise(cfg, w) == 1)
        return 0;
    _exit(1); /* not reached: supervise returns only in a worker */
}
