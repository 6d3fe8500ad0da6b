// SPDX-License-Identifier: GPL-2.0-only
#include "serve/events.h"

/* The tracer is not in this tree yet: the route exists and says so. */
enum MHD_Result events_reply(struct MHD_Connection *c, struct serve_request *r)
{
	return server_reply_error(c, r, MHD_HTTP_NOT_IMPLEMENTED,
				  "events are not built into this tracedump");
}
