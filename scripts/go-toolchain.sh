#!/bin/bash
# Prints the path of a go that can build this module: the go on PATH when it
# is at least the version go.mod names (its toolchain line, else its go
# line), else that release fetched into DIR (default .toolchain) the way go
# itself fetches toolchains: the module golang.org/toolchain from the Go
# module proxy ($GOPROXY's first entry, default proxy.golang.org), checked
# against the checksum database's h1: hash for it (through that proxy when
# it serves the database, as go asks it; the lookup's signature is not
# checked).
# Needs bash, curl, and perl with its standard modules, which git brings on
# Debian; no unzip and no go. Messages go to stderr.
set -euo pipefail

dir=${1:-.toolchain}
root=$(cd "$(dirname "$0")/.." && pwd)
gomod=$root/go.mod

want=$(sed -n 's/^toolchain go\([0-9][0-9a-z.]*\).*/\1/p; s/^go \([0-9][0-9.]*\).*/\1/p' "$gomod" | sort -V | tail -n1)
[ -n "$want" ] || { echo "go-toolchain: no go line in $gomod" >&2; exit 1; }
# "go 1.26" (no patch) names the release 1.26.0.
case $want in *.*.* | *rc* | *beta*) ;; *) want=$want.0 ;; esac

# atleast A B: version A is at least version B.
atleast() { [ "$(printf '%s\n%s\n' "$1" "$2" | sort -V | head -n1)" = "$2" ]; }

if have=$(GOTOOLCHAIN=local go version 2>/dev/null); then
	have=$(echo "$have" | sed -n 's/^go version go\([0-9][0-9a-z.]*\) .*/\1/p')
	if [ -n "$have" ] && atleast "$have" "$want"; then
		command -v go
		exit 0
	fi
fi

os=$(uname -s | tr '[:upper:]' '[:lower:]')
case $(uname -m) in
x86_64 | amd64) arch=amd64 ;;
aarch64 | arm64) arch=arm64 ;;
armv6* | armv7*) arch=armv6l ;;
i?86) arch=386 ;;
ppc64le | s390x | riscv64 | loong64) arch=$(uname -m) ;;
*) echo "go-toolchain: no Go toolchain for machine $(uname -m)" >&2; exit 1 ;;
esac
release=go$want.$os-$arch
goroot=$dir/$release
if [ -x "$goroot/bin/go" ]; then
	echo "$(cd "$goroot" && pwd)/bin/go"
	exit 0
fi

proxy=${GOPROXY:-https://proxy.golang.org}
proxy=${proxy%%[,|]*}
case $proxy in
http://* | https://*) proxy=${proxy%/} ;;
*) echo "go-toolchain: GOPROXY's first entry ($proxy) is not a proxy URL; go $want is needed" >&2; exit 1 ;;
esac
mod=golang.org/toolchain
ver=v0.0.1-$release

echo "go-toolchain: go on PATH is ${have:-missing}, go.mod needs $want: fetching $mod@$ver from $proxy into $dir" >&2
mkdir -p "$dir"
tmp=$(mktemp -d "$dir/.fetch.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
curl -fsSL --retry 3 -o "$tmp/toolchain.zip" "$proxy/$mod/@v/$ver.zip"

# Unpacks the module zip, files only under its one module@version/ prefix,
# and prints its h1: hash (go.sum's, golang.org/x/mod/sumdb/dirhash Hash1):
# SHA-256 over the lines "sha256(file)  name", sorted by name.
sum=$(perl -MIO::Uncompress::Unzip=\$UnzipError -MDigest::SHA=sha256_hex,sha256 \
	-MMIME::Base64 -MFile::Path=make_path -MFile::Basename=dirname -e '
	my ($zip, $prefix, $out) = @ARGV;
	my $u = IO::Uncompress::Unzip->new($zip) or die "$zip: $UnzipError\n";
	my (%lines, $status);
	for ($status = 1; $status > 0; $status = $u->nextStream) {
		my $name = $u->getHeaderInfo->{Name};
		next if $name =~ m{/$};
		die "$zip: $name lies outside $prefix\n"
			if index($name, $prefix) != 0 || $name =~ m{(^|/)\.\.(/|$)};
		my $path = "$out/" . substr($name, length $prefix);
		make_path(dirname($path));
		open(my $f, ">", $path) or die "$path: $!\n";
		my $sha = Digest::SHA->new(256);
		my $buf;
		while (($status = $u->read($buf)) > 0) { print $f $buf; $sha->add($buf) }
		close($f) or die "$path: $!\n";
		die "$zip: $name: $UnzipError\n" if $status < 0;
		$lines{$name} = $sha->hexdigest . "  $name\n";
	}
	die "$zip: $UnzipError\n" if $status < 0;
	print "h1:" . encode_base64(sha256(join "", map { $lines{$_} } sort keys %lines), "") . "\n";
' "$tmp/toolchain.zip" "$mod@$ver/" "$tmp/go")

if [ "${GOSUMDB:-}" = off ]; then
	echo "go-toolchain: GOSUMDB=off: $mod@$ver not checked ($sum)" >&2
else
	# Through the proxy when it serves the checksum database, as go asks it.
	lookup=$proxy/sumdb/sum.golang.org
	curl -fsS -o /dev/null "$lookup/supported" 2>/dev/null || lookup=https://sum.golang.org
	want_sum=$(curl -fsSL --retry 3 "$lookup/lookup/$mod@$ver" |
		sed -n "s|^$mod $ver \(h1:[^ ]*\)\$|\1|p")
	if [ "$sum" != "$want_sum" ]; then
		echo "go-toolchain: $mod@$ver from $proxy has hash $sum, the checksum database says ${want_sum:-nothing}" >&2
		exit 1
	fi
fi

# A module zip keeps no file modes: make the commands executable, as go does.
find "$tmp/go/bin" "$tmp/go/pkg/tool" -type f -exec chmod +x {} +
# Another make may have put it there meanwhile.
mv -T "$tmp/go" "$goroot" 2>/dev/null || [ -x "$goroot/bin/go" ]
echo "go-toolchain: go $want in $goroot" >&2
echo "$(cd "$goroot" && pwd)/bin/go"
