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

#include <sodium.h>

#include "key.h"
#include "mclient_int.h"
#include "util.h"

/*
 * Writes a [Mediator] section to path, atomically: the server key, the
 * addresses of inst[from..to) and the nickname if any.  The mediator
 * state is one format, read back by the configuration's parser.
 */
static int save_mediator(struct mclient *m, const char *path,
			 const char *why, unsigned int from, unsigned int to,
			 const char *nickname)
{
	char tmp[PATH_MAX + 8], b64[SHOAL_KEY_B64_LEN + 1];
	const char *slash = strrchr(path, '/');
	unsigned int i;
	FILE *f;
	int fd, ret;

	if (slash && slash != path) {
		ret = shoal_mkdir_p(path, (size_t)(slash - path), 0700);
		if (ret < 0)
			return ret;
	}
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	f = fdopen(fd, "w");
	if (!f) {
		close(fd);
		return -ENOMEM;
	}
	shoal_key_to_base64(b64, m->server_key);
	fprintf(f, "# Written by shoald %s.\n[Mediator]\n", why);
	for (i = from; i < to; i++)
		fprintf(f, "Address = %s\n", m->inst[i].address);
	fprintf(f, "PublicKey = %s\n", b64);
	if (nickname && *nickname)
		fprintf(f, "Nickname = %s\n", nickname);
	if (fclose(f) != 0 || rename(tmp, path) < 0) {
		ret = -errno;
		unlink(tmp);
		return ret;
	}
	return 0;
}

int mc_save_state(struct mclient *m)
{
	return save_mediator(m, m->state_path, "at `shoal login`", 0,
			     m->n_configured, m->nickname);
}

/*
 * The instances the cluster told us of, kept for a restart: beside the
 * saved login, not in it, whose time says which of it and the
 * configuration was written last.  None: no file.
 */
void mc_save_learned(struct mclient *m)
{
	int ret = 0;

	if (m->n_inst > m->n_configured && m->configured)
		ret = save_mediator(m, m->learned_path, "from its mediator "
				    "cluster's word (the instances it has)",
				    m->n_configured, m->n_inst, NULL);
	else if (unlink(m->learned_path) < 0 && errno != ENOENT)
		ret = -errno;
	if (ret < 0)
		fprintf(stderr, "shoald: cannot keep the mediator's instances "
			"in %s: %s\n", m->learned_path, strerror(-ret));
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
	/* Room for every address a line, and the rest. */
	char text[SHOAL_CONFIG_MAX_MEDIATORS * 2 *
		  (SHOAL_CONFIG_MAX_HOSTPORT + 16) + 512];
	char err[PATH_MAX + 256];
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

void mc_load_learned(struct mclient *m)
{
	struct shoal_config saved = { 0 };
	unsigned int i, n = 0;

	if (load_state(&saved, m->learned_path) <= 0)
		return;
	/* Another login's cluster: not ours to connect to. */
	if (sodium_memcmp(saved.mediator_key, m->server_key, 32) == 0)
		for (i = 0; i < saved.n_mediator_addresses; i++)
			n += mc_add_learned(m, saved.mediator_addresses[i]);
	if (n)
		fprintf(stderr, "shoald: %u more instance%s of the mediator "
			"from %s\n", n, n == 1 ? "" : "s", m->learned_path);
	shoal_config_free(&saved);
}

void mclient_choose(struct shoal_config *c, const char *config_path,
		    const char *state_path)
{
	struct shoal_config saved = { 0 };
	bool have_saved = load_state(&saved, state_path) > 0;

	if (have_saved && c->has_mediator &&
	    !shoal_file_newer(state_path, config_path)) {
		fprintf(stderr, "shoald: mediator %s from %s (newer than the "
			"saved login %s, which is not used)\n",
			c->mediator_addresses[0], config_path, state_path);
	} else if (have_saved) {
		bool overrides = c->has_mediator;

		c->has_mediator = true;
		c->n_mediator_addresses = saved.n_mediator_addresses;
		memcpy(c->mediator_addresses, saved.mediator_addresses,
		       sizeof(c->mediator_addresses));
		memcpy(c->mediator_key, saved.mediator_key, 32);
		snprintf(c->nickname, sizeof(c->nickname), "%s",
			 saved.nickname);
		if (overrides)
			fprintf(stderr, "shoald: mediator %s from saved login "
				"%s (newer than %s)\n", c->mediator_addresses[0],
				state_path, config_path);
		else
			fprintf(stderr, "shoald: mediator %s from saved login "
				"%s\n", c->mediator_addresses[0], state_path);
	} else if (c->has_mediator) {
		fprintf(stderr, "shoald: mediator %s from %s\n",
			c->mediator_addresses[0], config_path);
	}
	shoal_config_free(&saved);
}
