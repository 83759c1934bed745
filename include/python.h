/*
 * python: loading libpython with dlopen, starting the interpreter, and handing each
 * invocation to the Python half of the runtime (src/runtime.py and the modules it imports,
 * embedded at build time).
 *
 * libpython is never linked: it is dlopen()ed RTLD_NOW|RTLD_GLOBAL (extension modules
 * such as _json resolve their Py* symbols against it) and used only through the stable
 * ABI (Py_LIMITED_API 3.9), so one binary serves Python 3.9 and newer.
 */
#ifndef BOOTSTRAP_PYTHON_H
#define BOOTSTRAP_PYTHON_H

#include <stddef.h>
#include <sys/types.h>

#include "invocation.h"

typedef struct python python;

/* Where the runtime's Python files say they are (<bootstrap>/runtime.py, runtime_json.py,
 * runtime_logging.py: mk/bootstrap.mk compiles them with these names): tracebacks drop the
 * frames of every file under it. */
#define PYTHON_RUNTIME_DIR "<bootstrap>/"
#define PYTHON_RUNTIME_FILENAME PYTHON_RUNTIME_DIR "runtime.py"

/* Looks at a shared object that failed to load and returns a sentence about what is wrong
 * with it (wrong arch, wrong Python, glibc too new, missing dependency), or 0 when it
 * finds nothing. Supplied by the doctor; may be NULL. */
typedef int (*python_explain_fn)(const char *path, const char *host_arch, const char *python_version,
                                 char *out, size_t out_len);

typedef struct {
    const char *python_home;   /* NULL: derive it from where libpython lives */
    const char *handler_spec;  /* as configured, for messages */
    const char *module;        /* NULL when the handler setting was malformed */
    const char *function;
    const char *malformed;     /* the Runtime.MalformedHandlerName message, or NULL */
    const char *task_root;
    const char *const *site_dirs; /* layer package dirs in sys.path order */
    int site_dir_count;
    const char *arch;
    python_explain_fn explain;
    int wakeup_fd; /* Python's signal wakeup fd (signal.set_wakeup_fd), or -1 */
    int crash_fd;  /* where faulthandler writes a crashing thread's traceback (src/crash.c), or -1 */
} python_start_options;

/* An error to post to /runtime/init/error. */
typedef struct {
    char type[128];
    char *body;        /* JSON document, malloc'd; free with python_init_error_clear */
    size_t body_len;
    char message[1024]; /* one line for stderr */
} python_init_error;

typedef enum {
    PYTHON_RESULT_RESPONSE = 0, /* payload is the response, kind_detail its content type */
    PYTHON_RESULT_ERROR = 1,    /* payload is the error document, kind_detail the error type */
    PYTHON_RESULT_EXIT = 2,     /* as ERROR, then the process must exit with exit_code */
    PYTHON_RESULT_STREAM = 3,   /* the handler returned an iterator: kind_detail is the content type,
                                   the body comes from python_stream_next */
} python_result_kind;

typedef struct {
    python_result_kind kind;
    const char *payload; /* valid until the next python_invoke */
    size_t payload_len;
    const char *detail;  /* content type or error type; valid until the next python_invoke */
    const char *xray_cause; /* may be NULL */
    int exit_code;
} python_result;

/* dlopen()s `library` (a path, or a soname for the loader to find) and resolves the API.
 * Returns NULL with a message naming the library and the loader's reason. */
python *python_load(const char *library, char *msg, size_t msg_len);

/* "3.11" and the loaded library's real path. */
const char *python_version(const python *py);
const char *python_library_path(const python *py);
int python_minor(const python *py);

/* Starts the interpreter, sets sys.path and imports the handler. Returns 0, or -1 with
 * *err filled (the caller posts it and exits). */
int python_start(python *py, const python_start_options *opt, python_init_error *err);
void python_init_error_clear(python_init_error *err);

/* Runs the handler for one invocation. Never fails: every failure becomes an error result. */
void python_invoke(python *py, const invocation *inv, python_result *out);

/* How a streamed response ended; the strings stay valid until the next python_stream_* call. */
typedef struct {
    const char *error_type; /* NULL when the handler's iterator finished */
    const char *error_body; /* base64 of the error document, for the trailer */
    int exit_code;          /* >= 0: the handler called sys.exit mid-stream; the process must exit */
} python_stream_end;

/* After a PYTHON_RESULT_STREAM (with the GIL): the next chunk of the body. Returns 1 with *data and
 * *len set (valid until the next call), or 0 at the end of the stream. */
int python_stream_next(python *py, const char **data, size_t *len);

/* Ends the stream, closing the handler's iterator if it was cut short, and says how it ended. */
void python_stream_close(python *py, python_stream_end *out);

/* Lets other Python threads run while this one waits on the network, and takes the GIL back. */
void python_allow_threads(python *py);
void python_end_allow_threads(python *py);

/* Runs the Python signal handlers for signals that have arrived (call with the GIL held,
 * from the main thread). Returns 1 when the process should shut down: SIGTERM or SIGINT
 * arrived, or a handler raised SystemExit or KeyboardInterrupt. `signals` are the signal
 * numbers read from the wakeup fd. */
int python_handle_signals(python *py, const unsigned char *signals, size_t count);

/* 1 when the function has something to run at shutdown: a SIGTERM handler of its own or
 * atexit hooks (call after python_start, with the GIL held). */
int python_has_shutdown_hooks(python *py);

/* Python threads running besides the calling one (threading's count; 0 when the function never
 * imported threading), with the GIL held. */
int python_thread_count(python *py);

/* fork() with the interpreter prepared for it (PyOS_BeforeFork, PyOS_AfterFork_*: the import
 * lock, os.register_at_fork hooks, thread states), with the GIL held. As fork(): 0 in the child,
 * the child's pid in the parent, -1 with errno. */
pid_t python_fork(python *py);

/* Points Python at new descriptors, with the GIL held: the signal wakeup fd and faulthandler's
 * traceback file (-1: none), after the handler closed or replaced the old ones. Returns 0, or -1
 * (logged) when Python refused them. */
int python_set_fds(python *py, int wakeup_fd, int crash_fd);

/* Runs the atexit handlers and flushes stdio, without joining threads: the way out for a
 * runtime that is told to stop. */
void python_shutdown(python *py);

#endif
