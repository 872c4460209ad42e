/* SPDX-License-Identifier: GPL-2.0 */
/*
 * bcvctl: what the files of the tool share.
 *
 *   bcvctl.c          main, messages, argument checks and parser, the
 *                     command table with every command's help, --version
 *   bcvctl_ioctl.c    the control device: opening it (modprobe), xioctl,
 *                     LIST, QUERY and VERSION, errno to exit status
 *   bcvctl_output.c   what goes to stdout: sizes, role and state names,
 *                     JSON strings, the tables and JSON of list and query
 *   bcvctl_progress.c waiting for a copy (BCV_IOC_WAIT) and its progress bar
 *   bcvctl_dev.c      block devices: sysfs, probing a backing device, the
 *                     /dev/bcv/NAME links udev makes
 *   bcvctl_volume.c   create, remove, add-leg, remove-leg, list
 *   bcvctl_session.c  establish, split (--consistent, --group), reestablish,
 *                     restore, terminate, pause, resume, abort, wait, query
 *                     and why the kernel refused a session command
 *   bcvctl_meta.c     stop, assemble, examine (the on-disk metadata)
 *   bcvctl_monitor.c  monitor (the kernel's uevents)
 *   bcvctl_probe.c    create's check for signatures on its devices (libblkid
 *                     and our own superblock reader)
 *   bcv_fmt.c         the on-disk format: crc32c, superblock reader, table
 *                     summaries (no bcvctl dependencies: the unit tests
 *                     link it alone)
 */
#ifndef BCVCTL_H
#define BCVCTL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <uapi/linux/bcv.h>

#define CTL_PATH	"/dev/" BCV_CTL_NAME
#define LINK_DIR	"/dev/" BCV_DISK_PREFIX	/* udev: /dev/bcv/NAME */
#define UDEV_CONTROL	"/run/udev/control"

#define EXIT_OK		0
#define EXIT_FAIL	1	/* any other refusal or failure */
#define EXIT_USAGE	2
#define EXIT_NOTFOUND	3	/* a named volume or session does not exist */
#define EXIT_BUSY	4	/* open, attached, copying, in use */
#define EXIT_TIMEOUT	5	/* wait --timeout ran out */

#define UDEV_WAIT_MS	10000	/* for /dev/bcv/NAME to appear or go */
#define UDEV_POLL_MS	20
#define BUSY_RETRY_MS	2000	/* remove, stop: blkid may hold the device */
#define BUSY_POLL_MS	50

#define MAX_MIRRORS	(BCV_MAX_LEGS - 1)
#define NR_POSITIONS	4	/* mirror positions M1..M4 of a volume */

extern bool no_client_checks;	/* BCV_NO_CLIENT_CHECKS=1, see bcvctl.c */

/* --- the command table and the argument parser -------------------------- */

#define MAX_POS		(2 * BCV_GROUP_MAX)	/* split --consistent pairs */
#define MAX_OPTS	6
#define MAX_OPT_VALUES	MAX_MIRRORS	/* the most any list option takes */

enum opt_kind {
	OPT_FLAG,	/* --name */
	OPT_VALUE,	/* --name VALUE or --name=VALUE, at most once */
	OPT_LIST,	/* like OPT_VALUE, repeatable up to @max times */
};

struct opt_def {
	const char *name;	/* without the leading "--"; NULL ends */
	enum opt_kind kind;
	unsigned int max;	/* OPT_LIST: most values allowed */
};

struct opt_val {
	unsigned int count;			/* times given */
	const char *val[MAX_OPT_VALUES];	/* OPT_VALUE: val[0] */
};

struct cmd;

struct cmd_args {
	const struct cmd *cmd;
	unsigned int npos;
	const char *pos[MAX_POS];
	struct opt_val opt[MAX_OPTS];		/* as cmd->opts */
};

struct cmd {
	const char *name;
	const char *synopsis;	/* after "bcvctl NAME " */
	const char *summary;	/* one line for bcvctl --help */
	const char *help;	/* the rest of bcvctl NAME --help */
	const char *pos[MAX_POS];	/* names, for "missing NAME" */
	unsigned int min_pos, max_pos;
	struct opt_def opts[MAX_OPTS + 1];
	int (*run)(const struct cmd_args *a);
};

#define HELP_OPT "  -h, --help          show this help and exit\n"

/*
 * Options of the commands: opts[i] of the command table (bcvctl.c) is
 * option i, read by the handler with opt_flag() and opt_value().
 */
/* bcvctl_volume.c */
enum { CREATE_TRACK_SIZE, CREATE_MIRROR, CREATE_FORCE };
enum { REMOVE_FORCE };
enum { LIST_JSON };
/* bcvctl_session.c */
enum { ESTABLISH_WAIT };
enum { SPLIT_DIFF, SPLIT_WAIT, SPLIT_FORCE, SPLIT_CONSISTENT, SPLIT_GROUP };
enum { REESTABLISH_WAIT };
enum { RESTORE_INCREMENTAL, RESTORE_FORCE, RESTORE_WAIT, RESTORE_PROTECT };
enum { WAIT_TIMEOUT };
enum { QUERY_JSON };
/* bcvctl_meta.c */
enum { STOP_ALL };
enum { ASSEMBLE_NAME, ASSEMBLE_SCAN, ASSEMBLE_INCREMENTAL };
enum { EXAMINE_JSON, EXAMINE_EXPORT };
/* bcvctl_monitor.c */
enum { MONITOR_JSON, MONITOR_COUNT, MONITOR_TIMEOUT };

/* A session's two volumes, as named on the command line. */
struct pair {
	const char *std;
	const char *bcv;
};

/* --- bcvctl.c: messages, clocks, argument checks, the parser ------------- */

__attribute__((format(printf, 1, 2)))
void errmsg(const char *fmt, ...);
__attribute__((format(printf, 2, 3)))
int usage_error(const struct cmd *c, const char *fmt, ...);
uint64_t now_ms(void);
void sleep_ms(unsigned int ms);
const char *name_problem(const char *name);
int check_name(const struct cmd *c, const char *what, const char *name);
int check_path(const struct cmd *c, const char *path);
bool parse_uint(const char *s, uint64_t max, uint64_t *out);
const char *cmd_name(const struct cmd *c);
bool opt_flag(const struct cmd_args *a, unsigned int i);
const char *opt_value(const struct cmd_args *a, unsigned int i);

/* --- bcvctl_ioctl.c: the control device ---------------------------------- */

const char *any_error(int err);
int refusal_status(int err);
/* The bcv.max_table_share module parameter (percent), 0 if unknown. */
unsigned int table_share(void);
int xioctl(int fd, unsigned long req, void *arg);
void copy_fixed(char *dst, size_t len, const char *src);
int fixed_len(const char *s, size_t len);
int open_ctl(void);
int open_ctl_noload(void);	/* -2: module not loaded */
int ctl_version(int fd, struct bcv_version *v);
struct bcv_vol_info *list_volumes(int fd, uint32_t *n);
int lookup_volume(int fd, const char *name, struct bcv_vol_info *out);
bool find_volume(int fd, const char *name, struct bcv_vol_info *out);
unsigned int vol_legs(const struct bcv_vol_info *v);
struct bcv_sess_info *query_sessions(int fd, const char *name, uint32_t *n);
int find_session(int fd, const struct pair *p, struct bcv_sess_info *out);

/* --- bcvctl_output.c: stdout --------------------------------------------- */

const char *human_size(uint64_t bytes, bool compact, char *buf, size_t len);
const char *role_name(uint32_t role);
const char *state_name(uint32_t state);
void json_string(const char *prefix, const char *s, size_t max);
void vol_notes(const struct bcv_vol_info *vols, uint32_t n);
void list_json(const struct bcv_vol_info *vols, uint32_t n);
void list_table(const struct bcv_vol_info *vols, uint32_t n);
void query_json(const struct bcv_sess_info *sess, uint32_t n,
		const struct bcv_vol_info *v,
		const struct bcv_vol_info *vols, uint32_t nvols);
void query_table(const struct bcv_sess_info *sess, uint32_t n);
void query_legs(const struct bcv_vol_info *v);
void sess_notes(const struct bcv_sess_info *sess, uint32_t n);

/* --- bcvctl_progress.c: waiting for a copy ------------------------------- */

#define NO_TIMEOUT	UINT64_MAX	/* wait_session(): as long as it takes */

unsigned int percent_done(uint64_t copied, uint64_t invalid);
/* Why BCV_IOC_WAIT said EBUSY (a protected restore's split waits). */
struct wait_why {
	uint32_t reason;	/* BCV_R_* */
	uint32_t detail;
};
int wait_session(int fd, const struct pair *p, uint64_t timeout_ms,
		 uint32_t *state, bool *waited, struct wait_why *why);

/* --- bcvctl_dev.c: block devices and udev -------------------------------- */

struct dev_probe {
	int stat_err;		/* errno of stat(), 0 if it worked */
	bool is_blk;		/* a block device node */
	bool is_bcv;		/* ... of a bcv volume */
	bool on_bcv;		/* ... of a bcv volume or of a device over one */
	bool read_only;
	bool empty;		/* capacity 0 */
	bool zoned;
	unsigned int lbs;	/* logical block size in bytes, 0 unknown */
	bool excl_busy;		/* O_EXCL open refused with EBUSY */
};

bool read_line(const char *path, char *buf, size_t len);
void probe_dev(const char *path, struct dev_probe *p);
bool udev_running(void);
bool wait_link(const char *name, uint32_t vol_index, bool appear);

/* --- the commands -------------------------------------------------------- */

/* bcvctl_volume.c */
int run_create(const struct cmd_args *a);
int run_remove(const struct cmd_args *a);
int run_add_leg(const struct cmd_args *a);
int run_remove_leg(const struct cmd_args *a);
int run_list(const struct cmd_args *a);

/* bcvctl_session.c */
int run_establish(const struct cmd_args *a);
int run_split(const struct cmd_args *a);
int run_reestablish(const struct cmd_args *a);
int run_restore(const struct cmd_args *a);
int run_terminate(const struct cmd_args *a);
int run_pause(const struct cmd_args *a);
int run_resume(const struct cmd_args *a);
int run_abort(const struct cmd_args *a);
int run_wait(const struct cmd_args *a);
int run_query(const struct cmd_args *a);

/* bcvctl_meta.c */
extern const char stop_help[], assemble_help[], examine_help[];
int run_stop(const struct cmd_args *a);
int run_assemble(const struct cmd_args *a);
int run_examine(const struct cmd_args *a);

/* bcvctl_monitor.c */
extern const char monitor_help[];
int run_monitor(const struct cmd_args *a);

/* bcvctl_probe.c: 0 if create may use @path, else EXIT_FAIL after
 * "create NAME: PATH holds ...; use --force to overwrite it". */
int create_check_signatures(const char *name, const char *path);

#endif /* BCVCTL_H */
