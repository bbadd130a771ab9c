#!/bin/sh
# bench/dcmodify-deid.sh IN OUT: a typical dcmodify-based de-identification
# script (the bench's dcmtk peer): copy, then modify the copies in place.
set -eu
cp -r "$1" "$2"
find "$2" -name '*.dcm' -print0 | xargs -0 dcmodify -q -nb -ie -imt \
	-ma "(0010,0010)=ANON" -ma "(0010,0020)=ANON" -ea "(0010,0030)" -ea "(0008,0050)" \
	-ea "(0008,0090)" -ea "(0008,0080)" -ea "(0008,0081)" -ea "(0010,2154)" -ea "(0010,1002)" \
	-ea "(0020,4000)" -ea "(0008,1070)" -ea "(0040,0275)" -ea "(0008,1010)" \
	-ea "(0010,1010)" -ma "(0012,0062)=YES" > /dev/null 2>&1 || true
