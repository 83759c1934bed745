/*
 * handler: parsing the handler setting ("_HANDLER" or argv[1]) the way the managed Python
 * runtime does: split at the last '.', module path with '/' meaning '.', e.g.
 *   app.handler          -> module "app",         function "handler"
 *   pkg.mod.handler      -> module "pkg.mod",     function "handler"
 *   dir/mod.handler      -> module "dir.mod",     function "handler"
 * and refusing names that could leave LAMBDA_TASK_ROOT or are not names at all.
 */
#ifndef BOOTSTRAP_HANDLER_H
#define BOOTSTRAP_HANDLER_H

#include <stddef.h>

/* Lambda's own limit for the Handler setting. */
#define HANDLER_MAX 128

typedef struct {
    char module[HANDLER_MAX + 1];   /* dotted module name to import */
    char function[HANDLER_MAX + 1]; /* attribute to call; may be empty (reported later as not found) */
} handler_name;

/* Returns 0 and fills *out, or -1 with the Runtime.MalformedHandlerName message in msg,
 * e.g. "Bad handler 'app': not enough values to unpack (expected 2, got 1)". */
int handler_parse(const char *spec, handler_name *out, char *msg, size_t msg_len);

#endif
