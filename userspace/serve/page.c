// SPDX-License-Identifier: GPL-2.0-only
/* GET /: the explorer page. The HTML is its own file, userspace/serve/page.html, put into
 * the binary as it is by the assembler (.incbin), so there is nothing to generate or keep
 * in sync, and the page needs nothing from the network. */
#include <string.h>

#include "serve/server.h"

__asm__(".section .rodata\n"
	".global serve_page_html\n"
	".type serve_page_html, @object\n"
	".balign 16\n"
	"serve_page_html:\n"
	".incbin \"userspace/serve/page.html\"\n"
	".global serve_page_html_end\n"
	"serve_page_html_end:\n"
	".byte 0\n"
	".previous\n");

extern const char serve_page_html[], serve_page_html_end[];

/* Inline script and style only; the API on the same origin; no framing. */
static const char PAGE_CSP[] = "default-src 'none'; script-src 'unsafe-inline'; "
			       "style-src 'unsafe-inline'; connect-src 'self'; img-src data:; "
			       "frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

enum MHD_Result page_reply(struct MHD_Connection *c, struct serve_request *r)
{
	struct MHD_Response *resp;

	resp = MHD_create_response_from_buffer((size_t)(serve_page_html_end - serve_page_html),
					       (void *)serve_page_html, MHD_RESPMEM_PERSISTENT);
	if (!resp)
		return MHD_NO;
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "text/html; charset=utf-8");
	MHD_add_response_header(resp, "Content-Security-Policy", PAGE_CSP);
	MHD_add_response_header(resp, "X-Frame-Options", "DENY");
	server_common_headers(resp);
	return server_queue(c, r, MHD_HTTP_OK, resp);
}
