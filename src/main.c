/*
 * bootstrap: a custom AWS Lambda runtime for Python.
 *
 * The startup sequence, top to bottom:
 *   1. find this CPU's layer directory and put its lib/ in front of the library search path
 *      (and, when the layers bring no Python, take the one next to this executable);
 *   2. load libpython (BOOTSTRAP_LIBPYTHON, the layer's runtime/, the one next to this
 *      executable, or the system's);
 *   3. start Python, set sys.path and import the handler (failures go to /init/error; a fatal
 *      signal from here on posts a crash report first);
 *      if the function has shutdown hooks, register as an internal extension (for SIGTERM);
 *   4. under Managed Instances (AWS_LAMBDA_MAX_CONCURRENCY=N), fork N workers and supervise them;
 *   5. loop (src/serve.c): GET /next, run the handler, POST the response (or stream it) or the
 *      error; in each worker, or in this one process.
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
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "crash.h"
#include "doctor.h"
#include "doctor_explain.h"
#include "extension.h"
#include "handler.h"
#include "layer.h"
#include "loader.h"
#include "python.h"
#include "runtime_api.h"
#include "serve.h"
#include "workers.h"

#define DEFAULT_RUNTIME_API "127.0.0.1:9001"
#define EXIT_INIT_FAILED 1
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

/* The standard error document, as the managed runtime sends it for init failures (and the
 * platform's Runtime.ExitError for a worker's invocation, with its request id). */
static char *error_document(const char *type, const char *message, const char *request_id)
{
    cJSON *doc = cJSON_CreateObject();
    if (!doc)
        return NULL;
    cJSON_AddStringToObject(doc, "errorMessage", message);
    cJSON_AddStringToObject(doc, "errorType", type);
    cJSON_AddStringToObject(doc, "requestId", request_id);
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
    char *body = error_document(type, message, "");
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

/* Step 1, when the layers bring no Python: the runtime next to this executable. A runtime
 * image keeps it in /var/runtime/<arch>/runtime beside /var/runtime/bootstrap, since Lambda
 * mounts the function's layers over /opt. */
static void adopt_own_runtime(layer *l)
{
    char own_dir[PATH_MAX];
    const char *chosen = getenv("BOOTSTRAP_LIBPYTHON");
    if ((chosen && *chosen) || layer_exe_dir(own_dir, sizeof(own_dir)) != 0)
        return;
    layer_adopt_runtime(l, own_dir);
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
    char own_dir[PATH_MAX] = "?";
    layer_exe_dir(own_dir, sizeof(own_dir));
    snprintf(msg, msg_len,
             "no Python runtime found: BOOTSTRAP_LIBPYTHON is not set, %s%s has no runtime/lib/libpython3.*.so.1.0, "
             "nor has %s/%s (next to the bootstrap), and the loader finds no libpython3.9 to 3.14",
             l->arch_dir[0] ? l->arch_dir : l->root, l->arch_dir[0] ? "" : " has no per-arch layer and", own_dir,
             l->arch);
    return NULL;
}

/* ---- step 4: Managed Instances workers ---------------------------------------------------- */

typedef struct {
    serving *serve;
    const char *address;
    extension *ext;
    runtime_api *own_api; /* the supervisor's connection, for invocations its workers left */
} supervision;

static pid_t fork_worker(void *ctx)
{
    supervision *sup = ctx;
    return python_fork(sup->serve->py);
}

/* A worker writes its stdout and stderr where the platform tells it to: each connects to the
 * Unix socket in _LAMBDA_TELEMETRY_LOG_FD_PROVIDER_SOCKET (as awslambdaric's workers do). */
static void connect_log_streams(void)
{
    const char *path = getenv("_LAMBDA_TELEMETRY_LOG_FD_PROVIDER_SOCKET");
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    if (!path || !*path)
        return;
    if (strlen(path) >= sizeof(addr.sun_path)) {
        fprintf(stderr, "bootstrap: warning: _LAMBDA_TELEMETRY_LOG_FD_PROVIDER_SOCKET is too long for a socket "
                        "path: logs stay on the supervisor's stdout and stderr\n");
        return;
    }
    memcpy(addr.sun_path, path, strlen(path) + 1);
    for (int fd = 1; fd <= 2; fd++) {
        int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (s < 0 || connect(s, (struct sockaddr *)&addr, sizeof(addr)) != 0 || dup2(s, fd) < 0)
            fprintf(stderr, "bootstrap: warning: cannot connect %s to the log socket %s: %s\n",
                    fd == 1 ? "stdout" : "stderr", path, strerror(errno));
        if (s >= 0)
            close(s);
    }
}

/* In the worker, right after the fork: everything that must be its own. */
static int start_worker(void *ctx, char *msg, size_t msg_len)
{
    supervision *sup = ctx;
    runtime_api_error err = {0};
    if (sup->own_api) /* the supervisor's connection, not this process's */
        runtime_api_free(sup->own_api);
    sup->own_api = NULL;
    if (sup->ext)
        extension_close_inherited(sup->ext);
    if (runtime_api_reconnect(sup->serve->api, &err) != 0) {
        snprintf(msg, msg_len, "%s", err.message);
        return -1;
    }
    crash_adopt_process(workers_crash_reported);
    if (crash_renew_traceback_fd() < 0)
        fprintf(stderr, "bootstrap: warning: no crash traceback file in this worker (%s)\n", strerror(errno));
    connect_log_streams();
    return serve_renew_signal_pipe(sup->serve, msg, msg_len);
}

/* In the supervisor: the platform sees only this process, so it learns from here that a
 * worker's invocation ended with the worker. */
static void report_lost(void *ctx, const char *request_id, const char *reason)
{
    supervision *sup = ctx;
    runtime_api_error err = {0};
    if (!sup->own_api && !(sup->own_api = runtime_api_new(sup->address, &err))) {
        fprintf(stderr, "bootstrap: could not report %s: %s\n", request_id, err.message);
        return;
    }
    char message[512];
    snprintf(message, sizeof(message), "RequestId: %s Error: Runtime exited with error: %s", request_id, reason);
    char *body = error_document("Runtime.ExitError", message, request_id);
    if (body && runtime_api_post_error(sup->own_api, request_id, "Runtime.ExitError", body, strlen(body), NULL,
                                       &err) != RUNTIME_API_OK)
        fprintf(stderr, "bootstrap: could not report %s: %s\n", request_id, err.message);
    free(body);
}

/* Step 3, beside Python's start: registering as an extension is what makes Lambda send SIGTERM
 * at shutdown. Without it the function still works, only its shutdown hooks do not run. */
static void extension_failed(const char *why)
{
    fprintf(stderr, "bootstrap: warning: not registered as a Lambda extension, so shutdown will not run the "
                    "function's SIGTERM and atexit hooks: %s\n", why);
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
                   layer_resolve(&lay, layer_root, arch, msg, sizeof(msg)) == 0;
    if (layer_ok) {
        adopt_own_runtime(&lay);
        layer_ok = use_layer_libraries(&lay, msg, sizeof(msg)) == 0;
    }

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
    int workers = workers_count(getenv(WORKERS_ENV), msg, sizeof(msg));
    if (workers < 0)
        return fail_init(api, "Runtime.InvalidConcurrency", msg);

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
        .wakeup_fd = serve_open_signal_pipe(),
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
    serve_watch_signals(&serve);
    /* Registration closes when init ends, at the first /next. It costs a thread and a round
     * trip (~2 ms of a cold start here), so it is made only for a function that has something
     * to run at shutdown: a SIGTERM handler or atexit hooks after init (or when asked to). */
    const char *force = getenv(EXTENSION_ENV_FORCE);
    extension *ext = NULL;
    if ((force && strcmp(force, "1") == 0) || python_has_shutdown_hooks(py)) {
        char ext_msg[512];
        ext = extension_start(address, EXTENSION_NAME, ext_msg, sizeof(ext_msg));
        python_allow_threads(py);
        int registered = ext && extension_wait_registered(ext, EXTENSION_WAIT_MS, ext_msg, sizeof(ext_msg)) == 0;
        python_end_allow_threads(py);
        if (!registered)
            extension_failed(ext_msg);
    }

    if (workers > 1) {
        static supervision sup;
        sup = (supervision){.serve = &serve, .address = address, .ext = ext};
        workers_config config = {
            .count = workers,
            .init_threads = python_thread_count(py),
            .fork_process = fork_worker,
            .start_worker = start_worker,
            .report_lost = report_lost,
            .ctx = &sup,
        };
        workers_start(&config); /* returns in each worker only */
    }
    serve_forever(&serve);
}
