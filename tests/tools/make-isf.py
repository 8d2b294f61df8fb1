#!/usr/bin/env python3
"""A Volatility 3 ISF profile from a kernel's BTF and System.map (tests only).

    make-isf.py --btf FILE [--sysmap FILE] [--banner TEXT] -o OUT[.json|.json.xz]

The test oracle for tinyvmi's ISF reader: it has its own BTF parser (no
code shared with the C library) and writes the ISF schema Volatility 3
reads: metadata, base_types, user_types {size, kind, fields {offset, type}},
enums, symbols {address, type, constant_data}. Anonymous struct/union
members become "unnamed_field_N" fields (with "anonymous": true) whose
type is a user type named "unnamed_<btf id>".

BTF layout (kernel Documentation/bpf/btf.rst): a header (magic 0xeb9f,
version, flags, hdr_len, type_off, type_len, str_off, str_len), then
types of 12 bytes (name_off, info = kind << 24 | vlen (| kind_flag << 31),
size or type) followed by kind-specific data.
"""
import argparse
import base64
import hashlib
import json
import lzma
import os
import struct
import sys

INT, PTR, ARRAY, STRUCT, UNION, ENUM, FWD, TYPEDEF, VOLATILE, CONST, \
    RESTRICT, FUNC, FUNC_PROTO, VAR, DATASEC, FLOAT, DECL_TAG, TYPE_TAG, \
    ENUM64 = range(1, 20)
QUALIFIERS = (TYPEDEF, VOLATILE, CONST, RESTRICT, TYPE_TAG)


class Btf:
    def __init__(self, data):
        magic, version, _flags, hdr_len = struct.unpack_from("<HBBI", data, 0)
        if magic != 0xEB9F or version != 1:
            raise ValueError("not BTF (magic %#x, version %d)" % (magic, version))
        type_off, type_len, str_off, str_len = struct.unpack_from("<IIII", data, 8)
        self.strings = data[hdr_len + str_off:hdr_len + str_off + str_len]
        self.types = [None]  # id 0 is void
        pos, end = hdr_len + type_off, hdr_len + type_off + type_len
        while pos < end:
            t, pos = self._one(data, pos)
            self.types.append(t)

    def name(self, off):
        end = self.strings.index(b"\0", off)
        return self.strings[off:end].decode()

    def _one(self, data, pos):
        name_off, info, size_type = struct.unpack_from("<III", data, pos)
        pos += 12
        kind, vlen, kflag = (info >> 24) & 0x1F, info & 0xFFFF, info >> 31
        t = {"kind": kind, "name": self.name(name_off), "size": size_type,
             "type": size_type, "kflag": kflag}
        if kind == INT:
            (t["enc"],) = struct.unpack_from("<I", data, pos)
            pos += 4
        elif kind == ARRAY:
            t["elem"], _index, t["nelems"] = struct.unpack_from("<III", data, pos)
            pos += 12
        elif kind in (STRUCT, UNION):
            members = []
            for _ in range(vlen):
                n, ty, off = struct.unpack_from("<III", data, pos)
                pos += 12
                bits = off >> 24 if kflag else 0
                members.append((self.name(n), ty, off & 0xFFFFFF if kflag else off, bits))
            t["members"] = members
        elif kind == ENUM:
            t["values"] = []
            for _ in range(vlen):
                n, v = struct.unpack_from("<Ii", data, pos)
                pos += 8
                t["values"].append((self.name(n), v))
        elif kind == ENUM64:
            t["values"] = []
            for _ in range(vlen):
                n, lo, hi = struct.unpack_from("<III", data, pos)
                pos += 12
                t["values"].append((self.name(n), hi << 32 | lo))
        elif kind == FUNC_PROTO:
            pos += 8 * vlen
        elif kind in (VAR, DECL_TAG):
            pos += 4
        elif kind == DATASEC:
            pos += 12 * vlen
        elif kind not in (PTR, FWD, TYPEDEF, VOLATILE, CONST, RESTRICT, FUNC,
                          FLOAT, TYPE_TAG):
            raise ValueError("unknown BTF kind %d" % kind)
        return t, pos

    def strip(self, tid):
        """Follows typedefs and qualifiers (ISF has neither)."""
        for _ in range(32):
            if tid == 0 or self.types[tid]["kind"] not in QUALIFIERS:
                return tid
            tid = self.types[tid]["type"]
        return 0


class Isf:
    def __init__(self, btf):
        self.btf = btf
        self.user_types, self.base_types, self.enums = {}, {}, {}
        self.base_types["pointer"] = {"size": 8, "signed": False, "kind": "int",
                                      "endian": "little"}
        self.base_types["void"] = {"size": 0, "signed": False, "kind": "void",
                                   "endian": "little"}
        self.pending = []  # anonymous struct/union ids still to emit

    def composite_name(self, tid):
        t = self.btf.types[tid]
        return t["name"] or "unnamed_%d" % tid

    def base(self, tid):
        t = self.btf.types[tid]
        if t["name"] not in self.base_types:
            if t["kind"] == FLOAT:
                kind, signed = "float", True
            else:
                enc = t["enc"] >> 24
                signed = bool(enc & 1)
                kind = "bool" if enc & 4 else "char" if enc & 2 else "int"
            self.base_types[t["name"]] = {"size": t["size"], "signed": signed,
                                          "kind": kind, "endian": "little"}
        return {"kind": "base", "name": t["name"]}

    def enum(self, tid):
        t = self.btf.types[tid]
        name = t["name"] or "unnamed_%d" % tid
        if name not in self.enums:
            self.enums[name] = {"size": t["size"], "base": "int",
                                "constants": {n: v for n, v in t["values"]}}
        return {"kind": "enum", "name": name}

    def desc(self, tid):
        tid = self.btf.strip(tid)
        if tid == 0:
            return {"kind": "base", "name": "void"}
        t = self.btf.types[tid]
        k = t["kind"]
        if k in (INT, FLOAT):
            return self.base(tid)
        if k == PTR:
            return {"kind": "pointer", "subtype": self.desc(t["type"])}
        if k == ARRAY:
            return {"kind": "array", "count": t["nelems"],
                    "subtype": self.desc(t["elem"])}
        if k in (STRUCT, UNION):
            if not t["name"]:
                self.pending.append(tid)
            return {"kind": "struct" if k == STRUCT else "union",
                    "name": self.composite_name(tid)}
        if k == FWD:
            return {"kind": "union" if t["kflag"] else "struct", "name": t["name"]}
        if k in (ENUM, ENUM64):
            return self.enum(tid)
        if k == FUNC_PROTO:
            return {"kind": "function"}
        return {"kind": "base", "name": "void"}

    def bitfield(self, tid, bit_off, nbits):
        under = self.btf.strip(tid)
        size = self.btf.types[under]["size"] if under else 4
        unit = bit_off // (8 * size) * size
        return unit, {"kind": "bitfield", "bit_position": bit_off - 8 * unit,
                      "bit_length": nbits, "type": self.desc(tid)}

    def field(self, name, tid, bit_off, nbits, index):
        stripped = self.btf.strip(tid)
        t = self.btf.types[stripped] if stripped else None
        if not nbits and t and t["kind"] == INT and t["enc"] & 0xFF != 8 * t["size"]:
            nbits, bit_off = t["enc"] & 0xFF, bit_off + (t["enc"] >> 16 & 0xFF)
        if nbits:
            offset, desc = self.bitfield(tid, bit_off, nbits)
        else:
            offset, desc = bit_off // 8, self.desc(tid)
        f = {"type": desc, "offset": offset}
        if not name:
            name, f["anonymous"] = "unnamed_field_%d" % index, True
        return name, f

    def composite(self, tid):
        t = self.btf.types[tid]
        fields = {}
        for i, (name, ty, bit_off, nbits) in enumerate(t["members"]):
            fname, f = self.field(name, ty, bit_off, nbits, i)
            fields[fname] = f
        return {"size": t["size"], "kind": "struct" if t["kind"] == STRUCT else "union",
                "fields": fields}

    def build(self):
        for tid, t in enumerate(self.btf.types):
            if t and t["kind"] in (STRUCT, UNION) and t["name"] \
                    and t["name"] not in self.user_types:
                self.user_types[t["name"]] = self.composite(tid)
        self.build_pending()

    def symbol_types(self):
        """Names of BTF functions and variables, for symbols' "type"."""
        out = {}
        for t in self.btf.types:
            if t and t["kind"] == FUNC and t["name"] not in out:
                out[t["name"]] = {"kind": "function"}
            elif t and t["kind"] == VAR and t["name"] not in out:
                out[t["name"]] = self.desc(t["type"])
        self.build_pending()
        return out

    def build_pending(self):
        while self.pending:
            tid = self.pending.pop()
            name = self.composite_name(tid)
            if name not in self.user_types:
                self.user_types[name] = self.composite(tid)


def read_sysmap(path):
    syms = {}
    with open(path) as f:
        for line in f:
            parts = line.split()
            if len(parts) == 3 and parts[2] not in syms:
                syms[parts[2]] = int(parts[0], 16)
    return syms


def sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--btf", required=True)
    ap.add_argument("--sysmap")
    ap.add_argument("--banner", help="linux_banner's text (constant_data)")
    ap.add_argument("-o", "--output", required=True)
    a = ap.parse_args()

    with open(a.btf, "rb") as f:
        btf = Btf(f.read())
    isf = Isf(btf)
    isf.build()
    symbols = {}
    if a.sysmap:
        types = isf.symbol_types()
        for name, addr in read_sysmap(a.sysmap).items():
            s = {"address": addr}
            if name in types:
                s["type"] = types[name]
            if name == "linux_banner" and a.banner:
                data = (a.banner.rstrip("\n") + "\n\0").encode()
                s["constant_data"] = base64.b64encode(data).decode()
            symbols[name] = s
    isf.build_pending()
    meta = {"format": "6.2.0",
            "producer": {"name": "tinyvmi-make-isf", "version": "1"},
            "linux": {"types": [{"kind": "btf", "name": os.path.basename(a.btf),
                                 "hash_type": "sha256", "hash_value": sha256(a.btf)}],
                      "symbols": []}}
    if a.sysmap:
        meta["linux"]["symbols"].append(
            {"kind": "system-map", "name": os.path.basename(a.sysmap),
             "hash_type": "sha256", "hash_value": sha256(a.sysmap)})
    doc = {"metadata": meta, "base_types": isf.base_types,
           "user_types": isf.user_types, "enums": isf.enums, "symbols": symbols}
    text = json.dumps(doc, separators=(",", ":"), sort_keys=True).encode()
    if a.output.endswith(".xz"):
        text = lzma.compress(text, preset=1)
    with open(a.output, "wb") as f:
        f.write(text)


if __name__ == "__main__":
    try:
        main()
    except (OSError, ValueError) as e:
        sys.exit("make-isf.py: %s" % e)
