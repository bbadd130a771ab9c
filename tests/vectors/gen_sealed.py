#!/usr/bin/python3
"""gen_sealed.py: writes sealed.tsv, the sealed-object vectors of docs/FORMATS.md.

An implementation independent of src/crypto/sealed.c (python3-cryptography's
AES-GCM), from the byte layout in docs/FORMATS.md "Sealed objects". Columns:
plaintext length, SHA-256 of the sealed object, the sealed object in hex when
it is short (else '-'). Fixed inputs (test only): master key bytes 0..31,
data key bytes 0x40..0x5f, slot nonce 0xa0..0xab, object id 0x10..0x1f,
plaintext byte i = i % 251.
"""
import hashlib, hmac, struct, sys
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

MASTER = bytes(range(32))
DK = bytes(range(0x40, 0x60))
NONCE = bytes(range(0xA0, 0xAC))
OBJID = bytes(range(0x10, 0x20))
CHUNK = 65536


def key_id(ktype, key):
    return hashlib.sha256(b"pacsvault key id" + bytes([ktype]) + key).digest()[:4]


def seal(plain, master=MASTER, dk=DK, nonce=NONCE, objid=OBJID):
    kid = key_id(2, master)
    hdr = bytearray(160)
    hdr[0:8] = b"PVSEALED"
    hdr[8] = 1
    hdr[9] = 1
    hdr[16:32] = objid
    kek = hmac.new(master, b"pacsvault v1 wrap", hashlib.sha256).digest()
    aad = bytes(hdr[0:32]) + kid + bytes([0])
    wrapped = AESGCM(kek).encrypt(nonce, dk, aad)  # ciphertext || tag
    hdr[32:36] = kid
    hdr[36:48] = nonce
    hdr[48:96] = wrapped
    out = bytes(hdr)
    g = AESGCM(dk)
    n = max(1, -(-len(plain) // CHUNK))
    for i in range(n):
        part = plain[i * CHUNK:(i + 1) * CHUNK]
        final = 1 if i == n - 1 else 0
        cn = b"\0\0\0\0" + struct.pack(">Q", i)
        caad = objid + struct.pack(">Q", i) + bytes([final])
        out += g.encrypt(cn, part, caad)
    return out


def main():
    print("# sealed.tsv: written by gen_sealed.py (python3-cryptography); see that file")
    print("# length\tsha256(sealed)\tsealed hex (short ones)")
    for n in (0, 5, 65535, 65536, 65537, 200000):
        plain = bytes(i % 251 for i in range(n))
        s = seal(plain)
        print("%d\t%s\t%s" % (n, hashlib.sha256(s).hexdigest(), s.hex() if len(s) < 400 else "-"))


if __name__ == "__main__":
    main()
