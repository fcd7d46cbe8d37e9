/* SPDX-License-Identifier: MIT */
/* Snapshot keys for the program: a key file holds exactly the key's 32 bytes. */
#ifndef GM_CLI_KEY_FILE_H
#define GM_CLI_KEY_FILE_H

#include <stdint.h>

#include <guestmem/vm.h>

/*
 * Read @path's key into @key.  Return: 0, or GM_STATUS_USAGE after one line
 * on stderr (as @cmd) saying why (no such file, not 32 bytes).
 */
int gm_cli_read_key(const char *cmd, const char *path, uint8_t key[GM_SNAPSHOT_KEY_SIZE]);

#endif
