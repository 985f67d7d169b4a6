#!/bin/bash
# Records the vt corpus (service/vt/testdata/corpus, see its README.md) again
# into DIR: every stream from the real program on an 80x24 tmux pane with
# TERM=screen-256color, then tmux's ground truth for it.
#
#   scripts/record-corpus.sh DIR [NAME...]  record streams and ground truth
#   scripts/record-corpus.sh --truth DIR    only the ground truth of DIR/streams
#
# A stream is what the program wrote to its pty, as tmux read it (pipe-pane
# -O). The ground truth is what tmux shows after reading the stream with
# output processing and echo off (tmux's answers to a program's queries are
# not shown), as a fresh pane: .screen from the drawing of a client attached
# afterwards (captured from an outer tmux's pane that runs the client),
# .meta and .hist from the pane itself. Needs tmux and the programs below
# (make corpus installs them).
set -euo pipefail

truth_only=
if [ "${1:-}" = --truth ]; then
	truth_only=1
	shift
fi
out=${1:?usage: record-corpus.sh [--truth] DIR [NAME...]}
shift
only=" $* "
mkdir -p "$out/streams" "$out/tmux-3.3a"
out=$(cd "$out" && pwd)
here=$(cd "$(dirname "$0")/.." && pwd)

work=$(mktemp -d)
inner=$work/inner.sock outer=$work/outer.sock
cleanup() {
	tmux -S "$inner" kill-server 2>/dev/null || true
	tmux -S "$outer" kill-server 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT
# Both servers: the inner one's default-terminal must not be screen*, for
# which tmux draws italics as standout on its clients (programs get
# TERM=screen-256color from their command line instead); the outer one's is
# the terminal the client draws on.
cat >"$work/tmux.conf" <<'CONF'
set -g default-terminal tmux-256color
set -g status off
set -g history-limit 2000
set -g remain-on-exit on
set -g exit-empty off
CONF
mkdir -p "$work/home"
# The programs see a clean, fixed environment: no user's rc files, C.UTF-8.
export HOME=$work/home LANG=C.UTF-8 LC_ALL=C.UTF-8 TZ=UTC
unset LS_COLORS PAGER MANPAGER LESS EDITOR VISUAL TMUX
tin() { tmux -S "$inner" -f "$work/tmux.conf" "$@"; }
tout() { tmux -S "$outer" -f "$work/tmux.conf" "$@"; }

# settle CMD...: runs CMD until its output is the same three times in a row.
settle() {
	local last= now= same=0 i
	for i in $(seq 200); do
		sleep 0.1
		now=$("$@")
		if [ "$now" = "$last" ]; then
			same=$((same + 1))
			[ $same -ge 3 ] && return 0
		else
			same=0 last=$now
		fi
	done
	echo "record-corpus: $* does not settle" >&2
	return 1
}

# truth NAME: tmux's ground truth for streams/NAME.bin.
truth() {
	local name=$1 stream=$out/streams/$1.bin ref=$out/tmux-3.3a/$1
	tin new-session -d -s "$name" -x 80 -y 24 \
		"tmux wait-for go-$name; stty -opost -echo; cat '$stream'; tmux wait-for -S done-$name; exec sleep 100000"
	tin wait-for -S "go-$name"
	tin wait-for "done-$name"
	settle tin capture-pane -p -e -N -t "$name" >/dev/null
	# A client attached now draws the whole screen afresh.
	tout new-session -d -s "$name" -x 80 -y 24 "env -u TMUX tmux -S '$inner' attach -t '$name'"
	# The client learns its terminal's features (RGB, overline) from the
	# outer server's answers to its queries, after its first drawing: once
	# they are in, it draws everything again.
	settle tin list-clients -t "$name" -F '#{client_termfeatures}' >/dev/null
	tin refresh-client -t "$(tin list-clients -t "$name" -F '#{client_name}')"
	local meta='#{cursor_x} #{cursor_y} #{alternate_on} #{history_size} #{cursor_flag} #{insert_flag} #{pane_width} #{pane_height}'
	settle tout capture-pane -p -e -N -t "$name" >/dev/null
	tout capture-pane -p -e -N -t "$name" >"$ref.screen"
	tin display -p -t "$name" "$meta" >"$ref.meta"
	if [ "$(tin display -p -t "$name" '#{history_size}')" = 0 ]; then
		: >"$ref.hist"
	else
		tin capture-pane -p -e -N -S - -E -1 -t "$name" >"$ref.hist"
	fi
	tout kill-session -t "$name"
	tin kill-session -t "$name"
}

if [ -n "$truth_only" ]; then
	for f in "$out"/streams/*.bin; do
		name=$(basename "$f" .bin)
		echo "truth $name"
		truth "$name"
	done
	exit 0
fi

# The streams written by printf: each tests one family of sequences.
w02_sgr() {
	local c i
	for c in 30 31 32 33 34 35 36 37 90 91 92 93 94 95 96 97; do printf '\033[%dm %d\033[0m' $c $c; done
	printf '\n'
	for c in 40 41 42 43 44 45 46 47 100 101 102 103 104 105 106 107; do printf '\033[%dm%4d\033[0m' $c $c; done
	printf '\n'
	for c in 38 48; do
		for i in $(seq 0 255); do
			if [ $c = 38 ]; then printf '\033[38;5;%dm#' $i; else printf '\033[48;5;%dm ' $i; fi
			[ $((i % 64)) = 63 ] && printf '\033[0m\n'
		done
	done
	for i in $(seq 0 63); do printf '\033[38;2;%d;%d;128m*' $((4 * i)) $((255 - 4 * i)); done
	printf '\033[0m\n'
	for i in $(seq 0 63); do printf '\033[48;2;128;%d;%dm ' $((4 * i)) $((255 - 4 * i)); done
	printf '\033[0m\n'
	printf '\033[38:2::255:100:0mcolon-rgb\033[0m \033[38:5:200mcolon-256\033[0m \033[48:5:22mbg256\033[0m\n'
	printf '\033[1mbold\033[0m \033[2mdim\033[0m \033[3mitalic\033[0m \033[4munder\033[0m \033[5mblink\033[0m \033[7mreverse\033[0m \033[8mhidden\033[0m \033[9mstrike\033[0m\n'
	printf '\033[1;3;4;31;42mcombo\033[22mnobold\033[23mnoital\033[24mnoul\033[39mdeffg\033[49mdefbg\033[0m \033[4:3mcurly\033[4:0m \033[21mdblul\033[0m \033[53mover\033[0m\n'
	printf '\033[1;7;34mbold-rev-blue\033[27mno-rev\033[0m \033[7m\033[38;5;208mrev256\033[0m \033[1;91mbright\033[m end\n'
	printf '\033[44mBCE-EL\033[K\033[0m\n'
	printf '\033[45m\033[10X\033[0m<ECH\n'
	printf 'abc\033[41m\033[1K\033[0m<EL1\n'
	printf '\033[38;5;82;48;5;17mfg82bg17\033[m \033[38;2;1;2;3;48;2;250;240;230mrgbpair\033[m\n'
}
w03_utf8() {
	printf 'CJK: 日本語テキスト 中文字 한국어 ｆｕｌｌｗｉｄｔｈ\n'
	printf 'combining: é ä ñ café ộ | after\n'
	printf 'emoji: 😀 x 🚀 y\n'
	printf 'mixed: a日b本c語d|\n'
	printf '                                                                              日本\n'
	printf '                                                                               語X\n'
	printf 'wide+comb: 日́ end\n'
	printf '\033[31m赤\033[42m緑\033[0m plain\n'
	printf 'box: ┌─┬─┐ │ ├─┼─┤ └─┴─┘ ░▒▓█\n'
	printf 'greek λ cyrillic Ж arrows ← → ↑ ↓ ellipsis …\n'
}
w05_wrap() {
	printf 'a\tbb\tccc\tdddd\teeeee\tffffff\tggggggg\thhhhhhhh\tiiiiiiiii\tjjjjjjjjjj\tk\tl\tm\tn\to\tp\tEND\n'
	printf '0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ\n'
	printf '00000000000000000000000000000000000000000000000000000000000000000000000000000000\n'
	printf '00000000000000000000000000000000000000000000000000000000000000000000000000000001X\n'
	printf 'tab at end:                                                                     \tT\n'
	printf '\tindented\t\tdouble\n'
	printf 'back\bspace\b\bXY\rCR\n'
	printf '00000000000000000000000000000000000000000000000000000000000000000000000000000002\r\n'
	printf '00000000000000000000000000000000000000000000000000000000000000000000000000000003\033[1;1Hhome-after-pending-wrap\n'
	printf 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\n'
	printf 'last line no newline'
}
w15_stbm() {
	printf '\033[H\033[2J\033[1;1Hline 01\033[2;1Hline 02\033[3;1Hline 03\033[4;1Hline 04\033[5;1Hline 05\033[6;1Hline 06\033[7;1Hline 07\033[8;1Hline 08\033[9;1Hline 09\033[10;1Hline 10\033[11;1Hline 11\033[12;1Hline 12\033[13;1Hline 13\033[14;1Hline 14\033[15;1Hline 15\033[16;1Hline 16\033[17;1Hline 17\033[18;1Hline 18\033[19;1Hline 19\033[20;1Hline 20\033[21;1Hline 21\033[22;1Hline 22\033[23;1Hline 23\033[24;1Hline 24\033[5;15r\033[15;1H\n'
	printf 'A1\n'
	printf 'A2\n'
	printf 'A3\033DIND1\033DIND2\033[5;1H\033MRI1\033MRI2\033[2S\033[1T\033[8;1H\033[2L\033[10;1H\033[1M\033[1;6r\033[6;1H\n'
	printf 'T1\n'
	printf 'T2\033[r\033[18;22r\033[?6h\033[1;1HORIGIN\033[?6l\033[r\033[20;40H'
}
w17_smcup() {
	printf 'primary line 1\n'
	printf 'primary line 2\n'
	printf '\033[32mgreen primary\033[0m\n'
	printf '\033[?1049h\033[H\033[2JALT SCREEN CONTENT\n'
	printf '\033[41mred alt\033[0m\n'
	printf '\033[?1049lafter rmcup\n'
	printf '\033[?1047hALT47\033[?1047lafter 1047\n'
	printf '\033[?1049h\033[10;10HALT1049-2\033[?1049lend\n'
}
w18_irm() {
	printf 'abcdefghij\r\033[3C\033[4hXYZ\033[4l|\n'
	printf 'insert near end: 000000000000000000000000000000000000000000000000000000000000\r\033[10C\033[4h+++++\033[4l\n'
	printf '0123456789\r\033[2C\033[3@\n'
	printf '0123456789\r\033[2C\033[3P\n'
	printf '0123456789\r\033[2C\033[3X\n'
	printf 'wide: 日本語\r\033[2C\033[4hI\033[4l\n'
	printf '\033[41mred\033[0m0123456789\r\033[5C\033[44m\033[2@\033[0m\n'
	printf 'rep: x\033[5b|\n'
	printf '00000000000000000000000000000000000000000000000000000000000000000000000000000005\r\033[4h\033[70Cins\033[4l\n'
	printf 'end'
}
w19_acs() {
	printf '\033(0lqqqqwqqqqk\033(B\n'
	printf '\033(0x\033(B abc\033(0x\033(B def\033(0x\033(B\n'
	printf '\033(0tqqqqnqqqqu\033(B\n'
	printf '\033(0mqqqqvqqqqj\033(B\n'
	printf '\033)0\016lqqk\017 SO/SI \016mqqj\017\n'
	printf '\033(0`afgjklmnopqrstuvwxyz{|}~\033(B\n'
	printf 'plain lqqk after\n'
}
w20_emoji() {
	printf 'vs16: ❤️|\n'
	printf 'zwj: 👨‍👩‍👧|\n'
	printf 'flag: 🇯🇵|\n'
	printf 'skin: 👍🏽|\n'
	printf 'text-default: ☺ ✔ |\n'
}

w06_tput() {
	local r
	tput clear
	for r in $(seq 0 23); do
		tput cup $r 0
		printf 'row%02d ' $r
		printf '%.0s.' $(seq 72)
	done
	tput cup 5 10 && printf 'AT(5,10)'
	tput cup 0 0 && printf TOP
	tput cup 23 70 && printf BOTTOM
	tput cup 3 20 && tput el && printf el-here
	tput cup 4 30 && tput el1 && printf el1
	tput cup 7 5 && tput sc
	tput cup 8 6 && printf saved && tput rc && printf restored
	tput cup 10 40 && tput cub 5 && printf '<cub' && tput cuf 3 && printf 'cuf>'
	tput cuu 1 && printf '^' && tput cud 2 && printf v
	tput cup 12 12
	tput cup 14 0 && tput hpa 2 && printf 3G && tput hpa 19 && printf col20 && tput vpa 14 && printf 15d
	tput cup 18 0 && tput ed
	tput cup 20 10 && printf after-ed
	tput cup 16 33
}

for tool in tmux ls seq tput vim.tiny less top man dialog nano git; do
	command -v $tool >/dev/null || { echo "record-corpus: $tool is missing (make corpus installs it)" >&2; exit 1; }
done
for f in /etc/services /usr/share/man/man1/ls.1.gz; do
	[ -e $f ] || { echo "record-corpus: $f is missing (netbase, man pages)" >&2; exit 1; }
done

# The programs run in a directory of their own, with the file nano edits.
run=$work/run
mkdir -p "$run/data"
printf '%s\n' 'The quick brown fox jumps over the lazy dog.' 'Second line of the file here.' \
	'Third line: insert text into the middle of this line.' 'Fourth line.' 'Fifth line.' >"$run/data/nano.txt"
declare -f w02_sgr w03_utf8 w05_wrap w06_tput w15_stbm w17_smcup w18_irm w19_acs w20_emoji >"$work/printf.sh"

# record NAME COMMAND [STEP...]: runs COMMAND (sh) on an 80x24 pane with
# TERM=screen-256color and records what it writes until it exits. A STEP is
# k:KEYS (tmux key names, or literal text where a word names no key, sent in
# one write), t:TEXT (typed literally) or "snapshot" (stop recording with the
# program still running); the screen settles after each.
record() {
	local name=$1 cmd=$2 step snapshot=
	shift 2
	printf '. %s/printf.sh\n%s\n' "$work" "$cmd" >"$work/$name.sh"
	tin new-session -d -s "$name" -x 80 -y 24 -c "$run" \
		"tmux wait-for go-$name; TERM=screen-256color exec sh '$work/$name.sh'"
	tin pipe-pane -O -t "$name" "cat >'$out/streams/$name.bin'"
	tin wait-for -S "go-$name"
	# Keys go to the program once it has drawn: sent earlier, the tty would
	# echo them into the stream.
	local i
	for i in $(seq 200); do
		tin capture-pane -p -t "$name" | grep -q '[^[:space:]]' && break
		sleep 0.1
	done
	settle tin capture-pane -p -e -t "$name" >/dev/null
	for step in "$@"; do
		case $step in
		k:*) tin send-keys -t "$name" ${step#k:} ;;
		t:*) tin send-keys -t "$name" -l "${step#t:}" ;;
		snapshot) snapshot=1 && break ;;
		esac
		settle tin capture-pane -p -e -t "$name" >/dev/null
	done
	if [ -z "$snapshot" ]; then
		for i in $(seq 300); do
			[ "$(tin display -p -t "$name" '#{pane_dead}')" = 1 ] && break
			sleep 0.1
		done
		[ "$(tin display -p -t "$name" '#{pane_dead}')" = 1 ] || { echo "record-corpus: $name does not end" >&2; exit 1; }
	fi
	sleep 0.5 # tmux passes the last bytes to the pipe
	[ -z "$snapshot" ] || tin pipe-pane -t "$name"
	tin kill-session -t "$name"
}

rec() {
	[ "$only" = "  " ] || [[ $only == *" $1 "* ]] || return 0
	echo "record $1"
	record "$@"
	truth "$1"
}
rec w01_ls 'ls -la --color=always /usr/bin | head -n 60'
rec w02_sgr w02_sgr
rec w03_utf8 w03_utf8
rec w04_seq 'seq 1 300'
rec w05_wrap w05_wrap
rec w06_tput w06_tput
rec w07_vim_alt 'ls --color=auto /; vim.tiny -u NONE /etc/services' k:G snapshot
rec w08_vim_exit 'ls --color=auto /; vim.tiny -u NONE /etc/services' k:G 'k::q Enter'
rec w09_less 'less /etc/services' k:Space snapshot
rec w10_topb 'top -b -n 1'
rec w11_topi top snapshot
rec w12_man 'man ls' k:Space snapshot
rec w13_dialog 'dialog --msgbox hi 10 30' snapshot
rec w14_nano 'nano --ignorercfiles data/nano.txt' "k:Down Down$(printf ' Right%.0s' $(seq 12))" 't:HELLO ' \
	"k:Up$(printf ' Right%.0s' $(seq 5)) <ins>" snapshot
rec w15_stbm w15_stbm
rec w16_git "git --no-pager -C '$here' log --graph --oneline --decorate --color=always -n 60"
rec w17_smcup w17_smcup
rec w18_irm w18_irm
rec w19_acs w19_acs
rec w20_emoji w20_emoji
