/*
 * extension: the runtime registers itself as an internal Lambda extension.
 *
 * Lambda sends SIGTERM at shutdown only to an execution environment with a registered
 * extension; without one the process is simply killed, and the function's shutdown hooks
 * (signal.signal(SIGTERM, ...), atexit) never run. So a thread, with its own libcurl handle and
 * connection, registers (Extensions API 2020-01-01, events: none, since internal extensions
 * cannot take SHUTDOWN) and then parks in /extension/event/next for the life of the process, as
 * Lambda expects of every registered extension.
 *
 *   POST /2020-01-01/extension/register   (Lambda-Extension-Name)  -> Lambda-Extension-Identifier
 *   GET  /2020-01-01/extension/event/next (Lambda-Extension-Identifier), again and again
 *
 * The thread starts while Python starts, so the round trip stays off the cold start's critical
 * path; registration closes when init ends, so the caller waits for the answer before its first
 * /next. Nothing here exits or prints; the thread blocks every signal.
 */
#ifndef BOOTSTRAP_EXTENSION_H
#define BOOTSTRAP_EXTENSION_H

#include <stddef.h>

#define EXTENSION_API_VERSION "2020-01-01"
#define EXTENSION_HEADER_NAME "Lambda-Extension-Name"
#define EXTENSION_HEADER_ID "Lambda-Extension-Identifier"

typedef struct extension extension;

/* Starts registering as `name` with the Extensions API at `address` ("host:port"), on a thread
 * of its own. libcurl must be initialised already (runtime_api_new does it). Returns NULL with a
 * message when the thread cannot be started. The extension lives as long as the process. */
extension *extension_start(const char *address, const char *name, char *msg, size_t msg_len);

/* Waits up to timeout_ms for the registration's answer. Returns 0 when registered, or -1 with a
 * message (no Extensions API: 404 or connection refused; registration refused; no answer). */
int extension_wait_registered(extension *ext, long timeout_ms, char *msg, size_t msg_len);

/* In a process forked after registration (a Managed Instances worker): closes its copies of the
 * extension's connection, which stays the forking process's. */
void extension_close_inherited(extension *ext);

#endif
