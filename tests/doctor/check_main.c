/* Stand-in for the runtime's main() in the doctor's tests: `--check ...` goes to
 * doctor_main exactly as src/main.c will route it, and
 * `--explain PATH HOST_ARCH PYTHON` calls doctor_explain_file (empty string =
 * NULL) and prints its sentence, exiting 1 when it found a problem. */
#include "doctor.h"
#include "doctor_explain.h"

#include <stdio.h>
#include <string.h>

static const char *check_main_arg(const char *s)
{
    return s[0] ? s : NULL;
}

int main(int argc, char **argv)
{
    if (argc >= 2 && !strcmp(argv[1], "--explain")) {
        char out[2048];
        if (argc != 5) {
            fputs("usage: bootstrap-check --explain PATH HOST_ARCH PYTHON\n", stderr);
            return 2;
        }
        int found = doctor_explain_file(argv[2], check_main_arg(argv[3]), check_main_arg(argv[4]),
                                        out, sizeof out);
        if (found)
            puts(out);
        return found;
    }
    return doctor_main(argc, argv);
}
