/* doctor.c: `bootstrap --check`, the layer doctor's command line and report.
 *
 * The work is done by the other doctor modules: doctor_tree reads the layers and
 * function packages (directories or .zip files), doctor_check checks every file in them
 * against the target runtime, with doctor_resolve telling where each DT_NEEDED library
 * would be found.  This file parses the arguments, runs them in that order and prints
 * the findings as text or JSON. */
#define _GNU_SOURCE
#include "doctor.h"
#include "doctor_check.h"
#include "doctor_util.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DOCTOR_DEFAULT_TARGET "provided.al2023"
#define DOCTOR_ERR 512

typedef struct {
    const char *arch_arg, *python_arg, *target_arg, *glibc_arg;
    int json, help;
    const char **paths;
    size_t n_paths;
    doctor_run run;
} doctor;

/* --------------------------------------------------------------- output */

static void doctor_print_text(const doctor_run *d)
{
    const char *last_rel = NULL;
    size_t last_tree = (size_t)-1, files = 0;
    for (size_t i = 0; i < d->n_problems; i++) {
        const doctor_problem *p = &d->problems[i];
        if (p->tree != last_tree || !last_rel || strcmp(p->rel, last_rel)) {
            printf("%s: %s%s%s%s\n", d->files.trees[p->tree].arg, p->rel, p->what[0] ? " (" : "", p->what,
                   p->what[0] ? ")" : "");
            last_tree = p->tree;
            last_rel = p->rel;
            files++;
        }
        printf("  %s: %s. Fix: %s\n", p->kind, p->message, p->fix);
    }
    char arches[64];
    snprintf(arches, sizeof arches, "%s%s%s", doctor_arch(d->arches[0]), d->n_arches > 1 ? "+" : "",
             d->n_arches > 1 ? doctor_arch(d->arches[1]) : "");
    if (d->n_problems)
        printf("doctor: %zu problem%s in %zu file%s", d->n_problems, d->n_problems == 1 ? "" : "s",
               files, files == 1 ? "" : "s");
    else
        printf("doctor: no problems");
    printf(" (%zu ELF of %zu files checked; target %s, glibc %s, %s, Python %s)\n", d->n_elf,
           d->n_files, d->target.name, d->target.glibc, arches, d->python[0] ? d->python : "unknown");
}

static cJSON *doctor_json_target(const doctor_run *d)
{
    cJSON *t = cJSON_CreateObject(), *arches = cJSON_AddArrayToObject(t, "arch");
    cJSON_AddStringToObject(t, "name", d->target.name);
    cJSON_AddStringToObject(t, "glibc", d->target.glibc);
    cJSON_AddStringToObject(t, "glibcxx", d->target.glibcxx);
    for (size_t i = 0; i < d->n_arches; i++)
        cJSON_AddItemToArray(arches, cJSON_CreateString(doctor_arch(d->arches[i])));
    cJSON_AddStringToObject(t, "arch_source", d->arch_source);
    if (d->python[0]) {
        cJSON_AddStringToObject(t, "python", d->python);
        cJSON_AddStringToObject(t, "python_source", d->python_source);
    } else {
        cJSON_AddNullToObject(t, "python");
    }
    return t;
}

static cJSON *doctor_json_files(const doctor_run *d, size_t *files)
{
    cJSON *arr = cJSON_CreateArray(), *file = NULL, *problems = NULL;
    const char *last_rel = NULL;
    size_t last_tree = (size_t)-1;
    for (size_t i = 0; i < d->n_problems; i++) {
        const doctor_problem *p = &d->problems[i];
        if (p->tree != last_tree || !last_rel || strcmp(p->rel, last_rel)) {
            file = cJSON_CreateObject();
            cJSON_AddStringToObject(file, "path", d->files.trees[p->tree].arg);
            cJSON_AddStringToObject(file, "file", p->rel);
            cJSON_AddStringToObject(file, "elf", p->what);
            problems = cJSON_AddArrayToObject(file, "problems");
            cJSON_AddItemToArray(arr, file);
            last_tree = p->tree;
            last_rel = p->rel;
            (*files)++;
        }
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "kind", p->kind);
        cJSON_AddStringToObject(o, "message", p->message);
        cJSON_AddStringToObject(o, "fix", p->fix);
        cJSON_AddItemToArray(problems, o);
    }
    return arr;
}

static void doctor_print_json(const doctor_run *d)
{
    cJSON *root = cJSON_CreateObject(), *paths = cJSON_CreateArray(), *sum = cJSON_CreateObject();
    size_t files = 0;
    cJSON_AddItemToObject(root, "target", doctor_json_target(d));
    for (size_t i = 0; i < d->files.n_trees; i++) {
        cJSON *p = cJSON_CreateObject();
        cJSON_AddStringToObject(p, "path", d->files.trees[i].arg);
        cJSON_AddStringToObject(p, "kind", d->files.trees[i].is_function ? "function" : "layer");
        cJSON_AddStringToObject(p, "format", d->files.trees[i].is_zip ? "zip" : "directory");
        cJSON_AddItemToArray(paths, p);
    }
    cJSON_AddItemToObject(root, "paths", paths);
    cJSON_AddItemToObject(root, "files", doctor_json_files(d, &files));
    cJSON_AddNumberToObject(sum, "files_checked", (double)d->n_files);
    cJSON_AddNumberToObject(sum, "elf_files", (double)d->n_elf);
    cJSON_AddNumberToObject(sum, "problems", (double)d->n_problems);
    cJSON_AddNumberToObject(sum, "files_with_problems", (double)files);
    cJSON_AddItemToObject(root, "summary", sum);
    cJSON_AddNumberToObject(root, "exit_code", d->n_problems ? DOCTOR_PROBLEMS : DOCTOR_CLEAN);
    char *s = cJSON_Print(root);
    if (s)
        puts(s);
    free(s);
    cJSON_Delete(root);
}

/* ------------------------------------------------------------ arguments */

static const char doctor_usage[] =
    "usage: bootstrap --check [--arch x86_64|arm64] [--python 3.X]\n"
    "                         [--target provided.al2|provided.al2023 | --glibc 2.NN] [--json] PATH...\n"
    "Checks Lambda layers and function packages (directories or .zip files) for native files\n"
    "that will not load: built for the other CPU or another Python, needing a newer glibc than\n"
    "the target has, or needing a library that no directory on the search path holds.\n"
    "Defaults: arch and Python from what the layer holds, target " DOCTOR_DEFAULT_TARGET ".\n"
    "Exit status: 0 no problems, 1 problems found, 2 usage error or unreadable PATH.\n";

/* "--opt VALUE" or "--opt=VALUE"; 1 when argv[*i] is that option. */
static int doctor_opt(int argc, char **argv, int *i, const char *opt, const char **val, int *missing)
{
    size_t n = strlen(opt);
    if (strncmp(argv[*i], opt, n))
        return 0;
    if (argv[*i][n] == '=') {
        *val = argv[*i] + n + 1;
        return 1;
    }
    if (argv[*i][n] != '\0')
        return 0;
    if (*i + 1 >= argc)
        *missing = 1;
    else
        *val = argv[++*i];
    return 1;
}

static int doctor_is_version(const char *s, const char *major)
{
    size_t n = strlen(major), digits = strspn(s + (strncmp(s, major, n) ? 0 : n), "0123456789");
    return !strncmp(s, major, n) && digits > 0 && digits < 4 && s[n + digits] == '\0';
}

static int doctor_validate(doctor *d, char *err, size_t len)
{
    if (d->arch_arg && !elf_arch_machine(d->arch_arg))
        return doctor_err(err, len, "--arch must be x86_64 or arm64, not '%s'", d->arch_arg);
    if (d->python_arg && !doctor_is_version(d->python_arg, "3."))
        return doctor_err(err, len, "--python must look like 3.11, not '%s'", d->python_arg);
    if (d->glibc_arg && !doctor_is_version(d->glibc_arg, "2."))
        return doctor_err(err, len, "--glibc must look like 2.26, not '%s'", d->glibc_arg);
    if (d->glibc_arg && d->target_arg)
        return doctor_err(err, len, "give --target or --glibc, not both");
    if (!d->n_paths && !d->help)
        return doctor_err(err, len, "no PATH to check");
    return 0;
}

static int doctor_args(doctor *d, int argc, char **argv, char *err, size_t len)
{
    int only_paths = 0;
    d->paths = calloc(argc > 0 ? (size_t)argc : 1, sizeof *d->paths);
    if (!d->paths)
        return doctor_err(err, len, "out of memory");
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        int missing = 0;
        if (only_paths || a[0] != '-' || !a[1])
            d->paths[d->n_paths++] = a;
        else if (!strcmp(a, "--"))
            only_paths = 1;
        else if (!strcmp(a, "--json"))
            d->json = 1;
        else if (!strcmp(a, "--help") || !strcmp(a, "-h"))
            d->help = 1;
        else if (!doctor_opt(argc, argv, &i, "--arch", &d->arch_arg, &missing) &&
                 !doctor_opt(argc, argv, &i, "--python", &d->python_arg, &missing) &&
                 !doctor_opt(argc, argv, &i, "--target", &d->target_arg, &missing) &&
                 !doctor_opt(argc, argv, &i, "--glibc", &d->glibc_arg, &missing))
            return doctor_err(err, len, "unknown option '%s'", a);
        if (missing)
            return doctor_err(err, len, "%s needs a value", a);
    }
    return doctor_validate(d, err, len);
}

/* ----------------------------------------------------------------- main */

/* Reads the paths and chooses what to check them for: everything before the checks. */
static int doctor_prepare(doctor *d, char *err, size_t len)
{
    doctor_run *r = &d->run;
    if (doctor_target_load(&r->target, d->target_arg ? d->target_arg : DOCTOR_DEFAULT_TARGET, err, len))
        return -1;
    if (d->glibc_arg)
        snprintf(r->target.glibc, sizeof r->target.glibc, "%s", d->glibc_arg);
    r->glibc_given = d->glibc_arg != NULL;
    if (doctor_files_open(&r->files, d->paths, d->n_paths, err, len))
        return -1;
    doctor_run_choose(r, d->arch_arg, d->python_arg);
    return 0;
}

int doctor_main(int argc, char **argv)
{
    doctor d;
    char err[DOCTOR_ERR];
    int rc = DOCTOR_USAGE;
    memset(&d, 0, sizeof d);
    if (doctor_args(&d, argc, argv, err, sizeof err)) {
        fprintf(stderr, "bootstrap --check: %s\n%s", err, doctor_usage);
    } else if (d.help) {
        fputs(doctor_usage, stdout);
        rc = DOCTOR_CLEAN;
    } else if (doctor_prepare(&d, err, sizeof err)) {
        fprintf(stderr, "bootstrap --check: %s\n", err);
    } else {
        doctor_run_check(&d.run);
        if (d.json)
            doctor_print_json(&d.run);
        else
            doctor_print_text(&d.run);
        rc = d.run.n_problems ? DOCTOR_PROBLEMS : DOCTOR_CLEAN;
    }
    fflush(stdout);
    doctor_run_free(&d.run);
    free(d.paths);
    return rc;
}
