/* embedtest LIBPYTHON SCRIPT [ARGS...]
 *
 * Loads a layer's libpython the way the bootstrap does (dlopen, RTLD_GLOBAL, so
 * extension modules find the C API in it), initializes it (PYTHONHOME and
 * LD_LIBRARY_PATH come from the environment) and runs SCRIPT with sys.argv set
 * to [SCRIPT, ARGS...]. Exit status: 0 if the script ran without an exception.
 * Only stable-ABI entry points are used, resolved with dlsym: no Python headers.
 */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef void (*init_fn)(int);
typedef int (*run_fn)(const char *);
typedef int (*fin_fn)(void);

static void *need(void *lib, const char *name) {
    void *p = dlsym(lib, name);
    if (!p) {
        fprintf(stderr, "embedtest: %s: %s\n", name, dlerror());
        exit(2);
    }
    return p;
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: %s LIBPYTHON SCRIPT [ARGS...]\n", argv[0]);
        return 2;
    }
    void *lib = dlopen(argv[1], RTLD_NOW | RTLD_GLOBAL);
    if (!lib) {
        fprintf(stderr, "embedtest: dlopen: %s\n", dlerror());
        return 2;
    }
    init_fn init = (init_fn)need(lib, "Py_InitializeEx");
    run_fn run = (run_fn)need(lib, "PyRun_SimpleString");
    fin_fn fin = (fin_fn)need(lib, "Py_FinalizeEx");

    /* sys.argv and the script, passed as Python literals built by repr() of bytes. */
    size_t cap = 256;
    for (int i = 2; i < argc; i++) cap += 4 * strlen(argv[i]) + 8;
    char *code = malloc(cap);
    if (!code) return 2;
    size_t n = (size_t)snprintf(code, cap, "import sys, os\nsys.argv = [os.fsdecode(a) for a in [");
    for (int i = 2; i < argc; i++) {
        n += (size_t)snprintf(code + n, cap - n, "b'");
        for (const unsigned char *s = (const unsigned char *)argv[i]; *s; s++)
            n += (size_t)snprintf(code + n, cap - n, "\\x%02x", *s);
        n += (size_t)snprintf(code + n, cap - n, "',");
    }
    snprintf(code + n, cap - n,
             "]]\nexec(compile(open(sys.argv[0], 'rb').read(), sys.argv[0], 'exec'), "
             "{'__name__': '__main__', '__file__': sys.argv[0]})\n");

    init(0);
    int rc = run(code);
    if (fin() < 0 && rc == 0) rc = 1;
    free(code);
    return rc == 0 ? 0 : 1;
}
