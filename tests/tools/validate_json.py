#!/usr/bin/env python3
"""Validates natdiag --json output against docs/schema (JSON Schema 2020-12, python3-jsonschema).

  validate_json.py SCHEMA_DIR FILE...          each FILE holds JSON documents (one, or JSON lines);
                                               each is checked against natdiag-<command>.schema.json
  validate_json.py SCHEMA_DIR --broken FILE... each document, broken on purpose (every required
                                               key removed in turn, a wrong "schema", an unknown
                                               enum value), must FAIL: the schemas are not empty
  validate_json.py SCHEMA_DIR --check-schemas  every schema is a valid 2020-12 schema, and the
                                               $defs they share are identical
Prints one line per document; exits 1 if any check failed, 2 for bad arguments.
"""
import copy
import json
import pathlib
import sys

import jsonschema


def load_schemas(schema_dir):
    schemas = {}
    for path in sorted(pathlib.Path(schema_dir).glob("natdiag-*.schema.json")):
        command = path.name[len("natdiag-"):-len(".schema.json")]
        schemas[command] = json.loads(path.read_text())
    if not schemas:
        sys.exit(f"validate_json: no natdiag-*.schema.json in {schema_dir}")
    return schemas


def documents(path):
    """The JSON documents in a file: one object, or one per line (serve --json-log)."""
    text = pathlib.Path(path).read_text()
    if not text.strip():
        raise ValueError("empty: no JSON document")
    try:
        return [json.loads(text)]
    except json.JSONDecodeError:
        return [json.loads(line) for line in text.splitlines() if line.strip()]


def errors(schemas, doc):
    command = doc.get("command") if isinstance(doc, dict) else None
    if command not in schemas:
        return [f"no schema for command {command!r}"]
    validator = jsonschema.Draft202012Validator(schemas[command])
    return [f"{'/'.join(map(str, e.absolute_path)) or '(top)'}: {e.message[:200]}"
            for e in validator.iter_errors(doc)]


def broken_variants(schema, doc):
    """(description, document) pairs that a real schema must reject."""
    required = set(schema.get("required", []))
    is_error_doc = isinstance(doc.get("error"), dict) and "then" in schema
    if not is_error_doc:
        required |= set(schema.get("else", {}).get("required", []))
    for key in sorted(required & set(doc)):
        variant = copy.deepcopy(doc)
        del variant[key]
        yield f"without '{key}'", variant
    variant = copy.deepcopy(doc)
    variant["schema"] = "natdiag/0"
    yield "schema natdiag/0", variant
    for key, prop in schema.get("properties", {}).items():
        if key in doc and "enum" in json.dumps(prop) and isinstance(doc[key], str):
            variant = copy.deepcopy(doc)
            variant[key] = "no-such-" + key
            yield f"{key}: an unknown value", variant
    # One level down: an object or the first item of a list that lost a key its schema requires.
    for key, prop in schema.get("properties", {}).items():
        value = doc.get(key)
        shapes = [prop] + prop.get("anyOf", [])
        for shape in shapes:
            if isinstance(value, list) and value and isinstance(value[0], dict):
                nested, inner = shape.get("items", {}), value[0]
                path = f"{key}[0]"
            elif isinstance(value, dict) and shape.get("type") == "object":
                nested, inner, path = shape, value, key
            else:
                continue
            for sub in nested.get("required", [])[:1]:
                if sub in inner:
                    variant = copy.deepcopy(doc)
                    target = variant[key][0] if isinstance(value, list) else variant[key]
                    del target[sub]
                    yield f"{path} without '{sub}'", variant
            break
    if is_error_doc:
        variant = copy.deepcopy(doc)
        del variant["error"]["kind"]
        yield "error without 'kind'", variant


def main(argv):
    if len(argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    schemas = load_schemas(argv[1])
    failed = 0
    if argv[2] == "--check-schemas":
        shared = {}
        for command, schema in schemas.items():
            try:
                jsonschema.Draft202012Validator.check_schema(schema)
                print(f"ok   schema natdiag-{command}: valid JSON Schema 2020-12")
            except jsonschema.SchemaError as e:
                failed += 1
                print(f"FAIL schema natdiag-{command}: {e.message}")
            for name, definition in schema.get("$defs", {}).items():
                if name in shared and shared[name][1] != definition:
                    failed += 1
                    print(f"FAIL $defs/{name} differs between natdiag-{shared[name][0]} and natdiag-{command}")
                shared.setdefault(name, (command, definition))
        return 1 if failed else 0
    broken = argv[2] == "--broken"
    for path in argv[3:] if broken else argv[2:]:
        try:
            docs = documents(path)
        except ValueError as e:
            print(f"FAIL {path}: {e}")
            failed += 1
            continue
        for doc in docs:
            command = doc.get("command") if isinstance(doc, dict) else None
            if not broken:
                problems = errors(schemas, doc)
                if problems:
                    failed += 1
                    print(f"FAIL {path} ({command}): " + "; ".join(problems[:5]))
                else:
                    print(f"ok   {path} ({command}) validates")
                continue
            variants = list(broken_variants(schemas.get(command, {}), doc))
            if len(variants) < 2:
                failed += 1
                print(f"FAIL {path} ({command}): the schema requires nothing to break")
            for what, variant in variants:
                if errors(schemas, variant):
                    print(f"ok   {path} ({command}) {what}: rejected")
                else:
                    failed += 1
                    print(f"FAIL {path} ({command}) {what}: still validates")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
