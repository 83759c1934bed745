/*
 * serve: step 4 of the startup sequence, the invocation loop: GET /next, run the handler, post the
 * response (or stream it) or the error, until SIGTERM or a failure ends the process. The same loop
 * runs in the one process of a classic function and in each worker under Managed Instances
 * (src/workers.c).
 *
 * It owns the signal pipe (Python's signal wakeup fd), through which a signal stops the wait for
 * /next, arms the crash report for each invocation (src/crash.c), and checks after each one that
 * the handler left the runtime's descriptors alone (os.closerange, os.dup2), recreating those it
 * took.
 */
#ifndef BOOTSTRAP_SERVE_H
#define BOOTSTRAP_SERVE_H

#include <stddef.h>

#include "python.h"
#include "runtime_api.h"

#define SERVE_EXIT_RUNTIME_API_FAILED 1

typedef struct {
    runtime_api *api;
    python *py;
} serving;

/* Opens the signal pipe, before Python starts. Returns the write end (for
 * signal.set_wakeup_fd), or -1 when there is none: signals then wait for the next invocation. */
int serve_open_signal_pipe(void);

/* The pipe's read end, or -1. */
int serve_signal_fd(void);

/* Makes the wait for /next watch the signal pipe. `s` must stay where it is. */
void serve_watch_signals(serving *s);

/* In a process just forked (a worker): a signal pipe of its own, given to Python and to the wait;
 * the inherited ends are closed. With the GIL. Returns 0, or -1 with a message. */
int serve_renew_signal_pipe(serving *s, char *msg, size_t msg_len);

/* The loop, with the GIL held on entry. Never returns: the process ends with _exit (Python's own
 * finalisation would wait for threads a handler left running): 0 after SIGTERM's shutdown hooks,
 * the handler's code after sys.exit, SERVE_EXIT_RUNTIME_API_FAILED when the Runtime API is lost. */
void serve_forever(serving *s) __attribute__((noreturn));

#endif
