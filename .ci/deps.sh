#!/usr/bin/env bash
# System packages the build and the tests need (see ../shared/DEPENDENCIES.md): samael runs bindgen at build
# time (libclang and clang's builtin headers) and links libxmlsec1 (OpenSSL backend), libxml2 and
# OpenSSL, found with pkg-config. The interop suite also needs the xmlsec1 command line tool: it
# is one of the independent SAML signers (and pysaml2 signs through it). Installs with apt-get
# exactly the packages that are missing and does nothing when none is, so it costs a few
# dpkg-query calls on a prepared machine.
# The openssl command makes the test certificates (certs/make-dev-certs.sh).
# With `--tests` (as `.ci/run` calls it) it also installs what only the test suite needs:
# Debian's chromium and chromium-driver, the headless browser of the SAML sign-in's end-to-end
# test (selenium drives them; nothing is downloaded at test time), and Debian's PostgreSQL server,
# which the store tests and the two-node cluster test run against (.ci/pg.sh starts a throwaway
# cluster; it never touches Debian's own).
# The README's first command and `.ci/run` call it before cargo.
set -euo pipefail

# libclang: any installed LLVM version N with both libclang1-N and libclang-common-N-dev will
# do; when none is, this one is installed (Debian 12's).
CLANG_VERSION="${TESSERA_CLANG_VERSION:-14}"
PACKAGES=(pkg-config libssl-dev libxml2-dev libxmlsec1-dev libxmlsec1-openssl xmlsec1 openssl)
case "${1:-}" in
    --tests) PACKAGES+=(chromium chromium-driver postgresql) ;;
    "") ;;
    *) printf 'usage: deps.sh [--tests]\n' >&2; exit 2 ;;
esac

fail() {
    printf 'deps.sh: %s\n' "$*" >&2
    exit 1
}

installed() {
    [ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null)" = "install ok installed" ]
}

if ! command -v dpkg-query >/dev/null 2>&1 || ! command -v apt-get >/dev/null 2>&1; then
    # Not Debian or Ubuntu: nothing to install with; say what the build needs and let cargo try.
    printf 'deps.sh: no apt-get here; the build needs pkg-config, OpenSSL, libxml2 and xmlsec1 (OpenSSL backend) development files and libclang with its builtin headers\n' >&2
    exit 0
fi

missing=()
for pkg in "${PACKAGES[@]}"; do
    installed "$pkg" || missing+=("$pkg")
done
# A C compiler (ring, the bundled SQLite) and Python's venv (the interop suite, the quick start's
# aws CLI): asked of the tools themselves, since either may come from outside Debian's packages.
command -v cc >/dev/null 2>&1 || missing+=(gcc libc6-dev)
if command -v python3 >/dev/null 2>&1 && ! python3 -c 'import ensurepip, venv' >/dev/null 2>&1; then
    missing+=(python3-venv)
fi

have_clang=no
for dev in $(dpkg-query -W -f='${Package}\n' 'libclang-common-*-dev' 2>/dev/null); do
    version="${dev#libclang-common-}"
    version="${version%-dev}"
    if installed "$dev" && installed "libclang1-$version"; then
        have_clang=yes
        break
    fi
done
if [ "$have_clang" = no ]; then
    installed "libclang1-$CLANG_VERSION" || missing+=("libclang1-$CLANG_VERSION")
    installed "libclang-common-$CLANG_VERSION-dev" || missing+=("libclang-common-$CLANG_VERSION-dev")
fi

[ "${#missing[@]}" -eq 0 ] && exit 0

as_root=()
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
        as_root=(sudo -n)
    else
        fail "missing system packages: ${missing[*]}; install them as root: apt-get install --no-install-recommends ${missing[*]}"
    fi
fi

printf 'deps.sh: installing %s\n' "${missing[*]}" >&2
log="$(mktemp -t tessera-deps.XXXXXX)"
trap 'rm -f "$log"' EXIT
apt_get() {
    "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive \
        apt-get -qq -o DPkg::Lock::Timeout=300 "$@" >>"$log" 2>&1
}
install() { apt_get install -y --no-install-recommends "${missing[@]}"; }
# A fresh image has no package lists: refresh them only when the first attempt fails.
if ! install; then
    if ! apt_get update || ! install; then
        tail -n 20 "$log" >&2
        fail "could not install ${missing[*]} with apt-get (log above)"
    fi
fi
