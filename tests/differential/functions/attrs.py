"""Attributes that are not functions."""
not_callable = 5


class Handler:
    def __call__(self, event, context):
        return {"called": "instance"}


instance = Handler()
