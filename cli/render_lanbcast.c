// SPDX-License-Identifier: MIT
/*
 * shoald's "lan_broadcast" object (daemon/lanbcast.c) through the output
 * layer, for status and shoal lan-broadcast; a file of its own so that
 * the renderers' fuzz target takes it without the command's socket code.
 */
#include <string.h>

#include "print.h"
#include "render.h"

/* status's "lan_broadcast", or the command's own object (indent ""). */
void render_lan_broadcast(const struct jr_value *lb, const char *indent)
{
	const struct jr_value *ports = jr_member(lb, "ports"), *p;
	const char *from = jr_string(lb, "from");
	const char *error = jr_string(lb, "error");
	int enabled = jr_bool(lb, "enabled"), installed;

	if (!lb || lb->type != JR_OBJECT) {
		if (*indent)
			print_null(PRINT_JSON, "lan_broadcast", "");
		return;
	}
	print_open_object(*indent ? "lan_broadcast" : NULL);
	print_text("%slan broadcast: %s", indent, enabled == 1 ? "on" : "off");
	print_bool(PRINT_JSON, "enabled", "%s", enabled == 1);
	if (ports && ports->type == JR_STRING) {
		print_string(PRINT_JSON, "ports", "%s", ports->str);
		if (enabled == 1)
			print_text(", every UDP port but DHCP's");
	} else {
		if (enabled == 1)
			print_text(", UDP ports ");
		print_open_array("ports");
		for (p = ports && ports->type == JR_ARRAY ? ports->child :
		     NULL; p; p = p->next)
			if (p->type == JR_STRING)
				print_string(enabled == 1 ? PRINT_ANY :
					     PRINT_JSON, NULL, p == ports->child ?
					     "%s" : ",%s", p->str);
		print_close_array();
	}
	installed = jr_bool(lb, "installed");
	print_bool(PRINT_JSON, "installed", "%s", installed == 1);
	print_string(PRINT_JSON, "from", "%s", from);
	print_string(PRINT_JSON, "table", "%s", jr_string(lb, "table"));
	print_string(PRINT_JSON, "address", "%s", jr_string(lb, "address"));
	if (enabled == 1 && installed == 1)
		print_string(PRINT_TEXT, NULL, ", copies leave from %s",
			     jr_string(lb, "address"));
	else if (enabled == 1 && !error)
		print_text(", waiting for an IPv4 address on the device");
	if (error)
		print_string(enabled == 1 ? PRINT_ANY : PRINT_JSON, "error",
			     ", not installed: %s", error);
	if (from && !strcmp(from, "runtime"))
		print_text(" (set by shoal lan-broadcast)");
	else if (from && !strcmp(from, "config"))
		print_text(" (from the configuration)");
	print_nl();
	print_close_object();
}
