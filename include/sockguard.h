/*
 * sockguard: the sockets a libcurl client opens, under fdguard.
 *
 * libcurl keeps its connection's descriptor for as long as the connection lives, and closes it
 * when it lets the connection go. After a handler closed or replaced that descriptor, both are
 * wrong: a request would go to whatever file now has the number, and the close would take the
 * handler's file away. Attached to an easy handle (and inherited by its duplicates), sockguard
 * opens the sockets itself (close-on-exec, so the handler's child processes do not hold the
 * Runtime API's connection), remembers each, tells whether they are all still libcurl's, and
 * closes on libcurl's behalf only those that are.
 */
#ifndef BOOTSTRAP_SOCKGUARD_H
#define BOOTSTRAP_SOCKGUARD_H

#include <curl/curl.h>

#include "fdguard.h"

/* libcurl holds one connection per client here (two for a moment while it replaces one);
 * sockets beyond this are still opened and closed, only not watched. */
#define SOCKGUARD_MAX 8

typedef struct {
    fdguard sockets[SOCKGUARD_MAX];
} sockguard;

/* Empties the set (every slot free). */
void sockguard_init(sockguard *g);

/* Makes `curl` open and close its sockets through g (CURLOPT_OPENSOCKETFUNCTION and
 * CURLOPT_CLOSESOCKETFUNCTION). g must outlive the handle and its duplicates. */
void sockguard_attach(sockguard *g, CURL *curl);

/* 1 when every socket libcurl holds is still the one it opened. */
int sockguard_intact(const sockguard *g);

/* In a process forked from the one that owns the client: closes this process's copies of the
 * sockets (the other process keeps its own) and empties the set. */
void sockguard_close_all(sockguard *g);

/* Forgets the sockets that are no longer libcurl's, so that letting their connections go
 * closes nothing; returns how many there were. */
int sockguard_drop_lost(sockguard *g);

#endif
