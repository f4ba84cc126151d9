// SPDX-License-Identifier: GPL-2.0
/*
 * shoal: a layer-2 peer-to-peer VPN device carrying Ethernet frames between
 * peers as ESP-in-UDP.
 */

#include <linux/module.h>
#include <net/genetlink.h>
#include <net/rtnetlink.h>
#include <uapi/linux/shoal.h>

#include "device.h"
#include "netlink.h"
#include "sa.h"
#include "selftest.h"

static int __init shoal_mod_init(void)
{
	int ret;

	ret = shoal_selftest();
	if (ret < 0)
		goto out;

	ret = shoal_device_init();
	if (ret < 0)
		goto out;

	ret = shoal_genl_init();
	if (ret < 0)
		goto uninit_device;

	shoal_sa_debugfs_init();
	pr_info("shoal " SHOAL_VERSION " loaded\n");
	return 0;

uninit_device:
	shoal_device_uninit();
out:
	return ret;
}

static void __exit shoal_mod_exit(void)
{
	/* Devices first: their datapath may still send events. */
	shoal_device_uninit();
	shoal_genl_uninit();
	shoal_sa_debugfs_exit();
}

module_init(shoal_mod_init);
module_exit(shoal_mod_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("shoal: layer-2 peer-to-peer VPN over ESP-in-UDP");
MODULE_AUTHOR("The shoal authors");
MODULE_VERSION(SHOAL_VERSION);
MODULE_ALIAS_RTNL_LINK(SHOAL_LINK_KIND);
MODULE_ALIAS_GENL_FAMILY(SHOAL_GENL_NAME);
