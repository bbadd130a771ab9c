#!/bin/sh
# Installs every build, test and bench dependency of pacsvault on Debian 12.
# Idempotent; quiet when everything is already present. Run as root.
set -eu

PKGS="
build-essential pkg-config git ca-certificates
clang libclang-rt-14-dev
libssl-dev zlib1g-dev libjpeg62-turbo-dev libcharls-dev libopenjp2-7-dev libsqlite3-dev
libtesseract-dev tesseract-ocr-eng tesseract-ocr-chi-sim
dcmtk python3-pydicom python3-numpy python3-pil python3-cryptography fonts-dejavu-core fonts-wqy-microhei dicom3tools libgdcm-tools
openjph-tools
hyperfine bc strace time openssl chromium curl orthanc orthanc-dicomweb wrk rsyslog rsyslog-openssl libxml2-utils stunnel4
"

missing=""
for p in $PKGS; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
		missing="$missing $p"
	fi
done

[ -z "$missing" ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	echo "install-deps: missing packages:$missing" >&2
	echo "install-deps: run as root (or: sudo $0)" >&2
	exit 1
fi

echo "install-deps: installing$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# Orthanc is a bench peer only: make bench starts its own on loopback. Its
# package would start a system service listening for DICOM on every
# address (the exposed test PACS of the story), so no service may start
# during this install, and it is disabled afterwards.
policy=/usr/sbin/policy-rc.d
made_policy=""
if [ ! -e "$policy" ]; then
	printf '#!/bin/sh\nexit 101\n' > "$policy"
	chmod 755 "$policy"
	made_policy=1
fi
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null
[ -n "$made_policy" ] && rm -f "$policy"
if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
	systemctl disable --now orthanc >/dev/null 2>&1 || true
fi
