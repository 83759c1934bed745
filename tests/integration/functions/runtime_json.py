"""A function module with the name of one of the runtime's own (src/runtime_json.py): the
function's must be the one imported."""


def handler(event, context):
    return {"mine": True}
