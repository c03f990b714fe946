"""Validates real answers of the server against its own OpenAPI 3.1 document, with the
`jsonschema` library (JSON Schema 2020-12, the dialect of OpenAPI 3.1).

Reads JSON on stdin: {"document": {...}, "answers": [{"method", "path", "status", "body"}]},
`path` being the documented path template. Every answer's status must be documented for its
operation, with an application/json schema that the body satisfies. Prints "validated N".
"""

import json
import sys

from jsonschema import Draft202012Validator

request = json.load(sys.stdin)
document = request["document"]
failures = []
for answer in request["answers"]:
    where = f'{answer["method"].upper()} {answer["path"]} -> {answer["status"]}'
    operation = document["paths"].get(answer["path"], {}).get(answer["method"])
    if operation is None:
        failures.append(f"{where}: the operation is not documented")
        continue
    response = operation["responses"].get(str(answer["status"]))
    if response is None:
        failures.append(f"{where}: the status is not documented")
        continue
    schema = response.get("content", {}).get("application/json", {}).get("schema")
    if schema is None:
        failures.append(f"{where}: no JSON schema documented")
        continue
    # References are relative to the document: validate with the document as the root.
    validator = Draft202012Validator({**document, **schema})
    errors = [f"{'/'.join(map(str, e.path))}: {e.message}" for e in validator.iter_errors(answer["body"])]
    if errors:
        failures.append(f"{where}: {errors} in {json.dumps(answer['body'])[:500]}")
if failures:
    sys.exit("\n".join(failures))
print(f"validated {len(request['answers'])}")
