/* fdguard: descriptors remembered by identity (see include/fdguard.h). */
#include "fdguard.h"

#include <sys/stat.h>
#include <unistd.h>

int fdguard_take(fdguard *g, int fd)
{
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0) {
        fdguard_forget(g);
        return -1;
    }
    g->fd = fd;
    g->dev = st.st_dev;
    g->ino = st.st_ino;
    return 0;
}

int fdguard_intact(const fdguard *g)
{
    struct stat st;
    return g->fd >= 0 && fstat(g->fd, &st) == 0 && st.st_dev == g->dev && st.st_ino == g->ino;
}

void fdguard_close(fdguard *g)
{
    if (fdguard_intact(g))
        close(g->fd);
    fdguard_forget(g);
}

void fdguard_forget(fdguard *g)
{
    g->fd = -1;
    g->dev = 0;
    g->ino = 0;
}
