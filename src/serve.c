/*
 * serve: the invocation loop, the signal pipe and the descriptors a handler may take away
 * (see include/serve.h).
 */
#define _GNU_SOURCE
#include "serve.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "crash.h"
#include "fdguard.h"
#include "workers.h"

static int on_signal(void *ctx);

/* Signals reach us as bytes on this pipe (Python's signal wakeup fd), so a wait on the
 * Runtime API can stop for them. Both ends are guarded: a handler may close or replace them. */
static fdguard signal_read = FDGUARD_NONE, signal_write = FDGUARD_NONE;
static int signal_pipe_wanted;

int serve_open_signal_pipe(void)
{
    int p[2];
    if (pipe2(p, O_NONBLOCK | O_CLOEXEC) != 0)
        return -1;
    fdguard_take(&signal_read, p[0]);
    fdguard_take(&signal_write, p[1]);
    signal_pipe_wanted = 1;
    return signal_write.fd;
}

int serve_signal_fd(void)
{
    return signal_read.fd;
}

/* With the GIL: run the Python handlers of the signals that have arrived, and say whether to
 * shut down. The pipe is read only while it is still ours. */
static int shutdown_requested(python *py)
{
    unsigned char signals[64];
    ssize_t n = fdguard_intact(&signal_read) ? read(signal_read.fd, signals, sizeof(signals)) : -1;
    return n > 0 && python_handle_signals(py, signals, (size_t)n);
}

/* ---- descriptors the handler took away (os.closerange, os.dup2) ---------------------------- */

int serve_renew_signal_pipe(serving *s, char *msg, size_t msg_len)
{
    fdguard_close(&signal_read);
    fdguard_close(&signal_write);
    if (serve_open_signal_pipe() < 0) {
        snprintf(msg, msg_len, "cannot recreate the signal pipe: %s", strerror(errno));
        runtime_api_set_interrupt(s->api, -1, NULL, NULL);
        return -1;
    }
    runtime_api_set_interrupt(s->api, signal_read.fd, on_signal, s);
    return python_set_fds(s->py, signal_write.fd, crash_traceback_fd());
}

/* With the GIL, after the handler ran: checks the Runtime API connection, the signal pipe and the
 * crash traceback file (one fstat each), and recreates what was closed or replaced, never closing
 * a descriptor that is not the runtime's any more. Returns 0, or -1 with a message when something
 * cannot be recreated (the process must then end, once the invocation is answered). */
static int repair_descriptors(serving *s, char *msg, size_t msg_len)
{
    int api_ok = runtime_api_intact(s->api);
    int pipe_ok = !signal_pipe_wanted || (fdguard_intact(&signal_read) && fdguard_intact(&signal_write));
    int crash_ok = crash_traceback_fd() < 0 || crash_traceback_fd_intact();
    if (api_ok && pipe_ok && crash_ok)
        return 0;
    fprintf(stderr, "bootstrap: the handler closed or replaced the runtime's own descriptors (%s%s%s); recreating them\n",
            api_ok ? "" : "Runtime API connection ", pipe_ok ? "" : "signal pipe ", crash_ok ? "" : "crash traceback file");
    runtime_api_error err = {0};
    if (!api_ok && runtime_api_reconnect(s->api, &err) != 0) {
        snprintf(msg, msg_len, "%s", err.message);
        return -1;
    }
    if (!crash_ok && crash_renew_traceback_fd() < 0)
        fprintf(stderr, "bootstrap: warning: no new crash traceback file (%s): crash reports will carry no "
                        "Python traceback\n", strerror(errno));
    if (!pipe_ok)
        return serve_renew_signal_pipe(s, msg, msg_len);
    if (!crash_ok)
        python_set_fds(s->py, -1, crash_traceback_fd());
    return 0;
}

/* Called by runtime_api_next while it waits and a signal has arrived (or the pipe was taken away
 * by a thread the handler left running: then it is recreated and the wait goes on). */
static int on_signal(void *ctx)
{
    serving *s = ctx;
    python_end_allow_threads(s->py);
    int stop = 0;
    if (fdguard_intact(&signal_read) && fdguard_intact(&signal_write)) {
        stop = shutdown_requested(s->py);
    } else {
        char msg[512];
        if (serve_renew_signal_pipe(s, msg, sizeof(msg)) != 0)
            fprintf(stderr, "bootstrap: warning: %s; signals are noticed only during invocations now\n", msg);
    }
    python_allow_threads(s->py);
    return stop;
}

void serve_watch_signals(serving *s)
{
    if (signal_read.fd >= 0)
        runtime_api_set_interrupt(s->api, signal_read.fd, on_signal, s);
}

/* A streamed response in progress: the GIL is taken for each chunk only, so the network waits
 * (a slow reader) do not hold it. */
typedef struct {
    python *py;
    int closed;
    python_stream_end end;
} stream_state;

static int next_chunk(void *ctx, const char **data, size_t *len, const char **error_type, const char **error_body)
{
    stream_state *s = ctx;
    python_end_allow_threads(s->py);
    int more = python_stream_next(s->py, data, len);
    if (!more) {
        python_stream_close(s->py, &s->end);
        s->closed = 1;
        *error_type = s->end.error_type;
        *error_body = s->end.error_body;
    }
    python_allow_threads(s->py);
    return more;
}

/* Step 4, one invocation: hand it to Python and post what comes back. Returns -1 when the
 * process must end, with *exit_code set. */
static int serve_invocation(serving *s, const invocation *inv, int *exit_code)
{
    runtime_api *api = s->api;
    python *py = s->py;
    python_result result;
    python_invoke(py, inv, &result);
    /* The handler may have taken the runtime's descriptors away: nothing is sent before they are
     * back. If they cannot be, the result is still tried (it may get through), then the process
     * ends with the reason (the platform reports the invocation if the post did not arrive). */
    char broken[512];
    int unrepairable = repair_descriptors(s, broken, sizeof(broken)) != 0;

    runtime_api_error err = {0};
    runtime_api_status st;
    stream_state stream = {.py = py};
    python_allow_threads(py);
    if (result.kind == PYTHON_RESULT_STREAM)
        st = runtime_api_post_stream(api, inv->request_id.value, result.detail, next_chunk, &stream, &err);
    else if (result.kind == PYTHON_RESULT_RESPONSE)
        st = runtime_api_post_response(api, inv->request_id.value, result.payload, result.payload_len,
                                       result.detail, &err);
    else
        st = runtime_api_post_error(api, inv->request_id.value, result.detail, result.payload,
                                    result.payload_len, result.xray_cause, &err);
    python_end_allow_threads(py);
    if (result.kind == PYTHON_RESULT_STREAM) {
        if (!stream.closed) /* cut short: the handler's iterator is closed all the same */
            python_stream_close(py, &stream.end);
        if (stream.end.exit_code >= 0) {
            result.kind = PYTHON_RESULT_EXIT;
            result.exit_code = stream.end.exit_code;
        }
        if (!unrepairable) /* the handler's generator ran during the post */
            unrepairable = repair_descriptors(s, broken, sizeof(broken)) != 0;
    }

    if (st == RUNTIME_API_REJECTED)
        fprintf(stderr, "bootstrap: the platform refused the result of %s: %s\n", inv->request_id.value, err.message);
    if (unrepairable) {
        fprintf(stderr, "bootstrap: exiting: the handler closed or replaced the runtime's descriptors and they "
                        "cannot be recreated: %s\n", broken);
        *exit_code = SERVE_EXIT_RUNTIME_API_FAILED;
        return -1;
    }
    if (st == RUNTIME_API_FATAL) {
        workers_api_lost();
        fprintf(stderr, "bootstrap: lost the Runtime API, exiting: %s\n", err.message);
        *exit_code = SERVE_EXIT_RUNTIME_API_FAILED;
        return -1;
    }
    if (result.kind == PYTHON_RESULT_EXIT) {
        *exit_code = result.exit_code;
        return -1;
    }
    return 0;
}

void serve_forever(serving *s)
{
    runtime_api *api = s->api;
    python *py = s->py;
    runtime_api_error api_err = {0};
    for (;;) {
        const invocation *inv = NULL;
        python_allow_threads(py);
        runtime_api_status st = runtime_api_next(api, &inv, &api_err);
        python_end_allow_threads(py);
        /* A Runtime API that is shutting down may refuse /next before the wait saw SIGTERM. */
        if (st == RUNTIME_API_INTERRUPTED || (st != RUNTIME_API_OK && shutdown_requested(py))) {
            python_shutdown(py);
            _exit(0);
        }
        if (st != RUNTIME_API_OK) {
            workers_api_lost();
            fprintf(stderr, "bootstrap: exiting: %s\n", api_err.message);
            _exit(SERVE_EXIT_RUNTIME_API_FAILED);
        }
        int exit_code = 0;
        workers_busy(inv->request_id.value);
        crash_arm_invocation(inv->request_id.value);
        int served = serve_invocation(s, inv, &exit_code);
        crash_disarm();
        workers_idle();
        if (served != 0)
            _exit(exit_code);
    }
}
