"""Chef's node attributes: precedence components recipes write, one merged view they read.

Mirrors chef/chef lib/chef/node/attribute.rb, attribute_collections.rb (VividMash) and
immutable_collections.rb (ImmutableMash): `node.default["a"]["b"] = 1` auto-vivifies "a" in
the `default` component; `node["a"]["b"]` reads the merged view, which is read-only (a write
raises ImmutableAttributeModification instead of silently doing nothing). Components, lowest
first, as Chef's AttributeConstants::COMPONENTS; the merged view is recomputed after a write.
"""
from __future__ import annotations

from collections.abc import Callable, Hashable, Iterator, Mapping, MutableMapping
from typing import Any, NoReturn

from .errors import AgentError

LEVELS = ("default", "env_default", "role_default", "force_default", "normal",
          "override", "role_override", "env_override", "force_override", "automatic")
DEFAULTS = LEVELS[:4]
OVERRIDES = LEVELS[5:9]


class AttributeMissing(KeyError, AgentError):
    """A missing attribute; the message names the full path, e.g. node["zk"]["port"]."""

    def __str__(self) -> str:
        return str(self.args[0])


class ImmutableAttributeModification(TypeError, AgentError):
    """A write to the merged view (Chef's Chef::Exceptions::ImmutableAttributeModification)."""


def path_text(path: tuple[str, ...], root: str = "node") -> str:
    return root + "".join(f"[{key!r}]" for key in path)


def plain(value: Any) -> Any:
    """A deep copy as plain dicts and lists (what a component stores, what JSON gets)."""
    if isinstance(value, Mapping):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    return value


def merge_into(target: dict[str, Any], over: Mapping[str, Any], *, union: bool = False) -> None:
    """Chef's two merges. Between levels (hash_only_merge!): hashes merge recursively, arrays
    and scalars from `over` replace. Inside the default and the override level (deep_merge!,
    union=True): two arrays are unioned like Ruby's `a | b`. The host's copy of this rule is
    harness/repo/attributes.py (the agent imports nothing outside harness/agent); one test
    runs both on the same cases."""
    for key, value in over.items():
        current = target.get(key)
        if isinstance(value, Mapping) and isinstance(current, dict):
            merge_into(current, value, union=union)
        elif union and isinstance(value, list) and isinstance(current, list):
            target[key] = _array_union(current, value)
        else:
            target[key] = plain(value)


def _ruby_key(value: Any) -> Hashable:
    """Equal exactly when Ruby's `eql?` holds: 1, 1.0 and true stay distinct."""
    if isinstance(value, Mapping):
        return ("hash", frozenset((k, _ruby_key(v)) for k, v in value.items()))
    if isinstance(value, (list, tuple)):
        return ("array", tuple(_ruby_key(v) for v in value))
    return (type(value).__name__, value)


def _array_union(first: list[Any], second: list[Any]) -> list[Any]:
    """Ruby's `first | second`: each distinct element once, in first-occurrence order."""
    seen: set[Hashable] = set()
    out: list[Any] = []
    for item in [*first, *second]:
        key = _ruby_key(item)
        if key not in seen:
            seen.add(key)
            out.append(plain(item))
    return out


def _refuse(path: tuple[str, ...]) -> NoReturn:
    raise ImmutableAttributeModification(
        f"{path_text(path)} is read-only: the merged view of the node's attributes cannot be "
        "written; name the precedence level, e.g. node.default[...] = value "
        "(Chef: ImmutableAttributeModification)")


class ImmutableList(list[Any]):
    """A list in the merged view (Chef's ImmutableArray); `list(x)` gives a mutable copy."""

    def __init__(self, data: list[Any], path: tuple[str, ...]) -> None:
        super().__init__(_frozen(v, path + (str(i),)) for i, v in enumerate(data))
        self.path = path

    def _no(self, *_: Any, **__: Any) -> NoReturn:
        _refuse(self.path)

    append = extend = insert = remove = pop = clear = sort = reverse = _no
    __setitem__ = __delitem__ = __iadd__ = __imul__ = _no

    def __copy__(self) -> list[Any]:
        return plain(self)  # type: ignore[no-any-return]

    def __deepcopy__(self, memo: dict[int, Any]) -> list[Any]:
        return plain(self)  # type: ignore[no-any-return]


class Attrs(dict[str, Any]):
    """The merged view (Chef's ImmutableMash): reads name missing paths, writes raise."""

    def __init__(self, data: Mapping[str, Any], path: tuple[str, ...] = ()) -> None:
        super().__init__(data)
        self.path = path

    def __getitem__(self, key: str) -> Any:
        try:
            value = dict.__getitem__(self, key)
        except KeyError:
            raise AttributeMissing(f"attribute {path_text(self.path + (key,))} is not set "
                                   f"(present: {', '.join(sorted(map(str, self))) or 'none'})"
                                   ) from None
        return _frozen(value, self.path + (key,))

    def get(self, key: str, default: Any = None) -> Any:
        return self[key] if key in self else default

    def values(self) -> Any:
        return [self[k] for k in self]

    def items(self) -> Any:
        return [(k, self[k]) for k in self]

    def _no(self, key: Any = None, *_: Any, **__: Any) -> NoReturn:
        _refuse(self.path + ((key,) if isinstance(key, str) else ()))

    __setitem__ = __delitem__ = setdefault = pop = update = _no  # type: ignore[assignment]
    popitem = clear = __ior__ = _no

    def __copy__(self) -> dict[str, Any]:
        return plain(self)  # type: ignore[no-any-return]

    def __deepcopy__(self, memo: dict[int, Any]) -> dict[str, Any]:
        return plain(self)  # type: ignore[no-any-return]


def _frozen(value: Any, path: tuple[str, ...]) -> Any:
    if isinstance(value, dict) and not isinstance(value, Attrs):
        return Attrs(value, path)
    if isinstance(value, list) and not isinstance(value, ImmutableList):
        return ImmutableList(value, path)
    return value


class VividList(list[Any]):
    """A list inside a component (Chef's AttrArray): it is the component's own list, and a
    mutation (`node.default["a"]["l"].append(x)`) refreshes the merged view."""

    def __init__(self, data: list[Any], touched: Callable[[], None]) -> None:
        super().__init__(data)
        self._touched = touched


def _mutator(name: str) -> Callable[..., Any]:
    method = getattr(list, name)

    def mutate(self: VividList, *args: Any, **kwargs: Any) -> Any:
        result = method(self, *args, **kwargs)
        self._touched()
        return result
    mutate.__name__ = name
    return mutate


for _name in ("append", "extend", "insert", "remove", "pop", "clear", "sort", "reverse",
              "__setitem__", "__delitem__", "__iadd__", "__imul__"):
    setattr(VividList, _name, _mutator(_name))


class VividMash(MutableMapping[str, Any]):
    """One precedence component at `path` (Chef's VividMash): reading a missing key creates
    an empty hash there, so `node.default["a"]["b"] = 1` works on an empty node."""

    def __init__(self, owner: Attributes, level: str, data: dict[str, Any],
                 path: tuple[str, ...] = ()) -> None:
        self._owner, self._level, self._data, self.path = owner, level, data, path

    def __getitem__(self, key: str) -> Any:
        self._owner.touched()  # the caller may mutate what it gets (a list, say)
        if key not in self._data:
            self._data[key] = {}
        value = self._data[key]
        if isinstance(value, list) and not isinstance(value, VividList):
            value = self._data[key] = VividList(value, self._owner.touched)
        if isinstance(value, dict):
            return VividMash(self._owner, self._level, value, self.path + (key,))
        return value

    def __setitem__(self, key: str, value: Any) -> None:
        if not isinstance(key, str):
            raise TypeError(f"{self._where((str(key),))}: attribute names are strings, "
                            f"got {key!r}")
        self._data[key] = plain(value)
        self._owner.touched()

    def __delitem__(self, key: str) -> None:
        del self._data[key]
        self._owner.touched()

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __contains__(self, key: object) -> bool:
        return key in self._data

    def get(self, key: str, default: Any = None) -> Any:
        """Like Chef's VividMash#fetch-ish read: no auto-vivification through get()."""
        return self[key] if key in self._data else default

    def to_dict(self) -> dict[str, Any]:
        return plain(self._data)  # type: ignore[no-any-return]

    def _where(self, tail: tuple[str, ...] = ()) -> str:
        return path_text(self.path + tail, f"node.{self._level}")

    def __repr__(self) -> str:
        return f"{self._where()} = {self._data!r}"


class Attributes:
    """All components of one node and the merged view, rebuilt lazily after writes."""

    def __init__(self, levels: Mapping[str, Mapping[str, Any] | None]) -> None:
        unknown = sorted(set(levels) - set(LEVELS))
        if unknown:
            raise ValueError(f"unknown attribute precedence level(s): {', '.join(unknown)}")
        self.levels: dict[str, dict[str, Any]] = {
            level: plain(levels.get(level) or {}) for level in LEVELS}
        self._merged: Attrs | None = None

    def touched(self) -> None:
        self._merged = None

    def component(self, level: str) -> VividMash:
        return VividMash(self, level, self.levels[level])

    @property
    def merged(self) -> Attrs:
        if self._merged is None:
            # Chef's merged_attributes: merge_defaults, normal, merge_overrides, automatic
            out = self.combined(DEFAULTS)
            for part in (self.levels["normal"], self.combined(OVERRIDES),
                         self.levels["automatic"]):
                merge_into(out, part)
            self._merged = Attrs(out)
        return self._merged

    def combined(self, levels: tuple[str, ...]) -> dict[str, Any]:
        """Chef's merge_defaults / merge_overrides (deep_merge!: arrays union); what Chef
        saves as the node's `default` / `override`."""
        out: dict[str, Any] = {}
        for level in levels:
            merge_into(out, self.levels[level], union=True)
        return out
