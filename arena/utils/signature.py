"""What a class's constructor accepts, read from its signatures (used to rebuild objects from configs)."""
import inspect


def accepted_arguments(cls):
    """The keyword names ``cls(...)`` accepts: the ``__init__`` parameters along its MRO."""
    names = set()
    for c in cls.__mro__:
        if "__init__" in c.__dict__:
            names |= set(inspect.signature(c.__init__).parameters)
    return names - {"self", "args", "kwargs"}
