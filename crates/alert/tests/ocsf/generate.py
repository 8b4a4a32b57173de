#!/usr/bin/env python3
"""Write the JSON Schema of OCSF's Detection Finding class (2004) that
vigie's `format = "ocsf"` output is validated against (crates/alert/src/ocsf.rs).

The schema comes from the PyPI package `ocsf-json-schema`, which carries the
OCSF schema releases and turns a class into a JSON Schema (draft 2020-12)
with every object it refers to embedded:

    python3 -m venv /tmp/ocsf && /tmp/ocsf/bin/pip install ocsf-json-schema==1.2.0
    /tmp/ocsf/bin/python crates/alert/tests/ocsf/generate.py
"""
import json
import pathlib

from ocsf_json_schema import OcsfJsonSchemaEmbedded, get_ocsf_schema

VERSION = "1.5.0"

schema = OcsfJsonSchemaEmbedded(get_ocsf_schema(version=VERSION))
name = schema.lookup_class_name_from_uid(class_uid=2004)
out = pathlib.Path(__file__).with_name(f"{name}-{VERSION}.schema.json")
out.write_text(json.dumps(schema.get_class_schema(class_name=name, profiles=[]), indent=1, sort_keys=True) + "\n")
print(out)
