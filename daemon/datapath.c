// SPDX-License-Identifier: MIT
#include <stdlib.h>
#include <string.h>

#include "datapath.h"

void shoal_dp_info_free(struct shoal_device_info *info)
{
	free(info->peers);
	memset(info, 0, sizeof(*info));
}
