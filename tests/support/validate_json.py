#!/usr/bin/python3
"""Validates JSON on stdin against a JSON Schema file: exit 0, or 1 with every error."""
import json
import sys

import jsonschema

schema = json.load(open(sys.argv[1]))
document = json.load(sys.stdin)
validator = jsonschema.Draft202012Validator(schema)
errors = sorted(validator.iter_errors(document), key=lambda e: list(e.path))
for e in errors:
    print(f"{'/'.join(map(str, e.path)) or '(root)'}: {e.message}", file=sys.stderr)
sys.exit(1 if errors else 0)
