/* SPDX-License-Identifier: GPL-2.0-only */
/* GET /api/events: the tracer's events as chunked NDJSON, filtered by pid and type. */
#ifndef TRACEDUMP_SERVE_EVENTS_H
#define TRACEDUMP_SERVE_EVENTS_H

#include "serve/server.h"

enum MHD_Result events_reply(struct MHD_Connection *c, struct serve_request *r);

#endif /* TRACEDUMP_SERVE_EVENTS_H */
