/*
 * python: libpython through dlopen and the stable ABI.
 *
 * Python.h is included with Py_LIMITED_API set to 3.9 only for its declarations: every
 * function is called through the table below, filled by dlsym, and each entry's type is
 * taken from the limited-API declaration of the same name, so using a function outside
 * the stable ABI does not compile. The binary has no link-time dependency on libpython.
 */
/* 1, as Python 3.9's pyconfig.h defines it: a different definition would be an error. */
#define _GNU_SOURCE 1
#define PY_SSIZE_T_CLEAN
#define Py_LIMITED_API 0x03090000
#include <Python.h>

#include "python.h"
#include "loader.h"

#include <dlfcn.h>
#include <errno.h>
#include <signal.h>
#include <link.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The runtime's Python files: each one's source, embedded by src/embed.S (bootstrap_<file>_py),
 * and, for each Python the build had, the bytecode of them all (mk/bootstrap.mk): pairs of
 * (magic number + a marshalled dict of code objects by file name, length), ended by NULL. */
extern const char bootstrap_runtime_py[], bootstrap_runtime_json_py[], bootstrap_runtime_logging_py[];
typedef struct {
    const unsigned char *data;
    uint64_t len;
} embedded_bytecode;
extern const embedded_bytecode bootstrap_runtime_bytecode[];

typedef struct {
    const char *name;     /* the module's name in sys.modules while it runs */
    const char *filename; /* the file name its code carries: its key in the bytecode's dict */
    const char *source;
} embedded_module;

/* What runtime.py imports (runtime_logging imports runtime_json): run first, in this order,
 * under the names it imports them by, and out of sys.modules once runtime.py has run, so that
 * the function finds only bootstrap_runtime there and its own modules of those names import. */
static const embedded_module runtime_helpers[] = {
    {"runtime_json", PYTHON_RUNTIME_DIR "runtime_json.py", bootstrap_runtime_json_py},
    {"runtime_logging", PYTHON_RUNTIME_DIR "runtime_logging.py", bootstrap_runtime_logging_py},
};

/* Declared by the headers only for the 3.11+ limited API; the value is the same since 3.3. */
#ifndef PyBUF_READ
#define PyBUF_READ 0x100
#endif

#define RUNTIME_MODULE "bootstrap_runtime"
static const embedded_module runtime_main = {RUNTIME_MODULE, PYTHON_RUNTIME_FILENAME, bootstrap_runtime_py};

#define PY_FUNCTIONS(X)                                                                                          \
    X(Py_InitializeEx)                                                                                           \
    X(Py_FinalizeEx)                                                                                             \
    X(Py_DecodeLocale)                                                                                           \
    X(Py_GetVersion)                                                                                             \
    X(Py_CompileString)                                                                                          \
    X(PyImport_ExecCodeModuleEx)                                                                                 \
    X(PyObject_GetAttrString)                                                                                    \
    X(PyObject_CallFunctionObjArgs)                                                                              \
    X(PyTuple_GetItem)                                                                                           \
    X(PyTuple_Size)                                                                                              \
    X(PyTuple_New)                                                                                               \
    X(PyTuple_SetItem)                                                                                           \
    X(PyBytes_AsStringAndSize)                                                                                   \
    X(PyBytes_FromStringAndSize)                                                                                 \
    X(PyUnicode_DecodeUTF8)                                                                                      \
    X(PyUnicode_AsUTF8String)                                                                                    \
    X(PyLong_FromLongLong)                                                                                       \
    X(PyLong_AsLong)                                                                                             \
    X(PyMemoryView_FromMemory)                                                                                   \
    X(PyErr_Occurred)                                                                                            \
    X(PyErr_Print)                                                                                               \
    X(PyErr_Clear)                                                                                               \
    X(PyEval_SaveThread)                                                                                         \
    X(PyEval_RestoreThread)                                                                                      \
    X(Py_DecRef)                                                                                                 \
    X(Py_IncRef)                                                                                                 \
    X(PyCMethod_New)                                                                                             \
    X(PyImport_GetMagicNumber)                                                                                   \
    X(PyImport_ImportModule)                                                                                     \
    X(PyErr_CheckSignals)                                                                                        \
    X(PyErr_ExceptionMatches)                                                                                    \
    X(PyObject_Call)                                                                                             \
    X(PyDict_Size)                                                                                               \
    X(PyUnicode_EncodeFSDefault)                                                                                 \
    X(PyLong_FromLong)                                                                                           \
    X(PyOS_BeforeFork)                                                                                           \
    X(PyOS_AfterFork_Parent)                                                                                     \
    X(PyOS_AfterFork_Child)                                                                                      \
    X(PyImport_GetModuleDict)                                                                                    \
    X(PyDict_DelItemString)                                                                                      \
    X(PyImport_AddModule)                                                                                        \
    X(PyModule_GetDict)                                                                                          \
    X(PyUnicode_DecodeFSDefault)                                                                                 \
    X(PyDict_SetItemString)                                                                                      \
    X(PyEval_GetBuiltins)                                                                                        \
    X(PyEval_EvalCode)                                                                                           \
    X(PyDict_GetItemString)

typedef struct {
#define PY_DECLARE(name) __typeof__(name) *name;
    PY_FUNCTIONS(PY_DECLARE)
#undef PY_DECLARE
    /* Deprecated since 3.11 but still exported, and the only stable way to place the
     * standard library before initialisation; declared by hand to avoid the warning. */
    void (*Py_SetPythonHome)(const wchar_t *);
    void (*Py_SetProgramName)(const wchar_t *);
    /* The one symbol outside the stable ABI, and optional: the legacy -S switch, exported by
     * 3.9 to 3.13. Importing site (and os with it) is half of Python's start-up; runtime.py
     * does the part of it a Lambda needs. Without the symbol, site simply runs. */
    int *no_site_flag;
    PyObject *none;
    PyObject **exc_system_exit, **exc_keyboard_interrupt; /* PyExc_SystemExit, PyExc_KeyboardInterrupt */
} py_api;

struct python {
    void *handle;
    py_api api;
    char version[16];
    int minor;
    char library[PATH_MAX];
    wchar_t *home;         /* kept alive for the interpreter's lifetime */
    wchar_t *program_name; /* same */
    PyObject *invoke;      /* bootstrap_runtime.invoke */
    PyObject *shutdown;    /* bootstrap_runtime.shutdown */
    PyObject *has_shutdown_hooks; /* bootstrap_runtime.has_shutdown_hooks */
    PyObject *stream_next; /* bootstrap_runtime.stream_next */
    PyObject *stream_close; /* bootstrap_runtime.stream_close */
    PyObject *set_fds; /* bootstrap_runtime.set_fds */
    PyObject *thread_count; /* bootstrap_runtime.thread_count */
    PyObject *stream_item; /* the last chunk or stream end, kept alive for the caller */
    PyObject *last_result; /* keeps the previous result's buffers alive */
    PyThreadState *saved_thread;
    python_explain_fn explain;
    char arch[16];
    PyMethodDef explain_def;
    PyMethodDef compile_def;
    char fallback[512];
};

/* ---- loading ----------------------------------------------------------------------- */

static int resolve(python *py, char *msg, size_t msg_len)
{
#define PY_RESOLVE(name)                                                                                         \
    if (!(*(void **)&py->api.name = dlsym(py->handle, #name))) {                                                 \
        snprintf(msg, msg_len, "%s does not export %s: not a CPython 3.9+ library", py->library, #name);         \
        return -1;                                                                                               \
    }
    PY_FUNCTIONS(PY_RESOLVE)
    PY_RESOLVE(Py_SetPythonHome)
    PY_RESOLVE(Py_SetProgramName)
#undef PY_RESOLVE
    py->api.no_site_flag = dlsym(py->handle, "Py_NoSiteFlag");
    py->api.none = dlsym(py->handle, "_Py_NoneStruct");
    py->api.exc_system_exit = dlsym(py->handle, "PyExc_SystemExit");
    py->api.exc_keyboard_interrupt = dlsym(py->handle, "PyExc_KeyboardInterrupt");
    if (!py->api.none) {
        snprintf(msg, msg_len, "%s does not export _Py_NoneStruct", py->library);
        return -1;
    }
    return 0;
}

python *python_load(const char *library, char *msg, size_t msg_len)
{
    python *py = calloc(1, sizeof(*py));
    if (!py) {
        snprintf(msg, msg_len, "out of memory");
        return NULL;
    }
    snprintf(py->library, sizeof(py->library), "%s", library);
    /* RTLD_GLOBAL: extension modules (_json, _ssl, ...) are not linked against libpython
     * and find its symbols in the global scope. */
    py->handle = dlopen(library, RTLD_NOW | RTLD_GLOBAL);
    if (!py->handle) {
        snprintf(msg, msg_len, "cannot load %s: %s", library, dlerror());
        free(py);
        return NULL;
    }
    struct link_map *map = NULL;
    if (dlinfo(py->handle, RTLD_DI_LINKMAP, &map) == 0 && map && map->l_name && map->l_name[0])
        snprintf(py->library, sizeof(py->library), "%s", map->l_name);
    if (resolve(py, msg, msg_len) != 0) {
        dlclose(py->handle);
        free(py);
        return NULL;
    }
    loader_release_relocations(py->handle, py->library);
    int major = 0, minor = 0;
    if (sscanf(py->api.Py_GetVersion(), "%d.%d", &major, &minor) != 2 || major != 3 || minor < 9) {
        snprintf(msg, msg_len, "%s is Python %.20s; bootstrap needs Python 3.9 or newer", py->library,
                 py->api.Py_GetVersion());
        dlclose(py->handle);
        free(py);
        return NULL;
    }
    py->minor = minor;
    snprintf(py->version, sizeof(py->version), "3.%d", minor);
    return py;
}

const char *python_version(const python *py)
{
    return py->version;
}

const char *python_library_path(const python *py)
{
    return py->library;
}

int python_minor(const python *py)
{
    return py->minor;
}

/* ---- starting ---------------------------------------------------------------------- */

static int exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

/* The prefix whose lib/python3.X/ holds the standard library, found by walking up from the
 * library's directory: <prefix>/lib/libpython3.X.so (layers, pyenv) and
 * <prefix>/lib/<triplet>/libpython3.X.so (Debian) both lead to it. */
static int derive_home(const python *py, char *home, size_t home_len)
{
    char dir[PATH_MAX], probe[PATH_MAX + 64];
    snprintf(dir, sizeof(dir), "%s", py->library);
    for (int level = 0; level < 3; level++) {
        char *slash = strrchr(dir, '/');
        if (!slash || slash == dir)
            return -1;
        *slash = '\0';
        snprintf(probe, sizeof(probe), "%s/lib/python%s/os.py", dir, py->version);
        if (exists(probe)) {
            snprintf(home, home_len, "%s", dir);
            return 0;
        }
    }
    return -1;
}

static void init_error_set(python_init_error *err, const char *type, const char *fmt, const char *arg)
{
    snprintf(err->type, sizeof(err->type), "%s", type);
    snprintf(err->message, sizeof(err->message), fmt, arg);
    err->body = NULL;
    err->body_len = 0;
}

/* Before Py_InitializeEx, which aborts the process when it cannot find the standard library. */
static int place_stdlib(python *py, const python_start_options *opt, python_init_error *err)
{
    if (getenv("PYTHONHOME"))
        return 0; /* the user's choice, honoured by Python itself */
    char home[PATH_MAX], probe[PATH_MAX + 64];
    if (opt->python_home)
        snprintf(home, sizeof(home), "%s", opt->python_home);
    else if (derive_home(py, home, sizeof(home)) != 0)
        return 0; /* let Python search from its compiled-in prefix */
    snprintf(probe, sizeof(probe), "%s/lib/python%s/encodings", home, py->version);
    if (!exists(probe)) {
        char detail[PATH_MAX + 128];
        snprintf(detail, sizeof(detail), "%s (looked for %s)", home, probe);
        init_error_set(err, "Runtime.InvalidPythonRuntime", "the Python runtime at %s has no standard library",
                       detail);
        return -1;
    }
    py->home = py->api.Py_DecodeLocale(home, NULL);
    if (!py->home) {
        init_error_set(err, "Runtime.InvalidPythonRuntime", "cannot decode the path %s", home);
        return -1;
    }
    py->api.Py_SetPythonHome(py->home);
    /* sys.executable then names a real interpreter when the prefix ships one. */
    snprintf(probe, sizeof(probe), "%s/bin/python%s", home, py->version);
    if (exists(probe) && (py->program_name = py->api.Py_DecodeLocale(probe, NULL)))
        py->api.Py_SetProgramName(py->program_name);
    return 0;
}

static PyObject *str_or_none(python *py, const char *s, size_t len, int present)
{
    if (!present) {
        py->api.Py_IncRef(py->api.none);
        return py->api.none;
    }
    /* Header bytes that are not UTF-8 must not make the call fail. */
    return py->api.PyUnicode_DecodeUTF8(s, (Py_ssize_t)len, "replace");
}

static PyObject *str_of(python *py, const char *s)
{
    return str_or_none(py, s, s ? strlen(s) : 0, s != NULL);
}

/* One interpreter per process: the explain callback finds it here. */
static python *the_python;

/* bootstrap_runtime.explain(path): the doctor's sentence about a shared object, or None. */
static PyObject *explain_shared_object(PyObject *self, PyObject *args)
{
    (void)self;
    python *py = the_python;
    PyObject *path = py->api.PyTuple_GetItem(args, 0);
    PyObject *encoded = path ? py->api.PyUnicode_AsUTF8String(path) : NULL;
    char *c_path = NULL;
    Py_ssize_t len = 0;
    if (!encoded || py->api.PyBytes_AsStringAndSize(encoded, &c_path, &len) != 0) {
        py->api.Py_DecRef(encoded);
        return NULL;
    }
    char finding[1024];
    int found = py->explain && py->explain(c_path, py->arch, py->version, finding, sizeof(finding)) > 0;
    py->api.Py_DecRef(encoded);
    if (!found) {
        py->api.Py_IncRef(py->api.none);
        return py->api.none;
    }
    return str_of(py, finding);
}

/* compile_source(fallback, data, path, **kwargs): importlib's SourceLoader.source_to_code
 * (runtime.py installs it). The built-in compile() asks first whether its argument is an
 * AST, and the first such question builds every one of ast's node types: about 1.3 ms of a
 * cold start that Py_CompileString, the same compilation of the same bytes, does not pay.
 * Anything but (bytes without NUL, str) goes to `fallback`, importlib's own function. */
static PyObject *compile_source(PyObject *self, PyObject *args, PyObject *kwargs)
{
    (void)self;
    python *py = the_python;
    Py_ssize_t nargs = py->api.PyTuple_Size(args);
    PyObject *fallback = nargs == 3 ? py->api.PyTuple_GetItem(args, 0) : NULL;
    if (!fallback)
        return NULL;
    char *source = NULL, *c_path = NULL;
    Py_ssize_t source_len = 0, path_len = 0;
    PyObject *path = NULL;
    /* (through _call_with_frames_removed's **kwds, no keywords arrive as an empty dict) */
    if ((!kwargs || py->api.PyDict_Size(kwargs) == 0) && py->api.PyBytes_AsStringAndSize(py->api.PyTuple_GetItem(args, 1), &source, &source_len) == 0 &&
        !memchr(source, '\0', (size_t)source_len) &&
        (path = py->api.PyUnicode_EncodeFSDefault(py->api.PyTuple_GetItem(args, 2))) &&
        py->api.PyBytes_AsStringAndSize(path, &c_path, &path_len) == 0 && !memchr(c_path, '\0', (size_t)path_len)) {
        PyObject *code = py->api.Py_CompileString(source, c_path, Py_file_input);
        py->api.Py_DecRef(path);
        return code;
    }
    py->api.Py_DecRef(path);
    py->api.PyErr_Clear();
    PyObject *rest = py->api.PyTuple_New(3); /* (None, data, path): fallback is unbound */
    for (Py_ssize_t i = 0; rest && i < 3; i++) {
        PyObject *item = i ? py->api.PyTuple_GetItem(args, i) : py->api.none;
        py->api.Py_IncRef(item);
        py->api.PyTuple_SetItem(rest, i, item);
    }
    PyObject *code = rest ? py->api.PyObject_Call(fallback, rest, kwargs) : NULL;
    py->api.Py_DecRef(rest);
    return code;
}

static PyObject *string_tuple(python *py, const char *const *items, int count)
{
    PyObject *t = py->api.PyTuple_New(count);
    for (int i = 0; t && i < count; i++) {
        PyObject *s = str_of(py, items[i]);
        if (!s || py->api.PyTuple_SetItem(t, i, s) != 0) {
            py->api.Py_DecRef(t);
            return NULL;
        }
    }
    return t;
}

/* Copies the (type, body) pair that bootstrap_runtime.init returns on failure. */
static int take_init_error(python *py, PyObject *result, python_init_error *err)
{
    char *type = NULL, *body = NULL, *message = NULL;
    Py_ssize_t type_len = 0, body_len = 0, message_len = 0;
    if (py->api.PyBytes_AsStringAndSize(py->api.PyTuple_GetItem(result, 0), &type, &type_len) != 0 ||
        py->api.PyBytes_AsStringAndSize(py->api.PyTuple_GetItem(result, 1), &body, &body_len) != 0 ||
        py->api.PyBytes_AsStringAndSize(py->api.PyTuple_GetItem(result, 2), &message, &message_len) != 0)
        return -1;
    snprintf(err->type, sizeof(err->type), "%s", type);
    snprintf(err->message, sizeof(err->message), "%s", message);
    err->body = malloc((size_t)body_len + 1);
    if (!err->body)
        return -1;
    memcpy(err->body, body, (size_t)body_len + 1);
    err->body_len = (size_t)body_len;
    return 0;
}

/* Something in the runtime itself failed: print Python's traceback and say so. */
static int runtime_failure(python *py, python_init_error *err, const char *what)
{
    if (py->api.PyErr_Occurred())
        py->api.PyErr_Print();
    init_error_set(err, "Runtime.InternalError", "the runtime failed while %s (traceback above)", what);
    return -1;
}

/* The embedded bytecode for this Python's magic number, unmarshalled (compiling the runtime costs
 * milliseconds of every cold start): a dict of code objects by file name, or NULL. */
static PyObject *bytecode_load(python *py)
{
    long magic = py->api.PyImport_GetMagicNumber();
    for (const embedded_bytecode *b = bootstrap_runtime_bytecode; b->data; b++) {
        long blob_magic = (long)b->data[0] | (long)b->data[1] << 8 | (long)b->data[2] << 16 | (long)b->data[3] << 24;
        if (b->len <= 4 || blob_magic != magic)
            continue;
        PyObject *marshal = py->api.PyImport_ImportModule("marshal");
        PyObject *loads = marshal ? py->api.PyObject_GetAttrString(marshal, "loads") : NULL;
        PyObject *data = py->api.PyMemoryView_FromMemory((char *)b->data + 4, (Py_ssize_t)(b->len - 4), PyBUF_READ);
        PyObject *codes = (loads && data) ? py->api.PyObject_CallFunctionObjArgs(loads, data, NULL) : NULL;
        py->api.Py_DecRef(data);
        py->api.Py_DecRef(loads);
        py->api.Py_DecRef(marshal);
        if (codes)
            return codes;
        py->api.PyErr_Clear(); /* fall back to the sources */
        break;
    }
    return NULL;
}

/* A module's code object: from `codes` (the bytecode, or NULL), else compiled from its source. */
static PyObject *module_code(python *py, const embedded_module *m, PyObject *codes)
{
    PyObject *code = codes ? py->api.PyDict_GetItemString(codes, m->filename) : NULL;
    if (code) {
        py->api.Py_IncRef(code);
        return code;
    }
    return py->api.Py_CompileString(m->source, m->filename, Py_file_input);
}

/* A module runtime.py imports, run in a module of its name in sys.modules (where the import
 * finds it) with __file__ set: without the spec and loader PyImport_ExecCodeModuleEx would
 * also build, which cost more than the rest of it. Returns 0, or -1 with the error set. */
static int helper_exec(python *py, const embedded_module *m, PyObject *code)
{
    PyObject *module = py->api.PyImport_AddModule(m->name);
    PyObject *globals = module ? py->api.PyModule_GetDict(module) : NULL;
    PyObject *file = globals ? py->api.PyUnicode_DecodeFSDefault(m->filename) : NULL;
    PyObject *result = NULL;
    /* (3.9 gives code run in globals without __builtins__ nothing but None) */
    if (file && py->api.PyDict_SetItemString(globals, "__builtins__", py->api.PyEval_GetBuiltins()) == 0 &&
        py->api.PyDict_SetItemString(globals, "__file__", file) == 0)
        result = py->api.PyEval_EvalCode(code, globals, globals);
    py->api.Py_DecRef(file);
    py->api.Py_DecRef(result);
    return result ? 0 : -1;
}

/* bootstrap_runtime, after the modules it imports, which then leave sys.modules (its own
 * references keep them). */
static PyObject *runtime_load(python *py)
{
    PyObject *codes = bytecode_load(py);
    const size_t count = sizeof(runtime_helpers) / sizeof(runtime_helpers[0]);
    int ok = 1;
    for (size_t i = 0; ok && i < count; i++) {
        PyObject *code = module_code(py, &runtime_helpers[i], codes);
        ok = code && helper_exec(py, &runtime_helpers[i], code) == 0;
        py->api.Py_DecRef(code);
    }
    PyObject *code = ok ? module_code(py, &runtime_main, codes) : NULL;
    PyObject *module = code ? py->api.PyImport_ExecCodeModuleEx(runtime_main.name, code, runtime_main.filename) : NULL;
    py->api.Py_DecRef(code);
    py->api.Py_DecRef(codes);
    PyObject *modules = py->api.PyImport_GetModuleDict();
    for (size_t i = 0; module && i < count; i++) {
        if (py->api.PyDict_DelItemString(modules, runtime_helpers[i].name) != 0) {
            py->api.Py_DecRef(module);
            module = NULL;
        }
    }
    return module;
}

int python_start(python *py, const python_start_options *opt, python_init_error *err)
{
    memset(err, 0, sizeof(*err));
    the_python = py;
    py->explain = opt->explain;
    snprintf(py->arch, sizeof(py->arch), "%s", opt->arch);
    if (place_stdlib(py, opt, err) != 0)
        return -1;
    if (py->api.no_site_flag)
        *py->api.no_site_flag = 1;
    py->api.Py_InitializeEx(1);

    PyObject *module = runtime_load(py);
    PyObject *init = module ? py->api.PyObject_GetAttrString(module, "init") : NULL;
    py->invoke = module ? py->api.PyObject_GetAttrString(module, "invoke") : NULL;
    py->shutdown = module ? py->api.PyObject_GetAttrString(module, "shutdown") : NULL;
    py->has_shutdown_hooks = module ? py->api.PyObject_GetAttrString(module, "has_shutdown_hooks") : NULL;
    py->stream_next = module ? py->api.PyObject_GetAttrString(module, "stream_next") : NULL;
    py->stream_close = module ? py->api.PyObject_GetAttrString(module, "stream_close") : NULL;
    py->set_fds = module ? py->api.PyObject_GetAttrString(module, "set_fds") : NULL;
    py->thread_count = module ? py->api.PyObject_GetAttrString(module, "thread_count") : NULL;
    py->api.Py_DecRef(module);
    if (!init || !py->invoke || !py->shutdown || !py->stream_next || !py->stream_close || !py->set_fds ||
        !py->thread_count) {
        py->api.Py_DecRef(init);
        return runtime_failure(py, err, "loading " PYTHON_RUNTIME_FILENAME " and its modules");
    }

    py->explain_def = (PyMethodDef){"explain", explain_shared_object, METH_VARARGS, NULL};
    PyObject *explain = py->api.PyCMethod_New(&py->explain_def, NULL, NULL, NULL);
    py->compile_def = (PyMethodDef){"compile_source", (PyCFunction)(void (*)(void))compile_source,
                                    METH_VARARGS | METH_KEYWORDS, NULL};
    /* 3.9's Py_CompileString reads the bytes as UTF-8 whatever their coding cookie says. */
    PyObject *compiler = py->minor >= 10 ? py->api.PyCMethod_New(&py->compile_def, NULL, NULL, NULL) : py->api.none;
    if (compiler == py->api.none)
        py->api.Py_IncRef(compiler);
    PyObject *args[] = {
        str_of(py, opt->handler_spec), str_of(py, opt->module), str_of(py, opt->function),
        str_of(py, opt->malformed),    str_of(py, opt->task_root),
        string_tuple(py, opt->site_dirs, opt->site_dir_count), explain, py->api.PyLong_FromLong(opt->wakeup_fd),
        str_of(py, opt->python_home ? "layer" : "full"), compiler, py->api.PyLong_FromLong(opt->crash_fd),
    };
    const size_t nargs = sizeof(args) / sizeof(args[0]);
    PyObject *result = NULL;
    int complete = 1;
    for (size_t i = 0; i < nargs; i++)
        complete = complete && args[i];
    if (complete)
        result = py->api.PyObject_CallFunctionObjArgs(init, args[0], args[1], args[2], args[3], args[4], args[5],
                                                      args[6], args[7], args[8], args[9], args[10], NULL);
    for (size_t i = 0; i < nargs; i++)
        py->api.Py_DecRef(args[i]);
    py->api.Py_DecRef(init);
    if (!result)
        return runtime_failure(py, err, "importing the handler");
    int rc = 0;
    if (result != py->api.none) {
        rc = -1;
        if (take_init_error(py, result, err) != 0)
            runtime_failure(py, err, "reporting an init error");
    }
    py->api.Py_DecRef(result);
    return rc;
}

void python_init_error_clear(python_init_error *err)
{
    free(err->body);
    err->body = NULL;
    err->body_len = 0;
}

/* ---- invoking ---------------------------------------------------------------------- */

static PyObject *header_value(python *py, const invocation_field *h)
{
    return str_or_none(py, h->value, h->len, h->present);
}

/* The runtime's own failure, reported without Python's help. */
static void invoke_fallback(python *py, const invocation *inv, python_result *out)
{
    if (py->api.PyErr_Occurred())
        py->api.PyErr_Print();
    int n = snprintf(py->fallback, sizeof(py->fallback),
                     "{\"errorMessage\": \"The runtime failed to handle the invocation; its log has the traceback\", "
                     "\"errorType\": \"Runtime.InternalError\", \"requestId\": \"%s\", \"stackTrace\": []}",
                     inv->request_id.value);
    out->kind = PYTHON_RESULT_ERROR;
    out->payload = py->fallback;
    out->payload_len = (n > 0 && (size_t)n < sizeof(py->fallback)) ? (size_t)n : strlen(py->fallback);
    out->detail = "Runtime.InternalError";
    out->xray_cause = NULL;
    out->exit_code = 0;
}

/* Reads (kind, payload, detail, xray_cause, exit_code) as returned by bootstrap_runtime.invoke. */
static int take_result(python *py, PyObject *result, python_result *out)
{
    char *payload = NULL, *detail = NULL, *xray = NULL;
    Py_ssize_t payload_len = 0, detail_len = 0, xray_len = 0;
    if (py->api.PyTuple_Size(result) != 5)
        return -1;
    long kind = py->api.PyLong_AsLong(py->api.PyTuple_GetItem(result, 0));
    long exit_code = py->api.PyLong_AsLong(py->api.PyTuple_GetItem(result, 4));
    PyObject *xray_obj = py->api.PyTuple_GetItem(result, 3);
    if (py->api.PyErr_Occurred() ||
        py->api.PyBytes_AsStringAndSize(py->api.PyTuple_GetItem(result, 1), &payload, &payload_len) != 0 ||
        py->api.PyBytes_AsStringAndSize(py->api.PyTuple_GetItem(result, 2), &detail, &detail_len) != 0 ||
        (xray_obj != py->api.none && py->api.PyBytes_AsStringAndSize(xray_obj, &xray, &xray_len) != 0))
        return -1;
    if (kind < PYTHON_RESULT_RESPONSE || kind > PYTHON_RESULT_STREAM)
        return -1;
    out->kind = (python_result_kind)kind;
    out->payload = payload;
    out->payload_len = (size_t)payload_len;
    out->detail = detail;
    out->xray_cause = xray;
    out->exit_code = (int)exit_code;
    return 0;
}

void python_invoke(python *py, const invocation *inv, python_result *out)
{
    py->api.Py_DecRef(py->last_result);
    py->last_result = NULL;

    /* The event is lent to Python as a memoryview: no copy, and runtime.py does not keep it. */
    PyObject *args[] = {
        header_value(py, &inv->request_id),
        py->api.PyMemoryView_FromMemory((char *)inv->body, (Py_ssize_t)inv->body_len, PyBUF_READ),
        header_value(py, &inv->content_type),
        py->api.PyLong_FromLongLong(inv->deadline),
        header_value(py, &inv->function_arn),
        header_value(py, &inv->trace_id),
        header_value(py, &inv->client_context),
        header_value(py, &inv->cognito_identity),
        header_value(py, &inv->tenant_id),
    };
    const size_t nargs = sizeof(args) / sizeof(args[0]);
    int complete = 1;
    for (size_t i = 0; i < nargs; i++)
        complete = complete && args[i];
    PyObject *result = NULL;
    if (complete)
        result = py->api.PyObject_CallFunctionObjArgs(py->invoke, args[0], args[1], args[2], args[3], args[4],
                                                      args[5], args[6], args[7], args[8], NULL);
    for (size_t i = 0; i < nargs; i++)
        py->api.Py_DecRef(args[i]);
    if (!result || take_result(py, result, out) != 0) {
        py->api.Py_DecRef(result);
        invoke_fallback(py, inv, out);
        return;
    }
    py->last_result = result;
}

int python_stream_next(python *py, const char **data, size_t *len)
{
    py->api.Py_DecRef(py->stream_item);
    py->stream_item = py->api.PyObject_CallFunctionObjArgs(py->stream_next, NULL);
    char *bytes = NULL;
    Py_ssize_t n = 0;
    if (!py->stream_item || py->stream_item == py->api.none ||
        py->api.PyBytes_AsStringAndSize(py->stream_item, &bytes, &n) != 0) {
        if (py->api.PyErr_Occurred())
            py->api.PyErr_Print(); /* the runtime's own failure: stream_next catches the handler's */
        return 0;
    }
    *data = bytes;
    *len = (size_t)n;
    return 1;
}

void python_stream_close(python *py, python_stream_end *out)
{
    out->error_type = NULL;
    out->error_body = NULL;
    out->exit_code = -1;
    py->api.Py_DecRef(py->stream_item);
    py->stream_item = py->api.PyObject_CallFunctionObjArgs(py->stream_close, NULL);
    if (!py->stream_item || py->stream_item == py->api.none) {
        if (py->api.PyErr_Occurred())
            py->api.PyErr_Print();
        return;
    }
    char *type = NULL, *body = NULL;
    Py_ssize_t type_len = 0, body_len = 0;
    if (py->api.PyTuple_Size(py->stream_item) != 3 ||
        py->api.PyBytes_AsStringAndSize(py->api.PyTuple_GetItem(py->stream_item, 0), &type, &type_len) != 0 ||
        py->api.PyBytes_AsStringAndSize(py->api.PyTuple_GetItem(py->stream_item, 1), &body, &body_len) != 0) {
        py->api.PyErr_Print();
        return;
    }
    long exit_code = py->api.PyLong_AsLong(py->api.PyTuple_GetItem(py->stream_item, 2));
    if (py->api.PyErr_Occurred()) {
        py->api.PyErr_Print();
        exit_code = -1;
    }
    out->error_type = type;
    out->error_body = body;
    out->exit_code = exit_code < 0 ? -1 : (int)(exit_code & 0xff); /* as _exit() would take it */
}

void python_allow_threads(python *py)
{
    py->saved_thread = py->api.PyEval_SaveThread();
}

void python_end_allow_threads(python *py)
{
    py->api.PyEval_RestoreThread(py->saved_thread);
    py->saved_thread = NULL;
}

int python_handle_signals(python *py, const unsigned char *signals, size_t count)
{
    int stop = 0;
    for (size_t i = 0; i < count; i++)
        stop = stop || signals[i] == SIGTERM || signals[i] == SIGINT;
    /* Runs the handlers Python has queued; SystemExit or KeyboardInterrupt from one means stop.
     * Any other exception (e.g. a timer's handler raising after its invocation ended) is
     * logged, and the runtime goes on waiting. */
    if (py->api.PyErr_CheckSignals() != 0) {
        if (!py->api.exc_system_exit || !py->api.exc_keyboard_interrupt ||
            py->api.PyErr_ExceptionMatches(*py->api.exc_system_exit) ||
            py->api.PyErr_ExceptionMatches(*py->api.exc_keyboard_interrupt)) {
            py->api.PyErr_Clear();
            stop = 1;
        } else {
            py->api.PyErr_Print();
        }
    }
    return stop;
}

int python_has_shutdown_hooks(python *py)
{
    PyObject *r = py->api.PyObject_CallFunctionObjArgs(py->has_shutdown_hooks, NULL);
    if (!r) {
        py->api.PyErr_Print();
        return 1; /* when in doubt, register: hooks that never run are the worse failure */
    }
    int yes = r != py->api.none && py->api.PyLong_AsLong(r) != 0;
    py->api.PyErr_Clear();
    py->api.Py_DecRef(r);
    return yes;
}

int python_thread_count(python *py)
{
    PyObject *r = py->api.PyObject_CallFunctionObjArgs(py->thread_count, NULL);
    long n = r ? py->api.PyLong_AsLong(r) : 0;
    if (!r || n < 0) {
        py->api.PyErr_Clear();
        n = 0;
    }
    py->api.Py_DecRef(r);
    return (int)n;
}

pid_t python_fork(python *py)
{
    py->api.PyOS_BeforeFork();
    pid_t pid = fork();
    int saved = errno;
    if (pid == 0)
        py->api.PyOS_AfterFork_Child();
    else
        py->api.PyOS_AfterFork_Parent();
    errno = saved;
    return pid;
}

int python_set_fds(python *py, int wakeup_fd, int crash_fd)
{
    PyObject *wakeup = py->api.PyLong_FromLong(wakeup_fd);
    PyObject *crash = py->api.PyLong_FromLong(crash_fd);
    PyObject *r = wakeup && crash ? py->api.PyObject_CallFunctionObjArgs(py->set_fds, wakeup, crash, NULL) : NULL;
    py->api.Py_DecRef(wakeup);
    py->api.Py_DecRef(crash);
    if (!r) {
        py->api.PyErr_Print();
        return -1;
    }
    py->api.Py_DecRef(r);
    return 0;
}

void python_shutdown(python *py)
{
    PyObject *r = py->api.PyObject_CallFunctionObjArgs(py->shutdown, NULL);
    if (!r)
        py->api.PyErr_Print();
    py->api.Py_DecRef(r);
}
