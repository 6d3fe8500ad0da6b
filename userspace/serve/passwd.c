// SPDX-License-Identifier: GPL-2.0-only
/* `tracedump passwd USER`: one line of a `serve --auth-file`. */
#include <argp.h>
#include <crypt.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "common/command.h"
#include "common/output.h"
#include "serve/auth.h"

struct passwd_args {
	const char *user;
};

static const char passwd_doc[] =
	"Read a password on stdin (its first line) and print 'USER:HASH', a line for the "
	"--auth-file of `tracedump serve`. The hash is yescrypt with a random salt "
	"(crypt(3), libxcrypt); the password itself is stored nowhere. On a terminal the "
	"password is asked for twice without echo.\v"
	"Examples:\n"
	"  tracedump passwd alice >> /etc/tracedump/users\n"
	"  printf '%s\\n' \"$PASSWORD\" | tracedump passwd webhook >> users\n"
	"  tracedump serve --auth-file users\n"
	"Exit status: 0 ok, 2 bad user name (empty, ':', spaces, over 64 bytes) or empty "
	"password, 1 other failure.";

static error_t passwd_parse(int key, char *arg, struct argp_state *state)
{
	struct passwd_args *a = state->input;

	switch (key) {
	default:
		return argp_one_arg(key, arg, state, &a->user, "USER");
	}
	return 0;
}

/* One line of stdin without its newline; echo off on a terminal. */
static int read_password(const char *prompt, char *out, size_t len)
{
	struct termios old, quiet;
	bool tty = isatty(STDIN_FILENO) && !tcgetattr(STDIN_FILENO, &old);
	size_t n;
	int err = 0;

	if (tty) {
		fprintf(stderr, "%s", prompt);
		quiet = old;
		quiet.c_lflag &= ~(tcflag_t)ECHO;
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
	}
	if (!fgets(out, (int)len, stdin))
		err = ferror(stdin) ? -EIO : -ENODATA;
	if (tty) {
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
		fprintf(stderr, "\n");
	}
	if (err)
		return err;
	n = strlen(out);
	if (n && out[n - 1] == '\n')
		out[--n] = '\0';
	else if (n == len - 1)
		return -E2BIG;
	if (n && out[n - 1] == '\r')
		out[--n] = '\0';
	return 0;
}

static int do_passwd(int argc, char **argv)
{
	static const struct argp_child children[] = { { &output_argp }, {} };
	const struct argp argp = { NULL, passwd_parse, "USER", passwd_doc, children };
	struct passwd_args args = { NULL };
	char pw[AUTH_PASS_MAX + 2], again[AUTH_PASS_MAX + 2], hash[CRYPT_OUTPUT_SIZE];
	int err, ret;

	if (argp_parse(&argp, argc, argv, 0, NULL, &args))
		return TD_EXIT_USAGE;
	if (!auth_user_name_is_valid(args.user))
		return output_error(TD_EXIT_USAGE, "invalid user name '%s': expected 1-%d "
				    "printable bytes without ':' or spaces", args.user,
				    AUTH_USER_MAX);
	err = read_password("Password: ", pw, sizeof(pw));
	if (err == -E2BIG)
		return output_error(TD_EXIT_USAGE, "password too long: at most %d bytes",
				    AUTH_PASS_MAX);
	if (err == -ENODATA || (!err && !*pw))
		return output_error(TD_EXIT_USAGE, "empty password: give it on stdin");
	if (err)
		return output_error(TD_EXIT_FAILURE, "cannot read the password: %s",
				    strerror(-err));
	if (isatty(STDIN_FILENO)) {
		if (read_password("Again: ", again, sizeof(again)) || strcmp(pw, again)) {
			explicit_bzero(pw, sizeof(pw));
			return output_error(TD_EXIT_USAGE, "the two passwords differ");
		}
		explicit_bzero(again, sizeof(again));
	}
	err = auth_hash_password(pw, hash, sizeof(hash));
	explicit_bzero(pw, sizeof(pw));
	if (err)
		return output_error(TD_EXIT_FAILURE, "cannot hash the password: %s",
				    strerror(-err));
	printf("%s:%s\n", args.user, hash);
	ret = output_flush();
	return ret;
}

TD_COMMAND(passwd, 61, "Make a user:hash line for serve --auth-file", do_passwd);
