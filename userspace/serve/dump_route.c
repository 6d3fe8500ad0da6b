// SPDX-License-Identifier: GPL-2.0-only
#include "serve/dump_route.h"

/* The dumper is not in this tree yet: the route exists and says so. */
enum MHD_Result dump_reply(struct MHD_Connection *c, struct serve_request *r, pid_t pid)
{
	return server_reply_error(c, r, MHD_HTTP_NOT_IMPLEMENTED,
				  "dumps are not built into this tracedump");
}
