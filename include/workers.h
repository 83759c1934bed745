/*
 * workers: Lambda Managed Instances, where AWS_LAMBDA_MAX_CONCURRENCY=N (N > 1) invocations run at
 * once in one execution environment.
 *
 * The process initialises once (Python, the handler's import, the extension), then forks N
 * workers that share the initialised interpreter copy-on-write. Each has its own Runtime API
 * connection, signal pipe and crash traceback file and runs serve's loop, so each invocation's
 * log lines carry its own request id (the runtime's state is per process). The first process
 * stays behind as their supervisor and runs no Python after that: it
 *   - keeps N workers alive, forking a replacement for one that ends (sys.exit, a crash, the
 *     OOM killer), from the same initialised state;
 *   - posts Runtime.ExitError for the invocation a worker was serving when it ended without
 *     answering it (the platform, which sees only this process, would never hear of it);
 *   - passes SIGTERM and SIGINT on to the workers (they run the function's shutdown hooks) and
 *     exits when they are gone; exits too when a worker lost the Runtime API. Its own handler for
 *     the two takes Python's place in this process only (the platform signals the whole process
 *     group at once, and a worker's end must not be mistaken for a crash while the supervisor's
 *     Python handler is still to run); each worker gets Python's back.
 * Threads the function started during init are not in the workers (fork copies only the calling
 * thread): the supervisor says so at start.
 */
#ifndef BOOTSTRAP_WORKERS_H
#define BOOTSTRAP_WORKERS_H

#include <stddef.h>
#include <sys/types.h>

#define WORKERS_ENV "AWS_LAMBDA_MAX_CONCURRENCY"
#define WORKERS_MAX 1024

/* The N of AWS_LAMBDA_MAX_CONCURRENCY: 0 when unset, empty or 1 (one process serves), N for 2 to
 * WORKERS_MAX. Anything else is -1 with a message. */
int workers_count(const char *setting, char *msg, size_t msg_len);

typedef struct {
    int count;
    int init_threads; /* Python threads the function started during init (they stay behind) */
    /* fork() with the interpreter's locks in order (python_fork): 0 in the child */
    pid_t (*fork_process)(void *ctx);
    /* In the child, right after the fork: its own descriptors and connection. -1 (with a
     * message) ends the child. */
    int (*start_worker)(void *ctx, char *msg, size_t msg_len);
    /* In the supervisor: post Runtime.ExitError for `request_id`, which a worker ended without
     * answering; `reason` is the platform's wording ("exit status 3", "signal: killed"). */
    void (*report_lost)(void *ctx, const char *request_id, const char *reason);
    void *ctx;
} workers_config;

/* Forks the workers. Returns 0 in each worker; the supervisor never returns (it ends with _exit
 * when the workers are gone). */
int workers_start(const workers_config *cfg);

/* In a worker; nothing elsewhere. The invocation it has taken from /next, and that it has
 * answered (or the platform has been told about). */
void workers_busy(const char *request_id);
void workers_idle(void);

/* In a worker that is about to exit because the Runtime API is gone: the supervisor ends too. */
void workers_api_lost(void);

/* From the crash handler (async-signal-safe): the invocation in progress has been reported. */
void workers_crash_reported(const char *request_id);

#endif
