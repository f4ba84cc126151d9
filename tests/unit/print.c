// SPDX-License-Identifier: MIT
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kselftest_harness.h"

#include "print.h"

/* One peer-like item printed both ways, as a listing of one. */
static char *render(bool json, bool pretty, const char *name)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	print_start(f, json, pretty);
	print_open_array(NULL);
	print_open_object(NULL);
	print_string(PRINT_ANY, "nickname", "peer %s", name);
	print_uint(PRINT_ANY, "latency_ms", " %llu ms", 12);
	print_bool(PRINT_ANY, "direct", " direct: %s", true);
	print_null(PRINT_ANY, "endpoint", " (none)");
	print_bytes(PRINT_ANY, "rx_bytes", " rx %s", 1536);
	print_float(PRINT_ANY, "rtt_ms", " rtt %.1f ms", 0.412);
	/* JSON has no infinity or NaN: null. */
	print_float(PRINT_JSON, "loss", "%f", INFINITY);
	print_int(PRINT_JSON, "offset", "%lld", -3);
	print_open_array("allowed_ips");
	print_string(PRINT_ANY, NULL, " %s", "10.0.0.2/32");
	print_close_array();
	print_nl();
	print_close_object();
	print_close_array();
	if (print_end())
		abort();
	fclose(f);
	return buf;
}

TEST(text_and_json_from_one_description)
{
	char *t = render(false, false, "bob"), *j = render(true, false, "bob");

	EXPECT_STREQ("peer bob 12 ms direct: yes (none) rx 1.50 KiB rtt 0.4 ms 10.0.0.2/32\n", t);
	EXPECT_STREQ("[{\"nickname\":\"bob\",\"latency_ms\":12,\"direct\":true,"
		     "\"endpoint\":null,\"rx_bytes\":1536,\"rtt_ms\":0.412,"
		     "\"loss\":null,\"offset\":-3,"
		     "\"allowed_ips\":[\"10.0.0.2/32\"]}]\n", j);
	free(t);
	free(j);
}

TEST(pretty_json_indents)
{
	char *j = render(true, true, "bob");

	EXPECT_STREQ("[\n  {\n    \"nickname\": \"bob\",\n    \"latency_ms\": 12,\n"
		     "    \"direct\": true,\n    \"endpoint\": null,\n"
		     "    \"rx_bytes\": 1536,\n    \"rtt_ms\": 0.412,\n"
		     "    \"loss\": null,\n    \"offset\": -3,\n"
		     "    \"allowed_ips\": [\n      \"10.0.0.2/32\"\n    ]\n  }\n]\n", j);
	free(j);
}

TEST(hostile_text_is_defused_both_ways)
{
	char *t = render(false, false, "\x1b]0;pwned\x07\xc2\x9b" "b\xff");
	char *j = render(true, false, "a\"\\\n\x01");

	EXPECT_EQ(0, strncmp(t, "peer ?]0;pwned??b? ", 19)) TH_LOG("%s", t);
	EXPECT_NE(NULL, strstr(j, "\"nickname\":\"a\\\"\\\\\\n\\u0001\"")) TH_LOG("%s", j);
	free(t);
	free(j);
}

TEST(invisible_formatting_is_defused_in_text)
{
	/* RLO, ZWSP, LRI, BOM, U+2028, ALM; then e-acute, which stays. */
	char *t = render(false, false, "\xe2\x80\xae" "a\xe2\x80\x8b" "b"
			 "\xe2\x81\xa6\xef\xbb\xbf\xe2\x80\xa8\xd8\x9c" "\xc3\xa9");

	EXPECT_EQ(0, strncmp(t, "peer ?a?b????\xc3\xa9 ", 16)) TH_LOG("%s", t);
	free(t);
}

TEST(json_strings_stay_utf8)
{
	char *j = render(true, false, "a\xff\xc3\xa9\xe2\x82");

	EXPECT_NE(NULL, strstr(j, "\"nickname\":\"a\\ufffd\xc3\xa9\\ufffd\\ufffd\""))
		TH_LOG("%s", j);
	free(j);
}

TEST(empty_listing_is_an_empty_list)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	print_start(f, true, true);
	print_open_array(NULL);
	print_close_array();
	ASSERT_EQ(0, print_end());
	fclose(f);
	EXPECT_STREQ("[]\n", buf);
	free(buf);
}

TEST(byte_counts)
{
	static const struct {
		uint64_t n;
		const char *text;
	} cases[] = {
		{ 0, "0 B" }, { 1023, "1023 B" }, { 1024, "1.00 KiB" },
		{ 1048576, "1.00 MiB" }, { UINT64_MAX, "16.00 EiB" },
	};
	char buf[32];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		print_format_bytes(buf, sizeof(buf), cases[i].n);
		EXPECT_STREQ(cases[i].text, buf);
	}
}

TEST_HARNESS_MAIN
