/*
 * crash: a last report when a fatal signal ends the process.
 *
 * A segfault in native code (or SIGBUS, SIGILL, SIGFPE, SIGABRT) used to end the process with
 * nothing posted: the caller got the platform's bare Runtime.ExitError. Now, before the process
 * dies of the signal (exit status and core dump as before), it
 *   - writes one log event to stderr: "[ERROR] Runtime.ExitError: RequestId: ... signal: ..."
 *     with the Python traceback (a JSON record under AWS_LAMBDA_LOG_FORMAT=JSON);
 *   - posts /runtime/invocation/{id}/error (or /runtime/init/error during init) with
 *       errorType  Runtime.ExitError (what the platform reports for a runtime that exits, so
 *                  alarms keyed on it keep working)
 *       errorMessage "RequestId: <id> Error: Runtime exited with error: signal: segmentation
 *                  fault (SIGSEGV)" (the platform's wording, plus the signal's name)
 *       stackTrace the crashing thread's Python frames, oldest first, as traceback.format_list
 *                  writes them (without source lines), the runtime's own frames left out.
 *
 * The traceback comes from Python's faulthandler, which runtime.py points at a memory file
 * (crash_traceback_fd) at init: on a fatal signal it writes the crashing thread's frames there,
 * puts back the handler it found (ours) and raises the signal again. Our handler then runs with
 * only async-signal-safe calls: the request is prepared when the invocation starts (crash_arm),
 * the address resolved beforehand, and the post is a raw write on a socket of its own. A crash
 * outside an invocation (init excepted) is only logged. A process forked by the handler that
 * crashes reports nothing: the invocation is its parent's.
 */
#ifndef BOOTSTRAP_CRASH_H
#define BOOTSTRAP_CRASH_H

#include <stddef.h>

#define CRASH_ERROR_TYPE "Runtime.ExitError"
/* Request ids longer than this are never armed (the Runtime API client refuses them anyway). */
#define CRASH_MAX_REQUEST_ID 256

/* Installs the handler for the five signals and creates the memory file for the traceback.
 * `address` is the Runtime API's host:port; a numeric one is parsed here, a name is resolved
 * at the first crash_arm_invocation (never inside the handler). `log_json` selects the log
 * line's format. Call once, before Python starts, so that a faulthandler enabled by
 * PYTHONFAULTHANDLER chains to it too. Returns 0, or -1 with a message when the traceback
 * file cannot be made (reports then carry no traceback; the handler is installed anyway). */
int crash_install(const char *address, int log_json, char *msg, size_t msg_len);

/* The descriptor faulthandler writes the traceback into, or -1. */
int crash_traceback_fd(void);

/* Replaces the traceback file (after fork, or when the handler closed or replaced the
 * descriptor). Returns the new descriptor, which faulthandler must be pointed at, or -1. The
 * old descriptor is closed only when it is still the file crash made. */
int crash_renew_traceback_fd(void);

/* 1 while the traceback descriptor is still the file crash made (0 when the handler closed it
 * or put something else in its place). */
int crash_traceback_fd_intact(void);

/* From now on a fatal signal posts /runtime/init/error. */
void crash_arm_init(void);

/* From now on a fatal signal posts /runtime/invocation/{request_id}/error. */
void crash_arm_invocation(const char *request_id);

/* A fatal signal is only logged (between invocations). */
void crash_disarm(void);

/* In a process just forked to serve invocations of its own (a Managed Instances worker): from
 * now on it reports its crashes, and calls `reported` (async-signal-safe code only; may be NULL)
 * with the request id just before it posts one. */
typedef void (*crash_reported_fn)(const char *request_id);
void crash_adopt_process(crash_reported_fn reported);

/* The report's parts, exposed for tests: converts faulthandler's text into the JSON array of
 * stackTrace entries (oldest first, runtime frames dropped) written into out. Returns the
 * length written (out always NUL-terminated when out_len > 0). Async-signal-safe. */
size_t crash_format_stack(const char *faulthandler_text, size_t text_len, char *out, size_t out_len);

#endif
