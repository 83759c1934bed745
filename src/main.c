/*
 * bootstrap: a custom AWS Lambda runtime for Python.
 *
 * The startup sequence, top to bottom:
 *   1. find this CPU's layer directory and put its lib/ in front of the library search path;
 *   2. load libpython (BOOTSTRAP_LIBPYTHON, the layer's runtime/, or the system's);
 *   3. start Python, set sys.path and import the handler (failures go to /init/error; a fatal
 *      signal from here on posts a crash report first);
 *      if the function has shutdown hooks, register as an internal extension (for SIGTERM);
 *   4. loop: GET /next, run the handler, POST the response (or stream it) or the error.
 */
#define _GNU_SOURCE
#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "crash.h"
#include "doctor.h"
#include "extension.h"
#include "fdguard.h"
#include "handler.h"
#include "layer.h"
#include "loader.h"
#include "python.h"
#include "runtime_api.h"

#define DEFAULT_RUNTIME_API "127.0.0.1:9001"
#define EXIT_INIT_FAILED 1
#define EXIT_RUNTIME_API_FAILED 1
#define EXIT_USAGE 2
/* The internal extension's name (unique among a function's extensions), and how long init
 * waits for its registration once Python is ready (it is normally answered long before). */
#define EXTENSION_NAME "bootstrap-runtime"
#define EXTENSION_WAIT_MS 2000
#define EXTENSION_ENV_FORCE "BOOTSTRAP_SHUTDOWN_EXTENSION"
/* Newest first: the system's libpython when neither the settings nor the layer name one. */
static const char *const system_libpythons[] = {
    "libpython3.14.so.1.0", "libpython3.13.so.1.0", "libpython3.12.so.1.0",
    "libpython3.11.so.1.0", "libpython3.10.so.1.0", "libpython3.9.so.1.0",
};

static void usage(FILE *out)
{
    fprintf(out, "usage: bootstrap [HANDLER]       serve the Lambda Runtime API (HANDLER defaults to $_HANDLER)\n"
                 "       bootstrap --check [--arch x86_64|arm64] [--python 3.X] [--target provided.al2|provided.al2023 |\n"
                 "                         --glibc 2.NN] [--json] PATH...   check layers and zips before deploying\n"
                 "       bootstrap --version\n"
                 "settings: AWS_LAMBDA_RUNTIME_API (default " DEFAULT_RUNTIME_API "), LAMBDA_TASK_ROOT (default: cwd),\n"
                 "          " LAYER_ENV_ROOT " (default " LAYER_DEFAULT_ROOT "), BOOTSTRAP_LIBPYTHON, PYTHONHOME\n");
}

/* The standard error document, as the managed runtime sends it for init failures. */
static char *error_document(const char *type, const char *message)
{
    cJSON *doc = cJSON_CreateObject();
    if (!doc)
        return NULL;
    cJSON_AddStringToObject(doc, "errorMessage", message);
    cJSON_AddStringToObject(doc, "errorType", type);
    cJSON_AddStringToObject(doc, "requestId", "");
    cJSON_AddItemToObject(doc, "stackTrace", cJSON_CreateArray());
    char *text = cJSON_PrintUnformatted(doc);
    cJSON_Delete(doc);
    return text;
}

/* Reports a failure that happened before Python could: to stderr and to /init/error.
 * Frees the client: the caller returns from main with the result. */
static int fail_init(runtime_api *api, const char *type, const char *message)
{
    fprintf(stderr, "bootstrap: init failed: %s: %s\n", type, message);
    char *body = error_document(type, message);
    runtime_api_error err = {0};
    if (api && body && runtime_api_post_init_error(api, type, body, strlen(body), &err) != RUNTIME_API_OK)
        fprintf(stderr, "bootstrap: could not report the init error: %s\n", err.message);
    free(body);
    runtime_api_free(api);
    return EXIT_INIT_FAILED;
}

/* Step 1: the layer's lib/ in front of the library search path: in this process through
 * the loader module (the C library reads LD_LIBRARY_PATH only at exec), in child processes
 * through LD_LIBRARY_PATH itself. */
static int use_layer_libraries(const layer *l, char *msg, size_t msg_len)
{
    static char wanted[16384];
    const char *started_with = getenv("LD_LIBRARY_PATH");
    int changed = layer_library_path(l, started_with, wanted, sizeof(wanted));
    if (changed < 0) {
        snprintf(msg, msg_len, "LD_LIBRARY_PATH with %s/lib in front is longer than %zu bytes", l->arch_dir,
                 sizeof(wanted));
        return -1;
    }
    if (!changed)
        return 0;
    if (loader_use_library_path(wanted, started_with, msg, msg_len) < 0)
        return -1;
    setenv("LD_LIBRARY_PATH", wanted, 1);
    return 0;
}

/* Step 2: the first libpython that loads, in order of precedence. */
static python *load_python(const layer *l, char *msg, size_t msg_len)
{
    const char *chosen = getenv("BOOTSTRAP_LIBPYTHON");
    if (chosen && *chosen)
        return python_load(chosen, msg, msg_len);
    if (l->libpython[0])
        return python_load(l->libpython, msg, msg_len);
    for (size_t i = 0; i < sizeof(system_libpythons) / sizeof(system_libpythons[0]); i++) {
        python *py = python_load(system_libpythons[i], msg, msg_len);
        if (py)
            return py;
    }
    snprintf(msg, msg_len,
             "no Python runtime found: BOOTSTRAP_LIBPYTHON is not set, %s%s has no runtime/lib/libpython3.*.so.1.0, "
             "and the loader finds no libpython3.9 to 3.14",
             l->arch_dir[0] ? l->arch_dir : l->root, l->arch_dir[0] ? "" : " has no per-arch layer and");
    return NULL;
}

/* Signals reach us as bytes on this pipe (Python's signal wakeup fd), so a wait on the
 * Runtime API can stop for them. Both ends are guarded: a handler may close or replace them. */
static fdguard signal_read = FDGUARD_NONE, signal_write = FDGUARD_NONE;
static int signal_pipe_wanted;

static int signal_pipe_open(void)
{
    int p[2];
    if (pipe2(p, O_NONBLOCK | O_CLOEXEC) != 0)
        return -1;
    fdguard_take(&signal_read, p[0]);
    fdguard_take(&signal_write, p[1]);
    signal_pipe_wanted = 1;
    return 0;
}

/* With the GIL: run the Python handlers of the signals that have arrived, and say whether to
 * shut down. The pipe is read only while it is still ours. */
static int shutdown_requested(python *py)
{
    unsigned char signals[64];
    ssize_t n = fdguard_intact(&signal_read) ? read(signal_read.fd, signals, sizeof(signals)) : -1;
    return n > 0 && python_handle_signals(py, signals, (size_t)n);
}

/* What the wait for /next needs to call back into. */
typedef struct {
    runtime_api *api;
    python *py;
} serving;

static int on_signal(void *ctx);

/* ---- descriptors the handler took away (os.closerange, os.dup2) ---------------------------- */

/* With the GIL: a new signal pipe, given to Python and to the wait. */
static int renew_signal_pipe(serving *s, char *msg, size_t msg_len)
{
    fdguard_close(&signal_read);
    fdguard_close(&signal_write);
    if (signal_pipe_open() != 0) {
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
        return renew_signal_pipe(s, msg, msg_len);
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
        if (renew_signal_pipe(s, msg, sizeof(msg)) != 0)
            fprintf(stderr, "bootstrap: warning: %s; signals are noticed only during invocations now\n", msg);
    }
    python_allow_threads(s->py);
    return stop;
}

/* Step 3, beside Python's start: registering as an extension is what makes Lambda send SIGTERM
 * at shutdown. Without it the function still works, only its shutdown hooks do not run. */
static void extension_failed(const char *why)
{
    fprintf(stderr, "bootstrap: warning: not registered as a Lambda extension, so shutdown will not run the "
                    "function's SIGTERM and atexit hooks: %s\n", why);
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
        *exit_code = EXIT_RUNTIME_API_FAILED;
        return -1;
    }
    if (st == RUNTIME_API_FATAL) {
        fprintf(stderr, "bootstrap: lost the Runtime API, exiting: %s\n", err.message);
        *exit_code = EXIT_RUNTIME_API_FAILED;
        return -1;
    }
    if (result.kind == PYTHON_RESULT_EXIT) {
        *exit_code = result.exit_code;
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "--check") == 0)
        return doctor_main(argc, argv);
    if (argc > 1 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        usage(stdout);
        return 0;
    }
    if (argc > 1 && strcmp(argv[1], "--version") == 0) {
        printf("bootstrap 1.0\n");
        return 0;
    }
    if (argc > 2 || (argc == 2 && argv[1][0] == '-')) {
        usage(stderr);
        return EXIT_USAGE;
    }

    char msg[4096];
    struct utsname host;
    char arch[16];
    layer lay;
    const char *layer_root = getenv(LAYER_ENV_ROOT);
    layer_root = (layer_root && *layer_root) ? layer_root : LAYER_DEFAULT_ROOT;
    uname(&host);
    int layer_ok = layer_arch_from_machine(host.machine, arch, sizeof(arch), msg, sizeof(msg)) == 0 &&
                   layer_resolve(&lay, layer_root, arch, msg, sizeof(msg)) == 0 &&
                   use_layer_libraries(&lay, msg, sizeof(msg)) == 0;

    const char *address = getenv("AWS_LAMBDA_RUNTIME_API");
    address = address && *address ? address : DEFAULT_RUNTIME_API;
    runtime_api_error api_err = {0};
    runtime_api *api = runtime_api_new(address, &api_err);
    if (!api) {
        fprintf(stderr, "bootstrap: %s\n", api_err.message);
        return EXIT_INIT_FAILED;
    }
    if (!layer_ok)
        return fail_init(api, "Runtime.LayerNotFound", msg);

    python *py = load_python(&lay, msg, sizeof(msg));
    if (!py)
        return fail_init(api, "Runtime.PythonNotFound", msg);

    const char *spec = argc == 2 ? argv[1] : getenv("_HANDLER");
    handler_name handler;
    char malformed[512];
    int parsed = handler_parse(spec ? spec : "", &handler, malformed, sizeof(malformed)) == 0;
    char task_root[PATH_MAX];
    const char *root_setting = getenv("LAMBDA_TASK_ROOT");
    if (root_setting && *root_setting)
        snprintf(task_root, sizeof(task_root), "%s", root_setting);
    else if (!getcwd(task_root, sizeof(task_root)))
        snprintf(task_root, sizeof(task_root), ".");

    /* Before Python starts, so that a faulthandler it enables (PYTHONFAULTHANDLER) chains to the
     * crash handler too. */
    const char *log_format = getenv("AWS_LAMBDA_LOG_FORMAT");
    if (crash_install(address, log_format && strcasecmp(log_format, "JSON") == 0, msg, sizeof(msg)) != 0)
        fprintf(stderr, "bootstrap: warning: %s\n", msg);
    crash_arm_init();

    char site_dirs[LAYER_MAX_SITE_DIRS][PATH_MAX];
    const char *site_dir_list[LAYER_MAX_SITE_DIRS];
    int site_dir_count = layer_site_dirs(&lay, python_minor(py), site_dirs, LAYER_MAX_SITE_DIRS);
    for (int i = 0; i < site_dir_count; i++)
        site_dir_list[i] = site_dirs[i];

    python_start_options options = {
        .python_home = (lay.runtime_home[0] && !getenv("BOOTSTRAP_LIBPYTHON")) ? lay.runtime_home : NULL,
        .handler_spec = spec ? spec : "",
        .module = parsed ? handler.module : NULL,
        .function = parsed ? handler.function : NULL,
        .malformed = parsed ? NULL : malformed,
        .task_root = task_root,
        .site_dirs = site_dir_list,
        .site_dir_count = site_dir_count,
        .arch = arch,
        .explain = doctor_explain_file,
        .wakeup_fd = signal_pipe_open() == 0 ? signal_write.fd : -1,
        .crash_fd = crash_traceback_fd(),
    };
    python_init_error init_err;
    if (python_start(py, &options, &init_err) != 0) {
        if (!init_err.body)
            return fail_init(api, init_err.type, init_err.message);
        runtime_api_error err = {0};
        if (runtime_api_post_init_error(api, init_err.type, init_err.body, init_err.body_len, &err) != RUNTIME_API_OK)
            fprintf(stderr, "bootstrap: could not report the init error: %s\n", err.message);
        python_init_error_clear(&init_err);
        runtime_api_free(api);
        return EXIT_INIT_FAILED;
    }
    crash_disarm();

    serving serve = {.api = api, .py = py};
    if (signal_read.fd >= 0)
        runtime_api_set_interrupt(api, signal_read.fd, on_signal, &serve);
    /* Registration closes when init ends, at the first /next. It costs a thread and a round
     * trip (~2 ms of a cold start here), so it is made only for a function that has something
     * to run at shutdown: a SIGTERM handler or atexit hooks after init (or when asked to). */
    const char *force = getenv(EXTENSION_ENV_FORCE);
    if ((force && strcmp(force, "1") == 0) || python_has_shutdown_hooks(py)) {
        char ext_msg[512];
        extension *ext = extension_start(address, EXTENSION_NAME, ext_msg, sizeof(ext_msg));
        python_allow_threads(py);
        int registered = ext && extension_wait_registered(ext, EXTENSION_WAIT_MS, ext_msg, sizeof(ext_msg)) == 0;
        python_end_allow_threads(py);
        if (!registered)
            extension_failed(ext_msg);
    }

    /* The process never returns from here: it ends with _exit, because Python's own
     * finalisation would wait for threads a handler left running. */
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
            fprintf(stderr, "bootstrap: exiting: %s\n", api_err.message);
            _exit(EXIT_RUNTIME_API_FAILED);
        }
        int exit_code = 0;
        crash_arm_invocation(inv->request_id.value);
        int served = serve_invocation(&serve, inv, &exit_code);
        crash_disarm();
        if (served != 0)
            _exit(exit_code);
    }
}
