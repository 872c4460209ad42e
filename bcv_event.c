// SPDX-License-Identifier: GPL-2.0
/*
 * bcv: events for administrators' tools (Documentation/bcv.rst, "Events").
 *
 * Every state change of a session and the first I/O error of an episode
 * on a volume's position raise a uevent, KOBJ_CHANGE on the volume's disk
 * (a session's on its STD), with
 *
 *   BCV_EVENT=state  BCV_SESSION=ID BCV_STD=NAME BCV_BCV=NAME
 *                    BCV_FROM=STATE BCV_STATE=STATE
 *   BCV_EVENT=error  BCV_VOLUME=NAME BCV_POSITION=Mn BCV_SECTOR=N
 *                    BCV_WHAT=TEXT
 *
 * which `bcvctl monitor` prints and udev rules can act on.  No rule of
 * udev's opens a bcv volume for them (60-persistent-storage.rules does
 * not probe bcv* disks), so that a RESTORE right after finds the STD
 * closed (test_monitor_15.sh checks it).  A session's state change
 * also wakes pollers of its sessions/ID/state attribute (bcv_session.c).
 *
 * The events are raised where the change is made, in any context, often
 * with a volume's I/O held; they are sent from an ordered workqueue, in
 * the order they were raised, under bcv_lock (so that a volume removed
 * meanwhile gets none: its disk is pinned by a reference until then).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/module.h>
#include <linux/slab.h>
#include <linux/workqueue.h>
#include <linux/blkdev.h>

#include "bcv_core.h"

#define BCV_EVENT_VARS	7
#define BCV_EVENT_LEN	(BCV_NAME_LEN + 16)

struct bcv_event {
	struct work_struct work;
	struct gendisk *disk;		/* a device reference held */
	char var[BCV_EVENT_VARS][BCV_EVENT_LEN];
	char *envp[BCV_EVENT_VARS + 1];
	unsigned int n;
};

static struct workqueue_struct *bcv_event_wq;

/* bcv_event_wq.  Send one event, if its volume still exists. */
static void bcv_event_work(struct work_struct *work)
{
	struct bcv_event *ev = container_of(work, struct bcv_event, work);
	struct bcv_volume *vol;

	mutex_lock(&bcv_lock);
	list_for_each_entry(vol, &bcv_volumes, node) {
		if (vol->disk != ev->disk)
			continue;
		if (kobject_uevent_env(&disk_to_dev(ev->disk)->kobj, KOBJ_CHANGE,
				       ev->envp))
			pr_debug("%s: an event was not sent\n", vol->name);
		break;
	}
	mutex_unlock(&bcv_lock);
	put_device(disk_to_dev(ev->disk));
	kfree(ev);
}

/* Any context.  A new event for @vol's disk, or NULL (no memory). */
static struct bcv_event *bcv_event_new(struct bcv_volume *vol)
{
	struct bcv_event *ev;

	if (!bcv_event_wq)
		return NULL;
	ev = kzalloc(sizeof(*ev), GFP_ATOMIC | __GFP_NOWARN);
	if (!ev)
		return NULL;
	INIT_WORK(&ev->work, bcv_event_work);
	ev->disk = vol->disk;
	return ev;
}

static __printf(2, 3) void bcv_event_add(struct bcv_event *ev,
					 const char *fmt, ...)
{
	va_list ap;

	if (ev->n == BCV_EVENT_VARS)
		return;
	va_start(ap, fmt);
	vsnprintf(ev->var[ev->n], BCV_EVENT_LEN, fmt, ap);
	va_end(ap);
	ev->envp[ev->n] = ev->var[ev->n];
	ev->n++;
}

static void bcv_event_queue(struct bcv_event *ev)
{
	get_device(disk_to_dev(ev->disk));
	queue_work(bcv_event_wq, &ev->work);
}

/**
 * bcv_event_state() - a session of @std changed state: raise its event
 * @std: the STD
 * @id: the session's ID (PB column)
 * @bcv: the BCV's name
 * @from: the state it left ("none" before ESTABLISH)
 * @to: the state it is in ("none" after TERMINATE)
 *
 * Context: any but hardirq.  An event that finds no memory is dropped
 * (the state itself is in sysfs and query).
 */
void bcv_event_state(struct bcv_volume *std, unsigned int id, const char *bcv,
		     const char *from, const char *to)
{
	struct bcv_event *ev = bcv_event_new(std);

	if (!ev)
		return;
	bcv_event_add(ev, "BCV_EVENT=state");
	bcv_event_add(ev, "BCV_SESSION=%u", id);
	bcv_event_add(ev, "BCV_STD=%s", std->name);
	bcv_event_add(ev, "BCV_BCV=%s", bcv);
	bcv_event_add(ev, "BCV_FROM=%s", from);
	bcv_event_add(ev, "BCV_STATE=%s", to);
	bcv_event_queue(ev);
}

/**
 * bcv_event_error() - the first I/O error of an episode at @pos of @vol
 * @vol: the volume
 * @pos: its mirror position
 * @sector: where (512-byte sectors of the volume)
 * @what: what failed, as logged
 *
 * Context: any.
 */
void bcv_event_error(struct bcv_volume *vol, int pos, sector_t sector,
		     const char *what)
{
	struct bcv_event *ev = bcv_event_new(vol);

	if (!ev)
		return;
	bcv_event_add(ev, "BCV_EVENT=error");
	bcv_event_add(ev, "BCV_VOLUME=%s", vol->name);
	bcv_event_add(ev, "BCV_POSITION=M%d", pos + 1);
	bcv_event_add(ev, "BCV_SECTOR=%llu", (unsigned long long)sector);
	bcv_event_add(ev, "BCV_WHAT=%.*s", BCV_NAME_LEN, what);
	bcv_event_queue(ev);
}

/**
 * bcv_event_init() - module load
 *
 * Context: process.
 * Return: 0 or -ENOMEM.
 */
int bcv_event_init(void)
{
	bcv_event_wq = alloc_ordered_workqueue("bcv_event", 0);
	return bcv_event_wq ? 0 : -ENOMEM;
}

/**
 * bcv_event_exit() - module unload, once no volume exists
 *
 * Context: process; may sleep (sends what is queued).
 */
void bcv_event_exit(void)
{
	destroy_workqueue(bcv_event_wq);
	bcv_event_wq = NULL;
}
