# bash completion for shoal(8) and shoald(8).                -*- shell-script -*-
# Installed as completions/shoal, with completions/shoald a link to it, for
# bash-completion to load on demand; works sourced on its own too (it uses
# nothing from bash-completion).

# The shoal devices of this network namespace.
_shoal_devices()
{
	ip -o link show type shoal 2>/dev/null |
		awk -F': ' '{ sub(/@.*/, "", $2); print $2 }'
}

# shoald's control sockets.
_shoal_sockets()
{
	local s
	for s in /run/shoal/*.sock; do
		[ -e "$s" ] && printf '%s\n' "$s"
	done
}

# The interface names of shoald's control sockets (for -i NAME).
_shoal_names()
{
	local s
	for s in $(_shoal_sockets); do
		s=${s##*/}
		printf '%s\n' "${s%.sock}"
	done
}

# Completes the argument of -s/--socket or -i/--interface (also written
# --socket=PATH, which bash splits at =) if the cursor is on one; returns
# 1 if it is not.  $1: the word before the cursor, $2: the cursor's word.
_shoal_ctl_option()
{
	local prev=$1 cur=$2
	if [ "$prev" = = ]; then
		prev=${COMP_WORDS[COMP_CWORD - 2]}
	fi
	case $prev in
	-s|--socket)
		_shoal_reply "$(_shoal_sockets)" "$cur"
		# Any file too, once something is typed or if none is there.
		if [ -n "$cur" ] || [ ${#COMPREPLY[@]} = 0 ]; then
			_shoal_files "$cur"
		fi
		return 0
		;;
	-i|--interface)
		_shoal_reply "$(_shoal_names)" "$cur"
		return 0
		;;
	esac
	return 1
}

# Adds to COMPREPLY the words of list $1 (blank-separated) that start
# with $2.  No word has blanks in it: device names cannot.
_shoal_reply()
{
	local IFS=$' \t\n'
	mapfile -t -O ${#COMPREPLY[@]} COMPREPLY < <(compgen -W "$1" -- "$2")
}

# Adds to COMPREPLY the file names that start with $1, shown and quoted
# as file names (file names may have blanks).
_shoal_files()
{
	compopt -o filenames 2>/dev/null
	mapfile -t -O ${#COMPREPLY[@]} COMPREPLY < <(compgen -f -- "$1")
}

# The words of `shoal set DEV ...` that may come next, from the words
# already given (from index $1 to the one before the cursor's): each
# keyword's arguments are skipped, and the limits are offered only right
# after an SA's KEYFILE or another limit.
_shoal_set()
{
	local i=$1 cur=$2 w in_peer=0 after_sa=0
	local peer_opts='remove mac endpoint layer3 no-layer3 bridge no-bridge allowed-ips sa-out sa-in'
	local limits='soft-packets hard-packets soft-seconds hard-seconds'

	while [ "$i" -lt "$COMP_CWORD" ]; do
		w=${COMP_WORDS[i]}
		after_sa=0
		case $w in
		listen-port|mac|endpoint|allowed-ips|soft-packets|hard-packets|soft-seconds|hard-seconds)
			# One argument.
			if [ $((i + 1)) = "$COMP_CWORD" ]; then
				return
			fi
			i=$((i + 1))
			case $w in *-packets|*-seconds) after_sa=1 ;; esac
			;;
		peer)
			if [ $((i + 1)) = "$COMP_CWORD" ]; then
				return	# a public key: nothing to offer
			fi
			i=$((i + 1))
			in_peer=1
			;;
		sa-out|sa-in)
			# SPI KEYFILE: the KEYFILE is a file or - (stdin).
			if [ $((i + 1)) = "$COMP_CWORD" ]; then
				return
			fi
			if [ $((i + 2)) = "$COMP_CWORD" ]; then
				_shoal_reply - "$cur"
				_shoal_files "$cur"
				return
			fi
			i=$((i + 2))
			after_sa=1
			;;
		esac
		i=$((i + 1))
	done
	if [ "$in_peer" = 1 ]; then
		_shoal_reply "listen-port peer $peer_opts" "$cur"
		[ "$after_sa" = 1 ] && _shoal_reply "$limits" "$cur"
	else
		_shoal_reply "listen-port peer" "$cur"
	fi
}

_shoal()
{
	local cur=${COMP_WORDS[COMP_CWORD]} prev='' i cmd='' cmdi
	local commands='genkey pubkey set show monitor send status login logout
		nick create join leave delete approve kick ban set-password networks
		netcheck lan-broadcast'
	[ "$COMP_CWORD" -gt 0 ] && prev=${COMP_WORDS[COMP_CWORD - 1]}
	COMPREPLY=()

	# The command is the first word that is not an option.
	for ((i = 1; i < COMP_CWORD; i++)); do
		case ${COMP_WORDS[i]} in
		-*) ;;
		*) cmd=${COMP_WORDS[i]}; cmdi=$i; break ;;
		esac
	done
	if [ -z "$cmd" ]; then
		case $cur in
		-*) _shoal_reply '--help --version' "$cur" ;;
		*) _shoal_reply "$commands" "$cur" ;;
		esac
		return 0
	fi

	# Position of the cursor among the command's arguments, from 1.
	local argn=$((COMP_CWORD - cmdi))
	case $cmd in
	genkey|pubkey)
		[ "$argn" = 1 ] && _shoal_reply --help "$cur"
		;;
	set)
		if [ "$argn" = 1 ]; then
			_shoal_reply "$(_shoal_devices)" "$cur"
		else
			_shoal_set $((cmdi + 2)) "$cur"
		fi
		;;
	show|monitor)
		case $cur in
		-*) _shoal_reply --json "$cur" ;;
		*)
			# One device at most.
			for ((i = cmdi + 1; i < COMP_CWORD; i++)); do
				[[ ${COMP_WORDS[i]} == -* ]] || return 0
			done
			_shoal_reply "$(_shoal_devices)" "$cur"
			[ "$cmd" = show ] && _shoal_reply all "$cur"
			;;
		esac
		;;
	send)
		# DEV HOST:PORT HEX: only DEV can be guessed.
		[ "$argn" = 1 ] && _shoal_reply "$(_shoal_devices)" "$cur"
		;;
	status)
		_shoal_ctl_option "$prev" "$cur" && return 0
		case $cur in
		-*) _shoal_reply '--json --pretty --interface --socket' "$cur" ;;
		*) _shoal_reply "$(_shoal_names)" "$cur" ;;
		esac
		;;
	login|logout|nick|create|join|leave|delete|approve|kick|ban|set-password|networks|netcheck)
		_shoal_ctl_option "$prev" "$cur" && return 0
		local opt=$prev
		[ "$opt" = = ] && opt=${COMP_WORDS[COMP_CWORD - 2]}
		case $opt in
		--password-file)
			# A file, or - for standard input.
			_shoal_reply - "$cur"
			_shoal_files "$cur"
			return 0
			;;
		--nick) return 0 ;;
		esac
		# Network names, nicknames and keys cannot be guessed: options only.
		[[ $cur == -* ]] || return 0
		local opts='--interface --socket --help'
		case $cmd in
		login) opts+=' --nick --json' ;;
		create) opts+=' --password-file --no-password --approval' ;;
		join|set-password) opts+=' --password-file --no-password' ;;
		networks|netcheck) opts+=' --json' ;;
		esac
		_shoal_reply "$opts" "$cur"
		;;
	lan-broadcast)
		_shoal_ctl_option "$prev" "$cur" && return 0
		# A port list cannot be guessed.
		[ "$prev" = --ports ] && return 0
		case $cur in
		-*) _shoal_reply '--ports --json --pretty --interface --socket --help' "$cur" ;;
		*)
			_shoal_reply 'on off' "$cur"
			[ "$argn" = 1 ] && _shoal_reply "$(_shoal_names)" "$cur"
			;;
		esac
		;;
	esac
	return 0
}
complete -F _shoal shoal

_shoald()
{
	local cur=${COMP_WORDS[COMP_CWORD]} prev=''
	[ "$COMP_CWORD" -gt 0 ] && prev=${COMP_WORDS[COMP_CWORD - 1]}
	COMPREPLY=()
	case $prev in
	-c|--config)
		# The units' configurations first, then any file.
		local f confs=
		for f in /etc/shoal/*.conf; do
			[ -e "$f" ] && confs+="$f"$'\n'
		done
		_shoal_reply "$confs" "$cur"
		if [ -n "$cur" ] || [ ${#COMPREPLY[@]} = 0 ]; then
			_shoal_files "$cur"
		fi
		return 0
		;;
	-d|--datapath)
		_shoal_reply 'kernel tap auto' "$cur"
		return 0
		;;
	-s|--socket)
		_shoal_files "$cur"
		return 0
		;;
	esac
	case $cur in
	-*) _shoal_reply '--config --foreground --datapath --socket --verbose --help --version' "$cur" ;;
	esac
	return 0
}
complete -F _shoald shoald
