// SPDX-License-Identifier: MIT
/*
 * The saved login (STATE/NAME.mediator): written at `shoal login`,
 * read at start, and the choice between it and the configuration's
 * [Mediator].
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "key.h"
#include "mclient_int.h"
#include "util.h"

int mc_save_state(struct mclient *m)
{
	char tmp[PATH_MAX + 8], b64[SHOAL_KEY_B64_LEN + 1];
	const char *slash = strrchr(m->state_path, '/');
	FILE *f;
	int fd, ret;

	if (slash && slash != m->state_path) {
		ret = shoal_mkdir_p(m->state_path,
				    (size_t)(slash - m->state_path), 0700);
		if (ret < 0)
			return ret;
	}
	snprintf(tmp, sizeof(tmp), "%s.tmp", m->state_path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	f = fdopen(fd, "w");
	if (!f) {
		close(fd);
		return -ENOMEM;
	}
	shoal_key_to_base64(b64, m->server_key);
	fprintf(f, "# Written by shoald at `shoal login`.\n[Mediator]\n"
		"Address = %s\nPublicKey = %s\n", m->address, b64);
	if (*m->nickname)
		fprintf(f, "Nickname = %s\n", m->nickname);
	if (fclose(f) != 0 || rename(tmp, m->state_path) < 0) {
		ret = -errno;
		unlink(tmp);
		return ret;
	}
	return 0;
}

/*
 * The state file is a [Mediator] section on its own; the configuration
 * parser reads it followed by a stand-in [Interface], so that there is one
 * parser for the format and its line numbers stay the file's.  1 and the
 * login in saved, 0 if there is none to use.
 */
static int load_state(struct shoal_config *saved, const char *state_path)
{
	static const char tail[] = "\n[Interface]\nName = x\nPrivateKey = "
		"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n";
	char text[2048], err[PATH_MAX + 256];
	size_t n;
	FILE *f;
	int ret;

	f = fopen(state_path, "re");
	if (!f) {
		if (errno != ENOENT)
			fprintf(stderr, "shoald: cannot read %s: %s\n",
				state_path, strerror(errno));
		return 0;
	}
	n = fread(text, 1, sizeof(text) - sizeof(tail), f);
	fclose(f);
	memcpy(text + n, tail, sizeof(tail) - 1);
	ret = shoal_config_parse(saved, text, n + sizeof(tail) - 1,
				 state_path, err, sizeof(err));
	if (ret < 0 || !saved->has_mediator) {
		fprintf(stderr, "shoald: ignoring %s: %s\n", state_path,
			ret < 0 ? err : "no [Mediator]");
		return 0;
	}
	return 1;
}

/* True if file a was modified after file b (b missing: true). */
static bool newer(const char *a, const char *b)
{
	struct stat sa, sb;

	if (stat(a, &sa) < 0)
		return false;
	if (stat(b, &sb) < 0)
		return true;
	if (sa.st_mtim.tv_sec != sb.st_mtim.tv_sec)
		return sa.st_mtim.tv_sec > sb.st_mtim.tv_sec;
	return sa.st_mtim.tv_nsec > sb.st_mtim.tv_nsec;
}

void mclient_choose(struct shoal_config *c, const char *config_path,
		    const char *state_path)
{
	struct shoal_config saved = { 0 };
	bool have_saved = load_state(&saved, state_path) > 0;

	if (have_saved && c->has_mediator &&
	    !newer(state_path, config_path)) {
		fprintf(stderr, "shoald: mediator %s from %s (newer than the "
			"saved login %s, which is not used)\n",
			c->mediator_address, config_path, state_path);
	} else if (have_saved) {
		bool overrides = c->has_mediator;

		c->has_mediator = true;
		snprintf(c->mediator_address, sizeof(c->mediator_address),
			 "%s", saved.mediator_address);
		memcpy(c->mediator_key, saved.mediator_key, 32);
		snprintf(c->nickname, sizeof(c->nickname), "%s",
			 saved.nickname);
		if (overrides)
			fprintf(stderr, "shoald: mediator %s from saved login "
				"%s (newer than %s)\n", c->mediator_address,
				state_path, config_path);
		else
			fprintf(stderr, "shoald: mediator %s from saved login "
				"%s\n", c->mediator_address, state_path);
	} else if (c->has_mediator) {
		fprintf(stderr, "shoald: mediator %s from %s\n",
			c->mediator_address, config_path);
	}
	shoal_config_free(&saved);
}
