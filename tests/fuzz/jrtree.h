/* SPDX-License-Identifier: MIT */
#ifndef SHOAL_FUZZ_JRTREE_H
#define SHOAL_FUZZ_JRTREE_H

/* What the targets reading JSON back (jsonread, render) compare with. */
#include <stdbool.h>
#include <string.h>

#include "jsonread.h"

/* Whether two trees of cli/jsonread.c, siblings included, are the same. */
static inline bool jr_same_tree(const struct jr_value *a,
				const struct jr_value *b)
{
	for (; a && b; a = a->next, b = b->next) {
		if (a->type != b->type || !a->key != !b->key ||
		    (a->key && strcmp(a->key, b->key)) ||
		    !a->str != !b->str || (a->str && strcmp(a->str, b->str)) ||
		    !jr_same_tree(a->child, b->child))
			return false;
	}
	return !a && !b;
}

#endif
