"""The GeoReport v2 (and mySociety servicerequestupdates) response shapes as JSON
Schemas, written from the specification, and the XML <-> JSON comparison."""
import jsonschema

W3C = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$"
DATETIME = {"type": "string", "pattern": W3C}
OPT_DATETIME = {"anyOf": [DATETIME, {"type": "null"}]}
OPT_STRING = {"type": ["string", "null"]}


def _strict(properties: dict, required=None) -> dict:
    return {"type": "object", "properties": properties,
            "required": list(required if required is not None else properties),
            "additionalProperties": False}


DISCOVERY = _strict({
    "changeset": DATETIME, "contact": {"type": "string"}, "key_service": {"type": "string"},
    "endpoints": {"type": "array", "minItems": 1, "items": _strict({
        "specification": {"type": "string", "format": "uri"},
        "url": {"type": "string", "pattern": "^https?://"},
        "changeset": DATETIME, "type": {"enum": ["production", "test"]},
        "formats": {"type": "array", "items": {
            "enum": ["text/xml", "application/json"]}, "minItems": 2}})}})

SERVICE = _strict({
    "service_code": {"type": "string", "minLength": 1},
    "service_name": {"type": "string", "minLength": 1},
    "description": {"type": "string"}, "metadata": {"type": "boolean"},
    "type": {"enum": ["realtime", "batch", "blackbox"]},
    "keywords": {"type": "string"}, "group": {"type": "string"}})
SERVICES = {"type": "array", "items": SERVICE, "minItems": 1}

VALUE = _strict({"key": {"type": "string"}, "name": {"type": "string"}})
ATTRIBUTE = _strict({
    "variable": {"type": "boolean"}, "code": {"type": "string", "minLength": 1},
    "datatype": {"enum": ["string", "number", "datetime", "text", "singlevaluelist",
                          "multivaluelist"]},
    "required": {"type": "boolean"}, "datatype_description": OPT_STRING,
    "order": {"type": "integer", "minimum": 1}, "description": {"type": "string"},
    "values": {"type": "array", "items": VALUE}})
SERVICE_DEFINITION = _strict({"service_code": {"type": "string"},
                              "attributes": {"type": "array", "items": ATTRIBUTE}})

REQUEST = _strict({
    "service_request_id": {"type": "string", "pattern": r"^\d+$"},
    "status": {"enum": ["open", "closed"]}, "status_notes": OPT_STRING,
    "service_name": OPT_STRING, "service_code": OPT_STRING,
    "description": {"type": "string"}, "agency_responsible": OPT_STRING,
    "service_notice": OPT_STRING, "requested_datetime": DATETIME,
    "updated_datetime": DATETIME, "expected_datetime": OPT_DATETIME,
    "address": OPT_STRING, "address_id": OPT_STRING, "zipcode": OPT_STRING,
    "lat": {"type": ["number", "null"], "minimum": -90, "maximum": 90},
    "long": {"type": ["number", "null"], "minimum": -180, "maximum": 180},
    "media_url": OPT_STRING})
REQUESTS = {"type": "array", "items": REQUEST}

POST_RESULT = {"type": "array", "minItems": 1, "maxItems": 1, "items": _strict({
    "service_request_id": {"type": "string", "pattern": r"^\d+$"},
    "token": {"type": "string", "minLength": 16}, "service_notice": OPT_STRING,
    "account_id": OPT_STRING})}
TOKEN = {"type": "array", "minItems": 1, "maxItems": 1, "items": _strict({
    "service_request_id": {"type": "string"}, "token": {"type": "string"}})}

ERRORS = {"type": "array", "minItems": 1, "items": _strict({
    "code": {"type": "integer", "minimum": 400, "maximum": 599},
    "description": {"type": "string", "minLength": 1}})}

UPDATE = _strict({
    "update_id": {"type": "string", "minLength": 1},
    "service_request_id": {"type": "string", "pattern": r"^\d+$"},
    "status": {"enum": ["open", "closed"]}, "updated_datetime": DATETIME,
    "description": {"type": "string"}, "media_url": OPT_STRING})
UPDATES = {"type": "array", "items": UPDATE}
UPDATE_POST_RESULT = {"type": "array", "minItems": 1, "maxItems": 1,
                      "items": _strict({"update_id": {"type": "string", "minLength": 1}})}

# The XML root element of each response kind, and the element of its items.
XML_ROOTS = {"discovery": "discovery", "services": "services",
             "service_definition": "service_definition", "requests": "service_requests",
             "errors": "errors", "updates": "service_request_updates"}
LIST_TAGS = {"services", "service_requests", "errors", "attributes", "values", "endpoints",
             "formats", "service_request_updates"}


def check(instance, schema):
    jsonschema.validate(instance, schema, format_checker=jsonschema.FormatChecker())


def xml_to_py(el):
    if el.tag in LIST_TAGS:
        return [xml_to_py(child) for child in el]
    if len(el):
        return {child.tag: xml_to_py(child) for child in el}
    return el.text  # an empty element stands for null


def json_as_xml_text(value):
    """The JSON body as XML would carry it: scalars become text, null stays None."""
    if isinstance(value, dict):
        return {k: json_as_xml_text(v) for k, v in value.items()}
    if isinstance(value, list):
        return [json_as_xml_text(v) for v in value]
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None or value == "":
        return None
    return str(value)


ITEM_TAGS = {"services": "service", "service_requests": "request", "errors": "error",
             "service_request_updates": "request_update"}


def assert_same(json_body, xml_root, root_tag):
    """The XML answer carries exactly the JSON answer, field by field."""
    assert xml_root.tag == root_tag
    if root_tag in ITEM_TAGS:
        assert {child.tag for child in xml_root} <= {ITEM_TAGS[root_tag]}
    assert xml_to_py(xml_root) == json_as_xml_text(json_body)
