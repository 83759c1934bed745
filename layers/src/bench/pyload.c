/* pyload LIBPYTHON
 *
 * What a cold start pays for the interpreter itself: dlopen() of a layer's libpython
 * (RTLD_NOW | RTLD_GLOBAL, as the bootstrap does; its <arch>/lib comes from
 * LD_LIBRARY_PATH) and Py_InitializeEx(0) (PYTHONHOME from the environment). Prints
 * "dlopen_us init_us" for this one process; bench-load.sh runs it many times.
 */
#include <dlfcn.h>
#include <stdio.h>
#include <time.h>

static double now_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s LIBPYTHON\n", argv[0]);
        return 2;
    }
    double t0 = now_us();
    void *lib = dlopen(argv[1], RTLD_NOW | RTLD_GLOBAL);
    if (!lib) {
        fprintf(stderr, "pyload: %s\n", dlerror());
        return 1;
    }
    double t1 = now_us();
    void (*init)(int) = (void (*)(int))dlsym(lib, "Py_InitializeEx");
    int (*initialized)(void) = (int (*)(void))dlsym(lib, "Py_IsInitialized");
    if (!init || !initialized) {
        fprintf(stderr, "pyload: no Py_InitializeEx/Py_IsInitialized in %s\n", argv[1]);
        return 1;
    }
    init(0);
    double t2 = now_us();
    if (!initialized()) {
        fprintf(stderr, "pyload: Py_InitializeEx failed\n");
        return 1;
    }
    printf("%.0f %.0f\n", t1 - t0, t2 - t1);
    return 0;
}
