# Shared by tools/abi_check.sh and tools/abi_break_demo.sh (source it; needs $SUPP).
# shellcheck shell=bash
abi_dump() {  # LIB OUT: the ABI corpus of the public header's types and the exported functions
  abidw --headers-dir bindings/c --drop-private-types --exported-interfaces-only --no-show-locs \
    --no-corpus-path --type-id-style hash --out-file "$2" "$1"
}
abi_compare() {  # OLD NEW REPORT -> 0 when compatible
  local rc=0
  # (a) abidiff: removed/changed functions, changed types. Exit bits: 1 error, 2 usage, 4 ABI
  # change, 8 incompatible change. Added functions and enumerators leave the status 0; fields
  # appended to the struct_size structs are suppressed (bindings/c/abi/suppressions.abignore).
  abidiff --no-added-syms --suppressions "$SUPP" "$1" "$2" >"$3" 2>&1 || rc=$?
  [ $rc -eq 0 ] || return $rc
  # (b) That suppression would also hide a reordering inside those structs, so check their layouts
  # ourselves: every old member keeps its name, offset and type; growable structs may only append.
  python3 - "$1" "$2" >>"$3" <<'PY'
import re, sys
import xml.etree.ElementTree as ET
GROWABLE = re.compile(r"^llmkit_(model_params|model_info|memory_estimate|session_params|"
                      r"sampler_params|generate_params|timings|generation_result)$")
def layouts(path):
    out = {}
    for c in ET.parse(path).getroot().iter("class-decl"):
        name = c.get("name", "")
        if not name.startswith("llmkit_") or c.get("is-declaration-only") == "yes":
            continue
        members = [(dm.find("var-decl").get("name"), dm.get("layout-offset-in-bits"),
                    dm.find("var-decl").get("type-id")) for dm in c.findall("data-member")]
        out[name] = (int(c.get("size-in-bits", "0")), members)
    return out
old, new = layouts(sys.argv[1]), layouts(sys.argv[2])
bad = []
for name, (size, members) in old.items():
    if name not in new:
        bad.append(f"struct {name} is gone")
        continue
    nsize, nmembers = new[name]
    if nmembers[: len(members)] != members:
        bad.append(f"struct {name}: existing members changed (name/offset/type): {members} -> {nmembers}")
    elif len(nmembers) > len(members) and not GROWABLE.match(name):
        bad.append(f"struct {name} is frozen (used in arrays) but gained members")
    elif nsize != size and not (GROWABLE.match(name) and nsize > size):
        bad.append(f"struct {name}: size {size} -> {nsize} bits")
for b in bad:
    print("layout check: " + b)
sys.exit(1 if bad else 0)
PY
}
