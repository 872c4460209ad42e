/* SPDX-License-Identifier: GPL-2.0 */
/*
 * bcv: the I/O path and the gate (bcv_io.c).
 */
#ifndef BCV_IO_H
#define BCV_IO_H

struct bcv_volume;
struct bio;
struct work_struct;

int bcv_io_init(void);
void bcv_io_exit(void);
int bcv_io_vol_init(struct bcv_volume *vol);
void bcv_io_vol_exit(struct bcv_volume *vol);

/* Context: process (the block layer's ->submit_bio); may sleep. */
void bcv_submit_bio(struct bio *bio);

/*
 * The gate, for commands.  bcv_hold() stops new bios and copies on @vol
 * and waits for those in flight to finish; bcv_unhold() resubmits what
 * was held and restarts the engine.  Context: may sleep; caller holds
 * bcv_lock.
 */
void bcv_hold(struct bcv_volume *vol);
void bcv_hold_pair(struct bcv_volume *a, struct bcv_volume *b);
void bcv_hold_many(struct bcv_volume **vols, unsigned int n);
void bcv_unhold(struct bcv_volume *vol);
/* Context: process, vol->lock not held.  Resubmit deferred bios. */
void bcv_kick_deferred(struct bcv_volume *vol);
/* Context: any.  Fail the bios deferred at a removed volume's gate. */
void bcv_fail_deferred(struct bcv_volume *vol);
/* Context: may sleep.  Wait for a removed volume's bios and copies. */
void bcv_quiesce_dead(struct bcv_volume *vol);

#endif /* BCV_IO_H */
