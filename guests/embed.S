/* SPDX-License-Identifier: MIT */
/*
 * The guest programs' flat binaries, embedded with .incbin (found through
 * the assembler's include path: meson.build passes -Wa,-I<build dir>), and
 * the table of struct gm_guest_image that images.c serves.  The table is
 * built here because only the assembler knows each binary's size as a
 * constant.  Keep the list in step with `guest_programs` in meson.build.
 */

/* One struct gm_guest_image: { name, start, size, summary }, 32 bytes. */
.macro image name:req, summary:req
	.pushsection .rodata.gm_guest_blobs, "a", @progbits
	.balign	64
.Lblob_\name:
	.incbin	"\name\().bin"
.Lblob_end_\name:
	.popsection
	.pushsection .rodata.gm_guest_strings, "a", @progbits
.Lname_\name:
	.asciz	"\name"
.Lsummary_\name:
	.asciz	"\summary"
	.popsection
	.quad	.Lname_\name
	.quad	.Lblob_\name
	.quad	.Lblob_end_\name - .Lblob_\name
	.quad	.Lsummary_\name
.endm

	.section .note.GNU-stack, "", @progbits

	.section .data.rel.ro.gm_guest_images, "aw", @progbits
	.balign	8
	.globl	gm_guest_image_table
	.hidden	gm_guest_image_table
	.type	gm_guest_image_table, @object
gm_guest_image_table:
	image	memtest, "write an address-derived pattern to every qword of each vCPU's slice, read it back, count mismatches"
	image	touch, "write one qword to every 4 KiB page of each vCPU's slice, once (first-touch benchmark)"
	image	leakcheck, "private RAM: fresh pages must read zero, before and after a shared/private round trip"
	image	convert, "vCPU 0 checks private/shared conversions from guest and host side (needs >= 8 MiB RAM)"
	image	retouch, "vCPU 0 touches all RAM, waits for the host to punch it, checks it reads zero and touches it again (benchmark)"
	image	convbench, "private RAM: vCPU 0 times bare hypercall exits and 4 KiB and 2 MiB private/shared round trips (benchmark)"
.Ltable_end:
	.size	gm_guest_image_table, .Ltable_end - gm_guest_image_table

	.section .rodata.gm_guest_images, "a", @progbits
	.balign	8
	.globl	gm_guest_image_count
	.hidden	gm_guest_image_count
	.type	gm_guest_image_count, @object
gm_guest_image_count:
	.quad	(.Ltable_end - gm_guest_image_table) / 32
	.size	gm_guest_image_count, 8
