/* sockguard: libcurl's sockets, opened and closed under fdguard (see include/sockguard.h). */
#define _GNU_SOURCE
#include "sockguard.h"

#include <sys/socket.h>
#include <unistd.h>

void sockguard_init(sockguard *g)
{
    for (int i = 0; i < SOCKGUARD_MAX; i++)
        fdguard_forget(&g->sockets[i]);
}

static curl_socket_t on_open(void *clientp, curlsocktype purpose, struct curl_sockaddr *address)
{
    sockguard *g = clientp;
    (void)purpose;
    int fd = socket(address->family, address->socktype | SOCK_CLOEXEC, address->protocol);
    if (fd < 0)
        return CURL_SOCKET_BAD;
    for (int i = 0; i < SOCKGUARD_MAX; i++) {
        if (g->sockets[i].fd < 0) {
            fdguard_take(&g->sockets[i], fd);
            break;
        }
    }
    return fd;
}

static int on_close(void *clientp, curl_socket_t fd)
{
    sockguard *g = clientp;
    for (int i = 0; i < SOCKGUARD_MAX; i++) {
        if (g->sockets[i].fd == fd) {
            fdguard_close(&g->sockets[i]);
            return 0;
        }
    }
    /* Not watched (more sockets than slots), or forgotten by sockguard_drop_lost: a forgotten one
     * is not ours any more, and an unwatched one cannot be told apart from it. Leaving it open is
     * the lesser harm (one descriptor) than closing a handler's file. */
    return 0;
}

void sockguard_attach(sockguard *g, CURL *curl)
{
    curl_easy_setopt(curl, CURLOPT_OPENSOCKETFUNCTION, on_open);
    curl_easy_setopt(curl, CURLOPT_OPENSOCKETDATA, g);
    curl_easy_setopt(curl, CURLOPT_CLOSESOCKETFUNCTION, on_close);
    curl_easy_setopt(curl, CURLOPT_CLOSESOCKETDATA, g);
}

int sockguard_intact(const sockguard *g)
{
    for (int i = 0; i < SOCKGUARD_MAX; i++)
        if (g->sockets[i].fd >= 0 && !fdguard_intact(&g->sockets[i]))
            return 0;
    return 1;
}

void sockguard_close_all(sockguard *g)
{
    for (int i = 0; i < SOCKGUARD_MAX; i++)
        fdguard_close(&g->sockets[i]);
}

int sockguard_drop_lost(sockguard *g)
{
    int lost = 0;
    for (int i = 0; i < SOCKGUARD_MAX; i++) {
        if (g->sockets[i].fd >= 0 && !fdguard_intact(&g->sockets[i])) {
            fdguard_forget(&g->sockets[i]);
            lost++;
        }
    }
    return lost;
}
