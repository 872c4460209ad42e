#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# tools/bash-completion/bcvctl: what it offers, with bcvctl from tools/
# (tests/unit/run runs this).  No module is needed: volume names come
# from /sys/block/bcv*/bcv/name, which the host does not have, so the
# volume case is checked with a stand-in directory.
top=$1
PATH=$top/tools:$PATH
# shellcheck source=tools/bash-completion/bcvctl
. "$top/tools/bash-completion/bcvctl"
bad=0

# offers WANT WORD...: completing the last WORD offers exactly WANT
offers() {
	local want=$1
	shift
	COMP_WORDS=(bcvctl "$@")
	COMP_CWORD=${#COMP_WORDS[@]}
	COMP_CWORD=$((COMP_CWORD - 1))
	COMPREPLY=()
	_bcvctl
	if [ "${COMPREPLY[*]}" = "$want" ]; then
		echo "ok - bcvctl $* -> $want"
	else
		echo "not ok - bcvctl $*: '${COMPREPLY[*]}', want '$want'"
		bad=1
	fi
}

offers "establish" est
offers "remove remove-leg reestablish restore resume" re
offers "--protect" restore a b --pro
offers "--json --count --timeout --help" monitor --
offers "std bcv" create ""
offers "64K" create std x --track-size 6
offers "split" help spl
offers "--help --version" --
_bcvctl_volumes() { printf '%s\n' prod backup1 backup2; }
offers "backup1 backup2" split prod back
exit $bad
