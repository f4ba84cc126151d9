/* SPDX-License-Identifier: MIT */
#ifndef SHOAL_FUZZ_H
#define SHOAL_FUZZ_H

/*
 * What every libFuzzer target under tests/fuzz/ shares: the entry point's
 * prototype and check(), which says which property broke before it
 * abort()s (libFuzzer reports the abort as a crash, and run.sh prints
 * the "fuzz check failed" line).
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

#define check(ok)							\
	do {								\
		if (!(ok)) {						\
			fprintf(stderr, "fuzz check failed: %s:%d: %s\n", \
				__FILE__, __LINE__, #ok);		\
			abort();					\
		}							\
	} while (0)

#endif
