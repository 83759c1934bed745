"""Library loading through the bootstrap's dlopen (src/loader.c). Nothing native is loaded
at import, so each invocation shows how a first load resolves."""
import ctypes


def _text(library, function):
    f = getattr(library, function)
    f.restype = ctypes.c_char_p
    return f().decode()


def handler(event, context):
    if "soname" in event:  # a bare name, as ctypes.util.find_library returns them
        return {"arch": _text(ctypes.CDLL(event["soname"]), "greet_arch")}
    if "library" in event:  # a full path to a library that loads a plugin through its RUNPATH
        return {"plugin": _text(ctypes.CDLL(event["library"]), "greet_from_plugin")}
    import greet
    return {"greeting": greet.hello(), "name_from": _text(ctypes.CDLL("libgreetname.so.1"), "greet_arch")}
