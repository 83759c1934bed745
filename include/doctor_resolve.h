/* doctor_resolve.h: where a DT_NEEDED name resolves (src/doctor_resolve.c), in the
 * checked layers as Lambda unpacks them or on the running system, and the target
 * runtimes (provided.al2, provided.al2023): their glibc and their own libraries. */
#ifndef BOOTSTRAP_DOCTOR_RESOLVE_H
#define BOOTSTRAP_DOCTOR_RESOLVE_H

#include "doctor_tree.h"
#include "doctor_util.h"
#include "elf.h"

#include <stddef.h>

/* A Lambda runtime image: its glibc, libstdc++ and the libraries it has. */
typedef struct {
    char name[32];
    char glibc[16];   /* "2.26" */
    char glibcxx[24]; /* "3.4.24" */
    char **libs;
    unsigned *lib_machine; /* 0: every arch */
    size_t n_libs;
} doctor_target;

/* Loads the compiled-in target `name`; -1 with a message for an unknown one. */
int doctor_target_load(doctor_target *t, const char *name, char *err, size_t len);
void doctor_target_free(doctor_target *t);

/* Where a name resolved, or why not. */
typedef struct {
    int in_layer;                     /* 1: in the checked trees; 0: the target's or nowhere */
    char wrong[DOCTOR_PATH_MAX + 64]; /* a same-named file built for another CPU, met on the way */
    char own[DOCTOR_PATH_MAX];        /* when not found: "its RPATH (...)" as searched, or "" */
} doctor_found;

/* 1 when e's DT_NEEDED `name` resolves in the checked files or the target, else 0.
 * As the loader does, a library is found through the file's own DT_RPATH/DT_RUNPATH
 * ($ORIGIN is its directory as unpacked), the LD_LIBRARY_PATH the runtime sets, the
 * target's libraries, and through the files in the trees that load e: what they
 * need themselves and, when e has no DT_RUNPATH, their DT_RPATH (auditwheel's
 * <pkg>.libs/ works this way). */
int doctor_resolve(doctor_files *f, const doctor_target *t, const doctor_entry *e, const char *name,
                   doctor_found *r);

/* The same on this system, for the file at `path` (parsed into *in). */
typedef struct {
    char wrong[DOCTOR_PATH_MAX + 64]; /* "DIR/NAME is built for arm64", or "" */
    char found[DOCTOR_PATH_MAX];      /* the path it resolved to, "" when already loaded */
} doctor_hit;

/* The files that load the one being resolved, nearest first (NULL: none known). */
typedef struct doctor_loader {
    const char *path;
    const elf_info *info;
    const struct doctor_loader *up;
} doctor_loader;

int doctor_resolve_system(const char *path, const char *name, const elf_info *in,
                          const doctor_loader *loaders, doctor_hit *hit);

#endif
