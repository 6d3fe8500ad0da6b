/* SPDX-License-Identifier: GPL-2.0-only */
/* GET|POST /api/processes/{id}/dump: a core streamed to the client as it is written. */
#ifndef TRACEDUMP_SERVE_DUMP_ROUTE_H
#define TRACEDUMP_SERVE_DUMP_ROUTE_H

#include <sys/types.h>
#include "serve/server.h"

enum MHD_Result dump_reply(struct MHD_Connection *c, struct serve_request *r, pid_t pid);

#endif /* TRACEDUMP_SERVE_DUMP_ROUTE_H */
