#!/usr/bin/env python3
"""Compares the keys of a natdiag --json document with the fields README.md documents for it.

    json_fields.py README.md SECTION FILE.json

SECTION names the README table: the line "`SECTION`:" (e.g. `stun`) is followed by a table whose
rows are | `field`, `field` | type |. A type cell holding a backticked `{a, b (note), c: [{x}]}`
or `[{...}]` documents the keys of that object (or of each element of that array); a "..." in it
means "at least these". Keys the document has and the README does not, and keys the README
documents and the document omits (design.md: absent facts are null, never omitted), are printed,
and the exit status is 1. `schema` and `command` are always expected.
"""
import json
import re
import sys


def split_top(text):
    """Splits on commas outside (), [], {}."""
    items, depth, cur = [], 0, ""
    for ch in text:
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        if ch == "," and depth == 0:
            items.append(cur)
            cur = ""
        else:
            cur += ch
    if cur.strip():
        items.append(cur)
    return items


def parse_struct(text):
    """'{a, b: [{c}]}' or '[{...}]' -> (dict key -> nested spec or None, open-ended)."""
    text = text.strip()
    if text.startswith("["):
        text = text[1:].rstrip("]").strip()
    if not text.startswith("{"):
        return None
    depth, end = 0, None
    for i, ch in enumerate(text):
        depth += ch == "{"
        depth -= ch == "}"
        if depth == 0:
            end = i
            break
    body = text[1:end]
    keys, open_ended = {}, False
    for item in split_top(body):
        item = item.strip()
        if item.startswith("..."):
            open_ended = True
            continue
        m = re.match(r"([a-z_][a-z0-9_]*)", item)
        if not m:
            continue
        rest = item[m.end():].strip()
        nested = parse_struct(rest[1:]) if rest.startswith(":") else None
        keys[m.group(1)] = nested
    return keys, open_ended


def readme_spec(readme, section):
    lines = open(readme, encoding="utf-8").read().splitlines()
    # The tables live in the "## JSON" section; other sections may head bullets the same way.
    first = lines.index("## JSON") if "## JSON" in lines else 0
    try:
        start = lines.index("`%s`:" % section, first)
    except ValueError:
        sys.exit("json_fields: README has no table for `%s` (a line \"`%s`:\")" % (section, section))
    keys = {"schema": None, "command": None}
    i = start + 1
    while i < len(lines) and not lines[i].startswith("|"):
        i += 1
    for line in lines[i:]:
        if not line.startswith("|"):
            break
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) < 2 or set(cells[0]) <= set("-: ") or cells[0] == "field":
            continue
        names = re.findall(r"`([a-z_][a-z0-9_]*)`", cells[0])
        struct = None
        for span in re.findall(r"`([^`]*)`", cells[1]):
            if span.startswith("{") or span.startswith("[{"):
                struct = parse_struct(span)
                break
        for name in names:
            keys[name] = struct if len(names) == 1 else None
    return keys, False


def compare(doc, spec, path, problems):
    keys, open_ended = spec
    if isinstance(doc, list):
        for element in doc:
            compare(element, spec, path + "[]", problems)
        return
    if not isinstance(doc, dict):
        return  # null (absent fact) or a scalar: nothing to compare
    for k in doc:
        if k not in keys and not open_ended:
            problems.append("%s.%s: in the JSON, not documented in README.md" % (path, k))
    for k, nested in keys.items():
        if k not in doc:
            problems.append("%s.%s: documented in README.md, missing from the JSON (absent facts are null)" % (path, k))
        elif nested is not None:
            compare(doc[k], nested, path + "." + k, problems)


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    readme, section, path = sys.argv[1:]
    with open(path, encoding="utf-8") as f:
        doc = json.load(f)
    problems = []
    compare(doc, readme_spec(readme, section), section, problems)
    for p in problems:
        print(p)
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
