#!/usr/bin/env bash
# Regenerates the Go code of every .proto file under examples/, interop/,
# internal/testpb/ and stub/ with protoc-gen-go and protoc-gen-go-h2rpc
# (paths=source_relative, output beside each .proto).
#
# The files under stub/ are the protocols h2rpc implements itself (health,
# reflection). Their protoc-gen-go output is changed in one way: it registers
# its descriptors and types in stub/internal/protoreg instead of protobuf's
# global registry, where grpc-go's code for the same protocols registers the
# same names (see localize below).
#
# The compiler follows one rule: a file that declares an edition
# (`edition = "2023";`) is compiled by buf, which supports editions; a file
# that declares `syntax = "proto2"` or `"proto3"` is compiled by protoc, as
# Debian's protoc (3.21) knows no editions. Both run the same plugins, so a
# file's generated code depends only on its own compiler, which does not
# change with its neighbours.
#
# usage: scripts/generate.sh [--check]
#   --check  generate into a temporary directory instead and fail, showing
#            the differences, when the checked-in code differs from it.
#
# The plugins and buf come from $TOOLS_BIN (default .tools/bin; `make
# generate` installs them), protoc from PATH. The .proto files of one
# directory (those of one compiler) are compiled together, against one
# include root: the ancestor directory under which their imports
# of other local .proto files resolve (for example interop/ when a file
# imports "grpc/testing/messages.proto"), or the repository root when they
# import none.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${TOOLS_BIN:-$PWD/.tools/bin}
search=(examples interop internal/testpb stub)
check=0
case "${1:-}" in
--check) check=1 ;;
"") ;;
*) echo "usage: $0 [--check]" >&2; exit 2 ;;
esac
for p in protoc-gen-go protoc-gen-go-h2rpc; do
	[ -x "$bin/$p" ] || { echo "generate: $bin/$p missing; run make generate" >&2; exit 1; }
done

# edition_file F succeeds when the .proto file F declares an edition (a
# string, unlike an enum value named edition).
edition_file() {
	grep -q '^[[:space:]]*edition[[:space:]]*=[[:space:]]*"' "$1"
}

# compile COMPILER ROOT OUT FILES... compiles FILES (relative to the include
# root ROOT) with protoc or buf, writing the generated code under OUT.
compile() {
	local compiler=$1 root=$2 dest=$3
	shift 3
	case $compiler in
	protoc)
		command -v protoc >/dev/null || { echo "generate: protoc missing; run make protoc" >&2; exit 1; }
		protoc -I "$root" \
			--plugin=protoc-gen-go="$bin/protoc-gen-go" \
			--plugin=protoc-gen-go-h2rpc="$bin/protoc-gen-go-h2rpc" \
			--go_out="$dest" --go_opt=paths=source_relative \
			--go-h2rpc_out="$dest" --go-h2rpc_opt=paths=source_relative \
			"$@"
		;;
	buf)
		[ -x "$bin/buf" ] || { echo "generate: $bin/buf missing; run make buf" >&2; exit 1; }
		local paths=() f
		for f in "$@"; do paths+=(--path "$root/$f"); done
		"$bin/buf" generate "$root" --template "$template" -o "$dest" "${paths[@]}"
		;;
	esac
}

# The buf.gen.yaml of buf's runs, as JSON: the same plugins and options as
# protoc's.
template="{\"version\":\"v2\",\"plugins\":[
{\"local\":\"$bin/protoc-gen-go\",\"out\":\".\",\"opt\":\"paths=source_relative\"},
{\"local\":\"$bin/protoc-gen-go-h2rpc\",\"out\":\".\",\"opt\":\"paths=source_relative\"}]}"

# localize FILE makes the protoc-gen-go output FILE register its file
# descriptor in protoreg.Files and its types in protoreg.Types: the
# TypeBuilder that registers them takes both registries as fields, which
# protoc-gen-go leaves unset (meaning the global ones).
localize() {
	local f=$1 reg=github.com/h2rpc/h2rpc/stub/internal/protoreg
	grep -q '^		File: protoimpl.DescBuilder{$' "$f" || { echo "generate: $f: no TypeBuilder to localize" >&2; exit 1; }
	sed -i \
		-e 's|^\tprotoimpl "google.golang.org/protobuf/runtime/protoimpl"$|&\n\tprotoreg "'"$reg"'"|' \
		-e 's|^\t\tFile: protoimpl.DescBuilder{$|&\n\t\t\tFileRegistry: protoreg.Files,|' \
		-e 's|^\t\tGoTypes: .*|&\n\t\tTypeRegistry: protoreg.Types,|' \
		"$f"
	gofmt -w "$f"
}

# include_root DIR prints the include root of the .proto files in DIR.
include_root() {
	local dir=$1 imp r
	for imp in $(sed -n 's/^import[[:space:]]*\(public[[:space:]]*\|weak[[:space:]]*\)\{0,1\}"\([^"]*\)".*/\2/p' "$dir"/*.proto); do
		r=$dir
		while :; do
			if [ -f "$r/$imp" ]; then
				echo "$r"
				return
			fi
			[ "$r" = . ] && break
			r=$(dirname "$r")
		done
	done
	echo .
}

out=.
if [ $check = 1 ]; then
	out=$(mktemp -d)
	trap 'rm -rf "$out"' EXIT
fi

existing=()
for d in "${search[@]}"; do [ -d "$d" ] && existing+=("$d"); done
dirs=$(find "${existing[@]}" -name '*.proto' -printf '%h\n' 2>/dev/null | sort -u)
n=0
for dir in $dirs; do
	root=$(include_root "$dir")
	syntax=() editions=()
	for f in "$dir"/*.proto; do
		if edition_file "$f"; then
			editions+=("${f#"$root"/}")
		else
			syntax+=("${f#"$root"/}")
		fi
	done
	mkdir -p "$out/$root"
	[ ${#syntax[@]} = 0 ] || compile protoc "$root" "$out/$root" "${syntax[@]}"
	[ ${#editions[@]} = 0 ] || compile buf "$root" "$out/$root" "${editions[@]}"
	case $dir in
	stub/*)
		for f in "$out/$dir"/*.pb.go; do
			case $f in *_h2rpc.pb.go) ;; *) localize "$f" ;; esac
		done
		;;
	esac
	n=$((n + ${#syntax[@]} + ${#editions[@]}))
done

if [ $check = 0 ]; then
	echo "generate: $n .proto files"
	exit 0
fi

# Every generated file must be checked in unchanged, and every checked-in
# generated file must still have its .proto.
fail=0
while IFS= read -r f; do
	rel=${f#"$out"/}
	if ! cmp -s "$f" "$rel"; then
		echo "check-generate: $rel differs from what its .proto generates:" >&2
		diff -u "$rel" "$f" 2>&1 | head -40 >&2 || true
		fail=1
	fi
done < <(find "$out" -name '*.pb.go' | sort)
while IFS= read -r f; do
	if head -1 "$f" | grep -q '^// Code generated by protoc-gen-go' && [ ! -f "$out/$f" ]; then
		echo "check-generate: $f has no .proto any more" >&2
		fail=1
	fi
done < <(find "${existing[@]}" -name '*.pb.go' | sort)
if [ $fail = 1 ]; then
	echo "check-generate: generated code is stale; run make generate and commit the result" >&2
	exit 1
fi
echo "check-generate: $n .proto files, generated code up to date"
