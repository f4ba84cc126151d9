// SPDX-License-Identifier: MIT
/*
 * libFuzzer target for the CLI's renderers of shoald's answers
 * (cli/render.c through lib/print.c), fed whatever cli/jsonread.c takes
 * from the control socket.  Whatever the shape: the JSON they print reads
 * back (a list for networks, an object for the rest), indented JSON reads
 * as the same tree, and the text holds no byte that could drive a
 * terminal (controls but the newline, DEL, C1 controls).
 */
#include <string.h>

#include "fuzz.h"
#include "jrtree.h"
#include "jsonread.h"
#include "print.h"
#include "render.h"

static void render_join_of(const struct jr_value *v)
{
	const char *name = jr_string(v, "network");

	render_join(name ? name : "", jr_bool(v, "pending") == 1);
}

static void render_networks_of(const struct jr_value *v)
{
	render_networks(v);
}

static const struct {
	void (*render)(const struct jr_value *v);
	enum jr_type top;
} renderers[] = {
	{ render_status, JR_OBJECT },
	{ render_networks_of, JR_ARRAY },
	{ render_netcheck, JR_OBJECT },
	{ render_login, JR_OBJECT },
	{ render_join_of, JR_OBJECT },
};

/* The renderer's output for v: text, JSON, or indented JSON. */
static char *render(size_t i, const struct jr_value *v, bool json,
		    bool pretty, size_t *len)
{
	char *out = NULL;
	FILE *f = open_memstream(&out, len);

	check(f);
	print_start(f, json, pretty);
	renderers[i].render(v);
	check(print_end() == 0);
	check(fclose(f) == 0);
	return out;
}

static void check_text(const unsigned char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++) {
		check(s[i] == '\n' || (s[i] >= 0x20 && s[i] != 0x7f));
		/* U+0080 to U+009F, the C1 controls, are C2 80 to C2 9F. */
		check(!(s[i] == 0xc2 && i + 1 < len && s[i + 1] >= 0x80 &&
			s[i + 1] <= 0x9f));
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct jr_value *v, *compact, *pretty;
	char err[96], *out;
	size_t i, len;

	v = jr_parse((const char *)data, size, err, sizeof(err));
	if (!v)
		return 0;
	for (i = 0; i < sizeof(renderers) / sizeof(*renderers); i++) {
		out = render(i, v, false, false, &len);
		check_text((const unsigned char *)out, len);
		free(out);

		out = render(i, v, true, false, &len);
		compact = jr_parse(out, len, err, sizeof(err));
		if (!compact)
			fprintf(stderr, "printed: %s\nrefused: %s\n", out, err);
		check(compact && compact->type == renderers[i].top);
		free(out);

		out = render(i, v, true, true, &len);
		pretty = jr_parse(out, len, err, sizeof(err));
		check(pretty && jr_same_tree(compact, pretty));
		free(out);
		jr_free(compact);
		jr_free(pretty);
	}
	jr_free(v);
	return 0;
}
