/* SPDX-License-Identifier: GPL-2.0-only */
/* GET|POST /api/processes/{id}/dump: a core streamed to the client as it is written. */
#ifndef TRACEDUMP_SERVE_DUMP_ROUTE_H
#define TRACEDUMP_SERVE_DUMP_ROUTE_H

#include <stdbool.h>
#include <sys/types.h>
#include <jansson.h>
#include "serve/server.h"

enum MHD_Result dump_reply(struct MHD_Connection *c, struct serve_request *r, pid_t pid);

/*
 * The access log's "dump" of a reply that streamed @stream (serve_request.dump_stream):
 * type, bytes, pause_ms, snapshot; NULL when the dump failed. When the reply was
 * @completed and the dumper is still finishing (releasing the target, reaping the copy),
 * nothing waits for it in the pool: @later(@ctx, dump) is called from the dumper's
 * thread at its end and the return is false; otherwise *@dump is set and the return is
 * true. Drops the log's reference either way.
 */
bool dump_route_log_end(void *stream, bool completed, json_t **dump,
			void (*later)(void *ctx, json_t *dump), void *ctx);

/* On stop: asks every running dump to end (each releases its target), then waits up to
 * @timeout_ms for them; false when some are still running. */
void dump_route_cancel_all(void);
bool dump_route_wait_idle(int timeout_ms);

#endif /* TRACEDUMP_SERVE_DUMP_ROUTE_H */
