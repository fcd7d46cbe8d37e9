/* SPDX-License-Identifier: MIT */
/* The number of elements of an array (not a pointer: that does not compile). */
#ifndef GM_UTIL_ARRAY_H
#define GM_UTIL_ARRAY_H

/* 0 for an array; a compile error (negative bit-field width) for a pointer. */
#define GM_MUST_BE_ARRAY(a) \
	(sizeof(struct { int: -!!__builtin_types_compatible_p(__typeof__(a), \
							       __typeof__(&(a)[0])); }) * 0)

#define GM_ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]) + GM_MUST_BE_ARRAY(a))

#endif
