"""orthanc_upload.py PORT FOLDER: POSTs every .dcm file of FOLDER to Orthanc's
REST API (/instances) on 127.0.0.1:PORT over one keep-alive connection, the
fastest way its REST API takes files one at a time. Exit 1 on any refusal."""
import http.client
import os
import sys


def main():
    port, folder = int(sys.argv[1]), sys.argv[2]
    conn = http.client.HTTPConnection("127.0.0.1", port)
    bad = 0
    for dp, dn, fn in os.walk(folder):
        for f in sorted(fn):
            if not f.endswith(".dcm"):
                continue
            body = open(os.path.join(dp, f), "rb").read()
            conn.request("POST", "/instances", body, {"Content-Type": "application/dicom"})
            r = conn.getresponse()
            r.read()
            bad += r.status != 200
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
