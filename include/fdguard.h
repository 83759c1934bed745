/*
 * fdguard: a descriptor the runtime owns, remembered by identity (device and inode).
 *
 * A handler can close every descriptor it did not open (os.closerange(3, 1 << 16), the daemon
 * idiom) or put a file of its own in the place of one (os.dup2). A descriptor number alone cannot
 * tell: the number may be free, or taken by the handler's file. The identity can, so the runtime
 * notices (fdguard_intact) and recreates what it lost, and never closes a descriptor that is no
 * longer its own (fdguard_close).
 */
#ifndef BOOTSTRAP_FDGUARD_H
#define BOOTSTRAP_FDGUARD_H

#include <sys/types.h>

typedef struct {
    int fd; /* -1: none */
    dev_t dev;
    ino_t ino;
} fdguard;

#define FDGUARD_NONE {-1, 0, 0}

/* Remembers fd (which the caller just opened). Returns 0, or -1 (guard emptied) when fd is not
 * an open descriptor. */
int fdguard_take(fdguard *g, int fd);

/* 1 while g's descriptor is still the file it was taken for; 0 when it was closed or replaced
 * (or g is empty). One fstat. */
int fdguard_intact(const fdguard *g);

/* Closes g's descriptor if it is still ours, and empties g either way. */
void fdguard_close(fdguard *g);

/* Empties g without closing anything (the descriptor was found not to be ours any more). */
void fdguard_forget(fdguard *g);

#endif
